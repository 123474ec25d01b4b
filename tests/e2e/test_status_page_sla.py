"""The status page's uptime bars from the SLA's own measurement, against a real Prometheus serving the generated
October (tests/sla_month.py): each day's bad minutes are the SLA's, maintenance announced in time is no
downtime, and the days before monitoring began are not counted as an outage.

Needs WARROOM_TEST_PROMETHEUS (.ci/run sets it)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import aiohttp

from bot.config import settings_from_mapping
from tests.conftest import TEST_CONFIG, FakeClock
from tests.sla_month import MAINTENANCE, SERVICES

COMPONENTS = [{"name": "API", "services": ["api"]}, {"name": "Website", "services": ["web"]},
              {"name": "Search", "services": ["search"]}]


async def fetch(port: int, path: str) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}{path}") as answer:
            assert answer.status == 200
            return await answer.text()


async def test_uptime_bars_follow_the_sla_measurement(prometheus, alerts_bot_factory):
    settings = settings_from_mapping({**TEST_CONFIG, "sla": {"prometheus_url": prometheus.url, "services": SERVICES,
                                                             "maintenance": MAINTENANCE},
                                      "status_page": {"components": COMPONENTS}})
    bot = await alerts_bot_factory(settings, None, FakeClock(datetime(2026, 11, 1, 0, 30, tzinfo=UTC)))
    await fetch(bot.port, "/status")  # the first request starts the measurement, in the background
    for _ in range(600):
        uptime = {c["name"]: c["uptime_90_days"] for c in json.loads(await fetch(bot.port, "/status.json"))
                  ["components"]}
        if uptime["API"] != "100.00":
            break
        await asyncio.sleep(0.1)
    # api: 9 bad windows and 10 without data (95 minutes); web: 3 bad windows (15 minutes); over 89 days 30 min.
    assert uptime == {"API": f"{100 * (1 - 95 / 128190):.2f}", "Website": f"{100 * (1 - 15 / 128190):.2f}",
                      "Search": "100.00"}
    html = await fetch(bot.port, "/status")
    api = html[html.index(">API<"):html.index(">Website<")]
    days = dict(re.findall(r'title="(2026-\d\d-\d\d): ([^"·]*?)(?: ·[^"]*)?"', api))
    assert days["2026-10-03"] == "30 min down"  # a 10 % 5xx outage, 10:00-10:30
    assert days["2026-10-07"] == "10 min down" and days["2026-10-10"] == "5 min down"
    assert days["2026-10-12"] == "20 min down" and days["2026-10-20"] == "30 min down"  # no samples: down
    assert days["2026-10-15"] == "no downtime"  # maintenance announced 14 days ahead
    assert days["2026-09-30"] == "no downtime" and days["2026-08-15"] == "no downtime"  # before monitoring began
    assert 'class="outage" title="2026-10-03' in api and 'class="minor" title="2026-10-07' in api
