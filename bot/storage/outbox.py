"""The outbox: effects queued in the transaction that decided them, claimed under a lease, settled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Sequence

from pydantic import ValidationError
from sqlalchemy import bindparam, func, insert, or_, select, update

from bot.core import effects
from bot.core.effects import (
    AlertRefs,
    Effect,
    IncidentRefs,
    PostmortemRefs,
    PublicRefs,
    Result,
    RunRefs,
    StormRefs,
)
from bot.storage.tables import OutboxRow

if TYPE_CHECKING:
    from bot.storage.repository import Store


@dataclass(frozen=True)
class OutboxItem:
    id: int
    incident_id: int | None
    effect: Effect | None  # None: the stored row describes no effect (see `problem`)
    attempts: int
    # What the service that queued it already holds (a runbook run as just committed), for an effect
    # handed over in-process: its performer need not read it back. Never stored.
    context: Any = field(default=None, compare=False)
    problem: str | None = None

    @classmethod
    def read(cls, row, attempts: int) -> "OutboxItem":
        try:
            effect, problem = effects.parse(row.target, row.kind, dict(row.payload)), None
        except ValidationError as exc:  # a row written by another version, or by hand
            effect, problem = None, f"{row.target}.{row.kind} is not an effect this version knows: {exc}"[:500]
        return cls(row.id, row.incident_id, effect, attempts, problem=problem)


@dataclass(frozen=True)
class Settlement:
    """How one effect went: done, failed, or pending again from `retry_at`; with references to remember."""

    item_id: int
    status: str
    error: str | None = None
    retry_at: datetime | None = None
    result: Result = None
    incident_id: int | None = None


class OutboxRepository:
    def __init__(self, session, lease: tuple[str, datetime] | None):
        self.session = session
        self.lease = lease
        self.handed_over: list[OutboxItem] = []
        self.enqueued = False  # whether the dispatcher has anything new to look at after the commit

    async def retried(self, incident_id: int, target: str, because: Sequence[str]) -> int:
        """How many of the incident's effects for `target` had to be tried again for one of the reasons
        `because` names (the starts of their errors): what the post-mortem reports as tooling trouble."""
        reasons = [OutboxRow.last_error.startswith(reason, autoescape=True) for reason in because]
        query = select(func.count()).select_from(OutboxRow).where(
            OutboxRow.incident_id == incident_id, OutboxRow.target == target, OutboxRow.attempts > 1, or_(*reasons))
        return (await self.session.execute(query)).scalar() or 0

    async def enqueue(self, incident_id: int | None, waves: Sequence[Sequence[Effect]], now: datetime, *,
                      new_incident: bool = False, lane: str = "main") -> None:
        """Appends waves after the incident's existing ones, so effects leave in the order they were decided.
        Each lane keeps its own order: a wave waits only for earlier waves of the same lane."""
        last, pending = 0, 0
        if not new_incident:
            query = select(func.max(OutboxRow.wave),
                           func.count(OutboxRow.id).filter(OutboxRow.status == "pending", OutboxRow.lane == lane)
                           ).where(OutboxRow.incident_id == incident_id)
            last, pending = (await self.session.execute(query)).one()
            last = last or 0
        waves = [list(w) for w in waves if w]
        if not waves:
            return
        self.enqueued = True
        base = {"incident_id": incident_id, "lane": lane, "status": "pending", "due_at": now, "created_at": now}
        # Nothing of this incident's lane is still waiting: the first wave may leave at once, already leased.
        first = []
        if self.lease and not pending and incident_id is not None:
            owner, until = self.lease
            first = [{**base, "wave": last + 1, "target": e.target, "kind": e.kind, "payload": e.fields(),
                      "attempts": 1, "lease_owner": owner, "lease_until": until} for e in waves[0]]
            table = OutboxRow.__table__
            # One statement for the wave; the rows come back with what they hold, whatever their order.
            inserted = await self.session.execute(table.insert().values(first).returning(
                table.c.id, table.c.incident_id, table.c.target, table.c.kind, table.c.payload))
            self.handed_over += sorted((OutboxItem.read(row, 1) for row in inserted), key=lambda item: item.id)
        rows = [{**base, "wave": last + 1 + offset, "target": effect.target, "kind": effect.kind,
                 "payload": effect.fields(), "attempts": 0}
                for offset, wave in enumerate(waves) if not (offset == 0 and first) for effect in wave]
        if rows:
            await self.session.execute(insert(OutboxRow), rows)


def _outbox_statements():
    """The dispatcher looks for work after every wave; building these once keeps that look cheap, so that a
    click waiting for the event loop does not wait behind SQLAlchemy constructing the same query again."""
    table = OutboxRow.__table__
    earlier = table.alias("earlier")
    now = bindparam("now", type_=table.c.due_at.type)
    blocked = (select(earlier.c.id).where(earlier.c.incident_id == table.c.incident_id, earlier.c.lane == table.c.lane,
                                          earlier.c.status == "pending", earlier.c.wave < table.c.wave)
               .exists())
    # Effects of no incident keep an order only within a lane of their own (an alert group's message, a storm's):
    # the second update of a message must not run before the post that made it has recorded its ts.
    blocked_in_lane = (select(earlier.c.id).where(earlier.c.incident_id.is_(None), earlier.c.lane == table.c.lane,
                                                  earlier.c.status == "pending", earlier.c.wave < table.c.wave)
                       .exists())
    ordered_lane = table.c.incident_id.is_(None) & (table.c.lane != "main")
    free = table.c.lease_until.is_(None) | (table.c.lease_until < now)
    ready = (select(table.c.id).where(table.c.status == "pending", table.c.due_at <= now, free, ~blocked,
                                      ~(ordered_lane & blocked_in_lane))
             .order_by(table.c.id).limit(bindparam("limit")))
    # The conditional update is the lock: of two processes, only one gets a row back for each id.
    claim = (update(table).where(table.c.id.in_(bindparam("ids", expanding=True)), table.c.status == "pending", free)
             .values(lease_until=bindparam("until", type_=table.c.lease_until.type),
                     lease_owner=bindparam("owner"), attempts=table.c.attempts + 1)
             .returning(table.c.id, table.c.incident_id, table.c.target, table.c.kind, table.c.payload,
                        table.c.attempts))
    next_due = select(func.min(func.coalesce(table.c.lease_until, table.c.due_at))).where(table.c.status == "pending")
    # A retry keeps its row pending and moves it to retry_at; anything else is settled now. A row done after a
    # retry keeps the error it was retried for (the post-mortem counts Slack's failures from them).
    settle = (update(table).where(table.c.id == bindparam("item"))
              .values(lease_until=None, lease_owner=None, status=bindparam("outcome"),
                      last_error=func.coalesce(bindparam("error", type_=table.c.last_error.type), table.c.last_error),
                      due_at=func.coalesce(bindparam("retry_at", type_=table.c.due_at.type), table.c.due_at),
                      done_at=bindparam("done_at", type_=table.c.done_at.type)))
    return ready, claim, next_due, settle


_READY, _CLAIM, _NEXT_DUE, _SETTLE = _outbox_statements()


class OutboxStore:
    """What the dispatcher needs: claim ready effects under a lease, then settle them."""

    def __init__(self, store: Store):
        self.store = store

    async def claim_ready(self, now: datetime, owner: str, lease: timedelta, limit: int = 50) -> list[OutboxItem]:
        # Looking costs no write lock: most wake-ups find nothing new, and clicks should not queue behind them.
        # What is ready stays ready (an earlier wave never becomes pending again), so the claim needs no re-check.
        async with self.store.reading() as tx:
            ids = list((await tx.session.execute(_READY, {"now": now, "limit": limit})).scalars())
        if not ids:
            return []
        async with self.store.transaction() as tx:
            rows = (await tx.session.execute(_CLAIM, {"ids": ids, "now": now, "until": now + lease,
                                                      "owner": owner})).all()
        return sorted((OutboxItem.read(row, row.attempts) for row in rows), key=lambda item: item.id)

    async def settle(self, settlements: Sequence[Settlement], now: datetime) -> None:
        """Records how effects went, in one transaction (a wave's effects settle together)."""
        async with self.store.transaction() as tx:
            for settlement in settlements:
                result, incident_id = settlement.result, settlement.incident_id
                if isinstance(result, RunRefs):
                    await tx.runs.set_refs(result)
                elif isinstance(result, IncidentRefs) and incident_id is not None:
                    await tx.incidents.set_refs(incident_id, result)
                elif isinstance(result, PostmortemRefs) and incident_id is not None:
                    await tx.postmortems.set_refs(incident_id, result)
                elif isinstance(result, AlertRefs):
                    await tx.alerts.set_refs(result)
                elif isinstance(result, StormRefs):
                    await tx.alerts.set_storm_ts(result.storm_id, result.ts)
                elif isinstance(result, PublicRefs):
                    await tx.public.set_statuspage_id(result.incident_id, result.statuspage_id)
            if settlements:
                await tx.session.execute(_SETTLE, [
                    {"item": one.item_id, "error": one.error, "retry_at": one.retry_at,
                     "outcome": "pending" if one.retry_at is not None else one.status,
                     "done_at": None if one.retry_at is not None else now} for one in settlements])

    async def next_due(self) -> datetime | None:
        async with self.store.reading() as tx:
            return (await tx.session.execute(_NEXT_DUE)).scalar()

    async def counts(self) -> dict[str, int]:
        async with self.store.reading() as tx:
            query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
            return dict((await tx.session.execute(query)).all())

    async def lease_owners(self) -> set[str]:
        async with self.store.reading() as tx:
            query = select(OutboxRow.lease_owner).where(OutboxRow.status == "pending",
                                                        OutboxRow.lease_owner.is_not(None)).distinct()
            return set((await tx.session.execute(query)).scalars())

    async def retry_now(self, now: datetime) -> None:
        async with self.store.transaction() as tx:
            await tx.session.execute(update(OutboxRow).where(OutboxRow.status == "pending", OutboxRow.due_at > now)
                                     .values(due_at=now))

    async def renew(self, item_ids: list[int], owner: str, until: datetime) -> None:
        if not item_ids:
            return
        async with self.store.transaction() as tx:
            await tx.session.execute(update(OutboxRow).where(OutboxRow.id.in_(item_ids), OutboxRow.lease_owner == owner)
                                     .values(lease_until=until))

    async def release_leases(self, owner: str) -> None:
        async with self.store.transaction() as tx:
            await tx.session.execute(update(OutboxRow).where(OutboxRow.lease_owner == owner)
                                     .values(lease_until=None, lease_owner=None))
