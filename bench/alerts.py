"""Alertmanager deliveries into `warroom run` (its own process, as in production), against the Slack sandbox.
Prints figures; asserts nothing.

    python bench/alerts.py            # SQLite in a temp dir
    DATABASE_URL=postgresql+asyncpg://... python bench/alerts.py   (an empty database)

Issue 13: 50 concurrent deliveries of 20 alerts each (SEV-3 groups: each is asked about in #alerts) -> every
alert committed, the time until the last is answered, the p99 answer latency, nothing lost, what reached Slack;
then the same groups re-sent as fast as 16 connections can, as Alertmanager does on every group_interval.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.lifecycle import percentile, start_warroom  # noqa: E402
from bot.sandbox.server import SlackSandbox  # noqa: E402
from bot.sandbox.workspace import BOT_USER_ID  # noqa: E402
from bot.storage import database  # noqa: E402

TOKEN = "bench-alertmanager-token"
GROUPS, ALERTS = 50, 20
CONFIG = "slack: {announce_channel: incidents}\nalerts: {channel: alerts}\n"


def group(number: int) -> dict:
    began = datetime.now(timezone.utc) - timedelta(minutes=5)
    alerts = [{"status": "firing", "fingerprint": f"{number:04d}{index:04d}",
               "labels": {"alertname": f"DiskFillingUp{number}", "severity": "warning", "instance": f"db-{index}"},
               "annotations": {"summary": f"disk {index} of group {number} is filling up"},
               "startsAt": began.isoformat(), "endsAt": "0001-01-01T00:00:00Z",
               "generatorURL": "http://prometheus:9090/graph"} for index in range(ALERTS)]
    return {"version": "4", "groupKey": f"{{}}:{{alertname=\"DiskFillingUp{number}\"}}", "truncatedAlerts": 0,
            "status": "firing", "receiver": "warroom", "groupLabels": {"alertname": f"DiskFillingUp{number}"},
            "commonLabels": {"alertname": f"DiskFillingUp{number}", "severity": "warning"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts}


async def deliver(http: aiohttp.ClientSession, url: str, body: dict) -> tuple[float, str]:
    started = time.perf_counter()
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}) as answer:
        outcome = (await answer.json())["outcome"] if answer.status == 200 else f"HTTP {answer.status}"
    return (time.perf_counter() - started) * 1000, outcome


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    url_db = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    sandbox = await SlackSandbox().start()
    sandbox.workspace.add_channel("alerts", creator="U0ALICE", members={"U0ALICE", BOT_USER_ID})
    process, _, port = await start_warroom(sandbox, workdir, CONFIG, {"ALERTMANAGER_WEBHOOK_TOKEN": TOKEN})
    url = f"http://127.0.0.1:{port}/webhooks/alertmanager"
    bodies = [group(n) for n in range(GROUPS)]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=GROUPS)) as http:
            started = time.perf_counter()
            results = await asyncio.gather(*(deliver(http, url, body) for body in bodies))
            last = (time.perf_counter() - started) * 1000
            latencies = [latency for latency, _ in results]
            outcomes = {outcome: sum(1 for _, o in results if o == outcome) for _, outcome in results}
            print(f"{GROUPS} concurrent deliveries of {ALERTS} alerts: the last answered after {last:.0f} ms; "
                  f"answer p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms; "
                  f"outcomes {outcomes}")
            engine = database.create_engine(url_db)
            async with engine.connect() as connection:
                stored = (await connection.execute(text("SELECT count(*) FROM alerts"))).scalar()
            await engine.dispose()
            print(f"alerts committed: {stored} of {GROUPS * ALERTS}")
            channel = sandbox.workspace.channel("alerts")
            for _ in range(900):
                posted = [m for m in channel.messages if m.user == BOT_USER_ID]
                if len(posted) >= GROUPS:
                    break
                await asyncio.sleep(0.1)
            took = time.perf_counter() - started
            print(f"reached Slack: {len(posted)} messages in #alerts (one per group expected) within {took:.0f} s "
                  f"(Slack takes about one post a second per channel), "
                  f"{sum(1 for c in sandbox.workspace.channels.values() if c.name.startswith('incident-'))} war rooms")

            # Re-sends: the same groups, byte for byte, as fast as 16 connections allow, for 5 s.
            seconds, count, unchanged = 5.0, 0, 0
            deadline = time.perf_counter() + seconds
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16))

            async def worker(offset: int) -> None:
                nonlocal count, unchanged
                index = offset
                while time.perf_counter() < deadline:
                    _, outcome = await deliver(session, url, bodies[index % GROUPS])
                    count += 1
                    unchanged += outcome == "unchanged"
                    index += 16
            await asyncio.gather(*(worker(n) for n in range(16)))
            await session.close()
            print(f"re-sends absorbed: {count / seconds:.0f}/s over 16 connections ({unchanged} of {count} "
                  f"answered unchanged); #alerts still has "
                  f"{len([m for m in channel.messages if m.user == BOT_USER_ID])} messages")
    finally:
        process.terminate()
        process.wait(10)
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
