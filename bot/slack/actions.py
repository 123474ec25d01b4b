"""The incident card's buttons and severity menu."""

from __future__ import annotations

import structlog
from slack_bolt.async_app import AsyncApp

from bot.core.incident import DomainError, Severity
from bot.slack import blocks
from bot.slack.handling import (
    FORGED,
    SlackDeps,
    guarded,
    open_view,
    payload_int,
    responder,
)
from bot.slack.ids import ActionId
from bot.slack.text import safe


def register(app: AsyncApp, deps: SlackDeps) -> None:
    service = deps.incidents

    @app.action(ActionId.ACTION_ITEM_DONE)
    async def action_item_done(ack, body, action, respond):
        await ack()
        user = body["user"]["id"]

        async def work():
            return await deps.actions.done(payload_int(action.get("value")), user, f"act:{action['action_ts']}:{user}")
        item = await guarded(responder(respond), work())
        if item is not None:
            await respond(text=f":white_check_mark: Action item #{item.id} done by <@{user}>: "
                               f"{safe(item.text, 2500)}", replace_original=True)

    @app.action(ActionId.PAGE_ACK)
    async def page_acknowledged(ack, body, action, respond):
        await ack()
        user = body["user"]["id"]

        async def work():
            return await service.acknowledge(payload_int(action.get("value")), user,
                                             f"act:{action['action_ts']}:{user}")
        incident = await guarded(responder(respond), work())
        if incident is not None:
            await respond(text=f":white_check_mark: You acknowledged {incident.reference} "
                               f"({safe(incident.title, 500)}). Join the war room: <#{incident.channel_id}>",
                          replace_original=True)

    @app.action(ActionId.SNOOZE_REMINDER)
    async def snooze_clicked(ack, body, action, respond):
        await ack()
        reply = responder(respond)
        user = body["user"]["id"]
        channel = body["channel"]["id"]

        async def work():
            await service.check_member(channel, user, "snooze the reminders of")
            return await deps.reminders.snooze(channel, user, f"act:{action['action_ts']}:{user}")
        message = await guarded(reply, work())
        if message:
            await reply(message)

    @app.action(ActionId.SEVERITY_SELECT)
    async def severity_selected(ack, body, action, respond):
        await ack()
        channel, user = body["channel"]["id"], body["user"]["id"]
        structlog.contextvars.bind_contextvars(channel=channel, user=user)
        key = f"act:{action['action_ts']}:{user}"

        async def work():
            number = payload_int((action.get("selected_option") or {}).get("value"))
            if number not in {s.value for s in Severity}:
                raise DomainError(FORGED)
            await service.change_severity(channel, Severity(number), user, key)
        await guarded(responder(respond), work())

    @app.action(ActionId.ASSIGN_ROLE)
    async def assign_role_clicked(ack, body, client, respond):
        await ack()
        channel, user = body["channel"]["id"], body["user"]["id"]

        async def open_modal():
            await service.check_member(channel, user, "assign roles in")
            await open_view(client, body["trigger_id"], blocks.role_modal(channel))
        await guarded(responder(respond), open_modal())

    @app.action(ActionId.POST_UPDATE)
    async def post_update_clicked(ack, body, client, respond):
        await ack()
        channel, user = body["channel"]["id"], body["user"]["id"]

        async def open_modal():
            incident = await service.check_member(channel, user, "post updates to")
            await open_view(client, body["trigger_id"], blocks.update_modal(channel, incident.status))
        await guarded(responder(respond), open_modal())

    @app.action(ActionId.RESOLVE)
    async def resolve_clicked(ack, body, client, respond):
        await ack()
        channel, user = body["channel"]["id"], body["user"]["id"]

        async def open_modal():
            incident = await service.check_may(channel, "resolve", user)
            await open_view(client, body["trigger_id"], blocks.resolve_modal(channel, incident))
        await guarded(responder(respond), open_modal())

