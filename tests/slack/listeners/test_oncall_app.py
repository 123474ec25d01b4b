"""/oncall and the weekly hand-off checklist, through the real app over Socket Mode."""

from __future__ import annotations

from bot.config import settings_from_mapping
from tests.conftest import ALICE, BOB, CAROL, DAVE, ERIN, TEST_CONFIG, FakeClock
from tests.slack.helpers import declare, settle

CONFIG = {**TEST_CONFIG, "oncall": {
    "team_channel": "oncall",
    "incident_commander": [ERIN],
    "rotations": {
        "primary": {"members": [BOB, CAROL, DAVE], "timezone": "Europe/Berlin", "start": "2026-11-02"},
        "secondary": {"members": [BOB, CAROL, DAVE], "timezone": "Europe/Berlin", "start": "2026-11-02",
                      "offset": 1},
    }}}


async def test_oncall_shows_who_is_on_call_now_and_the_next_handoff(sandbox, bot_factory):
    clock = FakeClock()  # Friday 2026-11-27 09:00 UTC: week 4 of the rotation
    await bot_factory(settings_from_mapping(CONFIG), clock)
    await sandbox.slash(ALICE, "general", "/oncall", "")
    reply = await sandbox.wait_for(lambda: sandbox.ephemerals_for(ALICE))
    text = reply[-1].text
    assert f"*Primary*: <@{BOB}> until" in text  # weeks from 2 Nov: bob, carol, dave, then bob from 23 Nov
    assert f"*Secondary*: <@{CAROL}> until" in text
    assert f"*Incident commander*: <@{ERIN}>" in text
    assert text.index("*Primary*") < text.index("*Secondary*") < text.index("*Incident commander*")
    blocks = str(reply[-1].blocks)
    assert f"Next hand-off: primary <@{BOB}> → <@{CAROL}> on Mon 30 Nov 10:00 Europe/Berlin" in blocks


async def test_each_handoff_posts_the_checklist_once_and_schedules_the_next(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(settings_from_mapping(CONFIG), clock)
    await declare(sandbox, bot, ALICE, "sev2 Search is slow")
    fixed = await declare(sandbox, bot, ALICE, "sev3 Thumbnails missing")
    await bot.incidents.resolve(fixed.id, "CDN purge", ALICE, "test-resolve")
    channel = sandbox.workspace.channel("oncall")
    clock.advance(days=3)  # Monday 09:00 UTC = 10:00 in Berlin
    bot.timers.wake()
    await sandbox.wait_for(lambda: len([m for m in channel.messages if "hand-off" in m.text]) == 2)
    await settle(bot)
    posts = [m for m in channel.messages if "hand-off" in m.text]
    primary = next(str(m.blocks) for m in posts if "hand-off, primary" in str(m.blocks))
    assert f"<@{BOB}> → <@{CAROL}>" in primary and "Mon 30 Nov 10:00 Europe/Berlin" in primary
    assert "Search is slow" in primary and "upcoming changes" in primary and "known issues" in primary
    active, _, past_week = primary.partition("Resolved this past week")
    assert "Thumbnails missing" in past_week and "Thumbnails missing" not in active
    clock.advance(days=6, hours=23)
    bot.timers.wake()
    await settle(bot)
    assert len([m for m in channel.messages if "hand-off" in m.text]) == 2  # not before the next Monday
    clock.advance(hours=1)
    bot.timers.wake()
    await sandbox.wait_for(lambda: len([m for m in channel.messages if "hand-off" in m.text]) == 4)
