"""The unit of work: one transaction, and the repositories that read and write through it."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from datetime import datetime
from typing import AsyncIterator, Sequence

from cachetools import LRUCache
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.core.incident import Event
from bot.core.ports import Held
from bot.storage.action_items import ActionItemRepository
from bot.storage.alerts import AlertRepository
from bot.storage.batching import GroupCommit
from bot.storage.database import session_factory
from bot.storage.incidents import IncidentRepository
from bot.storage.outbox import OutboxItem, OutboxRepository, OutboxStore, Settlement
from bot.storage.postmortems import PostmortemRepository
from bot.storage.remediation import RemediationRepository
from bot.storage.sla import SlaRepository
from bot.storage.status_page import PublicRepository
from bot.storage.timeline import RequestKeys, TimelineEntry, TimelineRepository

__all__ = ["Store", "Transaction", "TimelineEntry", "OutboxItem", "OutboxStore", "Settlement", "IntegrityError"]


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
        # Incidents with a war room, as last read: what never changes once set (see IncidentRepository.cached).
        self._war_rooms: LRUCache = LRUCache(maxsize=4096)
        # 400 bound values per statement: within any SQLite.
        self._entries: GroupCommit[tuple[int, Event, str]] = GroupCommit(self._append_once, limit=200)

    @asynccontextmanager
    async def transaction(self, *, lease: tuple[str, datetime] | None = None) -> AsyncIterator["Transaction"]:
        """`lease` (owner, until): effects this transaction queues that may leave at once are leased to that
        dispatcher already, and listed in `handed_over` for it to perform without claiming them again.
        Never open a transaction inside another: on SQLite the second would wait for the first forever."""
        async with self._writer or contextlib.nullcontext():
            async with self._sessions() as session:
                async with session.begin():
                    tx = Transaction(session, lease, self._war_rooms)
                    yield tx
        if tx.timers_changed:
            for listener in self.timer_listeners:
                listener()

    async def append_once(self, incident_id: int, event: Event, request_key: str) -> bool:
        """A timeline entry from a webhook, recorded once per request key; False for a redelivery. Entries that
        arrive while one group is committing share the next transaction: a burst costs a few commits."""
        return await self._entries.write((incident_id, event, request_key))

    async def _append_once(self, entries: Sequence[tuple[int, Event, str]]) -> list[bool]:
        first: dict[str, int] = {}
        for index, (_, _, key) in enumerate(entries):
            first.setdefault(key, index)  # the same delivery twice in one group: the second is a duplicate
        async with self.transaction() as tx:
            fresh = await tx.requests.first_times(list(first), entries[0][1].at)
            recorded = {index for key, index in first.items() if key in fresh}
            await tx.timeline.append_many([(incident_id, event) for index, (incident_id, event, _) in
                                           enumerate(entries) if index in recorded])
        return [index in recorded for index in range(len(entries))]

    def writer_turn(self):
        """This process's turn to write to SQLite (nothing to wait for on PostgreSQL): for a writer that does not
        go through `transaction`, such as the inbox's."""
        return self._writer or contextlib.nullcontext()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator["Transaction"]:
        """For queries only: on SQLite it does not wait for, or block, the writer."""
        async with self._readers() as session, session.begin():
            yield Transaction(session, None, self._war_rooms)




class Transaction:
    """`incidents`, `timeline`, `requests` (redelivery keys), `outbox`, `timers`, `runs`, `action_items`,
    `postmortems`, `alerts`, `sla`, `remediation` and `public` (the status page), all in one transaction. `held`: what it read or wrote, for the effects it hands over."""

    def __init__(self, session: AsyncSession, lease: tuple[str, datetime] | None, war_rooms: LRUCache):
        self.session = session
        self.held = Held()
        self.timers_changed = False  # set by the timer repository: the timer loop may sleep past a new timer
        self.incidents = IncidentRepository(session, self.held, war_rooms)
        self.timeline = TimelineRepository(session)
        self.requests = RequestKeys(session)
        self.outbox = OutboxRepository(session, lease)
        self.action_items = ActionItemRepository(session)
        self.postmortems = PostmortemRepository(session)
        self.alerts = AlertRepository(session)
        self.sla = SlaRepository(session)
        self.remediation = RemediationRepository(session)
        self.public = PublicRepository(session)
        # Runs and timers build on this module (they take the transaction), hence their late imports.
        from bot.storage.runs import RunRepository
        from bot.storage.timers import TimerRepository
        self.runs = RunRepository(self)
        self.timers = TimerRepository(self)
