"""Events in war rooms: a :pushpin: reaction or a pin adds the message to the timeline, a :root-cause: reaction
(a custom emoji a team adds) marks it as the root cause for the post-mortem; people joining and leaving keep the
membership cache (who may act in a war room) current."""

from __future__ import annotations

import structlog
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import DomainError
from bot.services.incidents import Duplicate
from bot.slack.listeners.handling import SlackDeps, deps_of

log = structlog.get_logger("warroom.slack")
TIMELINE_REACTIONS = {"pushpin", "round_pushpin"}
ROOT_CAUSE_REACTIONS = {"root-cause", "root_cause", "rootcause"}


async def member_joined(event: dict, context: AsyncBoltContext) -> None:
    membership = deps_of(context).membership
    if membership is not None:
        membership.joined(event.get("channel", ""), event.get("user", ""))


async def member_left(event: dict, context: AsyncBoltContext) -> None:
    membership = deps_of(context).membership
    if membership is not None:
        membership.left(event.get("channel", ""), event.get("user", ""))


async def reaction_added(event: dict, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    deps, item = deps_of(context), event.get("item") or {}
    reaction = event.get("reaction")
    if reaction not in TIMELINE_REACTIONS | ROOT_CAUSE_REACTIONS or item.get("type") != "message":
        return
    # Only war rooms matter: no Slack call for a pushpin anywhere else (DMs and private channels would
    # answer missing_scope anyway).
    if await deps.incidents.find_in(item["channel"]) is None:
        return
    message = await _fetch(client, item["channel"], item["ts"])
    if message is not None:
        await _add(deps, client, item["channel"], message, event["user"], "reaction",
                   kind="root_cause" if reaction in ROOT_CAUSE_REACTIONS else "message")


async def pin_added(event: dict, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    item = event.get("item") or {}
    message = item.get("message")
    if item.get("type") != "message" or not message:
        return
    await _add(deps_of(context), client, event.get("channel_id") or item.get("channel"), message, event["user"],
               "pin")


async def _fetch(client, channel: str, ts: str) -> dict | None:
    response = await client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
    for message in response.get("messages", []):
        if message.get("ts") == ts:
            return message
    # A thread reply: Slack answers with the thread's parent first whatever `ts` names, so ask for the thread
    # from this reply on and pick it out.
    response = await client.conversations_replies(channel=channel, ts=ts, oldest=ts, inclusive=True, limit=2)
    for message in response.get("messages", []):
        if message.get("ts") == ts:
            return message
    return None


async def _add(deps: SlackDeps, client, channel: str, message: dict, actor: str, source: str,
               kind: str = "message") -> None:
    incident = await deps.incidents.find_in(channel)
    if incident is None or message.get("bot_id"):
        return
    try:
        permalink = (await client.chat_getPermalink(channel=channel, message_ts=message["ts"]))["permalink"]
    except Exception:
        permalink = ""
    author = message.get("user", "")
    text = f"<@{author}>: {message.get('text', '')}" if author else message.get("text", "")
    try:
        # Pinned and marked as the root cause are two entries; each only once, however many people mark it.
        await deps.incidents.add_note(channel, text, actor, "", permalink=permalink, kind=kind,
                                      dedup_key=f"{'msg' if kind == 'message' else kind}:{channel}:{message['ts']}")
        log.info("message_added_to_timeline", source=source, channel=channel)
    except Duplicate:
        pass
    except DomainError as exc:  # someone outside the war room: nothing is added, and nobody to reply to
        log.info("timeline_event_refused", source=source, reason=str(exc))
