"""A war room's whole history, threads included, as the post-mortem needs it (the ChatHistory port).

Pages through conversations.history and conversations.replies; a 429 waits for its Retry-After (the
client's rate-limit handler), so a long channel is read within Slack's limits. Bot posts, joins and
deleted messages are left out; an edited message counts with its final text.
"""

from __future__ import annotations

from datetime import datetime, timezone

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.postmortem import HistoryMessage

SKIPPED_SUBTYPES = {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "bot_message",
                    "message_deleted", "tombstone", "pinned_item", "reminder_add"}

log = structlog.get_logger("warroom.slack")


def _human(message: dict) -> bool:
    return not message.get("bot_id") and message.get("subtype") not in SKIPPED_SUBTYPES and message.get("user")


def _convert(message: dict) -> HistoryMessage:
    return HistoryMessage(message["ts"], datetime.fromtimestamp(float(message["ts"]), timezone.utc),
                          message["user"], message.get("text", ""), message.get("thread_ts"),
                          bool(message.get("edited")))


class SlackHistory:
    def __init__(self, client: AsyncWebClient, page_size: int = 200):
        self.client = client
        self.page_size = page_size
        self._names: dict[str, str] = {}
        self._bot_user: str | None = None

    async def messages(self, channel: str) -> list[HistoryMessage]:
        found: dict[str, HistoryMessage] = {}  # by ts: a message met twice (a page read again) counts once
        threads: dict[str, None] = {}
        # slack_sdk follows response_metadata.next_cursor from page to page.
        async for page in await self.client.conversations_history(channel=channel, limit=self.page_size):
            for message in page.get("messages", []):
                if message.get("reply_count") and message.get("thread_ts") == message["ts"]:
                    threads[message["ts"]] = None
                if _human(message):
                    found[message["ts"]] = _convert(message)
        for thread in threads:
            async for page in await self.client.conversations_replies(channel=channel, ts=thread,
                                                                      limit=self.page_size):
                for message in page.get("messages", []):
                    if message["ts"] != thread and _human(message):
                        found[message["ts"]] = _convert(message)
        return list(found.values())

    async def names(self, users: set[str]) -> dict[str, str]:
        for user in users - set(self._names):
            try:
                profile = (await self.client.users_info(user=user))["user"]
                self._names[user] = (profile.get("profile") or {}).get("display_name") or profile.get("name") or user
            except Exception as exc:  # the draft names them by ID rather than failing
                log.warning("history_name_lookup_failed", user=user, error=type(exc).__name__)
                self._names[user] = user
        return {user: self._names[user] for user in users}

    async def edited_by_hand(self, canvas_id: str) -> bool:
        """Whether someone other than warroom has edited the canvas (Slack's file object names its last editor).
        When Slack cannot say (the canvas is gone, a scope is missing), the answer is yes: a new version is
        drafted rather than someone's work overwritten."""
        try:
            if self._bot_user is None:
                self._bot_user = (await self.client.auth_test())["user_id"]
            editor = (await self.client.files_info(file=canvas_id))["file"].get("last_editor")
        except Exception as exc:
            log.warning("canvas_editor_unknown", canvas=canvas_id, error=str(exc)[:200])
            return True
        return bool(editor) and editor != self._bot_user

