"""A burst of declarations against Slack's real rate limits. Prints; asserts nothing.

    python bench/slack_burst.py            # 30 declares within 10 s

`warroom run` as its own process, against the sandbox with Slack's limits on (Tier 2 methods 20 a minute,
chat.postMessage one a second per channel, 429 with Retry-After beyond them). Targets (issue 12): every
effect delivered once, few 429s, drained close to the tiers' bound.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import start_warroom  # noqa: E402

from bot.sandbox.server import SlackSandbox  # noqa: E402

DECLARES = 30
CONFIG = "slack: {announce_channel: incidents}\nescalation: {enabled: false}\n"


async def main() -> None:
    sandbox = await SlackSandbox().start()
    sandbox.limits.enabled = True
    workdir = Path(tempfile.mkdtemp(prefix="warroom-burst-"))
    process, _, _ = await start_warroom(sandbox, workdir, CONFIG)
    try:
        before = len(sandbox.calls)
        started = time.monotonic()
        for n in range(DECLARES):
            await sandbox.slash("U0ALICE", "general", "/incident", f"declare sev3 Burst {n}")
            await asyncio.sleep(10 / DECLARES)
        sent = time.monotonic() - started
        rooms = lambda: [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")]  # noqa
        announced = sandbox.workspace.channel("incidents").messages
        await sandbox.wait_for(lambda: len([r for r in rooms() if r.pins and r.topic]) == DECLARES
                               and len(announced) == DECLARES, timeout=300, interval=0.1)
        drained = time.monotonic() - started
        calls = sandbox.calls[before:]
        creates = [c for c in calls if c.method == "conversations.create"]
        print(f"{DECLARES} declares sent over {sent:.1f} s; drained (every war room with its pinned card and topic, "
              f"every announcement) after {drained:.1f} s")
        print(f"war rooms {len(rooms())}, cards pinned {sum(1 for r in rooms() if len(r.pins) == 1)}, "
              f"announcements {len(announced)}  (each expected {DECLARES}, once)")
        print(f"429s received: {sandbox.limits.refused} of {len(calls)} Slack calls "
              f"(conversations.create called {len(creates)} times)")
        tier2 = (DECLARES - 20) * 3  # 20 at once, then one every 3 s
        posts = DECLARES - 3  # the announcement channel: 3 at once, then one a second
        print(f"bound: Tier 2 creations need {tier2} s after the burst; the announcement channel {posts} s")
    finally:
        process.terminate()
        process.wait(timeout=15)
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
