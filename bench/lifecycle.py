"""Figures for the incident lifecycle, over Socket Mode against the sandbox, with `warroom run` as its own
process (as in production). Prints figures; asserts nothing.

    python bench/lifecycle.py            # SQLite in a temp dir
    DATABASE_URL=postgresql+asyncpg://... python bench/lifecycle.py

Targets (issue 2): ack p99 <= 25 ms for 50 concurrent `/incident status`; card posted <= 250 ms after the
envelope with 100 ms added to every Slack call; <= 8 Slack calls per declare; idle RSS <= 120 MB;
`warroom run` ready <= 2 s. Issue 18: with every envelope committed to the inbox before its ack, ack p99
<= 10 ms at 50 concurrent commands, also with 50,000 incidents in the database and 200 open (`/incident status`
in #incidents lists every open incident). Clicks carry their message (a card: 3.6 KB), so fifty of them are
measured too.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import psutil
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.sandbox.server import APP_TOKEN, BOT_TOKEN, SlackSandbox  # noqa: E402
from bot.slack.ids import ActionId  # noqa: E402
from bot.storage import database  # noqa: E402
from bot.storage.tables import IncidentRow  # noqa: E402

CONFIG = "slack: {announce_channel: incidents}\noncall: {primary: [U0BOB], secondary: [U0CAROL]}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_warroom(sandbox: SlackSandbox, workdir: Path, config: str | None = None,
                        extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, float, int]:
    port = free_port()
    (workdir / "config.yaml").write_text(config or CONFIG)
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": sandbox.api_url,
           "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{workdir / 'bench.db'}"),
           "WARROOM_CONFIG": str(workdir / "config.yaml"), "WARROOM_HTTP_PORT": str(port), **(extra_env or {})}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=subprocess.DEVNULL,
                               stderr=(workdir / "warroom.log").open("w"))
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process, time.perf_counter() - started, port
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def timed_ack(sandbox: SlackSandbox, channel: str) -> float:
    payload = sandbox.slash_payload("U0ALICE", channel, "/incident", "status")
    started = time.perf_counter()
    await sandbox.deliver("slash_commands", payload)
    return (time.perf_counter() - started) * 1000


async def timed_click(sandbox: SlackSandbox, channel: str, ts: str) -> float:
    payload = sandbox.click_payload("U0ALICE", channel, ts, ActionId.POST_UPDATE)  # carries the card, as Slack's do
    started = time.perf_counter()
    await sandbox.deliver("interactive", payload)
    return (time.perf_counter() - started) * 1000


async def ack_round(sandbox: SlackSandbox, channel: str, label: str, *, card_ts: str | None = None) -> None:
    # The sandbox stands in for Slack, in this process: its collector's pauses are not warroom's (a full
    # collection here took 40-68 ms once the 50,000 rows had passed through), so what it holds by now is
    # frozen out of the collector's sight before each round.
    gc.freeze()

    def one():
        return timed_click(sandbox, channel, card_ts) if card_ts else timed_ack(sandbox, channel)

    for _ in range(20):  # warm-up
        await one()
    latencies: list[float] = []
    for _ in range(5):
        latencies += await asyncio.gather(*[one() for _ in range(50)])
        await asyncio.sleep(0.5)
    what = "clicks on the card's [Post update]" if card_ts else "/incident status"
    print(f"ack latency, 50 concurrent {what} x5, {label}: p50 {percentile(latencies, 50):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms  (target p99 <= 10)")


async def add_history(database_url: str, total: int = 50_000, still_open: int = 200) -> None:
    """Fills the database as a few years of incidents would: `total` incidents, `still_open` of them open."""
    engine = database.create_engine(database_url)
    now = datetime.now(timezone.utc)
    try:
        for start in range(0, total, 5000):
            rows = [{"title": f"Past incident {n}", "title_key": f"past incident {n}", "severity": 1 + n % 4,
                     "status": "investigating" if n < still_open else "resolved", "description": "", "service": "",
                     "declared_by": "U0ALICE", "declared_at": now - timedelta(hours=n),
                     "resolved_at": None if n < still_open else now - timedelta(hours=n - 1),
                     "responders": [], "paged": [], "summary": "", "channel_name": f"incident-past-{n}",
                     "channel_id": f"CPAST{n:07d}", "is_drill": False, "pagerduty_state": ""}
                    for n in range(start, min(total, start + 5000))]
            async with engine.begin() as connection:
                await connection.execute(insert(IncidentRow.__table__), rows)
    finally:
        await engine.dispose()


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    sandbox = await SlackSandbox().start()
    database_url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    process, ready_seconds, _ = await start_warroom(sandbox, workdir)
    try:
        print(f"warroom run ready (process start to /readyz 200): {ready_seconds * 1000:.0f} ms  (target <= 2000)")
        await asyncio.sleep(3)
        rss = psutil.Process(process.pid).memory_info().rss / 2 ** 20
        children = sum(child.memory_info().rss for child in psutil.Process(process.pid).children()) / 2 ** 20
        print(f"idle RSS after start: {rss:.1f} MB  (target <= 120), and the Slack receiver process {children:.1f} MB")

        # declare critical path, 100 ms added to every Slack call
        sandbox.latency = 0.100
        paths, calls, pages = [], [], []
        for n in range(5):
            before = len(sandbox.calls)
            sent = time.monotonic()
            await sandbox.slash("U0ALICE", "general", "/incident", f"declare sev2 Bench incident {n}")
            card_at = None
            deadline = time.monotonic() + 10
            while card_at is None and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
                for call in sandbox.calls[before:]:
                    if call.method == "chat.postMessage" and "'header'" in str(call.params.get("blocks")):
                        card_at = call.at
            if card_at is None:
                raise SystemExit("the card was never posted; see the log in " + str(workdir))
            paths.append((card_at - sent) * 1000)
            await asyncio.sleep(0.8)
            # The page itself (escalation step 1: a DM to the primary) is counted apart from the war room's set-up.
            made = [c for c in sandbox.calls[before:] if c.method not in ("auth.test", "conversations.list")]
            pages.append(sum(1 for c in made if str(c.params.get("channel", "")).startswith("U")))
            calls.append([c.method for c in made if not str(c.params.get("channel", "")).startswith("U")])
        print(f"declare -> card posted, 100 ms per Slack call: median {statistics.median(paths):.0f} ms, "
              f"max {max(paths):.0f} ms  (target <= 250)")
        print(f"page DMs per SEV-2 declare (escalation step 1, the primary): {statistics.median(pages):.0f}")
        print(f"Slack API calls per SEV-2 declare: {statistics.median(len(c) for c in calls):.0f}  (target <= 8): "
              f"{', '.join(sorted(calls[-1]))}")
        sandbox.latency = 0.0

        # ack latency: 50 concurrent /incident status, five rounds: in a war room, in #incidents, and in
        # #incidents again once the database holds 50,000 incidents of which 200 are open
        room = [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")][0]
        await ack_round(sandbox, room.id, "in a war room")
        card = sandbox.messages_with_action(room.id, ActionId.POST_UPDATE)[-1]
        await ack_round(sandbox, room.id, "each carrying the card", card_ts=card.ts)
        incidents = sandbox.workspace.channel("incidents").id
        await ack_round(sandbox, incidents, "in #incidents, 5 incidents")
        await add_history(database_url)
        await ack_round(sandbox, incidents, "in #incidents, 50,000 incidents, 205 open")
        rss = psutil.Process(process.pid).memory_info().rss / 2 ** 20
        print(f"RSS after the run: {rss:.1f} MB")
    finally:
        process.terminate()
        process.wait(timeout=20)
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
