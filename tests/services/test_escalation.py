"""Escalation chains through the real app: DMs with Acknowledge, timers on a fake clock, restarts, drills."""

from __future__ import annotations

from bot.config import settings_from_mapping
from bot.slack.ids import ActionId
from tests.conftest import ALICE, BOB, CAROL, DAVE, ERIN, TEST_CONFIG, FakeClock
from tests.slack.helpers import declare, settle

CONFIG = {**TEST_CONFIG,
          "oncall": {"primary": [BOB], "secondary": [CAROL], "engineering_manager": [DAVE],
                     "vp_engineering": [ERIN], "incident_commander": [ALICE]},
          "escalation": {"enabled": True, "drill_audience": [BOB]}}


def pages(sandbox, user):
    dm = sandbox.workspace.dm(user)
    return [m for m in dm.messages if "You are paged" in m.text or "You are paged" in str(m.blocks)]


async def tick(bot, clock, **delta):
    clock.advance(**delta)
    bot.timers.wake()
    await settle(bot)
    await settle(bot)


async def test_sev2_escalates_step_by_step_until_someone_acknowledges(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(settings_from_mapping(CONFIG), clock)
    room = await declare(sandbox, bot, ALICE, "sev2 Search is slow")
    await tick(bot, clock, seconds=1)
    assert len(pages(sandbox, BOB)) == 1 and not pages(sandbox, CAROL)
    await tick(bot, clock, minutes=4, seconds=50)
    assert not pages(sandbox, CAROL)  # not yet five minutes
    await tick(bot, clock, seconds=15)
    assert len(pages(sandbox, CAROL)) == 1 and len(pages(sandbox, BOB)) == 1
    page = pages(sandbox, CAROL)[0]
    assert "escalation step 2 of 4" in str(page.blocks)
    await sandbox.click(CAROL, sandbox.workspace.dm(CAROL).id, page.ts, ActionId.PAGE_ACK)
    await settle(bot)
    await sandbox.click(BOB, sandbox.workspace.dm(BOB).id, pages(sandbox, BOB)[0].ts,
                        ActionId.PAGE_ACK)  # too late: Carol has it
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    assert incident.acknowledged_by == CAROL
    assert any("already acknowledged by <@U0CAROL>" in e.text for e in sandbox.ephemerals_for(BOB))
    assert "You acknowledged INC-1" in sandbox.workspace.dm(CAROL).messages[-1].text  # the page DM, replaced
    await tick(bot, clock, minutes=30)
    assert not pages(sandbox, DAVE) and not pages(sandbox, ERIN)  # stopped at the acknowledgement
    kinds = [e.kind for e in await bot.incidents.timeline(incident.id)]
    assert kinds.count("escalated") == 2 and kinds.count("acknowledged") == 1
    assert any("Page acknowledged by <@U0CAROL>" in m.text for m in room.messages)


async def test_sev1_pages_primary_and_secondary_together_then_the_commander_and_survives_a_restart(
        sandbox, bot_factory):
    clock = FakeClock()
    settings = settings_from_mapping(CONFIG)
    bot = await bot_factory(settings, clock)
    await declare(sandbox, bot, DAVE, "sev1 Payments down")
    await tick(bot, clock, seconds=1)
    assert len(pages(sandbox, BOB)) == 1 and len(pages(sandbox, CAROL)) == 1
    # A restart between steps: the first process stops firing timers, a new one takes over; the next step
    # comes from the database, on the original schedule.
    await bot.timers.stop()
    second = await bot_factory(settings, clock)
    await tick(second, clock, minutes=4, seconds=58)
    assert not pages(sandbox, ALICE)
    await tick(second, clock, seconds=3)
    assert len(pages(sandbox, ALICE)) == 1  # incident_commander, exactly once
    assert len(pages(sandbox, BOB)) == 1 and len(pages(sandbox, CAROL)) == 1


async def test_a_resolve_stops_the_chain(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(settings_from_mapping(CONFIG), clock)
    room = await declare(sandbox, bot, ALICE, "sev2 Reports late")
    await tick(bot, clock, seconds=1)
    incident = await bot.incidents.find_in(room.id)
    await bot.incidents.resolve(room.id, "Caught up", ALICE, "test-resolve")
    await tick(bot, clock, minutes=20)
    assert len(pages(sandbox, BOB)) == 1 and not pages(sandbox, CAROL)
    assert [e.kind for e in await bot.incidents.timeline(incident.id)].count("escalated") == 1


async def test_a_drill_pages_only_the_drill_audience(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(settings_from_mapping(CONFIG), clock)
    room = await declare(sandbox, bot, ALICE, "--drill sev1 Game day: region failover")
    await tick(bot, clock, seconds=1)
    await tick(bot, clock, minutes=31)
    assert len(pages(sandbox, BOB)) == 1  # in the audience
    assert not any(pages(sandbox, user) for user in (CAROL, DAVE, ERIN, ALICE))
    incident = await bot.incidents.find_in(room.id)
    texts = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "escalated"]
    assert len(texts) == 4 and all("drill" in text for text in texts)


async def test_severities_that_page_nobody_run_no_chain_until_they_page(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(settings_from_mapping(CONFIG), clock)
    room = await declare(sandbox, bot, ALICE, "sev3 Reports late")
    await tick(bot, clock, minutes=30)
    assert not any(pages(sandbox, user) for user in (BOB, CAROL, DAVE, ERIN))  # SEV-3 pages nobody
    await sandbox.slash(ALICE, room.id, "/incident", "sev 2")  # now it pages: the chain starts, from now
    await tick(bot, clock, seconds=1)
    assert len(pages(sandbox, BOB)) == 1 and not pages(sandbox, CAROL)
    await tick(bot, clock, minutes=4, seconds=50)
    assert not pages(sandbox, CAROL)  # step 2 is five minutes after the change, not after the declaration
    await tick(bot, clock, seconds=15)
    assert len(pages(sandbox, CAROL)) == 1
    await sandbox.slash(ALICE, room.id, "/incident", "sev 4")  # back to a severity that pages nobody
    await tick(bot, clock, minutes=30)
    assert not pages(sandbox, DAVE) and not pages(sandbox, ERIN)


async def test_a_chain_named_for_a_quiet_severity_still_runs(sandbox, bot_factory):
    clock = FakeClock()
    config = {**CONFIG, "escalation": {**CONFIG["escalation"], "chains": {
        "sev3": [{"after_minutes": 0, "notify": ["primary"]}]}}}
    bot = await bot_factory(settings_from_mapping(config), clock)
    await declare(sandbox, bot, ALICE, "sev3 The team wants this paged")
    await tick(bot, clock, seconds=1)
    assert len(pages(sandbox, BOB)) == 1
