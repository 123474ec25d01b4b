"""Carries out runbook effects: post or update the header, the step messages, the summary, command output."""

from __future__ import annotations

import shlex
from typing import Any

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import Incident
from bot.core.ports import Clock, RetryLater
from bot.services.runbooks import RunbookService, RunView
from bot.slack import runbook_blocks as blocks
from bot.slack.effects import PermanentSlackError, call
from bot.slack.text import safe

log = structlog.get_logger("warroom.runbooks")


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
            return await self._step(channel, view, payload["position"])
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

    async def _step(self, channel: str, view: RunView, position: int) -> dict[str, Any]:
        run = view.run
        text = (f"{safe(run.runbook.title, 200)}: step {position + 1} · "
                f"{safe(run.runbook.steps[position].title, 200)}")
        refs = await self._post_or_update(channel, view.messages.step_ts.get(position),
                                          blocks.step(run, position, view.executable), text,
                                          {"run_id": run.id, "position": position}, "step_ts")
        pages = blocks.step_text(run, position, view.executable)
        posted = view.messages.text_pages.get(position, 0)
        if posted >= len(pages):
            return refs
        thread = refs.get("step_ts") or view.messages.step_ts[position]
        for number in range(posted, len(pages)):
            try:
                await call(self.client.chat_postMessage(channel=channel, thread_ts=thread, blocks=pages[number],
                                                        text=f"{text}: full text, part {number + 1}/{len(pages)}"))
            except RetryLater as exc:
                # The step message and the pages so far are in Slack: the retry posts only the rest.
                raise RetryLater(str(exc), exc.after_seconds, refs={"run_id": run.id, "position": position,
                                                                   "step_ts": thread, "text_pages": number}) from None
            except PermanentSlackError as exc:
                # The step message stands and must stay known (its buttons are how the run moves on).
                log.error("runbook_step_text_failed", run_id=run.id, position=position, page=number + 1,
                          error=str(exc))
                return {"run_id": run.id, "position": position, "step_ts": thread, "text_pages": number}
        return {"run_id": run.id, "position": position, "step_ts": thread, "text_pages": len(pages)}

    async def _post_or_update(self, channel: str, ts: str | None, rendered: list, text: str, refs: dict,
                              ref_name: str) -> dict[str, Any]:
        if ts:
            await call(self.client.chat_update(channel=channel, ts=ts, text=text, blocks=rendered))
            return {}
        response = await call(self.client.chat_postMessage(channel=channel, text=text, blocks=rendered))
        return {**refs, ref_name: response["ts"]}
