"""Writing received envelopes to the inbox with the lightest tools there are: the standard library's sqlite3, or
one asyncpg connection. The Slack receiver process (bot/slack/receiver.py) does nothing else, so it imports
neither SQLAlchemy nor the tables: it starts in half the time and a third of the memory."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.core.ports import InboxEntry
from bot.storage.batching import GroupCommit

COLUMNS = ("envelope_id, type, payload, retry_attempt, retry_reason, received_at, status, attempts, due_at, "
           "lease_owner, lease_until")
SQLITE_INSERT = f"INSERT OR IGNORE INTO inbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?)"
POSTGRES_INSERT = (f"INSERT INTO inbox ({COLUMNS}) SELECT e, t, p, ra, rr, r, 'pending', 1, d, o, u FROM unnest("
                   "$1::varchar[], $2::varchar[], $3::json[], $4::int[], $5::varchar[], $6::timestamptz[], "
                   "$7::timestamptz[], $8::varchar[], $9::timestamptz[]) AS x(e, t, p, ra, rr, r, d, o, u) "
                   "ON CONFLICT (envelope_id) DO NOTHING")


@dataclass(frozen=True)
class Received:
    entry: InboxEntry
    owner: str
    now: datetime
    until: datetime
    payload_json: str  # serialised once: the row and the line to warroom run both carry it

    @classmethod
    def of(cls, entry: InboxEntry, owner: str, now: datetime, lease: timedelta) -> "Received":
        return cls(entry, owner, now, now + lease, json.dumps(entry.payload))

    def values(self, time=lambda moment: moment) -> tuple:
        entry = self.entry
        return (entry.envelope_id, entry.type, self.payload_json, entry.retry_attempt, entry.retry_reason,
                time(self.now), time(self.now), self.owner, time(self.until))


def sqlite_time(moment: datetime) -> str:
    """As SQLAlchemy stores a UTCDateTime on SQLite: naive UTC, microseconds always written."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_path(database_url: str) -> str | None:
    prefix = "sqlite+aiosqlite:///"
    return database_url[len(prefix):] if database_url.startswith(prefix) else None


LOCK_WAIT = 2.0  # seconds: another writer holding SQLite's one write lock longer is a fault
LOCK_POLL = 0.0002  # seconds between tries for the write lock


def sqlite_connection(path: str, *, checkpoints: bool = True) -> sqlite3.Connection:
    """`checkpoints` False: this connection's commits never copy the WAL back into the database (an automatic
    checkpoint, with its fsyncs, costs milliseconds), and leave that to warroom run's other connections."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # No busy handler: SQLite's sleeps 1, 2, 5, 10... ms between tries, and an ack that finds the lock held for
    # 3.1 ms waited 8; `_begin` tries every 0.2 ms instead.
    connection.execute("PRAGMA busy_timeout=0")
    connection.execute("PRAGMA synchronous=NORMAL")
    if not checkpoints:
        connection.execute("PRAGMA wal_autocheckpoint=0")
    return connection


def _begin(connection: sqlite3.Connection) -> None:
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(LOCK_POLL)  # blocking, and so exact: an event loop's timers wait 1 ms at least


def write_sqlite(connection: sqlite3.Connection, statement: str, rows: list[tuple]) -> None:
    _begin(connection)
    try:
        connection.executemany(statement, rows)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class InboxWriter:
    """`receive` as the Inbox port has it: envelopes that arrive while a batch commits share the next commit
    (a burst of fifty acks costs one or two). `on_committed` is told of each batch (each envelope with its
    payload as JSON) once it is committed and before any of its writers resumes: the receiver passes
    envelopes on to `warroom run` there, so that each leaves before its ack."""

    def __init__(self, database_url: str, *, checkpoints: bool = True,
                 on_committed: Callable[[Sequence[tuple[InboxEntry, str]]], None] | None = None):
        self.database_url = database_url
        self.on_committed = on_committed
        path = sqlite_path(database_url)
        self._sqlite = sqlite_connection(path, checkpoints=checkpoints) if path else None
        self._postgres = None
        self._batches: GroupCommit[Received] = GroupCommit(self._commit)

    async def receive(self, entry: InboxEntry, *, owner: str, now: datetime, lease: timedelta) -> None:
        await self._batches.write(Received.of(entry, owner, now, lease))

    async def _commit(self, batch: Sequence[Received]) -> None:
        await self.receive_many(batch)
        if self.on_committed is not None:
            self.on_committed([(one.entry, one.payload_json) for one in batch])

    async def open(self) -> None:
        """Connects to PostgreSQL now (again, if the connection was lost), not in the first envelope's ack."""
        if self._sqlite is None and (self._postgres is None or self._postgres.is_closed()):
            import asyncpg  # only on PostgreSQL

            self._postgres = await asyncpg.connect(self.database_url.replace("postgresql+asyncpg://", "postgresql://"))
            # Nine empty arrays insert nothing, and leave the statement prepared for the first envelope.
            await self._postgres.execute(POSTGRES_INSERT, *([[]] * 9))

    async def receive_many(self, batch: Sequence[Received]) -> None:
        if self._sqlite is not None:
            write_sqlite(self._sqlite, SQLITE_INSERT, [one.values(sqlite_time) for one in batch])
            return
        await self.open()
        # One statement, one round trip: a transaction around `executemany` took three, each a wait for a
        # PostgreSQL backend that is busy serving warroom run's queries.
        await self._postgres.execute(POSTGRES_INSERT, *(list(column) for column in zip(*(one.values() for one in batch))))

    async def close(self) -> None:
        await self._batches.close()
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.close()
