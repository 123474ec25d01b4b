"""Severity, roles, updates, the timeline and resolving, through the real app and the sandbox."""

import json

from bot.config import settings_from_mapping
from bot.slack.ids import ActionId
from tests.conftest import ALICE, BOB, CAROL, DAVE, ERIN, TEST_CONFIG
from tests.slack.helpers import (
    bot_texts,
    card,
    declare,
    replies_to,
    settle,
    submit_modal,
)


async def test_severity_change_by_command_updates_card_room_and_announcements(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Queue backlog growing")
    await sandbox.slash(ALICE, room.id, "/incident", "sev 1")
    await settle(bot)
    assert "SEV-1" in card(room).blocks[0]["text"]["text"]
    assert CAROL in room.members  # the escalation paged the secondary
    assert any("Escalated from SEV-2 to SEV-1" in t and "<@U0CAROL>" in t for t in bot_texts(room))
    announcements = sandbox.workspace.channel("incidents").messages
    assert any("Escalated from SEV-2 to SEV-1" in m.text and m.thread_ts for m in announcements)
    assert len(sandbox.workspace.channel("leadership").messages) == 1
    incident = await bot.incidents.find_in(room.id)
    assert [t.kind for t in await bot.incidents.timeline(incident.id)][-2:] == ["severity_changed", "paged"]


async def test_a_double_click_on_the_severity_menu_changes_it_once(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Slow reports")
    ts = card(room).ts
    await sandbox.click(ALICE, room.id, ts, ActionId.SEVERITY_SELECT, value="2")
    await sandbox.click(ALICE, room.id, ts, ActionId.SEVERITY_SELECT, value="2")
    await settle(bot)
    assert sum("Escalated from SEV-3 to SEV-2" in t for t in bot_texts(room)) == 1
    incident = await bot.incidents.find_in(room.id)
    assert [t.kind for t in await bot.incidents.timeline(incident.id)].count("severity_changed") == 1


async def test_roles_by_command_and_by_the_cards_modal(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Webhooks delayed")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}|alice>")
    await sandbox.slash(ALICE, room.id, "/incident", f"role responder <@{DAVE}>")
    await settle(bot)
    await sandbox.click(ALICE, room.id, card(room).ts, ActionId.ASSIGN_ROLE)
    await submit_modal(sandbox, bot, ALICE, {ActionId.ROLE_INPUT: "ic", ActionId.USER_INPUT: ERIN})
    fields = json.dumps(card(room).blocks[1])
    assert "<@U0ERIN>" in fields and "<@U0DAVE>" in fields
    assert {DAVE, ERIN} <= room.members
    assert any("Incident Commander handed over from <@U0ALICE> to <@U0ERIN>" in t for t in bot_texts(room))
    assert "IC <@U0ERIN>" in room.topic


async def test_updates_post_in_the_room_and_the_announcement_thread(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Image uploads failing")
    await sandbox.slash(BOB, room.id, "/incident", "update identified S3 credentials expired")
    await settle(bot)
    assert any("*Update* (Identified)" in t and "S3 credentials expired" in t for t in bot_texts(room))
    [top, reply] = sandbox.workspace.channel("incidents").messages
    assert reply.thread_ts == top.ts and "S3 credentials expired" in reply.text
    assert "Identified" in json.dumps(card(room).blocks)
    # No status page is set up here: nothing is published (tests/slack/listeners/test_status_page_app.py has
    # the war room's words never reaching customers when one is).
    incident = await bot.incidents.find_in(room.id)
    async with bot.store.reading() as tx:
        assert await tx.public.get(incident.id) is None


async def test_update_without_text_opens_a_modal_with_the_status(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Emails bouncing")
    await sandbox.slash(BOB, room.id, "/incident", "update")
    await settle(bot)
    await submit_modal(sandbox, bot, BOB, {ActionId.STATUS_INPUT: "monitoring",
                                           ActionId.UPDATE_TEXT_INPUT: "Provider fixed it"})
    incident = await bot.incidents.find_in(room.id)
    assert incident.status.value == "monitoring" and incident.mitigated_at is not None


async def test_timeline_notes_reactions_and_pins(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Disk filling up")
    clue = sandbox.say(BOB, room.id, "disk usage at 97% on db-3")
    await sandbox.slash(ALICE, room.id, "/incident", "timeline Started log rotation")
    await sandbox.react(ALICE, room.id, clue.ts, "pushpin")
    await sandbox.react(CAROL, room.id, clue.ts, "pushpin")
    await sandbox.pin(CAROL, room.id, clue.ts)
    await sandbox.react(ALICE, room.id, clue.ts, "eyes")
    await sandbox.react(BOB, room.id, clue.ts, "root-cause")
    await sandbox.react(CAROL, room.id, clue.ts, "root-cause")
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    entries = await bot.incidents.timeline(incident.id)
    messages = [e for e in entries if e.kind == "message"]
    assert len(messages) == 1 and "disk usage at 97% on db-3" in messages[0].text
    marked = [e for e in entries if e.kind == "root_cause"]  # for the post-mortem's Five Whys, once
    assert len(marked) == 1 and "disk usage at 97% on db-3" in marked[0].text and marked[0].actor == BOB
    assert messages[0].data["permalink"].endswith(clue.ts.replace(".", ""))
    assert any(e.kind == "note" and e.text == "Started log rotation" for e in entries)
    assert any("Added to the INC-1 timeline" in r for r in replies_to(sandbox, ALICE))


async def test_a_pushpin_on_a_thread_reply_adds_the_reply_and_one_elsewhere_asks_slack_nothing(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Queue lag")
    parent = sandbox.say(BOB, room.id, "lag is growing on queue-7")
    reply = sandbox.say(ALICE, room.id, "consumer pod OOMKilled at 09:41", thread_ts=parent.ts)
    sandbox.say(BOB, room.id, "later reply", thread_ts=parent.ts)
    await sandbox.react(ALICE, room.id, reply.ts, "pushpin")
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    [entry] = [e for e in await bot.incidents.timeline(incident.id) if e.kind == "message"]
    assert "consumer pod OOMKilled at 09:41" in entry.text and "lag is growing" not in entry.text
    elsewhere = sandbox.say(BOB, "general", "lunch?")
    before = len(sandbox.calls)
    await sandbox.react(ALICE, "general", elsewhere.ts, "pushpin")
    await settle(bot)
    assert not [c for c in sandbox.calls[before:] if c.method.startswith("conversations.")]


async def test_resolve_asks_first_then_announces_the_all_clear(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Payments API returning 503")
    await sandbox.slash(ALICE, room.id, "/incident", "update identified Bad deploy 4f2a")
    await sandbox.slash(ALICE, room.id, "/incident", "update monitoring Rolled back, watching")
    await sandbox.slash(ALICE, room.id, "/incident", "resolve Rolled back 4f2a")
    await settle(bot)
    assert (await bot.incidents.find_in(room.id)).is_open  # nothing happens before the confirmation
    view = sandbox.last_view(ALICE)
    assert view["submit"]["text"] == "Resolve"
    summary = [b for b in view["blocks"] if b.get("block_id") == "summary"][0]["element"]
    assert summary["initial_value"] == "Rolled back 4f2a"
    await submit_modal(sandbox, bot, ALICE, {ActionId.SUMMARY_INPUT: "Rolled back 4f2a"})
    resolved = await bot.incidents.find_in(room.id)
    assert not resolved.is_open
    all_clear = [t for t in bot_texts(room) if "All clear" in t][0]
    assert "Time to acknowledge" in all_clear and "post-mortem is required" in all_clear
    assert not any(b["type"] == "actions" for b in card(room).blocks)
    assert "Time to acknowledge / mitigate / resolve" in json.dumps(card(room).blocks)
    assert room.topic.startswith("Resolved · SEV-2")
    # Every topic change leaves a line in the channel: the status changes made none, only the declaration and
    # the resolve did.
    assert len([m for m in room.messages if m.subtype == "channel_topic"]) == 2
    assert any("Resolved" in m.text for m in sandbox.workspace.channel("incidents").messages[1:])
    await sandbox.slash(ALICE, room.id, "/incident", "sev 1")
    await settle(bot)
    assert any("already resolved" in r for r in replies_to(sandbox, ALICE))


async def test_sev3_resolution_needs_no_postmortem(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Typo on status page")
    await sandbox.click(ALICE, room.id, card(room).ts, ActionId.RESOLVE)
    await settle(bot)
    await submit_modal(sandbox, bot, ALICE, {})
    assert not any("post-mortem" in t for t in bot_texts(room) if "All clear" in t)


async def test_only_the_commander_may_resolve_when_configured(sandbox, bot_factory):
    bot = await bot_factory(settings_from_mapping({**TEST_CONFIG, "permissions": {"resolve": "ic"}}))
    room = await declare(sandbox, bot, ALICE, "sev2 Search down")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await settle(bot)
    await sandbox.slash(BOB, room.id, "/incident", "resolve")
    await sandbox.click(BOB, room.id, card(room).ts, ActionId.RESOLVE)
    await settle(bot)
    refusals = [r for r in replies_to(sandbox, BOB) if "Only the Incident Commander (<@U0ALICE>)" in r]
    assert len(refusals) == 2
    assert [v for v in sandbox.workspace.views.values() if v.get("user") == BOB] == []


async def test_status_list_and_help(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev1 Everything is slow")
    await sandbox.slash(BOB, room.id, "/incident", "status")
    await sandbox.slash(BOB, "general", "/incident", "list")
    await sandbox.slash(BOB, "general", "/incident", "help")
    await settle(bot)
    replies = sandbox.ephemerals_for(BOB)
    [status] = [r for r in replies if r.blocks and r.blocks[0]["type"] == "header" and "INC-1" in r.blocks[0]["text"]["text"]]
    assert "Everything is slow" in json.dumps(status.blocks) and status.blocks[-1]["type"] != "actions"
    [listing] = [r for r in replies if "Open incidents (1)" in json.dumps(r.blocks)]
    assert f"<#{room.id}>" in json.dumps(listing.blocks)
    assert any("/incident declare" in r.text for r in replies)
    # Replies go over warroom's pooled connections (bot/slack/respond.py); Bolt's own opens one for each.
    before = len(sandbox.replies_on_new_connections)
    for _ in range(4):
        await sandbox.slash(BOB, "general", "/incident", "help")
        await settle(bot)
    assert sandbox.replies_on_new_connections[before:] == [False] * 4
