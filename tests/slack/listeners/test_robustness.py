"""Bad input, smuggled mentions, Slack failing, redeliveries and reconnects."""

import json

from bot.sandbox.workspace import BOT_USER_ID
from tests.conftest import ALICE, BOB
from tests.slack.helpers import (
    card,
    declare,
    everything_the_bot_posted,
    replies_to,
    settle,
    war_rooms,
)


async def test_unknown_subcommands_and_bad_arguments_get_specific_replies(sandbox, bot):
    for text in ("frobnicate", "sev 9", "role janitor <@U0BOB>"):
        ack = await sandbox.slash(ALICE, "general", "/incident", text)
        assert ack == {}  # acked at once; the answer comes as an ephemeral reply
    await settle(bot)
    replies = replies_to(sandbox, ALICE)
    assert any("Unknown subcommand `frobnicate`" in r for r in replies)
    assert any("use 1, 2, 3 or 4" in r for r in replies)
    assert any("use ic, responder or communicator" in r for r in replies)
    assert war_rooms(sandbox) == []
    room = await declare(sandbox, bot, ALICE, "sev3 Flaky health checks")
    await sandbox.slash(ALICE, room.id, "/incident", "role ic <@U0NOBODY>")
    await settle(bot)
    replies = replies_to(sandbox, ALICE)
    assert any("can't find a user `U0NOBODY`" in r for r in replies)
    incident = await bot.incidents.find_in(room.id)
    assert incident.commander is None


async def test_commands_that_need_a_war_room_say_so_in_a_dm(sandbox, bot):
    dm = sandbox.workspace.dm(ALICE)
    await sandbox.slash(ALICE, dm.id, "/incident", "sev 2")
    await sandbox.slash(ALICE, dm.id, "/incident", "update all good")
    await settle(bot)
    replies = replies_to(sandbox, ALICE)
    assert sum("works in an incident's war-room channel" in r for r in replies) == 2


async def test_a_huge_title_is_cut_to_fit_and_kept_whole(sandbox, bot):
    title = "Database " + "very " * 1000 + "slow"
    await sandbox.slash(ALICE, "general", "/incident", f"declare sev2 {title}")
    await settle(bot)
    [room] = war_rooms(sandbox)
    assert len(room.name) <= 80 and len(room.topic) <= 250
    assert len(card(room).blocks[0]["text"]["text"]) <= 150
    assert (await bot.incidents.find_in(room.id)).title == title
    assert any("The title is long" in r for r in replies_to(sandbox, ALICE))


async def test_an_emoji_title_fits_slacks_limits_counted_in_utf16_units(sandbox, bot):
    from bot.slack.text import utf16_length

    title = "🔥 checkout " + "🚨" * 140  # 152 characters, 293 UTF-16 code units: too long for a topic
    await sandbox.slash(ALICE, "general", "/incident", f"declare sev2 {title}")
    await settle(bot)
    [room] = war_rooms(sandbox)
    assert room.topic and utf16_length(room.topic) <= 250 and utf16_length(room.purpose) <= 250
    assert "\ufffd" not in room.topic and room.topic.endswith("…")  # no half of an emoji left behind
    assert "failed" not in await bot.dispatcher.outbox.counts()  # the topic and purpose were set, not refused


async def test_smuggled_broadcasts_and_mentions_are_never_posted(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev1 <!channel> <@U0BOB> <!here|here> & friends")
    await sandbox.slash(ALICE, room.id, "/incident", "update <!everyone> ping <@U0ERIN>")
    await sandbox.slash(ALICE, room.id, "/incident", "timeline <!channel> noted")
    await settle(bot)
    posted = everything_the_bot_posted(sandbox)
    for smuggled in ("<!channel>", "<!here", "<!everyone>", "<@U0ERIN>"):
        assert smuggled not in posted, smuggled
    assert "&lt;!channel&gt;" in posted


async def test_rate_limits_and_server_errors_are_retried_without_duplicates(sandbox, bot):
    sandbox.fail("conversations.create", status=500, times=2)
    sandbox.fail("chat.postMessage", status=429, error="ratelimited", times=1, retry_after=0)
    sandbox.fail("pins.add", status=503, times=1)
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Retries everywhere")
    for _ in range(100):
        await settle(bot)
        if war_rooms(sandbox) and war_rooms(sandbox)[0].pins:
            break
    [room] = war_rooms(sandbox)
    assert len([m for m in room.messages if m.blocks and m.blocks[0]["type"] == "header"]) == 1
    assert len(room.pins) == 1
    assert len(sandbox.calls_to("conversations.create")) == 3
    assert len(sandbox.workspace.channel("incidents").messages) == 1


async def test_a_channel_name_taken_by_someone_else_gets_another_name(sandbox, bot):
    day = bot.dispatcher.clock.now()
    sandbox.workspace.add_channel(f"incident-{day:%Y%m%d}-dns-failures", creator=BOB)
    room = await declare(sandbox, bot, ALICE, "sev2 DNS failures")
    assert room.name == f"incident-{day:%Y%m%d}-dns-failures-x2" and room.creator == BOT_USER_ID


async def test_a_channel_the_bot_made_before_a_crash_is_adopted(sandbox, bot):
    day = bot.dispatcher.clock.now()
    leftover = sandbox.workspace.add_channel(f"incident-{day:%Y%m%d}-kafka-lag", creator=BOT_USER_ID,
                                             members={BOT_USER_ID})
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Kafka lag")
    await settle(bot)
    assert war_rooms(sandbox) == [leftover] and card(leftover)


async def test_the_bot_reconnects_when_slack_asks_and_keeps_working(sandbox, bot):
    opened = sandbox.sockets_opened
    await sandbox.disconnect()
    await sandbox.wait_for(lambda: sandbox.sockets_opened > opened, timeout=10)
    room = await declare(sandbox, bot, ALICE, "sev3 After reconnect")
    assert card(room)


async def test_oncall_and_postmortem_commands_answer(sandbox, bot):
    await sandbox.slash(ALICE, "general", "/oncall")
    await settle(bot)
    oncall = replies_to(sandbox, ALICE)[-1]
    assert "<@U0BOB>" in oncall and "Primary" in oncall
    await sandbox.slash(ALICE, "general", "/postmortem")
    await settle(bot)
    assert "give its number: `/postmortem INC-12`" in replies_to(sandbox, ALICE)[-1]


async def test_an_update_too_long_for_one_block_is_cut_but_kept(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Long update")
    text = "word " * 1500
    await sandbox.slash(ALICE, room.id, "/incident", f"update {text}")
    await settle(bot)
    update = [m for m in room.messages if "*Update*" in m.text][0]
    assert len(update.blocks[0]["text"]["text"]) <= 3000
    incident = await bot.incidents.find_in(room.id)
    assert [t.text for t in await bot.incidents.timeline(incident.id) if t.kind == "update"] == [text.strip()]
    assert json.dumps(update.blocks).count("word") < 1500


async def test_a_form_slack_refuses_once_is_opened_on_a_second_try_within_its_trigger(sandbox, bot):
    room = await declare(sandbox, bot, "U0ALICE", "sev3 Forms retried")
    sandbox.fail("views.open", status=500, error="internal_error", times=1)
    sandbox.fail("views.open", status=429, error="ratelimited", retry_after=0, times=1)
    await sandbox.slash("U0ALICE", room.id, "/incident", "update")  # no text: the update form
    await settle(bot)
    assert sandbox.last_view("U0ALICE")["callback_id"] == "post_update_modal"
    assert len(sandbox.calls_to("views.open")) == 3
