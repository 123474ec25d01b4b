"""Carries out runbook effects: post or update the header, the step messages, the summary, command output."""

from __future__ import annotations

import shlex

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import effects as fx
from bot.core.effects import RunRefs
from bot.core.incident import Incident
from bot.core.ports import Clock, Held, Performer, RetryLater
from bot.services.runbooks import RunbookService, RunView
from bot.slack.blocks import runbooks as blocks
from bot.slack.effects.calls import PermanentSlackError, call
from bot.slack.text import safe

log = structlog.get_logger("warroom.runbooks")


class RunbookEffects(Performer):
    def __init__(self, client: AsyncWebClient, service: RunbookService, clock: Clock):
        self.client = client
        self.service = service
        self.clock = clock

    async def perform(self, effect: fx.Effect, incident: Incident | None, context=None) -> fx.Result:
        if incident is None or not incident.channel_id:
            raise PermanentSlackError("runbook effect without a war room")
        handler = self.handlers.get(type(effect))
        if handler is None:
            return await super().perform(effect, incident)  # raises UnknownEffect
        # A handed-over effect renders the run as the transaction that queued it committed it.
        held = context.runs.get(effect.run_id) if isinstance(context, Held) else None
        if held is not None:
            run, messages = held
            view = RunView(run, incident, messages, self.service.executable(run))
        else:
            view = await self.service.view(effect.run_id, incident)
        return await handler(self, effect, view)

    async def _header(self, effect: fx.RunbookHeader, view: RunView) -> fx.Result:
        run = view.run
        return await self._post_or_update(view.incident.channel_id, view.messages.header_ts, blocks.header(run),
                                          f"Runbook: {safe(run.runbook.title, 200)}", "header_ts", run.id)

    async def _summary(self, effect: fx.RunbookSummary, view: RunView) -> fx.Result:
        if view.messages.summary_ts:
            return None
        run = view.run
        response = await call(self.client.chat_postMessage(
            channel=view.incident.channel_id, text=f"Runbook finished: {safe(run.runbook.title, 200)}",
            blocks=blocks.summary(run, self.clock.now())))
        return RunRefs(run.id, summary_ts=response["ts"])

    async def _execution(self, effect: fx.RunbookExecution, view: RunView) -> None:
        execution = await self.service.execution(effect.execution_id)
        rendered = blocks.execution(execution.command_id, shlex.join(execution.argv), execution.status,
                                    execution.requested_by, execution.approved_by, execution.exit_code,
                                    execution.output, execution.id)
        thread = view.messages.step_ts.get(execution.position)
        await call(self.client.chat_postMessage(channel=view.incident.channel_id, text=f"`{execution.command_id}`: "
                                                f"{execution.status.replace('_', ' ')}", blocks=rendered,
                                                **({"thread_ts": thread} if thread else {})))

    async def _step(self, effect: fx.RunbookStep, view: RunView) -> fx.Result:
        run, position, channel = view.run, effect.position, view.incident.channel_id
        text = (f"{safe(run.runbook.title, 200)}: step {position + 1} · "
                f"{safe(run.runbook.steps[position].title, 200)}")
        refs = await self._post_or_update(channel, view.messages.step_ts.get(position),
                                          blocks.step(run, position, view.executable), text, "step_ts", run.id,
                                          position)
        pages = blocks.step_text(run, position, view.executable)
        posted = view.messages.text_pages.get(position, 0)
        if posted >= len(pages):
            return refs
        thread = (refs.step_ts if refs else None) or view.messages.step_ts[position]
        for number in range(posted, len(pages)):
            try:
                await call(self.client.chat_postMessage(channel=channel, thread_ts=thread, blocks=pages[number],
                                                        text=f"{text}: full text, part {number + 1}/{len(pages)}"))
            except RetryLater as exc:
                # The step message and the pages so far are in Slack: the retry posts only the rest.
                raise RetryLater(str(exc), exc.after_seconds, refs=RunRefs(run.id, position=position, step_ts=thread,
                                                                   text_pages=number)) from None
            except PermanentSlackError as exc:
                # The step message stands and must stay known (its buttons are how the run moves on).
                log.error("runbook_step_text_failed", run_id=run.id, position=position, page=number + 1,
                          error=str(exc))
                return RunRefs(run.id, position=position, step_ts=thread, text_pages=number)
        return RunRefs(run.id, position=position, step_ts=thread, text_pages=len(pages))

    async def _post_or_update(self, channel: str, ts: str | None, rendered: list, text: str, ref_name: str,
                              run_id: int, position: int | None = None) -> RunRefs | None:
        if ts:
            await call(self.client.chat_update(channel=channel, ts=ts, text=text, blocks=rendered))
            return None
        response = await call(self.client.chat_postMessage(channel=channel, text=text, blocks=rendered))
        return RunRefs(run_id, position=position, **{ref_name: response["ts"]})

    handlers = {fx.RunbookHeader: _header, fx.RunbookStep: _step, fx.RunbookSummary: _summary,
                fx.RunbookExecution: _execution}
