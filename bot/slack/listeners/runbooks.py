"""Runbook listeners: the picker, Done / Skip / Add note, branches, checklists, Run and Approve.

Every click names the channel it came from; the service refuses a run or command request of another
incident. Values are parsed inside the guard, so a forged one gets a reply instead of an exception.
"""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.runbook import StepState
from bot.slack.blocks import runbooks as blocks
from bot.slack.ids import ActionId
from bot.slack.listeners.handling import (
    deps_of,
    guarded,
    open_view,
    payload_int,
    payload_value,
    request_key,
    responder,
    submit_modal,
)


def _where(body: dict) -> tuple[str, str]:
    return (body.get("channel") or {}).get("id", ""), body["user"]["id"]


async def picked(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)
    runbook_id = str((action.get("selected_option") or {}).get("value", ""))
    await guarded(responder(respond), deps_of(context).runbooks.start(channel, runbook_id, user,
                                                                      request_key(body, action)))


async def _finish(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext,
                  state: StepState) -> None:
    await ack()
    channel, user = _where(body)

    async def work():
        value = payload_value(action.get("value"), run=int, step=int)
        await deps_of(context).runbooks.finish_step(channel, value["run"], value["step"], state, user,
                                                    request_key(body, action))
    await guarded(responder(respond), work())


async def done(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await _finish(ack, body, action, respond, context, StepState.DONE)


async def skip(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await _finish(ack, body, action, respond, context, StepState.SKIPPED)


async def note(ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, respond: AsyncRespond,
               context: AsyncBoltContext) -> None:
    await ack()
    channel, _ = _where(body)

    async def open_modal():
        value = payload_value(action.get("value"), run=int, step=int)
        view = await deps_of(context).runbooks.view(value["run"], channel_id=channel)
        steps = view.run.runbook.steps
        title = steps[value["step"]].title if 0 <= value["step"] < len(steps) else ""
        await open_view(client, body["trigger_id"], blocks.note_modal(value["run"], value["step"], title, channel))
    await guarded(responder(respond), open_modal())


async def note_submitted(ack: AsyncAck, body: dict, view: dict, context: AsyncBoltContext) -> None:
    async def work():
        where = payload_value(view.get("private_metadata"), run=int, step=int, channel=str)
        text = view["state"]["values"]["note"][ActionId.NOTE_INPUT]["value"] or ""
        return await deps_of(context).runbooks.note(where["channel"], where["run"], where["step"], text,
                                                    body["user"]["id"], request_key(body))
    await submit_modal(ack, work(), "note")


async def branch(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)

    async def work():
        value = payload_value(action.get("value"), run=int, step=int, branch=int)
        await deps_of(context).runbooks.choose_branch(channel, value["run"], value["step"], value["branch"], user,
                                                      request_key(body, action))
    await guarded(responder(respond), work())


async def checked(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)

    async def work():
        chunk = int(action["action_id"].removeprefix(ActionId.RUNBOOK_CHECK_PREFIX))
        values = [e.get("value") for b in (body.get("message") or {}).get("blocks", [])
                  if b.get("type") == "actions" for e in b.get("elements", [])
                  if e.get("action_id") == ActionId.RUNBOOK_DONE]
        if not values:
            return
        value = payload_value(values[0], run=int, step=int)
        selected = tuple(payload_int(o.get("value")) for o in action.get("selected_options") or [])
        await deps_of(context).runbooks.check_items(channel, value["run"], value["step"], chunk, selected, user,
                                                    request_key(body, action))
    await guarded(responder(respond), work())


async def run_command(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)
    reply = responder(respond)

    async def work():
        value = payload_value(action.get("value"), run=int, command=str)
        return await deps_of(context).runbooks.request_execution(channel, value["run"], value["command"], user,
                                                                 request_key(body, action))
    message = await guarded(reply, work())
    if message:
        await reply(message)


async def approve(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    channel, user = _where(body)
    reply = responder(respond)

    async def work():
        value = payload_value(action.get("value"), execution=int)
        return await deps_of(context).runbooks.approve_execution(channel, value["execution"], user,
                                                                 request_key(body, action))
    message = await guarded(reply, work())
    if message:
        await reply(message)
