"""The DB-backed dispatcher that serves the outbox.

Effects are claimed under a lease (so two processes never run the same one), performed through the
port for their target, and settled: done, retried later (429 Retry-After, 5xx, timeouts), or failed.
It sleeps until the next effect is due or until a service wakes it; it never polls in a busy loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.core.ports import (
    CURRENT_EFFECT,
    Clock,
    EffectAttempt,
    Held,
    Performer,
    RetryLater,
)
from bot.heartbeat import LEASE
from bot.log import logged
from bot.processes import dead_here
from bot.services.unit_of_work import UnitOfWork
from bot.storage.outbox import OutboxItem, OutboxStore, Settlement
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer, TimerStore

log = structlog.get_logger("warroom.dispatcher")

MAX_BACKOFF = 300.0


def backoff_seconds(attempts: int) -> float:
    return min(MAX_BACKOFF, 0.5 * 2 ** max(0, attempts - 1))


class Dispatcher:
    def __init__(self, store: Store, performers: dict[str, Performer], clock: Clock, *,
                 lease: timedelta = LEASE, idle_wait: float | None = None, concurrency: int = 16):
        self.outbox = OutboxStore(store)
        self.store = store
        self.performers = performers
        self.clock = clock
        self.lease = lease
        # Another replica's lease may lapse at any time: look at least twice per lease.
        self.idle_wait = idle_wait if idle_wait is not None else lease.total_seconds() / 2
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wakeup = asyncio.Event()
        self._running: set[asyncio.Task] = set()
        self._holding: set[int] = set()  # outbox ids leased to this dispatcher and being performed
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = False

    def wake(self) -> None:
        self._wakeup.set()

    def lease_for_hand_over(self) -> tuple[str, datetime]:
        return self.owner, self.clock.now() + self.lease

    def hand_over(self, items: list[OutboxItem], held: Held) -> None:
        """Performs effects leased to this dispatcher in the transaction that queued them (Store.transaction):
        the first wave of a change leaves without another claim round trip, with what that transaction held."""
        for incident_id, wave in itertools.groupby(items, key=lambda item: item.incident_id):
            wave = [replace(item, context=held) for item in wave]
            self._holding.update(item.id for item in wave)
            task = asyncio.create_task(self._perform_wave(wave, held.incidents.get(incident_id)))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        self.wake()

    async def recover(self) -> None:
        """After a restart: take back effects leased by dead processes on this host, and retry what is pending
        now rather than at the end of a long back-off (a restart is usually the operator saying "try again")."""
        for owner in await self.outbox.lease_owners():
            if dead_here(owner):
                log.info("outbox_lease_recovered", owner=owner)
                await self.outbox.release_leases(owner)
        await self.outbox.retry_now(self.clock.now())

    async def run(self) -> None:
        with logged("outbox_recovery_failed", log):
            await self.recover()
        while not self._stopping:
            self._wakeup.clear()
            try:
                claimed = await self.outbox.claim_ready(self.clock.now(), self.owner, self.lease)
                incidents = await self._incidents_of(claimed)
            except Exception:
                log.exception("outbox_claim_failed")
                claimed, incidents = [], {}
                await asyncio.sleep(1)
            self._holding.update(item.id for item in claimed)
            for item in claimed:
                task = asyncio.create_task(self._perform(item, incidents.get(item.incident_id)))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if claimed:
                continue
            await self._sleep_until_due()

    async def _sleep_until_due(self) -> None:
        timeout = self.idle_wait
        with logged("outbox_next_due_failed", log):
            due = await self.outbox.next_due()
            if due is not None:
                timeout = max(0.0, min(timeout, (due - self.clock.now()).total_seconds()))
        if self._running and timeout == 0:
            timeout = self.idle_wait  # what is due is in flight here; its completion wakes us
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=max(timeout, 0.005))

    async def _incidents_of(self, items: list[OutboxItem]):
        ids = {item.incident_id for item in items if item.incident_id is not None}
        if not ids:
            return {}
        async with self.store.reading() as tx:
            return await tx.incidents.many(ids)

    async def renew_leases(self) -> None:
        """Called by the heartbeat: effects being performed here stay leased here while this process lives."""
        await self.outbox.renew(list(self._holding), self.owner, self.clock.now() + self.lease)

    async def _perform(self, item: OutboxItem, incident) -> None:
        try:
            settlement = await self._attempt(item, incident)
            await self.outbox.settle([settlement], self.clock.now())
        finally:
            self._holding.discard(item.id)
        self._wakeup.set()  # the next wave may go; timers are not concerned

    async def _perform_wave(self, items: list[OutboxItem], incident) -> None:
        """A wave handed over by a service: its effects run side by side and settle in one transaction.
        Nothing is lost by waiting for the slowest: the next wave waits for the whole wave anyway."""
        try:
            settlements = await asyncio.gather(*(self._attempt(item, incident) for item in items))
            await self.outbox.settle(settlements, self.clock.now())
        finally:
            self._holding.difference_update(item.id for item in items)
        self._wakeup.set()

    async def _attempt(self, item: OutboxItem, incident) -> Settlement:
        # Each job starts with a clean log context: a task inherits the context of whoever created it, so the
        # request that handed this effect over would otherwise lend it its user and channel.
        structlog.contextvars.clear_contextvars()
        CURRENT_EFFECT.set(EffectAttempt(item.id, item.attempts))  # this task's own: gather runs each in one
        effect = item.effect
        bound = log.bind(effect=effect.type if effect else None, incident_id=item.incident_id, attempt=item.attempts)
        if effect is None:
            bound.error("effect_unreadable", error=item.problem)
            return Settlement(item.id, "failed", error=item.problem)
        async with self._slots:
            performer = self.performers.get(effect.target)
            try:
                if performer is None:
                    raise LookupError(f"no performer for target {effect.target!r}")
                if incident is None and item.incident_id is not None:
                    async with self.store.reading() as tx:
                        incident = await tx.incidents.get(item.incident_id)
                # A retry knows it is one (CURRENT_EFFECT): an effect that no key makes idempotent looks first.
                result = await performer.perform(effect, incident, item.context)
                bound.debug("effect_done")
                return Settlement(item.id, "done", result=result, incident_id=item.incident_id)
            except RetryLater as exc:
                delay = exc.after_seconds if exc.after_seconds is not None else backoff_seconds(item.attempts)
                bound.warning("effect_retry", reason=str(exc), retry_in=delay)
                return Settlement(item.id, "pending", error=str(exc), result=exc.refs,
                                  retry_at=self.clock.now() + timedelta(seconds=delay), incident_id=item.incident_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                bound.error("effect_failed", error=repr(exc))
                try:
                    if performer is not None:
                        await performer.report_failure(effect, exc, incident)
                except Exception:
                    bound.exception("failure_report_failed")
                return Settlement(item.id, "failed", error=repr(exc)[:500])

    async def drain(self, timeout: float = 10.0) -> None:
        """Waits until nothing is pending or in flight (used by the demo and tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            counts = await self.outbox.counts()
            if not counts.get("pending") and not self._running:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"outbox not drained: {await self.outbox.counts()}")

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        with logged("outbox_lease_release_failed", log):
            await self.outbox.release_leases(self.owner)


@dataclass(frozen=True)
class TimerHandler:
    """`fire(tx, timer, now, prepared) -> Fired` decides inside the transaction that settles the timer;
    `prepare(timer, now)`, when given, runs before it, for lookups that may ask the network (who is on call)."""

    fire: Callable[[Transaction, Timer, datetime, Any], Awaitable[Fired]]
    prepare: Callable[[Timer, datetime], Awaitable[Any]] | None = None
    # Slow work (a month of SLA samples) runs beside the loop, so that reminders and pages due meanwhile
    # are not held up behind it; its lease is renewed like any other while it runs.
    background: bool = False


class TimerLoop:
    """Fires due timers (reminders, nudges, escalations, hand-offs, ...). Sleeps until the next one is due or
    until woken. It owns the steps every timer shares: a timer claimed but moved or cancelled since is left
    alone; otherwise its handler decides, and the timer is settled, in one transaction."""

    def __init__(self, store: Store, handlers: dict[str, TimerHandler], clock: Clock, work: UnitOfWork | None = None,
                 *, lease: timedelta = LEASE, idle_wait: float | None = None):
        self.timers = TimerStore(store)
        self.work = work or UnitOfWork(store)
        self.handlers = handlers
        self.clock = clock
        self.lease = lease
        self.idle_wait = idle_wait if idle_wait is not None else lease.total_seconds() / 2
        self._holding: set[int] = set()  # timers claimed here whose handlers have not finished
        self.owner = f"{socket.gethostname()}:{os.getpid()}:t{id(self):x}"
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._background: set[asyncio.Task] = set()

    def wake(self) -> None:
        self._wakeup.set()

    async def renew_leases(self) -> None:
        """Called by the heartbeat: timers whose handlers run here stay leased here while this process lives."""
        await self.timers.renew(list(self._holding), self.owner, self.clock.now() + self.lease)

    async def run(self) -> None:
        with logged("timer_recovery_failed", log):  # timers a dead process of this host held are due again at once
            for owner in await self.timers.lease_owners():
                if dead_here(owner):
                    log.info("timer_lease_recovered", owner=owner)
                    await self.timers.release(owner)
        while not self._stopping:
            self._wakeup.clear()
            try:
                due = await self.timers.claim_due(self.clock.now(), self.owner, self.lease)
            except Exception:
                log.exception("timer_claim_failed")
                due = []
                await asyncio.sleep(1)
            self._holding.update(timer.id for timer in due)
            for timer in due:
                handler = self.handlers.get(timer.kind)
                if handler is not None and handler.background:
                    task = asyncio.create_task(self._fire_logged(timer), name=f"timer-{timer.kind}")
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
                else:
                    await self._fire_logged(timer)
            if due:
                continue
            timeout = self.idle_wait
            try:
                next_due = await self.timers.next_due()
                if next_due is not None:
                    timeout = max(0.0, min(timeout, (next_due - self.clock.now()).total_seconds()))
            except Exception:
                log.exception("timer_next_due_failed")  # looked at again after idle_wait
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(timeout, 0.01))

    async def _fire_logged(self, timer: Timer) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(timer=timer.kind, incident_id=timer.incident_id)
        try:
            await self._fire(timer)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease lapses and the timer is tried again, by this process or another.
            log.exception("timer_failed", kind=timer.kind, key=timer.key)
        finally:
            self._holding.discard(timer.id)

    async def _fire(self, timer: Timer) -> None:
        handler = self.handlers.get(timer.kind)
        if handler is None:
            raise LookupError(f"no handler for timer kind {timer.kind!r}")
        now = self.clock.now()
        prepared = await handler.prepare(timer, now) if handler.prepare else None
        async with self.work() as tx:
            if not await tx.timers.still_due(timer, now):
                return  # moved or cancelled since it was claimed; the claim lapses
            outcome = await handler.fire(tx, timer, now, prepared)
            await tx.timers.settle(timer.id, outcome.next_due, outcome.fired, outcome.payload)

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        for task in list(self._background):  # its timer is released below and fired again after a restart
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        with logged("timer_lease_release_failed", log):
            await self.timers.release(self.owner)
