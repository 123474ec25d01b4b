"""Action items through the real app: add, list, Done, due and overdue DMs, the monthly digest."""

from datetime import datetime, timezone

from bot.config import settings_from_mapping
from bot.slack.ids import ActionId
from tests.conftest import ALICE, BOB, CAROL, TEST_CONFIG, FakeClock
from tests.slack.helpers import declare, everything_the_bot_posted, replies_to, settle


async def test_add_list_and_close_action_items(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Pool exhausted")
    await sandbox.slash(ALICE, room.id, "/incident", f"action Alert on pool usage <@{BOB}> due:2026-12-01 P0")
    await sandbox.slash(ALICE, room.id, "/incident", "action Write the pool runbook")
    await sandbox.slash(ALICE, room.id, "/incident", "action Fix it due:tomorrow")
    await sandbox.slash(ALICE, room.id, "/incident", f"action Two owners <@{BOB}> <@{CAROL}>")
    await settle(bot)
    replies = replies_to(sandbox, ALICE)
    assert any("(P0) to INC-1" in r and "Added action item #" in r for r in replies)
    assert any("`due:tomorrow` is not a date" in r for r in replies)
    assert any("one owner" in r for r in replies)
    posted = sandbox.messages_with_action(room.id, ActionId.ACTION_ITEM_DONE)
    assert len(posted) == 2
    [alert] = [m for m in posted if "Alert on pool usage" in m.blocks[1]["text"]["text"]]
    number = alert.blocks[1]["text"]["text"].split("#")[1].split(" ")[0]

    await sandbox.slash(ALICE, room.id, "/incident", "actions")
    await settle(bot)
    listing = sandbox.ephemerals_for(ALICE)[-1]
    assert "Action items of INC-1" in listing.text and len(listing.blocks) == 3
    await sandbox.click(BOB, room.id, alert.ts, ActionId.ACTION_ITEM_DONE)
    await settle(bot)
    assert f"Action item #{number} done by <@U0BOB>" in room.find(alert.ts).text
    others = sandbox.messages_with_action(room.id, ActionId.ACTION_ITEM_DONE)
    await sandbox.click(CAROL, room.id, others[0].ts, ActionId.ACTION_ITEM_DONE)  # not hers, not IC: refused
    await settle(bot)
    assert any("Only the person who added it (<@U0ALICE>) or the Incident Commander may close" in r
               for r in replies_to(sandbox, CAROL))
    await sandbox.click(ALICE, room.id, others[0].ts, ActionId.ACTION_ITEM_DONE)
    await sandbox.deliver("interactive", {**sandbox.click_payload(ALICE, room.id, others[0].ts,
                                                                  ActionId.ACTION_ITEM_DONE)})  # a double click
    await settle(bot)
    await sandbox.slash(BOB, "general", "/incident", "actions")
    await settle(bot)
    assert "Nothing here" in str(sandbox.ephemerals_for(BOB)[-1].blocks)
    await sandbox.slash(ALICE, room.id, "/postmortem", f"action Add a canary stage <@{CAROL}> P1")
    await settle(bot)
    await sandbox.slash(BOB, "general", "/incident", f"actions <@{CAROL}>")
    await settle(bot)
    assert "Add a canary stage" in str(sandbox.ephemerals_for(BOB)[-1].blocks)
    assert "Open action items of <@U0CAROL>" in str(sandbox.ephemerals_for(BOB)[-1].blocks)
    incident = await bot.incidents.find_in(room.id)
    texts = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "action_item"]
    assert len(texts) == 5 and sum(t.startswith("Action item done:") for t in texts) == 2
    await sandbox.slash(ALICE, room.id, "/incident", "action Tell <!channel> about it P2")
    await settle(bot)
    posted_text = everything_the_bot_posted(sandbox)
    assert "<!channel>" not in posted_text and "Tell &lt;!channel&gt; about it" in posted_text
    assert f"owner <@{BOB}>" in posted_text  # a real mention where warroom means one
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    [canvas] = sandbox.workspace.canvases.values()
    assert "| P0 | Alert on pool usage | bob | 2026-12-01 | yes |" in canvas["markdown"]
    assert "| P1 | Write the pool runbook |  |  | yes |" in canvas["markdown"]


async def test_owners_are_reminded_when_due_and_while_overdue_and_the_digest_goes_out(sandbox, bot_factory):
    clock = FakeClock(datetime(2026, 11, 27, 9, tzinfo=timezone.utc))
    settings = settings_from_mapping({**TEST_CONFIG, "action_items": {"digest_channel": "general"}})
    bot = await bot_factory(settings, clock)
    room = await declare(sandbox, bot, ALICE, "sev2 Cert expired")
    await sandbox.slash(ALICE, room.id, "/incident", f"action Renew automation <@{BOB}> due:2026-11-29 P0")
    await settle(bot)
    dm = sandbox.workspace.dm(BOB)

    async def after(**delta):
        clock.advance(**delta)
        bot.timers.wake()
        await settle(bot)
        await settle(bot)
        return [m.text for m in dm.messages]

    assert await after(days=1) == []
    assert len(await after(days=1, minutes=1)) == 1 and "due today" in dm.messages[-1].text
    assert len(await after(days=1)) == 2 and "overdue" in dm.messages[-1].text
    digest_before = len(sandbox.workspace.channel("general").messages)
    await after(days=3)  # 1 December, 09:00: the monthly digest
    digest = sandbox.workspace.channel("general").messages[digest_before:]
    assert any("Open action items, December 2026" in m.text and "1 overdue" in m.text for m in digest)
    await sandbox.click(BOB, room.id, sandbox.messages_with_action(room.id, ActionId.ACTION_ITEM_DONE)[0].ts,
                        ActionId.ACTION_ITEM_DONE)
    await settle(bot)
    count = len(dm.messages)
    assert len(await after(days=2)) == count  # done: no more reminders
