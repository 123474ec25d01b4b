"""The inbox through the real app: what was acknowledged is handled, even when handling it failed at first."""

import asyncio

from bot.storage.inbox import InboxStore
from tests.conftest import ALICE
from tests.slack.helpers import settle, war_rooms


async def test_slack_failing_auth_test_at_start_up_delays_the_start_and_drops_nothing(sandbox, bot_factory):
    sandbox.fail("auth.test", status=500, times=2)
    sandbox.fail("auth.test", status=429, error="ratelimited", times=1, retry_after=0)
    bot = await bot_factory()
    assert len(sandbox.calls_to("auth.test")) == 4  # three refusals, then the answer
    assert bot.identity.result.bot_user_id and bot.identity.result.team_id
    # From now on auth.test is broken for good: no request needs it any more.
    sandbox.fail("auth.test", status=500, times=10_000)
    for n in range(5):
        await sandbox.slash(ALICE, "general", "/incident", f"declare sev3 Start-up fault {n}")
    await settle(bot)
    assert len(war_rooms(sandbox)) == 5
    assert len(sandbox.calls_to("auth.test")) <= 5  # at most the effects' own lookup of the bot's user id


async def test_an_envelope_whose_handling_failed_is_handled_again_once(sandbox, bot):
    inbox = InboxStore(bot.store)
    identity, bot.identity.result = bot.identity.result, None  # authorizing now fails, as a 500 did in Bolt
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Acknowledged then failed")  # acked
    await sandbox.wait_for(lambda: bot.socket.idle, timeout=5)
    assert await inbox.counts() == {"pending": 1} and war_rooms(sandbox) == []
    bot.identity.result = identity  # Slack is back: the retry, a second later, declares the incident
    await sandbox.wait_for(lambda: war_rooms(sandbox), timeout=10)
    await settle(bot)
    await asyncio.sleep(0.1)
    assert len(war_rooms(sandbox)) == 1
    assert await inbox.counts() == {}


async def test_a_handled_envelope_leaves_the_inbox_only_when_its_job_is_done(sandbox, bot):
    inbox = InboxStore(bot.store)
    sandbox.latency = 0.2  # the declaration's job waits on Slack
    await sandbox.slash(ALICE, "general", "/incident", "declare sev3 A slow declaration")
    assert await inbox.counts() == {"pending": 1}
    sandbox.latency = 0
    await settle(bot)
    assert await inbox.counts() == {}
    assert len(war_rooms(sandbox)) == 1
