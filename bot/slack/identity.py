"""Who the bot is, asked of Slack once at start-up (with retries) and never per request.

Bolt's single-workspace authorization calls auth.test on the first request and on every request until one
succeeds: a 429 or a 500 there dropped a command the early ack had already confirmed. Here auth.test is
called before the Socket Mode connection opens, until Slack answers, so no request ever waits on it."""

from __future__ import annotations

import asyncio

import aiohttp
import structlog
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger("warroom.slack")

# Answers that no retry changes: the token is wrong, revoked or its app uninstalled.
REFUSED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
           "missing_scope", "invalid_token"}


class BotIdentity:
    def __init__(self, client: AsyncWebClient, *, max_delay: float = 30.0):
        self.client = client
        self.max_delay = max_delay
        self.result: AuthorizeResult | None = None

    async def resolve(self) -> AuthorizeResult:
        """Asks auth.test until it answers; a token Slack refuses stops warroom with the reason."""
        delay = 0.5
        while self.result is None:
            try:
                answer = await self.client.auth_test()
            except SlackApiError as exc:
                error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
                if error in REFUSED:
                    raise SystemExit(f"Slack refused SLACK_BOT_TOKEN ({error}): check the token and that the app "
                                     "is installed.") from None
                log.warning("slack_auth_retry", status=exc.response.status_code, error=error, retry_in=delay)
            except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                log.warning("slack_auth_retry", error=type(exc).__name__, retry_in=delay)
            else:
                self.result = AuthorizeResult(
                    enterprise_id=answer.get("enterprise_id"), team_id=answer.get("team_id"),
                    bot_id=answer.get("bot_id"), bot_user_id=answer.get("user_id"), bot_token=self.client.token,
                    bot_scopes=answer.headers.get("x-oauth-scopes") or answer.headers.get("X-OAuth-Scopes"))
                log.info("slack_identity", team_id=self.result.team_id, bot_user_id=self.result.bot_user_id)
                break
            await asyncio.sleep(delay)
            delay = min(self.max_delay, delay * 2)
        return self.result

    @property
    def authorize(self):
        """Bolt's `authorize` (a plain function: Bolt passes it the arguments its signature names): the identity
        resolved at start-up. Before that (never in `serve`, which resolves first) it raises, and the envelope
        stays in the inbox for another attempt."""
        async def authorize(team_id: str | None = None) -> AuthorizeResult:
            if self.result is None:
                raise RuntimeError("the bot's identity is not resolved yet")
            return self.result
        return authorize
