"""Reminders as the war room sees them, through the real app over Socket Mode."""

import json

from bot.slack.ids import ActionId
from tests.conftest import ALICE, BOB, CAROL, FakeClock
from tests.slack.helpers import declare, replies_to, settle, submit_modal


async def reminders_in(room):
    return [m for m in room.messages if "Status update due" in m.text]


async def test_a_reminder_mentions_the_communicator_and_offers_update_and_snooze(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(clock=clock)
    room = await declare(sandbox, bot, ALICE, "sev1 Search is down")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await sandbox.slash(ALICE, room.id, "/incident", f"role communicator <@{CAROL}>")
    await settle(bot)
    clock.advance(minutes=15, seconds=1)
    bot.timers.wake()
    await sandbox.wait_for(lambda: [m for m in room.messages if "Status update due" in m.text])
    await settle(bot)
    [reminder] = await reminders_in(room)
    assert "<@U0CAROL>, please post one" in reminder.text and "nothing posted for 15m 1s" in reminder.text
    buttons = [e["action_id"] for b in reminder.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ActionId.POST_UPDATE, ActionId.SNOOZE_REMINDER]

    await sandbox.click(BOB, room.id, reminder.ts, ActionId.SNOOZE_REMINDER)
    await settle(bot)
    assert any("snoozed for 15 minutes" in r for r in replies_to(sandbox, BOB))
    clock.advance(minutes=10)
    bot.timers.wake()
    await settle(bot)
    assert len(await reminders_in(room)) == 1  # snoozed

    await sandbox.click(CAROL, room.id, reminder.ts, ActionId.POST_UPDATE)
    await settle(bot)
    await submit_modal(sandbox, bot, CAROL, {ActionId.STATUS_INPUT: "identified",
                                             ActionId.UPDATE_TEXT_INPUT: "Index rebuild under way"})
    clock.advance(minutes=10)  # 20 minutes after the first reminder, 10 after the update
    bot.timers.wake()
    await settle(bot)
    assert len(await reminders_in(room)) == 1
    clock.advance(minutes=6)
    bot.timers.wake()
    await sandbox.wait_for(lambda: len([m for m in room.messages if "Status update due" in m.text]) == 2)
    incident = await bot.incidents.find_in(room.id)
    kinds = [e.kind for e in await bot.incidents.timeline(incident.id)]
    assert "reminder_snoozed" in kinds


async def test_the_room_is_nudged_when_nobody_takes_command(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(clock=clock)
    room = await declare(sandbox, bot, ALICE, "sev2 Uploads failing")
    clock.advance(minutes=10, seconds=5)
    bot.timers.wake()
    await sandbox.wait_for(lambda: [m for m in room.messages if "no Incident Commander" in m.text])
    await sandbox.slash(BOB, room.id, "/incident", f"role ic <@{BOB}>")
    await settle(bot)
    clock.advance(minutes=30)
    bot.timers.wake()
    await settle(bot)
    assert len([m for m in room.messages if "no Incident Commander" in m.text]) == 1
    assert json.dumps([m.blocks for m in room.messages]).count("no Incident Commander") == 1
