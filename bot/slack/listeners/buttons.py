"""The incident card's buttons and severity menu."""

from __future__ import annotations

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import DomainError, Severity
from bot.slack.blocks import incidents as blocks
from bot.slack.listeners.handling import (
    FORGED,
    deps_of,
    guarded,
    open_view,
    payload_int,
    request_key,
    responder,
)
from bot.slack.text import safe


async def action_item_done(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                           context: AsyncBoltContext) -> None:
    await ack()
    user = body["user"]["id"]

    async def work():
        return await deps_of(context).action_items.done(payload_int(action.get("value")), user,
                                                        request_key(body, action))
    item = await guarded(responder(respond), work())
    if item is not None:
        await respond(text=f":white_check_mark: Action item #{item.id} done by <@{user}>: "
                           f"{safe(item.text, 2500)}", replace_original=True)


async def page_acknowledged(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                            context: AsyncBoltContext) -> None:
    await ack()
    user = body["user"]["id"]

    async def work():
        return await deps_of(context).incidents.acknowledge(payload_int(action.get("value")), user,
                                                            request_key(body, action))
    incident = await guarded(responder(respond), work())
    if incident is not None:
        await respond(text=f":white_check_mark: You acknowledged {incident.reference} "
                           f"({safe(incident.title, 500)}). Join the war room: <#{incident.channel_id}>",
                      replace_original=True)


async def snooze_clicked(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                         context: AsyncBoltContext) -> None:
    await ack()
    reply = responder(respond)
    deps, user, channel = deps_of(context), body["user"]["id"], body["channel"]["id"]

    async def work():
        await deps.incidents.check_member(channel, user, "snooze the reminders of")
        return await deps.reminders.snooze(channel, user, request_key(body, action))
    message = await guarded(reply, work())
    if message:
        await reply(message)


async def severity_selected(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                            context: AsyncBoltContext) -> None:
    await ack()
    channel, user = body["channel"]["id"], body["user"]["id"]
    structlog.contextvars.bind_contextvars(channel=channel, user=user)

    async def work():
        number = payload_int((action.get("selected_option") or {}).get("value"))
        if number not in {s.value for s in Severity}:
            raise DomainError(FORGED)
        await deps_of(context).incidents.change_severity(channel, Severity(number), user, request_key(body, action))
    await guarded(responder(respond), work())


async def assign_role_clicked(ack: AsyncAck, body: dict, client: AsyncWebClient, respond: AsyncRespond,
                              context: AsyncBoltContext) -> None:
    await ack()
    channel, user = body["channel"]["id"], body["user"]["id"]

    async def open_modal():
        await deps_of(context).incidents.check_member(channel, user, "assign roles in")
        await open_view(client, body["trigger_id"], blocks.role_modal(channel))
    await guarded(responder(respond), open_modal())


async def post_update_clicked(ack: AsyncAck, body: dict, client: AsyncWebClient, respond: AsyncRespond,
                              context: AsyncBoltContext) -> None:
    await ack()
    channel, user = body["channel"]["id"], body["user"]["id"]

    async def open_modal():
        deps = deps_of(context)
        incident = await deps.incidents.check_member(channel, user, "post updates to")
        public_text = await deps.public.draft(incident) if deps.public is not None else None
        await open_view(client, body["trigger_id"], blocks.update_modal(channel, incident.status,
                                                                        public_text=public_text))
    await guarded(responder(respond), open_modal())


async def resolve_clicked(ack: AsyncAck, body: dict, client: AsyncWebClient, respond: AsyncRespond,
                          context: AsyncBoltContext) -> None:
    await ack()
    channel, user = body["channel"]["id"], body["user"]["id"]

    async def open_modal():
        incident = await deps_of(context).incidents.check_may(channel, "resolve", user)
        await open_view(client, body["trigger_id"], blocks.resolve_modal(channel, incident))
    await guarded(responder(respond), open_modal())
