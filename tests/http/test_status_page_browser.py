"""The status page in a real browser: headless Chromium renders /status of the real bot for a running incident,
a resolved one and a maintenance, at desktop and phone widths. The test reads what a customer sees (the DOM
Chromium built: banner, component states, no internal text) and the screenshot's banner colour; the
screenshots are kept in WARROOM_SCREENSHOTS (default: the test's temporary directory) to be looked at.

Needs WARROOM_TEST_CHROMIUM, the chromium binary (.ci/run installs Debian's `chromium` and sets it)."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.config import settings_from_mapping
from bot.core.incident import Severity
from tests.conftest import ALICE, TEST_CONFIG, ShiftedClock
from tests.slack.helpers import settle, war_rooms

CHROMIUM = os.environ.get("WARROOM_TEST_CHROMIUM")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="needs WARROOM_TEST_CHROMIUM, the path of the chromium "
                                                     "binary (.ci/run installs Debian's chromium and sets it)")
SIZES = {"desktop": (1280, 1000), "phone": (390, 1400)}
SERVICES = {"payments": {"total": 'http_requests_total{service="payments"}',
                         "errors": 'http_requests_total{service="payments",code=~"5.."}'},
            "search": {"total": 'http_requests_total{service="search"}',
                       "errors": 'http_requests_total{service="search",code=~"5.."}'}}
COMPONENTS = [{"name": "Payments API", "description": "Card payments and refunds", "services": ["payments"],
               "group": "API"},
              {"name": "Search", "description": "Product search", "services": ["search"], "group": "Web"}]


async def chromium(profile: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(process.communicate(), 90)
    return out.decode()


async def look(url: str, where: Path, name: str) -> dict[str, tuple[str, Path]]:
    """For each width: the rendered DOM, and the screenshot."""
    seen = {}
    profile = where / f".chromium-{name}"
    for size, (width, height) in SIZES.items():
        shot = where / f"status-{name}-{size}.png"
        dom = await chromium(profile, f"--window-size={width},{height}", "--dump-dom", url)
        await chromium(profile, f"--window-size={width},{height}", f"--screenshot={shot}", url)
        assert shot.exists(), f"Chromium took no screenshot of {name} at {size}"
        seen[size] = (dom, shot)
    dark = where / f"status-{name}-dark.png"
    await chromium(profile, "--window-size=1280,1000", "--force-dark-mode",
                   "--blink-settings=preferredColorScheme=0", f"--screenshot={dark}", url)
    seen["dark"] = ("", dark)
    return seen


def text_of(dom: str) -> str:
    body = re.sub(r"<style.*?</style>", "", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def banner_colour(shot: Path, width: int) -> tuple[int, int, int]:
    """The colour in the banner, left of its text (the banner is the first coloured box under the heading)."""
    image = Image.open(shot).convert("RGB")
    for y in range(40, 300):
        pixel = image.getpixel((width - 40 if width < 600 else width // 2, y))
        if max(pixel) - min(pixel) > 60:  # a saturated colour: the banner, not the white or dark page
            return pixel
    raise AssertionError(f"no banner found in {shot}")


@pytest.fixture
def shots(tmp_path) -> Path:
    where = Path(os.environ.get("WARROOM_SCREENSHOTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


async def test_a_customer_sees_the_outage_the_resolve_and_the_maintenance(sandbox, alerts_bot_factory, shots):
    now = datetime.now(UTC)
    maintenance = [{"service": "search", "start": (now - timedelta(minutes=30)).isoformat(),
                    "end": (now + timedelta(hours=1)).isoformat(), "announced": (now - timedelta(days=5)).isoformat()}]
    settings = settings_from_mapping({**TEST_CONFIG, "sla": {"services": SERVICES},
                                      "status_page": {"title": "Acme status", "components": COMPONENTS}})
    bot = await alerts_bot_factory(settings, None, ShiftedClock())
    url = f"http://127.0.0.1:{bot.port}/status"
    declared = await bot.incidents.declare(title="Payments 503", severity=Severity.SEV1, actor=ALICE,
                                           request_key="k1", service="payments",
                                           description="pgbouncer pool exhausted on db-7")
    await settle(bot)
    room = war_rooms(sandbox)[0]
    await bot.incidents.post_update(room.id, "internal: failover of db-7 to db-8", None, ALICE, "u1")
    await asyncio.sleep(1.1)

    running = await look(url, shots, "running")
    corner = Image.open(running["dark"][1]).convert("RGB").getpixel((5, 5))
    assert max(corner) < 60, corner  # the reader's dark mode: a dark page
    assert banner_colour(running["dark"][1], 1280)[0] > 150  # and still a red banner
    del running["dark"]
    for size, (dom, shot) in running.items():
        seen = text_of(dom)
        assert "Major outage" in seen and "Active incidents" in seen and "Payments API" in seen, size
        assert "Investigating — Users may be unable to use Payments API." in seen, size
        assert "db-7" not in seen and "pgbouncer" not in seen and "failover" not in seen, size
        red, green, blue = banner_colour(shot, SIZES[size][0])
        assert red > 150 and green < 120, (size, (red, green, blue))  # the outage banner is red
    assert 'role="img" aria-label="Payments API:' in running["desktop"][0]

    await bot.incidents.resolve(room.id, "Raised the pool on db-7", ALICE, "r1")
    await settle(bot)
    await asyncio.sleep(1.1)
    resolved = await look(url, shots, "resolved")
    del resolved["dark"]
    for size, (dom, shot) in resolved.items():
        seen = text_of(dom)
        assert "All systems operational" in seen and "Recently resolved" in seen, size
        assert "This incident is resolved: Payments API work normally again" in seen and "db-7" not in seen, size
        red, green, blue = banner_colour(shot, SIZES[size][0])
        assert green > 100 and red < 120, (size, (red, green, blue))  # green: all operational

    bot2 = await _with_maintenance(alerts_bot_factory, bot, maintenance)
    during = await look(f"http://127.0.0.1:{bot2.port}/status", shots, "maintenance")
    del during["dark"]
    for size, (dom, shot) in during.items():
        seen = text_of(dom)
        assert "Scheduled maintenance in progress" in seen and "Under maintenance" in seen, size
        assert "Search (in progress)" in seen, size
    assert declared.incident.id


async def _with_maintenance(alerts_bot_factory, bot, maintenance):
    """The same database, restarted with maintenance in config.yaml (as an operator would add it)."""
    await bot.halt()
    settings = settings_from_mapping({**TEST_CONFIG, "sla": {"services": SERVICES, "maintenance": maintenance},
                                      "status_page": {"title": "Acme status", "components": COMPONENTS}})
    return await alerts_bot_factory(settings, None, ShiftedClock())
