"""A post-mortem from a 10,000-message war room with 500 threads (issue 5). Prints; asserts nothing.

    python bench/postmortem.py

The sandbox serves the channel from its own process, so the figures are warroom's alone: CPU time for
the draft (reading every page and thread, rendering, the blameless check) and peak RSS. Targets: <= 2 s
of CPU, <= 150 MB peak RSS.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MESSAGES, THREADS, REPLIES = 10_000, 500, 4


async def serve() -> None:
    from bot.sandbox.server import SlackSandbox

    sandbox = await SlackSandbox().start()
    room = sandbox.workspace.add_channel("incident-bench", creator="U0WARROOM", members={"U0WARROOM"})
    people = ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"]
    for n in range(MESSAGES):
        message = sandbox.workspace.post(room, people[n % 4], f"message {n}: checking the dashboards, p99 is "
                                                             f"{n % 900} ms and the error rate {n % 7}%")
        if n % (MESSAGES // THREADS) == 0:
            for r in range(REPLIES):
                sandbox.workspace.post(room, people[(n + r) % 4], f"reply {r}: confirmed", thread_ts=message.ts)
    print(sandbox.port, room.id, flush=True)
    await asyncio.Event().wait()


async def main() -> None:
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    port, channel = server.stdout.readline().split()
    try:
        from datetime import datetime, timezone

        from slack_sdk.web.async_client import AsyncWebClient

        from bot import log
        from bot.config import settings_from_mapping
        from bot.core.effects import IncidentRefs
        from bot.core.incident import Severity
        from bot.sandbox.server import BOT_TOKEN
        from bot.services.incidents import IncidentService
        from bot.services.postmortems import PostmortemService
        from bot.slack.history import SlackHistory
        from bot.storage import database
        from bot.storage.repository import Store

        log.configure("WARNING")

        class Clock:
            def now(self):
                return datetime.now(timezone.utc)

        class Everyone:
            async def user_exists(self, user):
                return True

            async def in_usergroup(self, user, group):
                return False

        engine = database.create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
        await database.upgrade(engine)
        store, settings = Store(engine), settings_from_mapping({})
        incidents = IncidentService(store, settings, Clock(), Everyone())
        incident = (await incidents.declare(title="Bench", severity=Severity.SEV1, actor="U0ALICE",
                                            request_key="b")).incident
        async with store.transaction() as tx:
            await tx.incidents.set_refs(incident.id, IncidentRefs(channel_id=channel))
        incident = await incidents.find_in(channel)
        client = AsyncWebClient(token=BOT_TOKEN, base_url=f"http://127.0.0.1:{port}/api/")
        service = PostmortemService(store, settings, Clock(), SlackHistory(client, page_size=200))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu, wall = time.process_time(), time.perf_counter()
        draft = await service.draft(incident, "U0ALICE")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"post-mortem of a {MESSAGES:,}-message channel with {THREADS} threads "
              f"({MESSAGES + THREADS * REPLIES:,} messages in all): {cpu:.2f} s of CPU (target <= 2), "
              f"{wall:.2f} s wall including the sandbox; peak RSS {peak:.0f} MB (target <= 150; "
              f"{rss_before:.0f} MB before); draft {len(draft.content) / 1024:.0f} KiB")
        await engine.dispose()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(serve() if "--serve" in sys.argv else main())
