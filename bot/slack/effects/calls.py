"""One Slack call, with its failure sorted into retry-later or give-up: how every Slack effect calls Slack."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.core.ports import RetryLater

HARMLESS_INVITE_ERRORS = {"already_in_channel", "cant_invite_self"}
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class PermanentSlackError(Exception):
    """Slack refused for good; `data` is its whole answer (some errors carry details, e.g. per-user `errors`)."""

    def __init__(self, error: str, data: dict | None = None, *, from_slack: bool = True):
        super().__init__(error)
        self.data = data or {}
        self.from_slack = from_slack  # False: failed because of an earlier failure, or a bug: nothing to tell


async def call(coroutine) -> Any:
    """One Slack call, with its failure sorted into retry-later or give-up. The reasons of a retry begin as
    bot.core.ports.SLACK_FAILURES lists them."""
    try:
        return await coroutine
    except SlackApiError as exc:
        status = exc.response.status_code
        error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
        if status == 429 or error == "ratelimited":
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            raise RetryLater(f"rate limited ({error or status})",
                             float(retry_after) if retry_after and str(retry_after).isdigit() else None) from None
        if status >= 500 or error in TRANSIENT_ERRORS:
            raise RetryLater(f"Slack answered {status} {error}") from None
        raise PermanentSlackError(error or f"HTTP {status}",
                                  exc.response.data if isinstance(exc.response.data, dict) else None) from None
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        raise RetryLater(f"Slack unreachable: {type(exc).__name__}") from None
    except SlackRequestError as exc:
        # files_upload_v2's upload step answered with an error: the whole upload is tried again (an unfinished
        # upload never appears in Slack).
        if "Failed to upload" in str(exc):
            raise RetryLater("file upload failed") from None
        raise


async def pages(first_call) -> AsyncIterator[Any]:
    """Each page of a paginated Web API call (slack_sdk follows the cursor), its failures sorted as `call` sorts
    them: a 429 on the third page is a retry-later like one on the first."""
    iterator = (await call(first_call)).__aiter__()
    while True:
        try:
            page = await call(iterator.__anext__())
        except StopAsyncIteration:
            return
        yield page
