"""Carries out runbook effects: post or update the header, the step messages, the summary, command output."""

from __future__ import annotations

import shlex
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import Incident
from bot.core.ports import Clock
from bot.services.runbooks import RunbookService, RunView
from bot.slack import runbook_blocks as blocks
from bot.slack.effects import PermanentSlackError, call
from bot.slack.text import safe


class RunbookEffects:
    def __init__(self, client: AsyncWebClient, service: RunbookService, clock: Clock):
        self.client = client
        self.service = service
        self.clock = clock

    async def perform(self, kind: str, payload: dict[str, Any], incident: Incident | None,
                      context: RunView | None = None) -> dict[str, Any]:
        if incident is None or not incident.channel_id:
            raise PermanentSlackError("runbook effect without a war room")
        fresh = isinstance(context, RunView) and context.run.id == payload["run_id"]
        view = context if fresh else await self.service.view(payload["run_id"], incident)
        run, channel = view.run, incident.channel_id
        title = safe(run.runbook.title, 200)
        if kind == "runbook_header":
            return await self._post_or_update(channel, view.messages.header_ts, blocks.header(run),
                                              f"Runbook: {title}", {"run_id": run.id}, "header_ts")
        if kind == "runbook_step":
            position = payload["position"]
            step_title = safe(run.runbook.steps[position].title, 200)
            return await self._post_or_update(channel, view.messages.step_ts.get(position),
                                              blocks.step(run, position, view.executable),
                                              f"{title}: step {position + 1} · {step_title}",
                                              {"run_id": run.id, "position": position}, "step_ts")
        if kind == "runbook_summary":
            if view.messages.summary_ts:
                return {}
            response = await call(self.client.chat_postMessage(channel=channel, text=f"Runbook finished: {title}",
                                                               blocks=blocks.summary(run, self.clock.now())))
            return {"run_id": run.id, "summary_ts": response["ts"]}
        if kind == "runbook_execution":
            execution = await self.service.execution(payload["execution_id"])
            rendered = blocks.execution(execution.command_id, shlex.join(execution.argv), execution.status,
                                        execution.requested_by, execution.approved_by, execution.exit_code,
                                        execution.output, execution.id)
            thread = view.messages.step_ts.get(execution.position)
            await call(self.client.chat_postMessage(channel=channel, text=f"`{execution.command_id}`: "
                                                    f"{execution.status.replace('_', ' ')}", blocks=rendered,
                                                    **({"thread_ts": thread} if thread else {})))
            return {}
        raise PermanentSlackError(f"unknown runbook effect {kind!r}")

    async def _post_or_update(self, channel: str, ts: str | None, rendered: list, text: str, refs: dict,
                              ref_name: str) -> dict[str, Any]:
        if ts:
            await call(self.client.chat_update(channel=channel, ts=ts, text=text, blocks=rendered))
            return {}
        response = await call(self.client.chat_postMessage(channel=channel, text=text, blocks=rendered))
        return {**refs, ref_name: response["ts"]}
