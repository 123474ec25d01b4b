"""Posts whose answer Slack lost are found by their tag, not posted again."""

from bot.slack.tagged_posts import EVENT_TYPE
from tests.conftest import ALICE
from tests.slack.helpers import settle, war_rooms


def top_level(channel) -> list:
    return [m for m in channel.messages if m.bot and not (m.thread_ts and m.thread_ts != m.ts)]


async def test_a_post_slack_made_but_whose_answer_was_lost_is_not_repeated(sandbox, bot):
    # Slack posts the card and the announcement, then answers 500 (or the connection drops): twice each.
    sandbox.fail("chat.postMessage", status=500, times=4, performed=True)
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Lost answers")
    await settle(bot)
    [room] = war_rooms(sandbox)
    cards = [m for m in room.messages if m.blocks and m.blocks[0]["type"] == "header"]
    assert len(cards) == 1 and sorted(room.pins) == [cards[0].ts]
    announcements = top_level(sandbox.workspace.channel("incidents"))
    assert len(announcements) == 1
    # The retries found them by the tag each post carries, invisible unless asked for.
    assert cards[0].metadata["event_type"] == EVENT_TYPE
    assert sum(1 for c in sandbox.calls_to("conversations.history") if c.params.get("include_all_metadata")) >= 2
    # Each chat.postMessage made one message: none was sent twice.
    posted = [m for c in sandbox.workspace.channels.values() for m in c.messages if m.bot]
    assert len(sandbox.calls_to("chat.postMessage")) == len(posted)


async def test_a_thread_reply_whose_answer_was_lost_is_looked_for_in_its_thread(sandbox, bot):
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Thread replies")
    await settle(bot)
    [room] = war_rooms(sandbox)
    announcements = sandbox.workspace.channel("incidents")
    sandbox.fail("chat.postMessage", status=503, times=1, performed=True,
                 when=lambda params: bool(params.get("thread_ts")))
    await sandbox.slash(ALICE, room.id, "/incident", "sev 1")  # the escalation is told in the announcement's thread
    await settle(bot)
    replies = [m for m in announcements.messages if m.thread_ts and m.thread_ts != m.ts]
    assert len([m for m in replies if "Escalated" in m.text]) == 1
    assert any(c.params.get("include_all_metadata") for c in sandbox.calls_to("conversations.replies"))
