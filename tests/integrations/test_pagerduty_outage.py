"""PagerDuty goes away in the middle of an incident and comes back: the war room carries on, is told once,
and every change reaches PagerDuty in order, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.config import settings_from_mapping
from bot.storage.tables import OutboxRow
from tests.conftest import ALICE, BOB, PAGERDUTY_SERVICE, TEST_CONFIG
from tests.slack.helpers import bot_texts, declare, settle

CONFIG = {**TEST_CONFIG, "pagerduty": {"service_id": PAGERDUTY_SERVICE, "users": {ALICE: "PALICE", BOB: "PBOB"}}}


async def test_an_outage_and_recovery_in_the_middle_of_an_incident(pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(settings_from_mapping(CONFIG))
    room = await declare(sandbox, bot, ALICE, "sev1 Inference provider down")
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    twin = pagerduty.incidents[incident.pagerduty_id]

    await pagerduty.go_down()
    for text in ("Provider status page confirms outage", "Failing over to the backup provider",
                 "Backup provider serving 100% of traffic"):
        await sandbox.slash(ALICE, room.id, "/incident", f"update {text}")
        await sandbox.wait_for(lambda: any(text in t for t in bot_texts(room)))  # settle() would wait for PagerDuty
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{BOB}>")
    await sandbox.wait_for(lambda: any("is now Incident Commander" in t for t in bot_texts(room)))
    await sandbox.wait_for(lambda: any("PagerDuty is unreachable" in t for t in bot_texts(room)))
    # The war room carried on: every update is in the room, and it was told once that PagerDuty is away.
    assert sum("Backup provider serving" in t for t in bot_texts(room)) == 1
    assert sum("PagerDuty is unreachable" in t for t in bot_texts(room)) == 1
    assert twin["notes"] == []

    await pagerduty.come_back()
    await bot.dispatcher.recover()  # what the next back-off tick would do, without waiting for it
    bot.dispatcher.wake()
    await settle(bot)
    await settle(bot)
    assert [n["content"].split(" (by")[0] for n in twin["notes"]] == [
        "[warroom] Investigating: Provider status page confirms outage",
        "[warroom] Investigating: Failing over to the backup provider",
        "[warroom] Investigating: Backup provider serving 100% of traffic"]
    assert [r["responder_request_targets"][0]["responder_request_target"]["id"]
            for r in twin["responder_requests"]] == ["PBOB"]
    assert sum("PagerDuty answers again" in t for t in bot_texts(room)) == 1
    assert len(pagerduty.incidents) == 1  # nothing created twice


async def test_rate_limited_by_pagerduty_waits_its_retry_after(pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(settings_from_mapping(CONFIG))
    pagerduty.faults.status, pagerduty.faults.times, pagerduty.faults.retry_after = 429, 1, 30
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Checkout latency")
    room = await sandbox.wait_for(lambda: next((c for c in sandbox.workspace.channels.values()
                                                if c.name.startswith("incident-") and c.pins), None))
    await sandbox.wait_for(lambda: pagerduty.requests)
    incident = await bot.incidents.find_in(room.id)
    assert incident.pagerduty_id is None and not pagerduty.incidents
    assert bot_texts(room)  # Slack did not wait for PagerDuty
    for _ in range(100):  # until the refused attempt is settled with its Retry-After
        async with bot.store.reading() as tx:
            [(due, lease)] = (await tx.session.execute(select(OutboxRow.due_at, OutboxRow.lease_owner).where(
                OutboxRow.target == "pagerduty", OutboxRow.status == "pending"))).all()
        if lease is None:
            break
        await asyncio.sleep(0.05)
    assert 25 < (due - bot.dispatcher.clock.now()).total_seconds() <= 30
    await bot.dispatcher.recover()
    bot.dispatcher.wake()
    await settle(bot)
    assert (await bot.incidents.find_in(room.id)).pagerduty_id in pagerduty.incidents


@pytest.mark.failed_effects
async def test_a_refused_create_tells_the_room_to_page_by_hand(pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(settings_from_mapping(
        {**CONFIG, "pagerduty": {**CONFIG["pagerduty"], "escalation_policy_id": "PNOPOLICY"}}))
    pagerduty.faults.status, pagerduty.faults.times = 404, 1  # e.g. an escalation policy that does not exist
    room = await declare(sandbox, bot, ALICE, "sev1 Login broken")
    await settle(bot)
    [refusal] = [t for t in bot_texts(room) if "PagerDuty refused to create this incident" in t]
    assert "(PagerDuty refused (404" in refusal and "page the on-call people by hand" in refusal
    incident = await bot.incidents.find_in(room.id)
    assert incident.pagerduty_id is None and not pagerduty.incidents
