"""POST /webhooks/pagerduty on the real bot: signatures, redeliveries, and what each event does in Slack."""

from __future__ import annotations

import json

from bot.config import settings_from_mapping
from bot.integrations.pagerduty_webhooks import sign
from tests.conftest import ALICE, BOB, PAGERDUTY_SERVICE, TEST_CONFIG
from tests.slack.helpers import bot_texts, card, declare, mrkdwn_texts, settle

WATCHED = "PWATCHED"


def config(**pagerduty):
    return settings_from_mapping({**TEST_CONFIG, "pagerduty": {
        "service_id": PAGERDUTY_SERVICE, "users": {BOB: "PBOB", ALICE: "PALICE"},
        "open_war_rooms_for": [WATCHED], **pagerduty}})


async def mirrored_incident(sandbox, bot, pagerduty, text="sev1 Checkout is down"):
    room = await declare(sandbox, bot, ALICE, text)
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    assert incident.pagerduty_id in pagerduty.incidents
    return room, incident


async def test_signatures_are_checked_before_anything_else(pagerduty_bot_factory, pagerduty, sandbox):
    await pagerduty_bot_factory(config())
    document = pagerduty.webhook("incident.priority_updated", pagerduty.open_incident("x", "POTHER"))
    raw = json.dumps(document).encode()
    missing = await pagerduty.deliver(document, signature="")
    assert missing.status == 401
    wrong = await pagerduty.deliver(document, signature=sign("not-the-secret", raw))
    assert wrong.status == 401
    garbled = await pagerduty.deliver(document, signature="sha256=abc")
    assert garbled.status == 401
    # During a secret rotation PagerDuty sends several; one good one is enough.
    several = await pagerduty.deliver(document, signature=f"{sign('old-secret', raw)}, {sign('whsec-test', raw)}")
    assert several.status == 202  # valid, but about an incident warroom does not know: ignored


async def test_malformed_bodies_are_400_and_unknown_events_202(pagerduty_bot_factory, pagerduty, sandbox):
    import aiohttp

    bot = await pagerduty_bot_factory(config())
    async with aiohttp.ClientSession() as session:
        for raw, reason in [(b"{not json", "not JSON"), (b'{"messages": []}', "no `event` object"),
                            (b'{"event": {"event_type": 5}}', "string `event_type`")]:
            async with session.post(pagerduty.webhook_url, data=raw,
                                    headers={"X-PagerDuty-Signature": sign("whsec-test", raw)}) as response:
                assert response.status == 400
                assert reason in (await response.json())["error"]
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    response = await pagerduty.deliver(pagerduty.webhook("incident.conference_bridge.updated",
                                                         pagerduty.incidents[incident.pagerduty_id]))
    assert response.status == 202


async def test_acknowledged_in_pagerduty_reaches_timeline_and_card_once(pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(config())
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    document = pagerduty.webhook("incident.acknowledged", pagerduty.incidents[incident.pagerduty_id],
                                 agent={"id": "PBOB", "type": "user_reference", "summary": "Bob"})
    first = await pagerduty.deliver(document, webhook_id="delivery-1")
    again = await pagerduty.deliver(document, webhook_id="delivery-1")  # PagerDuty redelivers
    await settle(bot)
    assert (first.status, again.status) == (200, 202)  # the second changes nothing
    entries = [e for e in await bot.incidents.timeline(incident.id) if e.kind == "acknowledged"]
    assert len(entries) == 1 and "in PagerDuty by <@U0BOB>" in entries[0].text
    assert any("*Acknowledged*\n<@U0BOB> after" in text for text in mrkdwn_texts(card(room).blocks))
    assert sum("Page acknowledged in PagerDuty" in text for text in bot_texts(room)) == 1
    # The card and the bookmark link the PagerDuty incident.
    assert any(incident.pagerduty_url in text for text in mrkdwn_texts(card(room).blocks))
    assert [b["link"] for b in room.bookmarks] == [incident.pagerduty_url]


async def test_escalated_reassigned_and_notes_go_on_the_timeline_but_not_our_own_notes(
        pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(config())
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    twin = pagerduty.incidents[incident.pagerduty_id]
    agent = {"id": "PX", "type": "user_reference", "summary": "Dana <script>"}
    await pagerduty.deliver(pagerduty.webhook("incident.escalated", twin, agent))
    await pagerduty.deliver(pagerduty.webhook("incident.reassigned", {**twin, "assignees": [{"summary": "Erin"}]},
                                              agent))
    note = pagerduty.webhook("incident.annotated", twin, agent, content="Vendor confirms outage")
    first = await pagerduty.deliver(note, webhook_id="note-delivery")
    again = await pagerduty.deliver(note, webhook_id="note-delivery")  # redelivered: X-Webhook-Id says so
    assert (first.status, again.status, (await again.json())["outcome"]) == (200, 200, "duplicate")
    await sandbox.slash(ALICE, room.id, "/incident", "update Failing over to the backup provider")
    await settle(bot)
    assert [n["content"] for n in twin["notes"]][-1].startswith("[warroom] Investigating: Failing over")
    await pagerduty.deliver(pagerduty.webhook("incident.annotated", twin, agent, content=twin["notes"][-1]["content"]))
    texts = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "pagerduty"]
    assert texts == ["Escalated in PagerDuty (Dana <script>)", "Reassigned in PagerDuty (Dana <script>): now with Erin",
                     "Note in PagerDuty by Dana <script>: Vendor confirms outage"]


async def test_resolved_in_pagerduty_resolves_in_slack_without_echoing_back(pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(config())
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    response = await pagerduty.act(incident.pagerduty_id, "incident.resolved", {"id": "PBOB", "summary": "Bob"})
    await settle(bot)
    assert response.status == 200
    resolved = await bot.incidents.find_in(room.id)
    assert not resolved.is_open and resolved.summary == "Resolved in PagerDuty by Bob"
    assert any("was resolved by Bob (PagerDuty)" in t for t in bot_texts(room))
    assert not [r for r in pagerduty.requests if r.method == "PUT"]  # nothing sent back to PagerDuty


async def test_resolved_in_pagerduty_can_prompt_the_commander_instead(pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(config(on_resolve="prompt"))
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await settle(bot)
    await pagerduty.act(incident.pagerduty_id, "incident.resolved", {"id": "PBOB", "summary": "Bob <!channel>"})
    await settle(bot)
    assert (await bot.incidents.find_in(room.id)).is_open
    assert any("Resolved in PagerDuty by Bob &lt;!channel&gt;" in t and "<@U0ALICE>, resolve here" in t
               for t in bot_texts(room))


async def test_resolving_in_slack_resolves_in_pagerduty_and_its_webhook_changes_nothing(
        pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(config())
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    await sandbox.slash(ALICE, room.id, "/incident", "resolve Provider recovered")
    from bot.slack.ids import ActionId
    from tests.slack.helpers import submit_modal
    await submit_modal(sandbox, bot, ALICE, {ActionId.SUMMARY_INPUT: "Provider recovered"})
    twin = pagerduty.incidents[incident.pagerduty_id]
    assert twin["status"] == "resolved"
    echo = await pagerduty.deliver(pagerduty.webhook("incident.resolved", twin, {"id": "PALICE", "summary": "warroom"}))
    assert echo.status == 202
    assert [e.kind for e in await bot.incidents.timeline(incident.id)].count("resolved") == 1


async def test_an_incident_triggered_elsewhere_on_a_watched_service_opens_a_war_room(
        pagerduty_bot_factory, pagerduty, sandbox):
    bot = await pagerduty_bot_factory(config())
    outside = pagerduty.open_incident("Disk full on db-3", WATCHED, urgency="high")
    ignored = pagerduty.open_incident("Flaky batch job", "PNOTWATCHED")
    for twin in (outside, ignored, outside):  # the last one is a second delivery of the same trigger
        await pagerduty.deliver(pagerduty.webhook("incident.triggered", twin))
    await settle(bot)
    rooms = [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")]
    assert [c.name for c in rooms] == ["incident-20261127-disk-full-on-db-3"] or \
        [c.name.split("-", 2)[-1] for c in rooms] == ["disk-full-on-db-3"]
    incident = await bot.incidents.find_in(rooms[0].id)
    assert incident.pagerduty_id == outside["id"] and incident.severity.label == "SEV-2"
    assert not [r for r in pagerduty.requests if r.method == "POST" and r.path == "/incidents"]


async def test_a_burst_with_concurrent_redeliveries_records_each_delivery_once(pagerduty_bot_factory, pagerduty,
                                                                              sandbox):
    import asyncio

    bot = await pagerduty_bot_factory(config())
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    twin = pagerduty.incidents[incident.pagerduty_id]
    agent = {"id": "PX", "type": "user_reference", "summary": "Dana"}
    notes = [pagerduty.webhook("incident.annotated", twin, agent, content=f"note {n}") for n in range(40)]
    # Every delivery twice, at the same time: they land in the same group commit.
    answers = await asyncio.gather(*(pagerduty.deliver(note, webhook_id=f"burst-{n}")
                                     for n, note in enumerate(notes) for _ in range(2)))
    outcomes = sorted([(await answer.json())["outcome"] for answer in answers])
    assert outcomes == ["duplicate"] * 40 + ["noted"] * 40
    texts = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "pagerduty"]
    assert sorted(texts) == sorted(f"Note in PagerDuty by Dana: note {n}" for n in range(40))


async def test_a_captured_delivery_replayed_under_a_new_webhook_id_is_a_duplicate(pagerduty_bot_factory, pagerduty,
                                                                                  sandbox):
    bot = await pagerduty_bot_factory(config())
    room, incident = await mirrored_incident(sandbox, bot, pagerduty)
    agent = {"id": "PX", "type": "user_reference", "summary": "Dana"}
    note = pagerduty.webhook("incident.annotated", pagerduty.incidents[incident.pagerduty_id], agent, content="once")
    first = await pagerduty.deliver(note, webhook_id="original")
    # The body and its signature are replayed as captured; only the unsigned header is new.
    replayed = await pagerduty.deliver(note, webhook_id="attacker-chosen")
    assert [(await r.json())["outcome"] for r in (first, replayed)] == ["noted", "duplicate"]
    texts = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "pagerduty"]
    assert texts.count("Note in PagerDuty by Dana: once") == 1
