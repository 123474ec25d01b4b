"""The outbox dispatcher on the real database: order, retries, leases, two processes, restarts."""

import asyncio
import socket
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core import incident as core
from bot.core.effects import PagerDutyNote
from bot.core.incident import Severity
from bot.core.ports import RetryLater
from bot.scheduler import Dispatcher
from bot.storage.tables import OutboxRow


def Note(name: str) -> PagerDutyNote:
    """Any effect type will do: the dispatcher does not look inside."""
    return PagerDutyNote(text=name)


class Recorder:
    def __init__(self, fail: dict | None = None, delay: float = 0.0):
        self.done: list[str] = []
        self.fail = dict(fail or {})
        self.delay = delay

    async def perform(self, effect, incident, context=None):
        if self.delay:
            await asyncio.sleep(self.delay)
        outcome = self.fail.get(effect.text)
        if isinstance(outcome, list) and outcome:
            raise outcome.pop(0)
        self.done.append(effect.text)
        return None

    async def report_failure(self, effect, error, incident):
        pass


async def enqueue(store, clock, waves):
    """Effects are ordered per incident, so they are queued under a real one."""
    incident, _ = core.declare(f"test {uuid.uuid4().hex}", Severity.SEV3, "U1", clock.now())
    incident = replace(incident, channel_name=uuid.uuid4().hex)
    async with store.transaction() as tx:
        incident = await tx.incidents.add(incident, title_key=incident.channel_name, request_key=None)
        await tx.outbox.enqueue(incident.id, [[Note(n) for n in wave] for wave in waves], clock.now())


async def statuses(store):
    async with store.transaction() as tx:
        rows = (await tx.session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars().all()
    return {row.payload["text"]: (row.status, row.attempts) for row in rows}


async def run_until(dispatcher, condition, timeout=5.0):
    task = asyncio.create_task(dispatcher.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await condition():
            assert asyncio.get_running_loop().time() < deadline, "condition not met"
            await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_waves_run_in_order_and_all_effects_finish(store, clock):
    recorder = Recorder(delay=0.01)
    await enqueue(store, clock, [["a"], ["b1", "b2", "b3"], ["c"]])
    dispatcher = Dispatcher(store, {"pagerduty": recorder}, clock)

    async def finished():
        return len(recorder.done) == 5
    await run_until(dispatcher, finished)
    assert recorder.done[0] == "a" and set(recorder.done[1:4]) == {"b1", "b2", "b3"} and recorder.done[4] == "c"


async def test_a_transient_failure_is_retried_after_retry_after_and_holds_later_waves(store, clock):
    recorder = Recorder(fail={"a": [RetryLater("429", after_seconds=30)]})
    await enqueue(store, clock, [["a"], ["b"]])
    dispatcher = Dispatcher(store, {"pagerduty": recorder}, clock)
    task = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(0.3)
        assert recorder.done == []  # "a" waits 30 s, and "b" waits for "a"
        assert (await statuses(store))["a"] == ("pending", 1)
        clock.advance(seconds=31)
        dispatcher.wake()
        for _ in range(200):
            if recorder.done == ["a", "b"]:
                break
            await asyncio.sleep(0.01)
        assert recorder.done == ["a", "b"]
    finally:
        await dispatcher.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.failed_effects
async def test_a_permanent_failure_is_recorded_and_does_not_block_the_rest(store, clock):
    recorder = Recorder(fail={"a": [ValueError("bad blocks")]})
    await enqueue(store, clock, [["a"], ["b"]])
    dispatcher = Dispatcher(store, {"pagerduty": recorder}, clock)

    async def finished():
        return recorder.done == ["b"]
    await run_until(dispatcher, finished)
    assert (await statuses(store))["a"] == ("failed", 1)


async def test_two_dispatchers_perform_each_effect_exactly_once(store, clock):
    first, second = Recorder(delay=0.005), Recorder(delay=0.005)
    await enqueue(store, clock, [[f"e{n}" for n in range(40)]])
    dispatchers = [Dispatcher(store, {"pagerduty": first}, clock), Dispatcher(store, {"pagerduty": second}, clock)]
    tasks = [asyncio.create_task(d.run()) for d in dispatchers]
    try:
        for _ in range(500):
            if len(first.done) + len(second.done) >= 40:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
    finally:
        for d in dispatchers:
            await d.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    everything = first.done + second.done
    assert sorted(everything) == sorted(f"e{n}" for n in range(40))


async def test_an_effect_leased_by_a_dead_process_is_taken_over_when_the_lease_expires(store, clock):
    await enqueue(store, clock, [["a"]])
    crashed = Dispatcher(store, {}, clock, lease=timedelta(seconds=60))
    claimed = await crashed.outbox.claim_ready(clock.now(), crashed.owner, crashed.lease)
    assert [c.effect.text for c in claimed] == ["a"]  # ...and then the process died
    recorder = Recorder()
    survivor = Dispatcher(store, {"pagerduty": recorder}, clock)
    assert await survivor.outbox.claim_ready(clock.now(), survivor.owner, survivor.lease) == []
    clock.advance(seconds=61)

    async def finished():
        return (await statuses(store))["a"] == ("done", 2)
    await run_until(survivor, finished)
    assert recorder.done == ["a"]


async def test_on_restart_effects_leased_by_a_dead_process_on_this_host_are_taken_back_at_once(store, clock):
    await enqueue(store, clock, [["a"]])
    dead = Dispatcher(store, {}, clock, lease=timedelta(minutes=10))
    dead.owner = f"{socket.gethostname()}:{2 ** 22 + 12345}:dead"  # above any pid this machine hands out
    await dead.outbox.claim_ready(clock.now(), dead.owner, dead.lease)
    elsewhere = Dispatcher(store, {}, clock)
    await enqueue(store, clock, [["b"]])
    await elsewhere.outbox.claim_ready(clock.now(), "other-host:1:x", timedelta(minutes=10))
    recorder = Recorder()
    restarted = Dispatcher(store, {"pagerduty": recorder}, clock)

    async def finished():
        return (await statuses(store))["a"][0] == "done"
    await run_until(restarted, finished)
    assert recorder.done == ["a"]  # another host's lease is respected until it expires
    assert (await statuses(store))["b"][0] == "pending"


async def test_effects_handed_over_in_the_services_transaction_are_leased_and_performed_once(store, clock):
    recorder = Recorder()
    dispatcher = Dispatcher(store, {"pagerduty": recorder}, clock)
    other = Dispatcher(store, {"pagerduty": Recorder()}, clock)
    incident, _ = core.declare("handed over", Severity.SEV3, "U1", clock.now())
    incident = replace(incident, channel_name=uuid.uuid4().hex)
    async with store.transaction(lease=dispatcher.lease_for_hand_over()) as tx:
        incident = await tx.incidents.add(incident, title_key="h", request_key=None)
        await tx.outbox.enqueue(incident.id, [[Note("a1"), Note("a2")],
                                       [Note("b")]], clock.now())
    assert sorted(item.effect.text for item in tx.outbox.handed_over) == ["a1", "a2"]
    assert await other.outbox.claim_ready(clock.now(), other.owner, other.lease) == []  # leased, and b waits
    dispatcher.hand_over(tx.outbox.handed_over, tx.held)

    async def finished():
        return all(status == "done" for status, _ in (await statuses(store)).values())
    await run_until(dispatcher, finished)
    assert sorted(recorder.done[:2]) == ["a1", "a2"] and recorder.done[2] == "b"


async def test_nothing_is_handed_over_while_earlier_effects_of_the_incident_wait(store, clock):
    dispatcher = Dispatcher(store, {}, clock)
    await enqueue(store, clock, [["first"]])
    async with store.reading() as tx:
        incident_id = (await tx.incidents.open())[0].id
    async with store.transaction(lease=dispatcher.lease_for_hand_over()) as tx:
        await tx.outbox.enqueue(incident_id, [[Note("second")]], clock.now())
    assert tx.outbox.handed_over == []


async def test_a_timer_whose_handler_fails_waits_for_its_lease_instead_of_spinning(store, clock):
    from bot.scheduler import TimerHandler, TimerLoop
    from bot.storage.timers import TimerRepository

    calls = []

    async def broken(tx, timer, now, prepared):
        calls.append(timer.key)
        raise RuntimeError("handler bug")

    async with store.transaction() as tx:
        await TimerRepository(tx).set("t:1", "broken", clock.now() - timedelta(seconds=1))
    loop = TimerLoop(store, {"broken": TimerHandler(broken)}, clock, lease=timedelta(seconds=60))
    claims = []
    claim_due = loop.timers.claim_due

    async def counted(*args, **kwargs):
        claims.append(1)
        return await claim_due(*args, **kwargs)
    loop.timers.claim_due = counted
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(0.3)
    assert calls == ["t:1"]  # tried once; again only when the lease lapses
    assert len(claims) <= 3  # and the loop sleeps meanwhile (it used to poll every 10 ms)
    clock.advance(seconds=61)
    loop.wake()
    await asyncio.sleep(0.1)
    assert calls == ["t:1", "t:1"]
    await loop.stop()
    task.cancel()


async def test_a_claimed_timer_moved_or_cancelled_before_it_fires_is_left_alone(store, clock):
    """The loop, not each handler, checks again inside the transaction that would settle the timer."""
    from bot.scheduler import TimerHandler, TimerLoop
    from bot.storage.timers import Fired, TimerRepository

    calls = []

    async def record(tx, timer, now, prepared):
        calls.append(timer.key)
        return Fired(None)

    loop = TimerLoop(store, {"k": TimerHandler(record)}, clock)
    async with store.transaction() as tx:
        for key in ("moved", "cancelled", "due"):
            await TimerRepository(tx).set(key, "k", clock.now() - timedelta(seconds=1))
    claimed = {t.key: t for t in await loop.timers.claim_due(clock.now(), loop.owner, timedelta(seconds=60))}
    async with store.transaction() as tx:
        await TimerRepository(tx).set("moved", "k", clock.now() + timedelta(minutes=5))  # snoozed meanwhile
        await TimerRepository(tx).cancel("cancelled")
    for timer in claimed.values():
        await loop._fire(timer)
    assert calls == ["due"]
    async with store.reading() as tx:
        timers = TimerRepository(tx)
        assert [await timers.status(key) for key in ("moved", "cancelled", "due")] == ["pending", "cancelled", "done"]


async def test_a_slow_background_timer_does_not_hold_up_the_others(store, clock):
    """An SLA check asking Prometheus for a month must not delay a page due meanwhile."""
    from bot.scheduler import TimerHandler, TimerLoop
    from bot.storage.timers import Fired, TimerRepository

    release, fired = asyncio.Event(), []

    async def slow_prepare(timer, now):
        await release.wait()
        return "measured"

    async def record(tx, timer, now, prepared):
        fired.append((timer.key, prepared))
        return Fired(None)

    loop = TimerLoop(store, {"slow": TimerHandler(record, prepare=slow_prepare, background=True),
                             "page": TimerHandler(record)}, clock)
    async with store.transaction() as tx:
        await TimerRepository(tx).set("sla", "slow", clock.now() - timedelta(seconds=2))
        await TimerRepository(tx).set("escalation", "page", clock.now() - timedelta(seconds=1))
    task = asyncio.create_task(loop.run())
    for _ in range(200):
        if fired:
            break
        await asyncio.sleep(0.01)
    assert fired == [("escalation", None)]  # the page went out while the slow one was still measuring
    async with store.reading() as tx:
        assert await TimerRepository(tx).status("sla") == "pending"  # claimed, leased, not fired twice
    release.set()
    for _ in range(200):
        if len(fired) == 2:
            break
        await asyncio.sleep(0.01)
    assert fired[1] == ("sla", "measured")
    await loop.stop()
    task.cancel()
