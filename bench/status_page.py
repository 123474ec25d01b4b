"""Figures for warroom's own status page: `warroom run` as its own process (as in production), a SEV-1 on the page,
200 concurrent clients reading /status and /status.json while the Communicator publishes an update every
second. Prints requests per second and latency percentiles; asserts nothing. The clients run on the same
machine as warroom, so on 2 cores the figures are the pair's, not warroom's alone.

    python bench/status_page.py            # SQLite in a temp dir
    DATABASE_URL=postgresql+asyncpg://... python bench/status_page.py

The page is rendered from a snapshot rebuilt only when something customers see changed (checked at most once
a second), never per request (issue 15).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.lifecycle import percentile, start_warroom  # noqa: E402
from bot.sandbox.server import SlackSandbox  # noqa: E402

CONFIG = """slack: {announce_channel: incidents}
oncall: {primary: [U0BOB], secondary: [U0CAROL]}
escalation: {enabled: false}
status_page:
  title: Bench status
  components:
    - {name: Payments API, services: [payments], group: API}
    - {name: Checkout, services: [checkout], group: Web}
    - {name: Search, services: [search], group: Web}
"""
CLIENTS, SECONDS = 200, 10


async def client(session: aiohttp.ClientSession, url: str, until: float, latencies: list[float],
                 failures: list[int]) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            async with session.get(url) as answer:
                await answer.read()
                if answer.status != 200:
                    failures.append(answer.status)
        except aiohttp.ClientError:
            failures.append(0)
        latencies.append((time.perf_counter() - started) * 1000)


async def publisher(sandbox: SlackSandbox, room: str, until: float) -> int:
    published = 0
    while time.monotonic() < until:
        await sandbox.slash("U0ALICE", room, "/incident", f"statuspage Still working on it (update {published}).")
        published += 1
        await asyncio.sleep(1)
    return published


async def load(sandbox: SlackSandbox, port: int, path: str, room: str) -> None:
    url = f"http://127.0.0.1:{port}{path}"
    latencies: list[float] = []
    failures: list[int] = []
    until = time.monotonic() + SECONDS
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        results = await asyncio.gather(publisher(sandbox, room, until),
                                       *[client(session, url, until, latencies, failures) for _ in range(CLIENTS)])
        elapsed = time.monotonic() - started
    print(f"{path}: {CLIENTS} clients for {elapsed:.1f} s while {results[0]} public updates were published: "
          f"{len(latencies) / elapsed:.0f} requests/s, p50 {percentile(latencies, 50):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms, {len(failures)} failed")


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-status-"))
    sandbox = await SlackSandbox().start()
    process, _, port = await start_warroom(sandbox, workdir, CONFIG)
    try:
        await sandbox.slash("U0ALICE", "general", "/incident", "declare sev1 Payments failing")
        room = None
        while room is None:
            await asyncio.sleep(0.05)
            room = next((c.id for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")), None)
        await asyncio.sleep(1)
        await sandbox.slash("U0ALICE", room, "/incident", "role ic <@U0ALICE>")
        await asyncio.sleep(1)
        for path in ("/status", "/status.json"):
            await load(sandbox, port, path, room)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/status.json") as answer:
                shown = (await answer.json())["incidents"]
        print(f"the page shows {sum(len(i['updates']) for i in shown)} public updates of the incident (the opening "
              f"message and those published during the runs)")
    finally:
        process.terminate()
        process.wait(10)
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
