"""The inbox: Slack envelopes committed before they are acknowledged, deleted once handled.

Slack never redelivers an envelope it saw acknowledged, so the ack may only leave once the envelope is on disk.
What a crash, a failed authorization or a listener's exception leaves behind is handed out again, under a
lease, by whichever process is alive (request keys make a second handling of a done command a no-op)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from bot.core.ports import InboxEntry
from bot.storage.batching import GroupCommit
from bot.storage.inbox_writer import (
    SQLITE_INSERT,
    InboxWriter,
    Received,
    sqlite_connection,
    sqlite_time,
    write_sqlite,
)
from bot.storage.repository import Store
from bot.storage.tables import InboxRow

INBOX = InboxRow.__table__


def _entry(row) -> InboxEntry:
    return InboxEntry(row.envelope_id, row.type, dict(row.payload), row.retry_attempt, row.retry_reason, row.attempts)


class InboxStore:
    def __init__(self, store: Store):
        self.store = store
        self._handled: GroupCommit[str] = GroupCommit(self._delete)
        engine = store.engine
        # On SQLite the ack's own writes skip aiosqlite: each of its calls is a hop to a thread and back, a
        # turn of an event loop that may be busy rendering, and an ack paid for ten of them. A plain sqlite3
        # statement in WAL mode takes tens of microseconds, run in this process's writer turn so that no
        # other writer of ours holds the file.
        self._sqlite = sqlite_connection(engine.url.database) if engine.dialect.name == "sqlite" else None
        # On PostgreSQL, as the receiver process does: one asyncpg connection of its own, batches of arrivals.
        self._writer = (InboxWriter(engine.url.render_as_string(hide_password=False))
                        if self._sqlite is None else None)

    async def receive(self, entry: InboxEntry, *, owner: str, now: datetime, lease: timedelta) -> None:
        """Commits the envelope, leased to `owner` who handles it next. On PostgreSQL concurrent arrivals share
        a commit; on SQLite each commits at once, inline (tens of microseconds: a batch would only add waits)."""
        if self._writer is not None:
            await self._writer.receive(entry, owner=owner, now=now, lease=lease)
            return
        async with self.store.writer_turn():
            write_sqlite(self._sqlite, SQLITE_INSERT, [Received.of(entry, owner, now, lease).values(sqlite_time)])

    async def handled(self, envelope_id: str) -> None:
        if self._sqlite is not None:
            await self._delete([envelope_id])
        else:
            await self._handled.write(envelope_id)

    async def _delete(self, envelope_ids: Sequence[str]) -> None:
        if self._sqlite is not None:
            async with self.store.writer_turn():
                write_sqlite(self._sqlite, "DELETE FROM inbox WHERE envelope_id = ?", [(one,) for one in envelope_ids])
            return
        async with self.store.transaction() as tx:  # not the ack's connection: deleting never delays an ack
            await tx.session.execute(delete(INBOX).where(INBOX.c.envelope_id.in_(list(envelope_ids))))

    async def retry(self, envelope_id: str, *, error: str, at: datetime | None) -> None:
        """Hands the envelope back for another attempt at `at`, or marks it failed for good (`at` None)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": error[:500]}
        values.update(due_at=at) if at is not None else values.update(status="failed")
        async with self.store.transaction() as tx:
            await tx.session.execute(update(INBOX).where(INBOX.c.envelope_id == envelope_id).values(**values))

    async def claim_due(self, now: datetime, owner: str, lease: timedelta, limit: int = 50) -> list[InboxEntry]:
        free = INBOX.c.lease_until.is_(None) | (INBOX.c.lease_until < now)
        due = (select(INBOX.c.envelope_id).where(INBOX.c.status == "pending", INBOX.c.due_at <= now, free)
               .order_by(INBOX.c.received_at).limit(limit))
        async with self.store.reading() as tx:
            ids = list((await tx.session.execute(due)).scalars())
        if not ids:
            return []
        async with self.store.transaction() as tx:
            # The conditional update is the lock: of two processes, only one gets each envelope back.
            claim = (update(INBOX).where(INBOX.c.envelope_id.in_(ids), INBOX.c.status == "pending", free)
                     .values(lease_owner=owner, lease_until=now + lease, attempts=INBOX.c.attempts + 1)
                     .returning(*INBOX.c))
            rows = (await tx.session.execute(claim)).all()
        return [_entry(row) for row in sorted(rows, key=lambda row: row.received_at)]

    async def renew(self, envelope_ids: Sequence[str], owner: str, until: datetime) -> None:
        if not envelope_ids:
            return
        async with self.store.transaction() as tx:
            await tx.session.execute(update(INBOX).where(INBOX.c.envelope_id.in_(list(envelope_ids)),
                                                         INBOX.c.lease_owner == owner).values(lease_until=until))

    async def next_due(self) -> datetime | None:
        async with self.store.reading() as tx:
            query = select(func.min(func.coalesce(INBOX.c.lease_until, INBOX.c.due_at))).where(
                INBOX.c.status == "pending")
            return (await tx.session.execute(query)).scalar()

    async def lease_owners(self) -> set[str]:
        async with self.store.reading() as tx:
            query = select(INBOX.c.lease_owner).where(INBOX.c.status == "pending",
                                                      INBOX.c.lease_owner.is_not(None)).distinct()
            return set((await tx.session.execute(query)).scalars())

    async def release(self, owner: str) -> None:
        async with self.store.transaction() as tx:
            await tx.session.execute(update(INBOX).where(INBOX.c.lease_owner == owner)
                                     .values(lease_owner=None, lease_until=None))

    async def counts(self) -> dict[str, int]:
        async with self.store.reading() as tx:
            query = select(INBOX.c.status, func.count()).group_by(INBOX.c.status)
            return dict((await tx.session.execute(query)).all())

    async def close(self) -> None:
        await self._handled.close()
        if self._sqlite is not None:
            self._sqlite.close()
        if self._writer is not None:
            await self._writer.close()

