"""Timers: set inside a change's transaction, claimed under a lease, fired exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.storage.repository import Store, Transaction
from bot.storage.tables import TimerRow

TIMERS = TimerRow.__table__


@dataclass(frozen=True)
class Timer:
    id: int
    key: str
    incident_id: int | None
    kind: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class Fired:
    """What a timer's handler decided: due again at `next_due` (None: done), whether it did anything (counted
    in `fired`), and the payload it carries to its next firing (None: the same)."""

    next_due: datetime | None = None
    fired: bool = True
    payload: dict[str, Any] | None = None


def _timer(row) -> Timer:
    return Timer(row.id, row.key, row.incident_id, row.kind, row.due_at, dict(row.payload))


class TimerRepository:
    def __init__(self, tx: Transaction):
        self.tx = tx
        self.session = tx.session

    async def set(self, key: str, kind: str, due_at: datetime, *, incident_id: int | None = None,
                  payload: dict | None = None) -> None:
        """Creates the timer or moves it; either way it is pending again and due at `due_at`."""
        insert = postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        values = {"key": key, "kind": kind, "due_at": due_at, "incident_id": incident_id, "status": "pending",
                  "payload": payload or {}, "fired": 0}
        self.tx.timers_changed = True  # the timer loop may be sleeping past this one
        statement = insert(TIMERS).values(**values).on_conflict_do_update(
            index_elements=["key"], set_={"due_at": due_at, "status": "pending", "payload": payload or {},
                                          "lease_until": None, "lease_owner": None})
        await self.session.execute(statement)

    async def cancel(self, key: str) -> None:
        await self.session.execute(update(TIMERS).where(TIMERS.c.key == key).values(status="cancelled",
                                                                                     lease_until=None))

    async def pending(self, keys: list[str]) -> dict[str, Timer]:
        rows = (await self.session.execute(select(TIMERS).where(TIMERS.c.key.in_(keys),
                                                                 TIMERS.c.status == "pending"))).all()
        return {row.key: _timer(row) for row in rows}

    async def get(self, key: str) -> Timer | None:
        row = (await self.session.execute(select(TIMERS).where(TIMERS.c.key == key))).one_or_none()
        return _timer(row) if row else None

    async def status(self, key: str) -> str | None:
        return (await self.session.execute(select(TIMERS.c.status).where(TIMERS.c.key == key))).scalar()

    async def still_due(self, timer: Timer, now: datetime) -> bool:
        """Whether a claimed timer is still pending and due: it may have been moved or cancelled since."""
        current = (await self.pending([timer.key])).get(timer.key)
        return current is not None and current.id == timer.id and current.due_at <= now

    async def settle(self, timer_id: int, next_due: datetime | None, fired: bool,
                     payload: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"lease_until": None, "lease_owner": None}
        values.update(status="pending", due_at=next_due) if next_due else values.update(status="done")
        if fired:
            values["fired"] = TIMERS.c.fired + 1
        if payload is not None:
            values["payload"] = payload
        await self.session.execute(update(TIMERS).where(TIMERS.c.id == timer_id).values(**values))


class TimerStore:
    def __init__(self, store: Store):
        self.store = store

    async def claim_due(self, now: datetime, owner: str, lease: timedelta, limit: int = 100) -> list[Timer]:
        free = TIMERS.c.lease_until.is_(None) | (TIMERS.c.lease_until < now)
        due = (select(TIMERS.c.id).where(TIMERS.c.status == "pending", TIMERS.c.due_at <= now, free)
               .order_by(TIMERS.c.due_at).limit(limit))
        async with self.store.reading() as tx:  # looking takes no write lock; most wake-ups find nothing due
            ids = list((await tx.session.execute(due)).scalars())
        if not ids:
            return []
        async with self.store.transaction() as tx:
            # Of two processes, only one gets each timer back from this conditional update.
            claim = (update(TIMERS).where(TIMERS.c.id.in_(ids), TIMERS.c.status == "pending", free)
                     .values(lease_until=now + lease, lease_owner=owner).returning(*TIMERS.c))
            return [_timer(row) for row in (await tx.session.execute(claim)).all()]

    async def next_due(self) -> datetime | None:
        async with self.store.reading() as tx:
            # A leased timer (its handler running, or failed and waiting for the lease to lapse) is not due
            # again before its lease ends: without this, a failing handler would make the loop spin.
            value = (await tx.session.execute(select(func.min(func.coalesce(TIMERS.c.lease_until, TIMERS.c.due_at)))
                                              .where(TIMERS.c.status == "pending"))).scalar()
        return value

    async def renew(self, timer_ids: list[int], owner: str, until: datetime) -> None:
        if not timer_ids:
            return
        async with self.store.transaction() as tx:
            await tx.session.execute(update(TIMERS).where(TIMERS.c.id.in_(timer_ids), TIMERS.c.lease_owner == owner)
                                     .values(lease_until=until))

    async def lease_owners(self) -> set[str]:
        async with self.store.reading() as tx:
            query = select(TIMERS.c.lease_owner).where(TIMERS.c.status == "pending",
                                                       TIMERS.c.lease_owner.is_not(None)).distinct()
            return set((await tx.session.execute(query)).scalars())

    async def release(self, owner: str) -> None:
        async with self.store.transaction() as tx:
            await tx.session.execute(update(TIMERS).where(TIMERS.c.lease_owner == owner)
                                     .values(lease_until=None, lease_owner=None))
