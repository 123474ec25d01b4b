"""Runbook runs and the command audit log, over the same transaction as everything else."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.core.runbook import Branch, Command, Link, Run, Runbook, Step, StepProgress, StepState
from bot.storage.repository import Transaction
from bot.storage.tables import CommandExecutionRow, RunbookRunRow, RunbookStepRow


def snapshot(runbook: Runbook) -> dict[str, Any]:
    return asdict(runbook)


def from_snapshot(data: dict[str, Any]) -> Runbook:
    steps = tuple(Step(s["title"], tuple(s["items"]), tuple(Command(**c) for c in s["commands"]),
                       tuple(Link(**l) for l in s["links"]), s["notes"],
                       tuple(Branch(b["title"], tuple(b["items"])) for b in s["branches"]), s["verification"])
                  for s in data["steps"])
    return Runbook(data["id"], data["title"], data["description"], steps, data["severity"], tuple(data["alerts"]),
                   tuple(data["services"]), data["estimated_resolution"], data["source"])


@dataclass(frozen=True)
class RunMessages:
    header_ts: str | None
    summary_ts: str | None
    step_ts: dict[int, str]


@dataclass(frozen=True)
class Execution:
    id: int
    run_id: int
    position: int
    command_id: str
    argv: list[str]
    category: str
    status: str
    requested_by: str
    approved_by: str | None
    exit_code: int | None
    output: str


class RunRepository:
    def __init__(self, tx: Transaction):
        self.session = tx.session

    async def add(self, run: Run) -> Run:
        row = RunbookRunRow(incident_id=run.incident_id, runbook_id=run.runbook.id, snapshot=snapshot(run.runbook),
                            started_by=run.started_by, started_at=run.started_at)
        self.session.add(row)
        await self.session.flush()
        for position in range(len(run.steps)):
            self.session.add(RunbookStepRow(run_id=row.id, position=position, notes=[], checked=[]))
        await self.session.flush()
        return Run(row.id, run.incident_id, run.runbook, run.started_by, run.started_at, run.steps)

    async def get(self, run_id: int, *, for_update: bool = False) -> Run | None:
        query = select(RunbookRunRow).where(RunbookRunRow.id == run_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            return None
        steps = (await self.session.execute(select(RunbookStepRow).where(RunbookStepRow.run_id == run_id)
                                            .order_by(RunbookStepRow.position))).scalars().all()
        progress = tuple(StepProgress(StepState(s.state), s.actor, s.at, tuple(tuple(n) for n in s.notes),
                                      tuple(s.checked), s.branch) for s in steps)
        return Run(row.id, row.incident_id, from_snapshot(row.snapshot), row.started_by, row.started_at, progress,
                   row.finished_at)

    async def save(self, run: Run, before: Run) -> None:
        for position, (new, old) in enumerate(zip(run.steps, before.steps)):
            if new != old:
                await self.session.execute(
                    update(RunbookStepRow).where(RunbookStepRow.run_id == run.id, RunbookStepRow.position == position)
                    .values(state=new.state.value, actor=new.actor, at=new.at, notes=[list(n) for n in new.notes],
                            checked=list(new.checked), branch=new.branch))
        if run.finished_at != before.finished_at:
            await self.session.execute(update(RunbookRunRow).where(RunbookRunRow.id == run.id)
                                       .values(finished_at=run.finished_at))

    async def for_incident(self, incident_id: int) -> list[Run]:
        ids = (await self.session.execute(select(RunbookRunRow.id).where(RunbookRunRow.incident_id == incident_id)
                                          .order_by(RunbookRunRow.id))).scalars().all()
        return [await self.get(run_id) for run_id in ids]

    async def messages(self, run_id: int) -> RunMessages:
        row = await self.session.get(RunbookRunRow, run_id)
        steps = (await self.session.execute(select(RunbookStepRow.position, RunbookStepRow.message_ts)
                                            .where(RunbookStepRow.run_id == run_id))).all()
        return RunMessages(row.header_ts, row.summary_ts, {p: ts for p, ts in steps if ts})

    async def set_refs(self, refs: dict[str, Any]) -> None:
        run_id = refs["run_id"]
        if "header_ts" in refs:
            await self.session.execute(update(RunbookRunRow).where(RunbookRunRow.id == run_id)
                                       .values(header_ts=refs["header_ts"]))
        if "summary_ts" in refs:
            await self.session.execute(update(RunbookRunRow).where(RunbookRunRow.id == run_id)
                                       .values(summary_ts=refs["summary_ts"]))
        if "step_ts" in refs:
            await self.session.execute(update(RunbookStepRow).where(RunbookStepRow.run_id == run_id,
                                                                    RunbookStepRow.position == refs["position"])
                                       .values(message_ts=refs["step_ts"]))

    # -- the audit log -----------------------------------------------------------------------------
    async def add_execution(self, *, run_id: int, position: int, command_id: str, argv: list[str], category: str,
                            status: str, requested_by: str, at: datetime) -> int:
        row = CommandExecutionRow(run_id=run_id, position=position, command_id=command_id, argv=argv,
                                  category=category, status=status, requested_by=requested_by, requested_at=at)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def execution(self, execution_id: int, *, for_update: bool = False) -> Execution | None:
        query = select(CommandExecutionRow).where(CommandExecutionRow.id == execution_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            return None
        return Execution(row.id, row.run_id, row.position, row.command_id, list(row.argv), row.category, row.status,
                         row.requested_by, row.approved_by, row.exit_code, row.output)

    async def update_execution(self, execution_id: int, **values) -> None:
        await self.session.execute(update(CommandExecutionRow).where(CommandExecutionRow.id == execution_id)
                                   .values(**values))

    async def executions(self) -> list[Execution]:
        rows = (await self.session.execute(select(CommandExecutionRow.id).order_by(CommandExecutionRow.id))).scalars()
        return [await self.execution(i) for i in list(rows)]
