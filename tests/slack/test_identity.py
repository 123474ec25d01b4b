"""The bot's identity, asked of the sandbox once at start-up."""

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.server import BOT_TOKEN
from bot.slack.identity import BotIdentity


async def test_a_token_slack_refuses_stops_warroom_with_the_reason(sandbox):
    identity = BotIdentity(AsyncWebClient(token="xoxb-not-ours", base_url=sandbox.api_url))
    with pytest.raises(SystemExit, match="invalid_auth"):
        await identity.resolve()


async def test_until_resolved_authorizing_a_request_fails_rather_than_calling_slack(sandbox):
    identity = BotIdentity(AsyncWebClient(token=BOT_TOKEN, base_url=sandbox.api_url))
    with pytest.raises(RuntimeError):
        await identity.authorize(team_id="T1")
    sandbox.fail("auth.test", status=503, times=1)
    result = await identity.resolve()
    assert await identity.authorize(team_id="T1") is result and result.bot_token == BOT_TOKEN
    assert len(sandbox.calls_to("auth.test")) == 2
