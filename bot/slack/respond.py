"""Replies through a request's `response_url` over warroom's one pooled HTTP session.

Bolt's own `respond` opens a new connection for every reply (with Slack, a TLS handshake each): fifty
`/incident status` at once cost fifty handshakes' worth of CPU on the loop that handles them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse


class PooledRespond(AsyncRespond):
    """Bolt's `respond`, with the same arguments, on a shared session."""

    def __init__(self, response_url: str, session: aiohttp.ClientSession):
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(self, text: str | dict = "", blocks: Sequence | None = None,  # type: ignore[override]
                       attachments: Sequence | None = None, response_type: str | None = None,
                       replace_original: bool | None = None, delete_original: bool | None = None,
                       unfurl_links: bool | None = None, unfurl_media: bool | None = None,
                       thread_ts: str | None = None, metadata: dict[str, Any] | None = None) -> WebhookResponse:
        webhook = AsyncWebhookClient(url=self.response_url, session=self.session)
        if not isinstance(text, str):  # a whole message, as Bolt accepts it
            return await webhook.send_dict(_build_message(**text))
        return await webhook.send_dict(_build_message(
            text=text, blocks=blocks, attachments=attachments, response_type=response_type,
            replace_original=replace_original, delete_original=delete_original, unfurl_links=unfurl_links,
            unfurl_media=unfurl_media, thread_ts=thread_ts, metadata=metadata))


def pooled_replies(session: aiohttp.ClientSession):
    """A Bolt middleware: every request's `respond` replies over `session`."""
    async def middleware(context: AsyncBoltContext, next) -> None:
        if context.response_url:
            context["respond"] = PooledRespond(context.response_url, session)
        await next()
    return middleware
