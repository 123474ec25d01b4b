"""Runbook runs in the war room, and (opt-in) running their commands.

State lives in the database; each change locks the run's row, so two responders clicking the same step
at once complete it once. A run keeps the runbook it started with, however the file changes afterwards.
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass
from typing import Protocol

import structlog

from bot import processes
from bot.config import Settings
from bot.core import effects as fx
from bot.core import permissions
from bot.core import runbook as core
from bot.core.effects import Effect
from bot.core.incident import DomainError, Event, Incident
from bot.core.permissions import Rule
from bot.core.ports import Clock, Directory, Dispatch
from bot.core.runbook import ExecutionPolicy, Run, Runbook, StepState
from bot.core.text import escape
from bot.runbooks import Catalog
from bot.services.authorization import Authorizer
from bot.services.incidents import Duplicate, IncidentService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.runs import Execution, RunMessages

log = structlog.get_logger("warroom.runbooks")
# A forged or stale button (another incident's run, a run that is gone) gets this, and nothing changes.
NOT_THIS_ROOM = "That button belongs to a runbook of another incident; use the runbook messages of this war room."


class CommandRunner(Protocol):
    async def run(self, argv: list[str], timeout: float, output_limit: int) -> tuple[int | None, str, bool]:
        """(exit code or None, output, timed out)."""


@dataclass(frozen=True)
class RunView:
    run: Run
    incident: Incident
    messages: RunMessages
    executable: frozenset[str]


class RunbookService:
    def __init__(self, store: Store, catalog: Catalog, settings: Settings, clock: Clock, directory: Directory,
                 incidents: IncidentService, runner: CommandRunner, dispatch: Dispatch | None = None):
        self.store, self.catalog, self.settings, self.clock = store, catalog, settings, clock
        self.directory, self.incidents, self.runner = directory, incidents, runner
        self.work = UnitOfWork(store, dispatch)
        execution = settings.file.runbooks.execution
        self.policy = ExecutionPolicy(execution.enabled, frozenset(execution.allow))
        self.runners = Rule.parse(execution.runners)
        self.auth = Authorizer(settings, directory)
        self._background: set[asyncio.Task] = set()

    # -- choosing ----------------------------------------------------------------------------------
    async def choices(self, channel_id: str) -> tuple[Incident, list[Runbook], list[Runbook]]:
        incident = await self.incidents.incident_in(channel_id)
        everything = self.catalog.all()
        return incident, core.suggest(everything, incident), everything

    def suggested_for(self, incident: Incident) -> list[Runbook]:
        return core.suggest(self.catalog.all(), incident)

    # -- walking a run -----------------------------------------------------------------------------
    async def start(self, channel_id: str, runbook_id: str, actor: str, request_key: str) -> Run:
        runbook = self.catalog.get(runbook_id)
        if runbook is None:
            known = ", ".join(f"`{r.id}`" for r in self.catalog.all()) or "none are loaded"
            raise DomainError(f"No runbook `{escape(runbook_id[:64])}`. Available: {known}.")
        await self._member(channel_id, actor, "start runbooks in")
        now = self.clock.now()
        async with self.work() as tx:
            incident = await self._incident(tx, channel_id, request_key)
            run, events = core.start(runbook, incident, actor, now)
            run = await tx.runs.add(run)
            await tx.timeline.append(incident.id, events)
            await tx.outbox.enqueue(incident.id, [[fx.RunbookHeader(run_id=run.id)],
                                           [fx.RunbookStep(run_id=run.id, position=0)]], now)
        return run

    async def finish_step(self, channel_id: str, run_id: int, position: int, state: StepState, actor: str,
                          request_key: str) -> Run:
        async def change(run: Run, now) -> tuple[Run, list[Event]]:
            return core.finish_step(run, position, state, actor, now)

        def effects(before: Run, after: Run) -> list[list[Effect]]:
            wave = [fx.RunbookStep(run_id=after.id, position=position), fx.RunbookHeader(run_id=after.id)]
            if after.finished:
                return [wave, [fx.RunbookSummary(run_id=after.id)]]
            following = after.current
            if following is not None and following > position:
                wave.append(fx.RunbookStep(run_id=after.id, position=following))
            return [wave]
        return await self._change(channel_id, run_id, actor, request_key, change, effects)

    async def note(self, channel_id: str, run_id: int, position: int, text: str, actor: str, request_key: str) -> Run:
        async def change(run, now):
            return core.note_step(run, position, text, actor, now)
        return await self._change(channel_id, run_id, actor, request_key, change,
                                  lambda before, after: [[fx.RunbookStep(run_id=after.id, position=position)]])

    async def choose_branch(self, channel_id: str, run_id: int, position: int, branch: int, actor: str,
                            request_key: str) -> Run:
        async def change(run, now):
            return core.choose_branch(run, position, branch, actor, now)
        return await self._change(channel_id, run_id, actor, request_key, change,
                                  lambda before, after: [[fx.RunbookStep(run_id=after.id, position=position)]])

    async def check_items(self, channel_id: str, run_id: int, position: int, chunk: int, selected: tuple[int, ...],
                          actor: str, request_key: str) -> Run:
        """A checkbox group covers items chunk*10 .. chunk*10+9; ticks elsewhere are kept."""
        async def change(run, now):
            current = run.steps[position].checked if 0 <= position < len(run.steps) else ()
            kept = tuple(i for i in current if not chunk * 10 <= i < chunk * 10 + 10)
            return core.check_items(run, position, kept + selected), []

        def effects(before: Run, after: Run) -> list[list[Effect]]:
            # Slack keeps a pending step's ticks itself; a tick that arrives after Done (requests can be
            # handled out of order) must show on the finished step's message.
            if after.steps[position].state is StepState.PENDING:
                return []
            return [[fx.RunbookStep(run_id=after.id, position=position)]]
        return await self._change(channel_id, run_id, actor, request_key, change, effects)

    async def _change(self, channel_id: str, run_id: int, actor: str, request_key: str, change, effects) -> Run:
        await self._member(channel_id, actor, "walk runbooks in")
        now = self.clock.now()
        async with self.work() as tx:
            runs = tx.runs
            run = await runs.get(run_id, for_update=True)
            await self._of_this_room(tx, run, channel_id)
            await self._remember(tx, request_key)
            updated, events = await change(run, now)
            if updated != run:
                await runs.save(updated, run)
                await tx.timeline.append(run.incident_id, events)
                await tx.outbox.enqueue(run.incident_id, effects(run, updated), now)
        return updated

    # -- views for the Slack performer -------------------------------------------------------------
    async def view(self, run_id: int, incident: Incident | None = None, *, channel_id: str | None = None) -> RunView:
        """`channel_id`: where the request came from; a run of another incident is refused."""
        async with self.store.reading() as tx:
            found = await tx.runs.view(run_id)
            if found is None:
                raise DomainError(NOT_THIS_ROOM)
            run, messages = found
            if incident is None:
                incident = await tx.incidents.get(run.incident_id)
        if channel_id is not None and incident.channel_id != channel_id:
            raise DomainError(NOT_THIS_ROOM)
        return RunView(run, incident, messages, self.executable(run))

    def executable(self, run: Run) -> frozenset[str]:
        return self.policy.executable_in(run.runbook.id)

    async def execution(self, execution_id: int) -> Execution:
        async with self.store.reading() as tx:
            return await tx.runs.execution(execution_id)

    async def runs_of(self, incident_id: int) -> list[Run]:
        async with self.store.reading() as tx:
            return await tx.runs.for_incident(incident_id)

    # -- executing commands ------------------------------------------------------------------------
    async def request_execution(self, channel_id: str, run_id: int, command_id: str, actor: str,
                                request_key: str) -> str:
        """A Run click. A refused attempt is audited with its reason, like a run that goes ahead."""
        member = await self.directory.is_member(channel_id, actor)
        group = self.runners.usergroup or None
        in_group = await self.directory.in_usergroup(actor, group) if group else None
        now = self.clock.now()
        async with self.work() as tx:
            runs = tx.runs
            run = await runs.get(run_id, for_update=True)
            incident = await self._of_this_room(tx, run, channel_id, fresh=True)
            await self._remember(tx, request_key)
            position, command = run.runbook.command(command_id)
            refusal = permissions.room_membership(incident, member, "run commands in").reason or \
                core.execution_refusal(self.policy, run.runbook.id, command, actor=actor, incident=incident,
                                       actor_in_group=in_group, group=group)
            # From the run's snapshot of the runbook only: no user text ever reaches argv, and an edited file
            # or another runbook reusing the id cannot change what this request runs.
            argv = shlex.split(command.run)
            status = "refused" if refusal else ("awaiting_approval" if command.needs_second_person else "running")
            execution_id = await runs.add_execution(run_id=run_id, position=position, command_id=command.id,
                                                    argv=argv, category=command.category, status=status,
                                                    requested_by=actor, at=now, reason=refusal)
            if not refusal:
                text = (f"<@{actor}> asked to run `{command.id}` ({command.category}); it needs a second person's "
                        f"approval" if command.needs_second_person else f"<@{actor}> ran `{command.id}`")
                await tx.timeline.append(incident.id, [Event("runbook_command", actor, now, text,
                                                             {"execution": execution_id, "command": command.id})])
                await tx.outbox.enqueue(incident.id, [[fx.RunbookExecution(run_id=run_id, execution_id=execution_id)]], now)
        if refusal:
            log.warning("runbook_command_refused", execution=execution_id, command=command.id, user=actor,
                        reason=refusal)
            raise DomainError(refusal)
        if command.needs_second_person:
            return f"`{command.id}` is a {command.category.replace('_', ' ')} command: a second person must approve it."
        self._spawn(execution_id, command.timeout_seconds)
        return f"Running `{command.id}`; the output will appear in the step's thread."

    async def approve_execution(self, channel_id: str, execution_id: int, actor: str, request_key: str) -> str:
        """Approved by the IC, a runner or an incident manager, never by the requester; a refused approval is
        audited as a row of its own."""
        member = await self.directory.is_member(channel_id, actor)
        in_runners = await self.auth.in_group(actor, self.runners.usergroup or None)
        is_manager = await self.auth.is_manager(actor)
        now = self.clock.now()
        refusal = None
        async with self.work() as tx:
            runs = tx.runs
            execution = await runs.execution(execution_id, for_update=True)
            if execution is None:
                raise DomainError(NOT_THIS_ROOM)
            run = await runs.get(execution.run_id)
            incident = await self._of_this_room(tx, run, channel_id, fresh=True)
            if execution.status != "awaiting_approval":
                raise Duplicate()
            decision = permissions.approval(incident, execution.requested_by, actor, in_runners=in_runners,
                                            is_manager=is_manager, runners=self.runners.usergroup or None,
                                            managers=self.auth.managers)
            if not incident.is_open:
                decision = permissions.Decision(False, f"{incident.reference} is resolved.")
            if not member:
                decision = permissions.room_membership(incident, member, "approve commands in")
            await self._remember(tx, request_key)
            if not decision.allowed:
                refusal = decision.reason
                await runs.add_execution(run_id=run.id, position=execution.position, command_id=execution.command_id,
                                         argv=execution.argv, category=execution.category, status="approval_refused",
                                         requested_by=actor, at=now, reason=f"approving #{execution_id}: {refusal}")
            else:
                await runs.update_execution(execution_id, status="running", approved_by=actor)
                await tx.timeline.append(incident.id, [Event("runbook_command", actor, now,
                                                             f"<@{actor}> approved running `{execution.command_id}`",
                                                             {"execution": execution_id})])
                await tx.outbox.enqueue(incident.id, [[fx.RunbookExecution(run_id=run.id, execution_id=execution_id)]], now)
        if refusal:
            log.warning("runbook_approval_refused", execution=execution_id, user=actor, reason=refusal)
            raise DomainError(refusal)
        _, command = run.runbook.command(execution.command_id)
        self._spawn(execution_id, command.timeout_seconds)
        return f"Approved; running `{execution.command_id}`."

    def _spawn(self, execution_id: int, timeout: int) -> None:
        task = asyncio.create_task(self._execute(execution_id, timeout))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _execute(self, execution_id: int, timeout: int) -> None:
        async with self.work() as tx:
            execution = await tx.runs.execution(execution_id)
            await tx.runs.update_execution(execution_id, started_at=self.clock.now(),
                                                     runner=processes.identity())
        limit = self.settings.file.runbooks.execution.output_limit
        try:
            exit_code, output, timed_out = await self.runner.run(execution.argv, timeout, limit)
        except Exception as exc:  # the program is missing, not executable, ...
            exit_code, output, timed_out = None, f"could not start: {exc}", False
        status = "timed_out" if timed_out else ("succeeded" if exit_code == 0 else "failed")
        now = self.clock.now()
        log.info("runbook_command_finished", execution=execution_id, command=execution.command_id, status=status,
                 exit_code=exit_code)
        async with self.work() as tx:
            runs = tx.runs
            await runs.update_execution(execution_id, status=status, exit_code=exit_code, output=output,
                                        finished_at=now)
            run = await runs.get(execution.run_id)
            outcome = "timed out" if timed_out else f"exit code {exit_code}"
            await tx.timeline.append(run.incident_id, [Event("runbook_command", execution.requested_by, now,
                                                             f"`{execution.command_id}` finished: {outcome}",
                                                             {"execution": execution_id, "status": status})])
            await tx.outbox.enqueue(run.incident_id, [[fx.RunbookExecution(run_id=run.id, execution_id=execution_id)]],
                             now)

    async def drain(self) -> None:
        await asyncio.gather(*self._background, return_exceptions=True)

    async def recover_interrupted(self) -> int:
        """At start-up: a command whose process died (on this host) never finishes; it is marked interrupted and
        its war room is told, since nobody knows how far it got. Another host's commands are left to it until
        their timeout has long passed."""
        now = self.clock.now()
        interrupted = 0
        async with self.work() as tx:
            runs = tx.runs
            for execution in await runs.running_executions():
                run = await runs.get(execution.run_id)
                _, command = run.runbook.command(execution.command_id)
                overdue = execution.started_at is None or (
                    now - execution.started_at).total_seconds() > command.timeout_seconds + 60
                if not ((execution.runner and processes.dead_here(execution.runner)) or overdue):
                    continue
                interrupted += 1
                await runs.update_execution(execution.id, status="interrupted", finished_at=now,
                                            reason="warroom stopped while the command ran")
                await tx.timeline.append(run.incident_id, [Event(
                    "runbook_command", "warroom", now, f"`{execution.command_id}` was interrupted: warroom stopped "
                    f"while it ran, so its outcome is unknown", {"execution": execution.id, "status": "interrupted"})])
                await tx.outbox.enqueue(run.incident_id, [[fx.RunbookExecution(run_id=run.id, execution_id=execution.id)]],
                                 now)
        if interrupted:
            log.warning("runbook_commands_interrupted", count=interrupted)
        return interrupted

    # -- helpers -----------------------------------------------------------------------------------
    async def _member(self, channel_id: str, actor: str, verb: str) -> None:
        """Membership comes from the directory's cache: nothing is read from the database on the way in."""
        if await self.directory.is_member(channel_id, actor):
            return
        incident = await self.incidents.find_in(channel_id)
        if incident is None:
            raise DomainError("Runbooks run inside an incident's war-room channel.")
        await self.auth.in_room(incident, actor, verb)

    async def _of_this_room(self, tx: Transaction, run: Run | None, channel_id: str, *, fresh: bool = False) -> Incident:
        """The run's incident, which must be the one of the channel the click came from: a button value is
        never trusted alone. `fresh`: read it now (its commander decides), not from the war-room cache."""
        incident = None
        if run is not None:
            incident = await (tx.incidents.get(run.incident_id) if fresh else tx.incidents.cached(run.incident_id))
        if incident is None or incident.channel_id != channel_id:
            log.warning("runbook_click_refused", run_id=run.id if run else None, channel=channel_id)
            raise DomainError(NOT_THIS_ROOM)
        return incident

    async def _incident(self, tx: Transaction, channel_id: str, request_key: str) -> Incident:
        incident = await tx.incidents.in_channel(channel_id)
        if incident is None:
            raise DomainError("Runbooks run inside an incident's war-room channel.")
        await self._remember(tx, request_key)
        return incident

    async def _remember(self, tx: Transaction, request_key: str) -> None:
        if request_key and not await tx.requests.first_time(request_key, self.clock.now()):
            raise Duplicate()
