"""The buttons of an alert group's messages: Declare, Acknowledge, Silence for…, Expire silence, Start runbook,
and the link buttons (runbook, dashboard, source), which Slack still reports as clicks."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.listeners.handling import (
    deps_of,
    guarded,
    payload_value,
    request_key,
    responder,
)


def _where(body: dict) -> tuple[str, str]:
    return (body.get("channel") or {}).get("id", ""), body["user"]["id"]


async def declare(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)
    reply = responder(respond)

    async def work():
        value = payload_value(action.get("value"), group=int)
        incident = await deps_of(context).alerts.declare(value["group"], channel, user, request_key(body, action))
        await reply(f":rotating_light: Declared {incident.reference} ({incident.severity.label}); opening "
                    f"#{incident.channel_name}.")
    await guarded(reply, work())


async def acknowledge(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)

    async def work():
        value = payload_value(action.get("value"), group=int)
        await deps_of(context).alerts.acknowledge(value["group"], channel, user, request_key(body, action))
    await guarded(responder(respond), work())


async def silence(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)
    reply = responder(respond)

    async def work():
        value = payload_value((action.get("selected_option") or {}).get("value"), group=int, hours=int)
        await reply(await deps_of(context).alerts.silence(value["group"], value["hours"], channel, user,
                                                          request_key(body, action)))
    await guarded(reply, work())


async def expire_silence(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                         context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)
    reply = responder(respond)

    async def work():
        value = payload_value(action.get("value"), group=int)
        await reply(await deps_of(context).alerts.expire_silence(value["group"], channel, user,
                                                                 request_key(body, action)))
    await guarded(reply, work())


async def start_runbook(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                        context: AsyncBoltContext) -> None:
    """The runbook offered with the alerts, started in this war room (the service checks room and membership)."""
    await ack()
    channel, user = _where(body)
    deps = deps_of(context)

    async def work():
        value = payload_value(action.get("value"), group=int, runbook=str)
        await deps.runbooks.start(channel, value["runbook"], user, request_key(body, action))
        await deps.alerts.runbook_started(value["group"], channel)
    await guarded(responder(respond), work())


async def link_opened(ack: AsyncAck) -> None:
    await ack()  # the browser opened the link; nothing to do
