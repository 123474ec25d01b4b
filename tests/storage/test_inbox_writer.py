"""The receiver process's writer: a batch of envelopes in one commit, on both databases; on SQLite, a wait for
another writer's lock that ends when the lock does, and no checkpoint on the ack's path."""

import contextlib
import sqlite3
import threading
import time
from datetime import timedelta

import pytest

from bot.core.ports import InboxEntry
from bot.storage import database, inbox_writer
from bot.storage.inbox import InboxStore
from bot.storage.inbox_writer import InboxWriter, Received, sqlite_path
from tests.conftest import (
    POSTGRES_URL,
    create_postgres_database,
    drop_postgres_database,
)

LEASE = timedelta(seconds=10)


def received(n: int, clock, owner: str = "receiver") -> Received:
    entry = InboxEntry(f"env-{n}", "slash_commands", {"command": "/incident", "text": f"status {n}"})
    return Received.of(entry, owner, clock.now(), LEASE)


@pytest.fixture
async def writer(store, database_url):
    opened = InboxWriter(database_url, checkpoints=False)
    yield opened
    await opened.close()


async def test_a_batch_is_committed_whole_and_leased_to_its_receiver(writer, store, clock):
    await writer.receive_many([received(n, clock) for n in range(50)])
    inbox = InboxStore(store)
    try:
        assert await inbox.counts() == {"pending": 50}
        assert await inbox.lease_owners() == {"receiver"}
        clock.advance(seconds=11)  # the receiver's process died with them: another takes them, as received
        taken = await inbox.claim_due(clock.now(), "survivor", LEASE)
        assert sorted(one.envelope_id for one in taken) == sorted(f"env-{n}" for n in range(50))
        assert next(one for one in taken if one.envelope_id == "env-7").payload["text"] == "status 7"
    finally:
        await inbox.close()


async def test_a_redelivered_envelope_keeps_its_first_row_within_a_batch_and_across_batches(writer, store, clock):
    await writer.receive_many([received(1, clock, "first"), received(1, clock, "second")])
    await writer.receive_many([received(1, clock, "third"), received(2, clock, "third")])
    inbox = InboxStore(store)
    try:
        assert await inbox.counts() == {"pending": 2}
        assert await inbox.lease_owners() == {"first", "third"}
    finally:
        await inbox.close()


@contextlib.contextmanager
def write_lock_held_elsewhere(url: str, seconds: float):
    """Another connection takes SQLite's one write lock and keeps it for `seconds`, from a thread of its own."""
    holding = threading.Event()

    def hold() -> None:
        with contextlib.closing(sqlite3.connect(sqlite_path(url), isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            holding.set()
            time.sleep(seconds)
            other.execute("COMMIT")

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    try:
        yield
    finally:
        holder.join()


def _pending(url: str) -> int:
    with contextlib.closing(sqlite3.connect(sqlite_path(url))) as connection:
        return connection.execute("SELECT count(*) FROM inbox WHERE status = 'pending'").fetchone()[0]


async def test_sqlite_an_envelope_waits_for_another_writers_lock_and_is_committed_when_it_ends(sqlite_url, clock):
    writer = InboxWriter(sqlite_url, checkpoints=False)
    try:
        with write_lock_held_elsewhere(sqlite_url, 0.2):
            await writer.receive_many([received(1, clock)])
    finally:
        await writer.close()
    assert _pending(sqlite_url) == 1


async def test_sqlite_a_lock_never_released_fails_the_write_so_that_nothing_is_acknowledged(sqlite_url, clock,
                                                                                            monkeypatch):
    monkeypatch.setattr(inbox_writer, "LOCK_WAIT", 0.05)
    writer = InboxWriter(sqlite_url, checkpoints=False)
    try:
        with write_lock_held_elsewhere(sqlite_url, 0.5):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await writer.receive_many([received(1, clock)])
    finally:
        await writer.close()
    assert _pending(sqlite_url) == 0


async def test_sqlite_the_receivers_commits_leave_checkpoints_to_warroom_run(sqlite_url):
    receiving, in_run = InboxWriter(sqlite_url, checkpoints=False), InboxWriter(sqlite_url)
    try:
        assert receiving._sqlite.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        assert in_run._sqlite.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
        assert receiving._sqlite.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        await receiving.close()
        await in_run.close()


@pytest.fixture
async def postgres_url():
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need WARROOM_TEST_POSTGRES_URL (.ci/run sets it)")
    name, url = await create_postgres_database()
    engine = database.create_engine(url)
    try:
        await database.upgrade(engine)
        yield url
    finally:
        await engine.dispose()
        await drop_postgres_database(name)


async def test_postgresql_connects_before_the_first_envelope_and_again_after_losing_its_connection(postgres_url,
                                                                                                  clock):
    writer = InboxWriter(postgres_url)
    try:
        await writer.open()  # the receiver does this at start-up, so that no ack waits for it
        first = writer._postgres
        await writer.receive_many([received(1, clock)])
        assert writer._postgres is first
        await first.close()  # PostgreSQL restarted, say
        await writer.receive_many([received(2, clock)])
        assert writer._postgres is not first
        count = await writer._postgres.fetchval("SELECT count(*) FROM inbox")
        assert count == 2
    finally:
        await writer.close()
