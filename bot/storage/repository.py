"""Repositories over one transaction: the services' unit of work."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Sequence

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.core.incident import Event, Incident, Severity, Status
from bot.storage.database import session_factory
from bot.storage.tables import IncidentRow, OutboxRow, PostmortemRow, ProcessedRequestRow, TimelineRow

__all__ = ["Store", "Transaction", "TimelineEntry", "OutboxItem", "Settlement", "IntegrityError"]

_INCIDENT_FIELDS = ("title", "description", "service", "declared_by", "declared_at", "commander", "communicator",
                    "acknowledged_at", "identified_at", "mitigated_at", "resolved_at", "summary", "channel_name",
                    "channel_id", "card_ts", "announce_ts", "is_drill", "last_update_at", "acknowledged_by",
                    "pagerduty_id", "pagerduty_url")


def _to_incident(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _INCIDENT_FIELDS}
    return Incident(id=row.id, severity=Severity(row.severity), status=Status(row.status),
                    responders=tuple(row.responders), paged=tuple(row.paged), **values)


def _copy_into(row: IncidentRow, incident: Incident) -> None:
    for name in _INCIDENT_FIELDS:
        setattr(row, name, getattr(incident, name))
    row.severity = int(incident.severity)
    row.status = incident.status.value
    row.responders = list(incident.responders)
    row.paged = list(incident.paged)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str
    text: str
    data: dict


@dataclass(frozen=True)
class OutboxItem:
    id: int
    incident_id: int | None
    target: str
    kind: str
    payload: dict
    attempts: int
    # What the service that queued it already holds (a runbook run as just committed), for an effect
    # handed over in-process: its performer need not read it back. Never stored.
    context: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Settlement:
    """How one effect went: done, failed, or pending again from `retry_at`; with references to remember."""

    item_id: int
    status: str
    error: str | None = None
    retry_at: datetime | None = None
    refs: dict | None = None
    incident_id: int | None = None


@dataclass(frozen=True)
class Effect:
    """Something to do outside the process, in order, after the transaction commits."""

    target: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


class Store:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.timer_listeners: list = []  # called after a commit that set or moved a timer
        self._sessions = session_factory(engine)
        self._readers = session_factory(engine, read_only=True)
        # SQLite has one writer at a time. Writers of this process queue here, in order, instead of
        # colliding on BEGIN IMMEDIATE, where SQLite's busy handler sleeps 1, 2, 5, 10... ms between tries
        # and a burst of concurrent writes (webhooks, clicks) spends most of its time asleep. Another
        # process still waits on the busy handler. PostgreSQL takes row locks and needs no queue.
        self._writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def transaction(self, *, lease: tuple[str, datetime] | None = None) -> AsyncIterator["Transaction"]:
        """`lease` (owner, until): effects this transaction queues that may leave at once are leased to that
        dispatcher already, and listed in `handed_over` for it to perform without claiming them again.
        Never open a transaction inside another: on SQLite the second would wait for the first forever."""
        async with self._writer or contextlib.nullcontext():
            async with self._sessions() as session:
                async with session.begin():
                    tx = Transaction(session, lease)
                    yield tx
        if tx.timers_changed:
            for listener in self.timer_listeners:
                listener()

    def writer_turn(self):
        """This process's turn to write to SQLite (nothing to wait for on PostgreSQL): for a writer that does not
        go through `transaction`, such as the inbox's."""
        return self._writer or contextlib.nullcontext()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator["Transaction"]:
        """For queries only: on SQLite it does not wait for, or block, the writer."""
        async with self._readers() as session, session.begin():
            yield Transaction(session)


class Transaction:
    def __init__(self, session: AsyncSession, lease: tuple[str, datetime] | None = None):
        self.session = session
        self.lease = lease
        self.handed_over: list[OutboxItem] = []
        self.enqueued = False  # whether the dispatcher has anything new to look at after the commit
        self.timers_changed = False

    # -- incidents ---------------------------------------------------------------------------------
    async def incidents(self, incident_ids: set[int]) -> dict[int, Incident]:
        query = select(IncidentRow).where(IncidentRow.id.in_(incident_ids))
        return {row.id: _to_incident(row) for row in (await self.session.execute(query)).scalars()}

    async def incident(self, incident_id: int, *, for_update: bool = False) -> Incident | None:
        row = await self._row(incident_id, for_update)
        return _to_incident(row) if row else None

    async def _row(self, incident_id: int, for_update: bool = False) -> IncidentRow | None:
        query = select(IncidentRow).where(IncidentRow.id == incident_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def incident_by_channel(self, channel_id: str, *, for_update: bool = False) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.channel_id == channel_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
        return _to_incident(row) if row else None

    async def incident_by_pagerduty(self, pagerduty_id: str) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.pagerduty_id == pagerduty_id)
        row = (await self.session.execute(query)).scalars().first()
        return _to_incident(row) if row else None

    async def set_pagerduty_state(self, incident_id: int, state: str) -> bool:
        """True when the state changed (the first failure of an outage, the first success after it)."""
        result = await self.session.execute(update(IncidentRow).where(IncidentRow.id == incident_id,
                                                                      IncidentRow.pagerduty_state != state)
                                            .values(pagerduty_state=state))
        return result.rowcount > 0

    async def incident_by_request(self, request_key: str) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.request_key == request_key)
        row = (await self.session.execute(query)).scalar_one_or_none()
        return _to_incident(row) if row else None

    async def recent_open_with_title(self, title_key: str, since: datetime) -> Incident | None:
        query = (select(IncidentRow).where(IncidentRow.title_key == title_key, IncidentRow.status != Status.RESOLVED.value,
                                           IncidentRow.declared_at >= since).order_by(IncidentRow.id).limit(1))
        row = (await self.session.execute(query)).scalar_one_or_none()
        return _to_incident(row) if row else None

    async def channel_names_like(self, base: str) -> set[str]:
        query = select(IncidentRow.channel_name).where(IncidentRow.channel_name.startswith(base, autoescape=True))
        return set((await self.session.execute(query)).scalars())

    async def add_incident(self, incident: Incident, *, title_key: str, request_key: str | None) -> Incident:
        row = IncidentRow(title_key=title_key, request_key=request_key, severity=0, status="", responders=[], paged=[],
                          title="", declared_by="", channel_name="")
        _copy_into(row, incident)
        self.session.add(row)
        await self.session.flush()
        return _to_incident(row)

    async def save_incident(self, incident: Incident) -> None:
        row = await self._row(incident.id)
        _copy_into(row, incident)
        await self.session.flush()

    async def set_refs(self, incident_id: int, refs: dict[str, Any]) -> None:
        postmortem = {key.removeprefix("postmortem_"): value for key, value in refs.items()
                      if key in ("postmortem_canvas_id", "postmortem_file_id")}
        if postmortem:
            await self.session.execute(update(PostmortemRow).where(PostmortemRow.incident_id == incident_id)
                                       .values(**postmortem))
        allowed = {"channel_id", "channel_name", "card_ts", "announce_ts", "pagerduty_id", "pagerduty_url"}
        values = {key: value for key, value in refs.items() if key in allowed}
        if values:
            await self.session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(**values))

    async def open_incidents(self) -> list[Incident]:
        # IN, not !=: the status index then finds the few open ones among years of resolved incidents.
        query = select(IncidentRow).where(IncidentRow.status.in_([s.value for s in Status if s != Status.RESOLVED])
                                          ).order_by(IncidentRow.severity, IncidentRow.id)
        return [_to_incident(row) for row in (await self.session.execute(query)).scalars()]

    async def recently_resolved(self, limit: int) -> list[Incident]:
        query = (select(IncidentRow).where(IncidentRow.status == Status.RESOLVED.value)
                 .order_by(IncidentRow.resolved_at.desc()).limit(limit))
        return [_to_incident(row) for row in (await self.session.execute(query)).scalars()]

    # -- timeline ----------------------------------------------------------------------------------
    async def has_timeline_key(self, dedup_key: str) -> bool:
        query = select(TimelineRow.id).where(TimelineRow.dedup_key == dedup_key)
        return (await self.session.execute(query)).first() is not None

    async def append_timeline(self, incident_id: int, events: Sequence[Event], *, dedup_key: str | None = None) -> None:
        if not events:
            return
        rows = [{"incident_id": incident_id, "at": event.at, "actor": event.actor, "kind": event.kind,
                 "text": event.text, "data": dict(event.data), "dedup_key": dedup_key if index == 0 else None}
                for index, event in enumerate(events)]
        await self.session.execute(insert(TimelineRow), rows)

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        query = select(TimelineRow).where(TimelineRow.incident_id == incident_id).order_by(TimelineRow.at,
                                                                                            TimelineRow.id)
        return [TimelineEntry(r.at, r.actor, r.kind, r.text, r.data)
                for r in (await self.session.execute(query)).scalars()]

    # -- redeliveries --------------------------------------------------------------------------------
    async def first_time(self, key: str, at: datetime) -> bool:
        """Records a request key in one statement; False when it was recorded before (a redelivery)."""
        insert_for = postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        table = ProcessedRequestRow.__table__
        statement = (insert_for(table).values(key=key, at=at).on_conflict_do_nothing(index_elements=["key"])
                     .returning(table.c.key))
        return (await self.session.execute(statement)).first() is not None

    async def first_times(self, keys: list[str], at: datetime) -> set[str]:
        """`first_time` for many distinct keys in one statement: the keys not seen before."""
        if not keys:
            return set()
        insert_for = postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        table = ProcessedRequestRow.__table__
        statement = (insert_for(table).values([{"key": key, "at": at} for key in keys])
                     .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key))
        return set((await self.session.execute(statement)).scalars())

    async def append_timelines(self, entries: Sequence[tuple[int, Event]]) -> None:
        """Events of several incidents in one statement."""
        if entries:
            await self.session.execute(insert(TimelineRow), [
                {"incident_id": incident_id, "at": event.at, "actor": event.actor, "kind": event.kind,
                 "text": event.text, "data": dict(event.data), "dedup_key": None} for incident_id, event in entries])

    # -- outbox ------------------------------------------------------------------------------------
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
            first = [{**base, "wave": last + 1, "target": e.target, "kind": e.kind, "payload": dict(e.payload),
                      "attempts": 1, "lease_owner": owner, "lease_until": until} for e in waves[0]]
            table = OutboxRow.__table__
            # One statement for the wave; the rows come back with what they hold, whatever their order.
            inserted = await self.session.execute(table.insert().values(first).returning(
                table.c.id, table.c.target, table.c.kind, table.c.payload))
            self.handed_over += sorted((OutboxItem(row.id, incident_id, row.target, row.kind, dict(row.payload), 1)
                                        for row in inserted), key=lambda item: item.id)
        rows = [{**base, "wave": last + 1 + offset, "target": effect.target, "kind": effect.kind,
                 "payload": dict(effect.payload), "attempts": 0}
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
    free = table.c.lease_until.is_(None) | (table.c.lease_until < now)
    ready = (select(table.c.id).where(table.c.status == "pending", table.c.due_at <= now, free, ~blocked)
             .order_by(table.c.id).limit(bindparam("limit")))
    # The conditional update is the lock: of two processes, only one gets a row back for each id.
    claim = (update(table).where(table.c.id.in_(bindparam("ids", expanding=True)), table.c.status == "pending", free)
             .values(lease_until=bindparam("until", type_=table.c.lease_until.type),
                     lease_owner=bindparam("owner"), attempts=table.c.attempts + 1)
             .returning(table.c.id, table.c.incident_id, table.c.target, table.c.kind, table.c.payload,
                        table.c.attempts))
    next_due = select(func.min(func.coalesce(table.c.lease_until, table.c.due_at))).where(table.c.status == "pending")
    # A retry keeps its row pending and moves it to retry_at; anything else is settled now.
    settle = (update(table).where(table.c.id == bindparam("item"))
              .values(lease_until=None, lease_owner=None, last_error=bindparam("error"), status=bindparam("outcome"),
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
        return sorted((OutboxItem(row.id, row.incident_id, row.target, row.kind, dict(row.payload), row.attempts)
                       for row in rows), key=lambda item: item.id)

    async def settle(self, settlements: Sequence[Settlement], now: datetime) -> None:
        """Records how effects went, in one transaction (a wave's effects settle together)."""
        async with self.store.transaction() as tx:
            for settlement in settlements:
                if settlement.refs and "run_id" in settlement.refs:
                    from bot.storage.runs import RunRepository  # runs builds on this module
                    await RunRepository(tx).set_refs(settlement.refs)
                elif settlement.refs and settlement.incident_id is not None:
                    await tx.set_refs(settlement.incident_id, settlement.refs)
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
