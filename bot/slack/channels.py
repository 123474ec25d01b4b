"""The channels config.yaml names (announcements, leadership, digest, hand-offs), by ID or by name.

An ID (C…, G…) is used as it is. A name is looked up once among the channels warroom can see, public and
private (a private one only once warroom has been invited), and remembered; when Slack says the channel is
gone, archived or closed to warroom, the name is forgotten, so a renamed or unarchived channel is found
again on the next try.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
STALE = {"channel_not_found", "is_archived", "not_in_channel"}


class ConfiguredChannels:
    def __init__(self, client: AsyncWebClient, call, pages):
        self.client = client
        # bot.slack.effects.calls: sort Slack's failures into retry-later or give-up, page by page for `pages`
        self.call, self.pages = call, pages
        self._ids: dict[str, str] = {}

    async def find(self, name: str) -> dict | None:
        async for response in self.pages(self.client.conversations_list(
                limit=1000, exclude_archived=True, types="public_channel,private_channel")):
            for channel in response["channels"]:
                self._ids[channel["name"]] = channel["id"]
                if channel["name"] == name:
                    return channel
        return None

    async def id_of(self, ref: str, missing) -> str:
        """`missing`: the exception to raise when no channel of that name is visible."""
        ref = ref.lstrip("#")
        if CHANNEL_ID.match(ref):
            return ref
        if ref not in self._ids and await self.find(ref) is None:
            raise missing(f"channel #{ref} not found: create it (and invite warroom if it is private), "
                          f"or name it by ID in config.yaml")
        return self._ids[ref]

    async def post(self, ref: str, missing, **message: Any):
        channel = await self.id_of(ref, missing)
        try:
            return await self.call(self.client.chat_postMessage(channel=channel, **message))
        except Exception as exc:
            if str(exc) in STALE:
                self._ids.pop(ref.lstrip("#"), None)
            raise
