"""`warroom run` killed (SIGKILL) at the worst moments: every acknowledged command is done, exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.storage import database
from bot.storage.tables import InboxRow, IncidentRow
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


async def test_declares_under_slack_faults_and_a_kill_are_each_done_once(sandbox, replicas, database_url):
    """Slack answers about a fifth of all calls with a 429 or a 5xx (some 5xx after doing the call), from the
    start-up on, and warroom is killed in the middle: every acknowledged declare has one war room, one card
    and one announcement."""
    import random

    chance, draws = random.Random(18), {}

    def between(low: float, high: float):
        # One draw per call, shared by the three faults: 22 % of calls fail in all.
        return lambda params: low <= draws.setdefault(id(params), chance.random()) < high

    sandbox.fail("chat.postMessage", status=503, times=10_000, performed=True, when=between(0.0, 0.04))
    sandbox.fail("*", status=429, error="ratelimited", retry_after=0, times=10_000, when=between(0.04, 0.13))
    sandbox.fail("*", status=500, times=10_000, when=between(0.13, 0.22))
    first = replicas("first")
    await first.start()
    burst = [sandbox.slash_payload(ALICE, "general", "/incident", f"declare sev3 Faulty {n}") for n in range(10)]
    await asyncio.gather(*(sandbox.deliver("slash_commands", payload) for payload in burst))
    await asyncio.sleep(0.3)
    first.stop(signal.SIGKILL)
    second = replicas("second")
    await second.start()

    def complete() -> bool:
        rooms = war_rooms(sandbox)
        return len(rooms) >= 10 and all(room.pins for room in rooms)

    await eventually(sandbox, complete, timeout=150)  # back-offs after repeated faults can reach 32 s
    await asyncio.sleep(2.0)  # retries still in flight would show a repeat by now
    assert await titles(database_url) == Counter({f"Faulty {n}": 1 for n in range(10)})
    rooms = war_rooms(sandbox)
    assert len(rooms) == 10
    for room in rooms:
        cards = [m for m in room.messages if m.blocks and m.blocks[0]["type"] == "header"]
        assert len(cards) == 1 and len(room.pins) == 1, room.name
    announcements = [m for m in sandbox.workspace.channel("incidents").messages if not m.thread_ts]
    assert len(announcements) == 10
    assert second.stop() == 0
