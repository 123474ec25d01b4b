"""The remediation audit and the pause switch, over the same transaction as the alert delivery that decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.remediation import Outcome, Past
from bot.storage.tables import RemediationRunRow, RemediationSwitchRow

RUNS = RemediationRunRow.__table__
SWITCHES = RemediationSwitchRow.__table__


@dataclass(frozen=True)
class RemediationRun:
    id: int
    policy: str
    kind: str
    outcome: Outcome
    reason: str
    fingerprint: str
    starts_at: datetime
    labels: dict[str, str]
    target: str
    group_id: int | None
    incident_id: int | None
    covered_by: int | None
    request: dict[str, Any]
    exit_code: int | None
    http_status: int | None
    output: str
    decided_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    runner: str | None
    verify_at: datetime | None
    watch_until: datetime | None
    verification: str | None
    escalated_at: datetime | None
    escalation: str

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "alert")


def _run(row) -> RemediationRun:
    return RemediationRun(row.id, row.policy, row.kind, Outcome(row.outcome), row.reason, row.fingerprint,
                          row.starts_at, dict(row.labels), row.target, row.group_id, row.incident_id, row.covered_by,
                          dict(row.request), row.exit_code, row.http_status, row.output, row.decided_at,
                          row.started_at, row.finished_at, row.runner, row.verify_at, row.watch_until,
                          row.verification, row.escalated_at, row.escalation)


@dataclass(frozen=True)
class Switch:
    paused: bool = False
    actor: str | None = None
    why: str = ""
    at: datetime | None = None


@dataclass
class NewRun:
    policy: str
    kind: str
    outcome: Outcome
    fingerprint: str
    starts_at: datetime
    labels: dict[str, str]
    target: str
    decided_at: datetime
    reason: str = ""
    group_id: int | None = None
    incident_id: int | None = None
    covered_by: int | None = None
    request: dict[str, Any] = field(default_factory=dict)
    verify_at: datetime | None = None
    watch_until: datetime | None = None


class RemediationRepository:
    def __init__(self, session):
        self.session = session

    def _insert(self, table):
        return (postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert)(table)

    async def add(self, run: NewRun) -> int | None:
        """The new audit row's id; None when this policy already answered this firing (a redelivery)."""
        values = {**run.__dict__, "outcome": run.outcome.value, "output": "", "escalation": ""}
        statement = self._insert(RUNS).values(**values).on_conflict_do_nothing(
            index_elements=["policy", "fingerprint", "starts_at"]).returning(RUNS.c.id)
        return (await self.session.execute(statement)).scalar()

    async def get(self, run_id: int, *, for_update: bool = False) -> RemediationRun | None:
        query = select(RUNS).where(RUNS.c.id == run_id)
        if for_update and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _run(row) if row else None

    async def history(self, policy: str, since: datetime) -> list[Past]:
        rows = (await self.session.execute(
            select(RUNS.c.id, RUNS.c.outcome, RUNS.c.target, RUNS.c.fingerprint, RUNS.c.decided_at)
            .where(RUNS.c.policy == policy, RUNS.c.decided_at >= since))).all()
        return [Past(r.id, Outcome(r.outcome), r.target, r.fingerprint, r.decided_at) for r in rows]

    async def update(self, run_id: int, **values) -> None:
        if isinstance(values.get("outcome"), Outcome):
            values["outcome"] = values["outcome"].value
        await self.session.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))

    async def claim(self, run_id: int, runner: str, at: datetime) -> bool:
        """pending → running, once: False when another attempt got there first (or it is no longer pending)."""
        result = await self.session.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.outcome == "pending")
                                            .values(outcome="running", runner=runner, started_at=at))
        return result.rowcount == 1

    async def covered(self, run_id: int) -> list[RemediationRun]:
        rows = (await self.session.execute(select(RUNS).where(RUNS.c.covered_by == run_id))).all()
        return [_run(row) for row in rows]

    async def watching(self, policies: list[str], now: datetime) -> list[RemediationRun]:
        """Runs whose follow-up window is still open: a follow-up alert about their target pages."""
        rows = (await self.session.execute(select(RUNS).where(
            RUNS.c.policy.in_(policies), RUNS.c.watch_until > now, RUNS.c.escalated_at.is_(None),
            RUNS.c.covered_by.is_(None)))).all()
        return [_run(row) for row in rows]

    async def unverified_of(self, fingerprint: str) -> list[RemediationRun]:
        """Runs about this alert still waiting for their verification (its resolve tells them early)."""
        rows = (await self.session.execute(select(RUNS).where(
            RUNS.c.fingerprint == fingerprint, RUNS.c.verify_at.is_not(None), RUNS.c.verification.is_(None),
            RUNS.c.escalated_at.is_(None)))).all()
        return [_run(row) for row in rows]

    async def recent(self, limit: int = 10) -> list[RemediationRun]:
        rows = (await self.session.execute(select(RUNS).where(RUNS.c.covered_by.is_(None))
                                           .order_by(RUNS.c.id.desc()).limit(limit))).all()
        return [_run(row) for row in rows]


    # -- the pause switch --------------------------------------------------------------------------
    async def switch(self) -> Switch:
        row = (await self.session.execute(select(SWITCHES).order_by(SWITCHES.c.id.desc()).limit(1))).first()
        return Switch(row.paused, row.actor, row.why, row.at) if row else Switch()

    async def flip(self, paused: bool, actor: str, why: str, at: datetime, request_key: str) -> bool:
        """False when this request was recorded before (Slack redelivered it)."""
        statement = self._insert(SWITCHES).values(at=at, actor=actor, paused=paused, why=why,
                                                  request_key=request_key).on_conflict_do_nothing(
            index_elements=["request_key"])
        return (await self.session.execute(statement)).rowcount == 1
