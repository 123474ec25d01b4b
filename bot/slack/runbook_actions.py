"""Runbook listeners: the picker, Done / Skip / Add note, branches, checklists, Run and Approve."""

from __future__ import annotations

import json
import re

from slack_bolt.async_app import AsyncApp

from bot.core.runbook import StepState
from bot.services.runbooks import RunbookService
from bot.slack import runbook_blocks as blocks
from bot.slack.handling import guarded, responder, submit_modal
from bot.slack.ids import ActionId, CallbackId


def _key(body: dict, action: dict) -> str:
    return f"act:{action.get('action_ts')}:{body['user']['id']}:{action['action_id']}"


def register(app: AsyncApp, service: RunbookService) -> None:
    @app.action(ActionId.RUNBOOK_PICK)
    async def picked(ack, body, action, respond):
        await ack()
        runbook_id = action["selected_option"]["value"]
        await guarded(responder(respond), service.start(body["channel"]["id"], runbook_id, body["user"]["id"],
                                                        _key(body, action)))

    async def finish(ack, body, action, respond, state: StepState):
        await ack()
        value = json.loads(action["value"])
        await guarded(responder(respond), service.finish_step(value["run"], value["step"], state, body["user"]["id"],
                                                              _key(body, action)))

    @app.action(ActionId.RUNBOOK_DONE)
    async def done(ack, body, action, respond):
        await finish(ack, body, action, respond, StepState.DONE)

    @app.action(ActionId.RUNBOOK_SKIP)
    async def skip(ack, body, action, respond):
        await finish(ack, body, action, respond, StepState.SKIPPED)

    @app.action(ActionId.RUNBOOK_NOTE)
    async def note(ack, body, action, client, respond):
        await ack()
        value = json.loads(action["value"])

        async def open_modal():
            view = await service.view(value["run"])
            title = view.run.runbook.steps[value["step"]].title
            await client.views_open(trigger_id=body["trigger_id"],
                                    view=blocks.note_modal(value["run"], value["step"], title))
        await guarded(responder(respond), open_modal())

    @app.view(CallbackId.RUNBOOK_NOTE_MODAL)
    async def note_submitted(ack, body, view):
        where = json.loads(view["private_metadata"])
        text = view["state"]["values"]["note"][ActionId.NOTE_INPUT]["value"] or ""
        await submit_modal(ack, service.note(where["run"], where["step"], text, body["user"]["id"], f"view:{view['id']}"),
                      "note")

    @app.action(re.compile(f"^{ActionId.RUNBOOK_BRANCH_PREFIX}\\d+$"))
    async def branch(ack, body, action, respond):
        await ack()
        value = json.loads(action["value"])
        await guarded(responder(respond), service.choose_branch(value["run"], value["step"], value["branch"],
                                                                body["user"]["id"], _key(body, action)))

    @app.action(re.compile(f"^{ActionId.RUNBOOK_CHECK_PREFIX}\\d+$"))
    async def checked(ack, body, action, respond):
        await ack()
        chunk = int(action["action_id"].removeprefix(ActionId.RUNBOOK_CHECK_PREFIX))
        values = [json.loads(e["value"]) for b in body["message"]["blocks"] if b["type"] == "actions"
                  for e in b["elements"] if e.get("action_id") == ActionId.RUNBOOK_DONE]
        if not values:
            return
        selected = tuple(int(o["value"]) for o in action.get("selected_options", []))
        await guarded(responder(respond), service.check_items(values[0]["run"], values[0]["step"], chunk, selected,
                                                              _key(body, action)))

    @app.action(re.compile(f"^{ActionId.RUNBOOK_RUN_PREFIX}\\d+$"))
    async def run_command(ack, body, action, respond):
        await ack()
        value = json.loads(action["value"])
        reply = responder(respond)
        message = await guarded(reply, service.request_execution(value["run"], value["command"], body["user"]["id"],
                                                                 _key(body, action)))
        if message:
            await reply(message)

    @app.action(ActionId.RUNBOOK_APPROVE)
    async def approve(ack, body, action, respond):
        await ack()
        value = json.loads(action["value"])
        reply = responder(respond)
        message = await guarded(reply, service.approve_execution(value["execution"], body["user"]["id"],
                                                                 _key(body, action)))
        if message:
            await reply(message)
