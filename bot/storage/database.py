"""Engine set-up and migrations, for SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "warroom_read_only"
POOL_SIZE = 15  # database connections kept open per process
MIGRATION_LOCK = 0x7761_7272_6F6F_6D01  # "warroom" + 1: the advisory lock that serialises migrations


def create_engine(url: str, **options) -> AsyncEngine:
    # Eight request workers, the dispatcher, the timers, the heartbeat and the group commits may each hold a
    # connection at once. SQLAlchemy's default pool keeps five and closes the rest on return: under a burst
    # of commands every checkout beyond five opened a new connection (on PostgreSQL its TLS probe and its
    # authentication: a sixth of `warroom run`'s time in bench/lifecycle.py).
    options = {"pool_size": POOL_SIZE, "max_overflow": 10, **options}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
        _serialise_sqlite_writers(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **options)


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    # SQLite's default deferred transactions fail with "database is locked" when two of them read and
    # then both try to write; BEGIN IMMEDIATE makes the second one wait for the first instead.
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception as exc:
            # Replicas opening a new database at once: the switch to WAL needs a lock that another connection,
            # switching or migrating it, holds, and SQLite refuses at once rather than wait. WAL is a property of
            # the file: the connection that holds the lock makes it, and this one uses it from its first
            # transaction on.
            if "locked" not in str(exc):
                raise
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection):
        # Reads need no write lock: in WAL mode they run beside the one writer.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return async_sessionmaker(bind, expire_on_commit=False)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Any number of replicas may call this at once. On PostgreSQL the first takes an advisory lock held until
    its migrations commit, and the others then find the schema at head and do nothing (without it they all
    raced to create alembic_version). On SQLite the transaction begins IMMEDIATE, which is the same lock."""
    def run(connection) -> None:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(run)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
