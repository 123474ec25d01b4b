"""Runbook runs and the command audit log, over the same transaction as everything else."""

from __future__ import annotations

import weakref
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.core.effects import RunRefs
from bot.core.runbook import (
    Branch,
    Command,
    Link,
    Run,
    Runbook,
    Step,
    StepProgress,
    StepState,
)
from bot.storage.repository import Transaction
from bot.storage.tables import CommandExecutionRow, RunbookRunRow

RUNS = RunbookRunRow.__table__
# Runbooks as their runs started, by database engine and run id (runs keep theirs; ids differ per database).
_SNAPSHOTS: "weakref.WeakKeyDictionary[Any, dict[int, Runbook]]" = weakref.WeakKeyDictionary()


def snapshot(runbook: Runbook) -> dict[str, Any]:
    return asdict(runbook)


def from_snapshot(data: dict[str, Any]) -> Runbook:
    steps = tuple(Step(s["title"], tuple(s["items"]), tuple(Command(**c) for c in s["commands"]),
                       tuple(Link(**l) for l in s["links"]), s["notes"],
                       tuple(Branch(b["title"], tuple(b["items"])) for b in s["branches"]), s["verification"])
                  for s in data["steps"])
    return Runbook(data["id"], data["title"], data["description"], steps, data["severity"], tuple(data["alerts"]),
                   tuple(data["services"]), data["estimated_resolution"], data["source"])


# Where a step's messages are in Slack: its message, and how many pages of a long step's full text its thread
# holds. Effects set these; saving a click's progress keeps them.
_SLACK_REFS = ("message_ts", "text_pages")


def _progress_out(step: StepProgress, slack_refs: dict[str, Any]) -> dict[str, Any]:
    return {"state": step.state.value, "actor": step.actor, "at": step.at.isoformat() if step.at else None,
            "notes": [list(n) for n in step.notes], "checked": list(step.checked), "branch": step.branch,
            **slack_refs}


def _progress_in(entry: dict[str, Any]) -> StepProgress:
    return StepProgress(StepState(entry["state"]), entry["actor"],
                        datetime.fromisoformat(entry["at"]) if entry["at"] else None,
                        tuple(tuple(n) for n in entry["notes"]), tuple(entry["checked"]), entry["branch"])


@dataclass(frozen=True)
class RunMessages:
    header_ts: str | None
    summary_ts: str | None
    step_ts: dict[int, str]
    text_pages: dict[int, int]  # pages of a long step's text already in its thread


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
    reason: str | None = None
    runner: str | None = None
    started_at: datetime | None = None


class RunRepository:
    def __init__(self, tx: Transaction):
        self.tx = tx
        self.session = tx.session
        self._slack_refs: dict[int, list] = {}  # from the last read of each run, for save()
        self._messages_of: dict[int, RunMessages] = {}

    async def add(self, run: Run) -> Run:
        values = dict(incident_id=run.incident_id, runbook_id=run.runbook.id, snapshot=snapshot(run.runbook),
                      started_by=run.started_by, started_at=run.started_at,
                      progress=[_progress_out(step, {}) for step in run.steps])
        run_id = (await self.session.execute(RUNS.insert().values(**values).returning(RUNS.c.id))).scalar_one()
        added = Run(run_id, run.incident_id, run.runbook, run.started_by, run.started_at, run.steps)
        self.tx.held.runs[run_id] = (added, RunMessages(None, None, {}, {}))
        return added

    async def _row(self, run_id: int, for_update: bool):
        # A run's snapshot never changes, and a long runbook's takes a millisecond to decode: read it once.
        known = _SNAPSHOTS.setdefault(self.session.bind, {})
        columns = [c for c in RUNS.c if c.name != "snapshot"] if run_id in known else list(RUNS.c)
        query = select(*columns).where(RUNS.c.id == run_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).one_or_none()
        if row is not None and run_id not in known:
            known[run_id] = from_snapshot(row.snapshot)
        return row

    async def get(self, run_id: int, *, for_update: bool = False) -> Run | None:
        row = await self._row(run_id, for_update)
        if row is None:
            return None
        self._slack_refs[run_id] = [{key: entry.get(key) for key in _SLACK_REFS if key in entry}
                                    for entry in row.progress]
        self._messages_of[run_id] = self._messages(row)
        return self._run(row)

    def messages(self, run_id: int) -> RunMessages:
        """The run's messages as get() read them (a change does not move them: effects do, when they post)."""
        return self._messages_of[run_id]

    def _run(self, row) -> Run:
        return Run(row.id, row.incident_id, _SNAPSHOTS[self.session.bind][row.id], row.started_by, row.started_at,
                   tuple(_progress_in(entry) for entry in row.progress), row.finished_at)

    async def view(self, run_id: int) -> tuple[Run, RunMessages] | None:
        row = await self._row(run_id, False)
        if row is None:
            return None
        return self._run(row), self._messages(row)

    @staticmethod
    def _messages(row) -> RunMessages:
        return RunMessages(row.header_ts, row.summary_ts,
                           {i: e["message_ts"] for i, e in enumerate(row.progress) if e.get("message_ts")},
                           {i: e["text_pages"] for i, e in enumerate(row.progress) if e.get("text_pages")})

    async def save(self, run: Run, before: Run) -> None:
        """Writes the run's progress; the caller holds the row lock taken by get(for_update=True)."""
        progress = [_progress_out(step, refs) for step, refs in zip(run.steps, self._slack_refs[run.id])]
        await self.session.execute(update(RUNS).where(RUNS.c.id == run.id)
                                   .values(progress=progress, finished_at=run.finished_at))
        self.tx.held.runs[run.id] = (run, self._messages_of[run.id])

    async def for_incident(self, incident_id: int) -> list[Run]:
        rows = (await self.session.execute(select(RUNS).where(RUNS.c.incident_id == incident_id)
                                           .order_by(RUNS.c.id))).all()
        known = _SNAPSHOTS.setdefault(self.session.bind, {})
        for row in rows:
            if row.id not in known:
                known[row.id] = from_snapshot(row.snapshot)
        return [self._run(row) for row in rows]

    async def set_refs(self, refs: RunRefs) -> None:
        values: dict[str, Any] = {name: getattr(refs, name) for name in ("header_ts", "summary_ts")
                                  if getattr(refs, name) is not None}
        if refs.position is not None and (refs.step_ts is not None or refs.text_pages is not None):
            row = await self._row(refs.run_id, True)
            progress = [dict(entry) for entry in row.progress]
            entry = progress[refs.position]
            if refs.step_ts is not None:
                entry["message_ts"] = refs.step_ts
            if refs.text_pages is not None:
                entry["text_pages"] = refs.text_pages
            values["progress"] = progress
        if values:
            await self.session.execute(update(RUNS).where(RUNS.c.id == refs.run_id).values(**values))

    # -- the audit log -----------------------------------------------------------------------------
    async def add_execution(self, *, run_id: int, position: int, command_id: str, argv: list[str], category: str,
                            status: str, requested_by: str, at: datetime, reason: str | None = None) -> int:
        row = CommandExecutionRow(run_id=run_id, position=position, command_id=command_id, argv=argv,
                                  category=category, status=status, requested_by=requested_by, requested_at=at,
                                  reason=reason)
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
        return _execution(row)

    async def update_execution(self, execution_id: int, **values) -> None:
        await self.session.execute(update(CommandExecutionRow).where(CommandExecutionRow.id == execution_id)
                                   .values(**values))

    async def executions(self) -> list[Execution]:
        rows = (await self.session.execute(select(CommandExecutionRow).order_by(CommandExecutionRow.id))).scalars()
        return [_execution(row) for row in rows]

    async def running_executions(self) -> list[Execution]:
        """Commands some process started (or was about to start) and never finished."""
        rows = (await self.session.execute(select(CommandExecutionRow).where(CommandExecutionRow.status == "running")
                                           .order_by(CommandExecutionRow.id).with_for_update())).scalars()
        return [_execution(row) for row in rows]


def _execution(row: CommandExecutionRow) -> Execution:
    return Execution(row.id, row.run_id, row.position, row.command_id, list(row.argv), row.category, row.status,
                     row.requested_by, row.approved_by, row.exit_code, row.output, row.reason, row.runner,
                     row.started_at)
