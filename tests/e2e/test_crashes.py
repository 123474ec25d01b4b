"""`warroom run` killed (SIGKILL) at the worst moments: every acknowledged command is done, exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.storage import database
from bot.storage.tables import IncidentRow, InboxRow
from tests.conftest import ALICE
from tests.e2e.test_warroom_run import Warroom, eventually


@pytest.fixture
async def replicas(sandbox, database_url, tmp_path):
    started: list[Warroom] = []

    def make(name: str) -> Warroom:
        folder = tmp_path / name
        folder.mkdir()
        process = Warroom(sandbox, database_url, folder)
        started.append(process)
        return process

    yield make
    for process in started:
        if process.process and process.process.poll() is None:
            process.process.kill()
            process.process.wait()


async def rows(database_url: str, table) -> int:
    engine = database.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(select(func.count()).select_from(table))).scalar()
    finally:
        await engine.dispose()


async def titles(database_url: str) -> Counter:
    engine = database.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return Counter((await connection.execute(select(IncidentRow.title))).scalars())
    finally:
        await engine.dispose()


def war_rooms(sandbox) -> list:
    return [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")]


@pytest.mark.parametrize("kill_after", [0.0, 0.02, 0.15], ids=["at-the-ack", "mid-transaction", "mid-effects"])
async def test_a_kill_after_the_ack_loses_no_command_and_repeats_none(sandbox, replicas, database_url, kill_after):
    warroom = replicas("first")
    await warroom.start()
    sandbox.latency = 0.05  # Slack answers slowly: the burst is still being worked on when the kill comes
    burst = [sandbox.slash_payload(ALICE, "general", "/incident", f"declare sev3 Killed burst {n}") for n in range(6)]
    await asyncio.gather(*(sandbox.deliver("slash_commands", payload) for payload in burst))  # all acknowledged
    await asyncio.sleep(kill_after)
    warroom.stop(signal.SIGKILL)
    left = await rows(database_url, InboxRow.__table__)
    if kill_after == 0.0:
        assert left > 0, "the kill came after every command was done: it tested nothing"
    sandbox.latency = 0
    again = replicas("second")
    await again.start()
    await eventually(sandbox, lambda: len(war_rooms(sandbox)) >= 6, timeout=30)
    await asyncio.sleep(1.0)  # anything repeated would show by now
    assert await titles(database_url) == Counter({f"Killed burst {n}": 1 for n in range(6)})
    assert len(war_rooms(sandbox)) == 6
    # Everything acknowledged is handled and leaves the inbox (joins to the new rooms may still be arriving).
    for _ in range(100):
        if await rows(database_url, InboxRow.__table__) == 0:
            break
        await asyncio.sleep(0.1)
    assert await rows(database_url, InboxRow.__table__) == 0
    assert again.stop() == 0


async def test_a_killed_replicas_effects_are_taken_over_by_the_other_within_seconds(sandbox, replicas, database_url):
    survivor, victim = replicas("survivor"), replicas("victim")
    await survivor.start()
    await victim.start()  # the newest connection: Slack's envelopes go to the victim
    # The victim's first Slack call for the war room hangs, and the victim dies in it.
    sandbox.fail("conversations.create", status=500, times=1, delay=15)
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Replica died mid-effect")
    await eventually(sandbox, lambda: sandbox.calls_to("conversations.create"))
    loop = asyncio.get_running_loop()
    killed = loop.time()
    victim.stop(signal.SIGKILL)
    room = await eventually(sandbox, lambda: (rooms := war_rooms(sandbox)) and rooms[0].pins and rooms[0], timeout=30)
    taken_over = loop.time() - killed
    assert taken_over < 16, f"the survivor took {taken_over:.1f} s"  # a 10 s lease, renewed every 3 s
    assert len(war_rooms(sandbox)) == 1 and len(room.pins) == 1
    assert survivor.stop() == 0
