"""Figures for the PagerDuty mirror, with `warroom run` as its own process, the Slack sandbox and the HTTPS
PagerDuty stand-in in this one. Prints figures; asserts nothing.

    python bench/pagerduty.py            # SQLite in a temp dir
    DATABASE_URL=postgresql+asyncpg://... python bench/pagerduty.py

Targets (issue 4): >= 500 signed webhook deliveries/s on 2 cores; and the time from a webhook
(incident.acknowledged) to the card updated in Slack.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.lifecycle import percentile, start_warroom  # noqa: E402
from bot.integrations.pagerduty_webhooks import sign  # noqa: E402
from bot.sandbox.pagerduty import API_TOKEN, PagerDutySandbox  # noqa: E402
from bot.sandbox.server import SlackSandbox  # noqa: E402

SECRET = "bench-webhook-secret"
CONFIG = """
slack: {announce_channel: incidents}
oncall: {primary: [U0BOB], secondary: [U0CAROL]}
escalation: {enabled: false}
pagerduty: {service_id: PBENCH1, users: {U0BOB: PBOB001}}
"""


async def start(sandbox: SlackSandbox, pagerduty: PagerDutySandbox, workdir: Path):
    process, _, port = await start_warroom(sandbox, workdir, CONFIG, {
        "PAGERDUTY_API_TOKEN": API_TOKEN, "PAGERDUTY_API_URL": pagerduty.url, "PAGERDUTY_EVENTS_URL": pagerduty.url,
        "PAGERDUTY_FROM_EMAIL": "bench@example.com", "PAGERDUTY_WEBHOOK_SECRET": SECRET,
        "SSL_CERT_FILE": str(pagerduty.ca_bundle(workdir / "ca.pem"))})
    pagerduty.webhook_url = f"http://127.0.0.1:{port}/webhooks/pagerduty"
    return process


async def declare(sandbox: SlackSandbox, pagerduty: PagerDutySandbox, title: str) -> tuple[dict, object]:
    before = len(pagerduty.incidents)
    await sandbox.slash("U0ALICE", "general", "/incident", f"declare sev1 {title}")
    await sandbox.wait_for(lambda: len(pagerduty.incidents) > before, timeout=15)
    twin = list(pagerduty.incidents.values())[-1]
    room = await sandbox.wait_for(lambda: next((c for c in sandbox.workspace.channels.values()
                                                if c.name.endswith(title.lower().replace(" ", "-")) and c.pins
                                                and c.bookmarks), None), timeout=15)
    return twin, room


def signed(document: dict) -> tuple[bytes, dict]:
    raw = json.dumps(document).encode()
    return raw, {"Content-Type": "application/json", "X-Webhook-Id": uuid.uuid4().hex,
                 "X-PagerDuty-Signature": sign(SECRET, raw)}


async def throughput(pagerduty: PagerDutySandbox, twin: dict, count: int, concurrency: int) -> tuple[float, dict]:
    agent = {"id": "PX", "type": "user_reference", "summary": "Bench"}
    # Signed before the clock starts: the figure is warroom's, not this script's.
    deliveries = [signed(pagerduty.webhook("incident.annotated", twin, agent, content=f"note {i}"))
                  for i in range(count)]
    statuses: dict[int, int] = {}
    queue = iter(deliveries)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker():
            for raw, headers in queue:
                async with session.post(pagerduty.webhook_url, data=raw, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return count / elapsed, statuses


async def webhook_to_card(sandbox: SlackSandbox, pagerduty: PagerDutySandbox, rounds: int) -> list[float]:
    timings = []
    for n in range(rounds):
        twin, room = await declare(sandbox, pagerduty, f"Card latency {n}")
        card_ts = sorted(room.pins)[0]
        card = room.find(card_ts)
        raw, headers = signed(pagerduty.webhook("incident.acknowledged", twin,
                                                {"id": "PBOB001", "type": "user_reference", "summary": "Bob"}))
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            async with session.post(pagerduty.webhook_url, data=raw, headers=headers) as response:
                await response.read()
        await sandbox.wait_for(lambda: "*Acknowledged*" in json.dumps(card.blocks), timeout=10, interval=0.001)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-pd-"))
    sandbox = await SlackSandbox().start()
    pagerduty = await PagerDutySandbox(webhook_secret=SECRET).start()
    process = await start(sandbox, pagerduty, workdir)
    try:
        twin, _ = await declare(sandbox, pagerduty, "Throughput target")
        await throughput(pagerduty, twin, 200, 16)  # warm-up
        for concurrency in (16, 64):
            rate, statuses = await throughput(pagerduty, twin, 3000, concurrency)
            print(f"signed webhook deliveries, {concurrency} connections: {rate:.0f}/s  (target >= 500)  "
                  f"statuses {statuses}")
        timings = await webhook_to_card(sandbox, pagerduty, 30)
        print(f"webhook (incident.acknowledged) -> card updated in Slack, {len(timings)} incidents: "
              f"p50 {percentile(timings, 50):.1f} ms, p99 {percentile(timings, 99):.1f} ms")
    finally:
        process.terminate()
        process.wait(10)
        await sandbox.stop()
        await pagerduty.stop()


if __name__ == "__main__":
    asyncio.run(main())
