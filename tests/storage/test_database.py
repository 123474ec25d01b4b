"""Migrations: any number of replicas may start at once on an empty database."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.storage import database


async def test_replicas_starting_together_migrate_an_empty_database_once(database_url):
    engines = [database.create_engine(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(database.upgrade(engine) for engine in engines))
        async with engines[0].connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
            incidents = (await connection.execute(text("SELECT count(*) FROM incidents"))).scalar()
        assert len(versions) == 1 and incidents == 0
        if database_url.startswith("sqlite"):  # whichever replica switched the file to WAL, it is WAL for all
            async with engines[1].connect() as connection:
                assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_three_processes_upgrading_at_once_all_succeed(database_url):
    import os
    import sys

    env = {**os.environ, "DATABASE_URL": database_url}
    processes = [await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "db", "upgrade", env=env,
                                                      stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                 for _ in range(3)]
    results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 60)
    assert [p.returncode for p in processes] == [0, 0, 0], [err.decode()[-500:] for _, err in results]


async def test_a_burst_of_transactions_reuses_the_pools_connections(database_url):
    """Waves of twelve concurrent transactions, as eight request workers and the dispatcher make: the pool keeps
    their connections rather than closing all but five and opening them again for the next wave."""
    from sqlalchemy import event

    engine = database.create_engine(database_url)
    opened = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        await database.upgrade(engine)
        opened.clear()

        async def read() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT count(*) FROM incidents"))
                await asyncio.sleep(0.01)  # all twelve hold a connection at once

        for _ in range(3):
            await asyncio.gather(*(read() for _ in range(12)))
        assert len(opened) <= 12, len(opened)
    finally:
        await engine.dispose()
