"""Runbook listeners: the picker, Done / Skip / Add note, branches, checklists, Run and Approve.

Every click names the channel it came from; the service refuses a run or command request of another
incident. Values are parsed inside the guard, so a forged one gets a reply instead of an exception.
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.core.runbook import StepState
from bot.services.runbooks import RunbookService
from bot.slack import runbook_blocks as blocks
from bot.slack.handling import (
    guarded,
    open_view,
    payload_int,
    payload_value,
    responder,
    submit_modal,
)
from bot.slack.ids import ActionId, CallbackId


def _key(body: dict, action: dict) -> str:
    return f"act:{action.get('action_ts')}:{body['user']['id']}:{action['action_id']}"


def _where(body: dict) -> tuple[str, str]:
    return (body.get("channel") or {}).get("id", ""), body["user"]["id"]


def register(app: AsyncApp, service: RunbookService) -> None:
    @app.action(ActionId.RUNBOOK_PICK)
    async def picked(ack, body, action, respond):
        await ack()
        channel, user = _where(body)
        runbook_id = str((action.get("selected_option") or {}).get("value", ""))
        await guarded(responder(respond), service.start(channel, runbook_id, user, _key(body, action)))

    async def finish(ack, body, action, respond, state: StepState):
        await ack()
        channel, user = _where(body)

        async def work():
            value = payload_value(action.get("value"), run=int, step=int)
            await service.finish_step(channel, value["run"], value["step"], state, user, _key(body, action))
        await guarded(responder(respond), work())

    @app.action(ActionId.RUNBOOK_DONE)
    async def done(ack, body, action, respond):
        await finish(ack, body, action, respond, StepState.DONE)

    @app.action(ActionId.RUNBOOK_SKIP)
    async def skip(ack, body, action, respond):
        await finish(ack, body, action, respond, StepState.SKIPPED)

    @app.action(ActionId.RUNBOOK_NOTE)
    async def note(ack, body, action, client, respond):
        await ack()
        channel, _ = _where(body)

        async def open_modal():
            value = payload_value(action.get("value"), run=int, step=int)
            view = await service.view(value["run"], channel_id=channel)
            steps = view.run.runbook.steps
            title = steps[value["step"]].title if 0 <= value["step"] < len(steps) else ""
            await open_view(client, body["trigger_id"],
                                    blocks.note_modal(value["run"], value["step"], title, channel))
        await guarded(responder(respond), open_modal())

    @app.view(CallbackId.RUNBOOK_NOTE_MODAL)
    async def note_submitted(ack, body, view):
        async def work():
            where = payload_value(view.get("private_metadata"), run=int, step=int, channel=str)
            text = view["state"]["values"]["note"][ActionId.NOTE_INPUT]["value"] or ""
            return await service.note(where["channel"], where["run"], where["step"], text, body["user"]["id"],
                                      f"view:{view['id']}")
        await submit_modal(ack, work(), "note")

    @app.action(re.compile(f"^{ActionId.RUNBOOK_BRANCH_PREFIX}\\d+$"))
    async def branch(ack, body, action, respond):
        await ack()
        channel, user = _where(body)

        async def work():
            value = payload_value(action.get("value"), run=int, step=int, branch=int)
            await service.choose_branch(channel, value["run"], value["step"], value["branch"], user,
                                        _key(body, action))
        await guarded(responder(respond), work())

    @app.action(re.compile(f"^{ActionId.RUNBOOK_CHECK_PREFIX}\\d+$"))
    async def checked(ack, body, action, respond):
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
            await service.check_items(channel, value["run"], value["step"], chunk, selected, user,
                                      _key(body, action))
        await guarded(responder(respond), work())

    @app.action(re.compile(f"^{ActionId.RUNBOOK_RUN_PREFIX}\\d+$"))
    async def run_command(ack, body, action, respond):
        await ack()
        channel, user = _where(body)
        reply = responder(respond)

        async def work():
            value = payload_value(action.get("value"), run=int, command=str)
            return await service.request_execution(channel, value["run"], value["command"], user, _key(body, action))
        message = await guarded(reply, work())
        if message:
            await reply(message)

    @app.action(ActionId.RUNBOOK_APPROVE)
    async def approve(ack, body, action, respond):
        await ack()
        channel, user = _where(body)
        reply = responder(respond)

        async def work():
            value = payload_value(action.get("value"), execution=int)
            return await service.approve_execution(channel, value["execution"], user, _key(body, action))
        message = await guarded(reply, work())
        if message:
            await reply(message)
