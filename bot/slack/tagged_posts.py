"""Posts that are not repeated when Slack's answer was lost.

When chat.postMessage times out or answers a 5xx, Slack may or may not have posted the message; retrying
blindly posted a second card or announcement. Every post an effect makes carries a tag in the message's
`metadata` (invisible to people): the effect's id and a digest of where it posts and its text. A retried effect
first looks for that tag in the channel's recent messages (or the thread's): found, it is the answer; not
found, the post is made. The digest, rather than a count of posts, tells an effect's posts apart because a
retry may resume partway (a long runbook step posts only the thread pages it had not posted yet). A lookup Slack
cannot answer now (429, 5xx, no connection) sends the effect back to the outbox rather than risk a repeat.
Direct messages
are not looked up (reading a DM's history needs a scope warroom does not ask for), so a page DM can still
repeat after a lost answer; so can a message whose channel moved on by more than `RECENT` messages meanwhile.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.ports import CURRENT_EFFECT
from bot.slack.rate_budget import BudgetedWebClient

log = structlog.get_logger("warroom.slack")

EVENT_TYPE = "warroom_effect"
RECENT = 100  # messages looked through for a retried post


def post_tag(effect_id: int, body: dict[str, Any]) -> str:
    # The text, not the blocks: a card's blocks may change between two attempts (who joined, the status);
    # its text, the notification line, names what it is.
    where_and_what = json.dumps([body.get("channel"), body.get("thread_ts"), body.get("text")], default=str)
    return f"{effect_id}:{hashlib.blake2s(where_and_what.encode(), digest_size=8).hexdigest()}"


def tag_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    return (metadata.get("event_payload") or {}).get("post")


class TaggedPostsClient(BudgetedWebClient):
    async def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        effect = CURRENT_EFFECT.get()
        body = kwargs.get("json")
        if api_method != "chat.postMessage" or effect is None or not isinstance(body, dict):
            return await super().api_call(api_method, **kwargs)
        tag = post_tag(effect.effect_id, body)
        body = {**body, "metadata": {"event_type": EVENT_TYPE, "event_payload": {"post": tag}}}
        if effect.attempt > 1:
            found = await self._find(body, tag)
            if found is not None:
                log.info("post_found_not_repeated", post=tag)
                return AsyncSlackResponse(client=self, http_verb="POST", api_url=f"{self.base_url}{api_method}",
                                          req_args={}, data={"ok": True, "channel": found[0], "ts": found[1]["ts"],
                                                             "message": found[1]}, headers={}, status_code=200)
        return await super().api_call(api_method, **{**kwargs, "json": body})

    async def _find(self, body: dict[str, Any], tag: str) -> tuple[str, dict] | None:
        channel, thread = str(body.get("channel") or ""), body.get("thread_ts")
        if not channel or channel[0] in "UW":  # a DM by user ID: see the module's docstring
            return None
        try:
            if thread:
                answer = await self.conversations_replies(channel=channel, ts=thread, include_all_metadata=True,
                                                          limit=RECENT)
            else:
                answer = await self.conversations_history(channel=channel, include_all_metadata=True, limit=RECENT)
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise  # Slack is struggling: the whole effect is tried again later, lookup first
            # Refused for good (a private channel without its history scope, say): posting may repeat.
            log.info("post_lookup_refused", error=exc.response.get("error"))
            return None
        for message in answer.get("messages") or []:
            if tag_of(message) == tag:
                return channel, message
        return None
