"""Who may do what, through the real app over Socket Mode: handovers, war-room membership, pages, forged and
malformed payloads, error replies that echo typed text. Every refusal changes nothing."""

from __future__ import annotations

import json

from bot.config import settings_from_mapping
from bot.services.runbooks import NOT_THIS_ROOM
from bot.slack.ids import ActionId
from bot.slack.listeners.handling import FORGED
from tests.conftest import ALICE, BOB, CAROL, DAVE, ERIN, TEST_CONFIG, FakeClock
from tests.slack.helpers import (
    card,
    declare,
    everything_the_bot_posted,
    join,
    replies_to,
    settle,
    submit_modal,
)

MANAGED = {**TEST_CONFIG, "permissions": {"incident_managers": "incident-managers"}}


def warning(text: str) -> str:
    return f":warning: {text}"


async def incident_of(bot, room):
    return await bot.incidents.find_in(room.id)


async def test_the_commander_changes_only_by_handover_or_an_incident_manager(sandbox, bot_factory):
    sandbox.workspace.add_usergroup("incident-managers", [ERIN])
    bot = await bot_factory(settings_from_mapping(MANAGED))
    room = await declare(sandbox, bot, ALICE, "sev2 Checkout errors")  # BOB is paged, so in the room
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await settle(bot)
    await sandbox.slash(BOB, room.id, "/incident", f"role ic <@{BOB}>")  # a grab, not a handover
    await settle(bot)
    assert (await incident_of(bot, room)).commander == ALICE
    assert any("<@U0ALICE> is Incident Commander of INC-1: they must hand it over" in r
               for r in replies_to(sandbox, BOB))

    await sandbox.slash(BOB, room.id, "/incident", f"role communicator <@{BOB}>")  # nobody has it: fine
    await settle(bot)
    await join(sandbox, bot, room, CAROL, DAVE)
    await sandbox.slash(CAROL, room.id, "/incident", f"role communicator <@{CAROL}>")
    await settle(bot)
    assert (await incident_of(bot, room)).communicator == BOB
    assert any("they or the Incident Commander must hand it over" in r for r in replies_to(sandbox, CAROL))
    await sandbox.slash(ALICE, room.id, "/incident", f"role communicator <@{CAROL}>")  # the IC may
    await settle(bot)
    assert (await incident_of(bot, room)).communicator == CAROL

    # The card's form is held to the same rule: the refusal shows in the modal.
    await sandbox.click(DAVE, room.id, card(room).ts, ActionId.ASSIGN_ROLE)
    await settle(bot)
    response = await submit_modal(sandbox, bot, DAVE, {ActionId.ROLE_INPUT: "ic", ActionId.USER_INPUT: DAVE})
    assert "must hand it over" in json.dumps(response)
    assert (await incident_of(bot, room)).commander == ALICE

    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{BOB}>")  # a handover
    await settle(bot)
    assert (await incident_of(bot, room)).commander == BOB
    await join(sandbox, bot, room, ERIN)
    await sandbox.slash(ERIN, room.id, "/incident", f"role ic <@{ERIN}>")  # an incident manager takes over
    await settle(bot)
    incident = await incident_of(bot, room)
    assert incident.commander == ERIN
    handovers = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "role_assigned"]
    assert "Incident Commander handed over from <@U0BOB> to <@U0ERIN>" in handovers
    assert not any("<@U0DAVE>" in text for text in handovers)


async def test_war_room_actions_need_membership_kept_current_by_join_and_leave_events(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Search slow")
    await sandbox.slash(DAVE, room.id, "/incident", "update Looks like the index")
    await sandbox.slash(DAVE, room.id, "/incident", "sev 1")
    await sandbox.slash(DAVE, room.id, "/incident", "timeline I was here")
    for button in (ActionId.RESOLVE, ActionId.POST_UPDATE, ActionId.ASSIGN_ROLE):
        await sandbox.click(DAVE, room.id, card(room).ts, button)
    await settle(bot)
    refusals = [r for r in replies_to(sandbox, DAVE) if "Only people in #incident-" in r]
    assert len(refusals) == 6
    incident = await incident_of(bot, room)
    kinds = [e.kind for e in await bot.incidents.timeline(incident.id)]
    assert incident.severity.label == "SEV-3" and "update" not in kinds and "note" not in kinds
    assert not sandbox.workspace.views  # no form was opened for him

    await join(sandbox, bot, room, DAVE)
    await sandbox.slash(DAVE, room.id, "/incident", "update Looks like the index")
    await settle(bot)
    assert "update" in [e.kind for e in await bot.incidents.timeline(incident.id)]
    await sandbox.leave(DAVE, room.id)
    await settle(bot)
    await sandbox.slash(DAVE, room.id, "/incident", "sev 2")
    await settle(bot)
    assert (await incident_of(bot, room)).severity.label == "SEV-3"
    assert len([r for r in replies_to(sandbox, DAVE) if "Only people in #incident-" in r]) == 7


async def test_a_page_is_acknowledged_only_by_someone_it_reached(sandbox, bot_factory):
    clock = FakeClock()
    settings = settings_from_mapping({**TEST_CONFIG, "escalation": {"enabled": True}})
    bot = await bot_factory(settings, clock)
    room = await declare(sandbox, bot, ALICE, "sev2 Queue backing up")
    clock.advance(seconds=1)
    bot.timers.wake()
    await settle(bot)
    bob_dm = sandbox.workspace.dm(BOB)
    [page] = [m for m in bob_dm.messages if "You are paged" in str(m.blocks)]
    # DAVE was never paged: a click forged from BOB's page must not stop the escalation.
    forged = sandbox.click_payload(DAVE, bob_dm.id, page.ts, ActionId.PAGE_ACK)
    await sandbox.deliver("interactive", forged)
    await settle(bot)
    assert any("You were not paged for INC-1" in r for r in replies_to(sandbox, DAVE))
    assert (await incident_of(bot, room)).acknowledged_by is None
    clock.advance(minutes=5, seconds=1)
    bot.timers.wake()
    await settle(bot)
    assert any("You are paged" in str(m.blocks) for m in sandbox.workspace.dm(CAROL).messages)  # it went on
    await sandbox.click(BOB, bob_dm.id, page.ts, ActionId.PAGE_ACK)
    await settle(bot)
    assert (await incident_of(bot, room)).acknowledged_by == BOB


async def test_forged_stale_and_malformed_runbook_clicks_change_nothing(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Disk filling up")
    other = await declare(sandbox, bot, CAROL, "sev3 Unrelated thing")
    await sandbox.slash(ALICE, room.id, "/incident", "runbook disk-filling-up")
    await settle(bot)
    [step] = sandbox.messages_with_action(room.id, ActionId.RUNBOOK_DONE)

    # CAROL, in her own war room, sends a Done naming ALICE's run.
    forged = sandbox.click_payload(CAROL, room.id, step.ts, ActionId.RUNBOOK_DONE)
    forged["channel"] = {"id": other.id, "name": other.name}
    await sandbox.deliver("interactive", forged)
    # ...and clicks in ALICE's war room, which she has not joined.
    await sandbox.click(CAROL, room.id, step.ts, ActionId.RUNBOOK_DONE)
    await settle(bot)
    replies = replies_to(sandbox, CAROL)
    assert warning(NOT_THIS_ROOM) in replies[-2:] and any("Only people in #incident-" in r for r in replies[-2:])

    for value in ["{", '{"run": "1", "step": 0}', json.dumps({"run": 999, "step": 0}), ""]:
        payload = sandbox.click_payload(ALICE, room.id, step.ts, ActionId.RUNBOOK_DONE)
        payload["actions"][0]["value"] = value
        await sandbox.deliver("interactive", payload)
    note = sandbox.click_payload(ALICE, room.id, step.ts, ActionId.RUNBOOK_NOTE)
    note["actions"][0]["value"] = json.dumps({"run": 999, "step": 0})
    await sandbox.deliver("interactive", note)
    await settle(bot)
    replies = replies_to(sandbox, ALICE)[-5:]
    assert sorted(replies) == sorted([warning(FORGED)] * 3 + [warning(NOT_THIS_ROOM)] * 2)
    assert not any("Something went wrong" in r for r in replies_to(sandbox, ALICE))
    incident = await incident_of(bot, room)
    assert "runbook_step" not in [e.kind for e in await bot.incidents.timeline(incident.id)]
    assert "Done by" not in json.dumps(room.find(step.ts).blocks)


async def test_malformed_card_and_item_values_get_a_reply(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Values")
    await sandbox.slash(ALICE, room.id, "/incident", "action Check the values")
    await settle(bot)
    [item] = sandbox.messages_with_action(room.id, ActionId.ACTION_ITEM_DONE)
    payload = sandbox.click_payload(ALICE, room.id, item.ts, ActionId.ACTION_ITEM_DONE)
    payload["actions"][0]["value"] = "1 OR 1=1"
    await sandbox.deliver("interactive", payload)
    severity = sandbox.click_payload(ALICE, room.id, card(room).ts, ActionId.SEVERITY_SELECT, value="1")
    severity["actions"][0]["selected_option"]["value"] = "9"
    await sandbox.deliver("interactive", severity)
    await settle(bot)
    assert replies_to(sandbox, ALICE)[-2:] == [warning(FORGED)] * 2
    assert (await incident_of(bot, room)).severity.label == "SEV-3"


async def test_error_replies_never_render_what_was_typed(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Echoes")
    for text in ["<https://evil.example|click-me>", "role ic <https://evil.example|x>",
                 "runbook <https://evil.example|x>", "sev <!channel>", "action Fix due:<!here>"]:
        await sandbox.slash(ALICE, room.id, "/incident", text)
    await settle(bot)
    replies = replies_to(sandbox, ALICE)[-5:]
    assert len(replies) == 5 and all("&lt;" in r for r in replies), replies
    posted = everything_the_bot_posted(sandbox)
    assert "<https://evil" not in posted and "<!channel>" not in posted and "<!here>" not in posted
