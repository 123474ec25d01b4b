"""Reminders on the real database, with a fake clock: when they fire, that they fire once, and restarts."""

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.core.effects import IncidentRefs
from bot.core.incident import Role, Severity
from bot.core.reminders import (
    IC_NUDGE,
    STATUS_REMINDER,
    ic_nudge_key,
    status_reminder_key,
)
from bot.scheduler import TimerHandler, TimerLoop
from bot.services.incidents import IncidentService
from bot.services.reminders import ReminderService
from bot.storage.tables import OutboxRow, TimerRow
from bot.storage.timers import TimerRepository
from tests.conftest import ALICE, BOB, FakeDirectory


async def posted(store) -> list[str]:
    async with store.reading() as tx:
        rows = (await tx.session.execute(select(OutboxRow).where(OutboxRow.kind == "post_reminder")
                                         .order_by(OutboxRow.id))).scalars().all()
    return [row.payload["reminder"] for row in rows]


async def timer(store, key):
    async with store.reading() as tx:
        return await TimerRepository(tx).get(key), await TimerRepository(tx).status(key)


async def fire_due(store, clock, reminders, loops=1):
    """Runs `loops` timer loops over what is due now, as that many processes would."""
    handler = TimerHandler(reminders.fire)
    running = [TimerLoop(store, {STATUS_REMINDER: handler, IC_NUDGE: handler}, clock)
               for _ in range(loops)]
    tasks = [asyncio.create_task(loop.run()) for loop in running]
    # Until nothing due is left pending (a fixed sleep let a slow machine stop the loops mid-way), and a
    # little more, for a timer fired twice to show.
    for _ in range(1000):
        async with store.reading() as tx:
            due = (await tx.session.execute(select(func.count()).select_from(TimerRow).where(
                TimerRow.status == "pending", TimerRow.due_at <= clock.now()))).scalar()
        if not due:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    for loop in running:
        await loop.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def declared(store, clock, settings, severity=Severity.SEV1):
    incidents = IncidentService(store, settings, clock, FakeDirectory())
    incident = (await incidents.declare(title="Checkout down", severity=severity, actor=ALICE,
                                        request_key="d")).incident
    async with store.transaction() as tx:
        await tx.incidents.set_refs(incident.id, IncidentRefs(channel_id="C_ROOM"))
    return incidents, incident


async def test_a_sev1_is_reminded_every_15_minutes_from_its_last_update(store, clock, settings):
    incidents, incident = await declared(store, clock, settings)
    reminders = ReminderService(store, settings, clock)
    start = clock.now()
    assert (await timer(store, status_reminder_key(incident.id)))[0].due_at == start + timedelta(minutes=15)
    clock.advance(minutes=11)
    await fire_due(store, clock, reminders)
    assert await posted(store) == [IC_NUDGE]  # nobody leads after 10 minutes
    clock.advance(minutes=1)
    await incidents.post_update("C_ROOM", "still looking", None, BOB, "u1")
    clock.advance(minutes=4)  # 16 minutes after the declaration, 4 after the update
    await incidents.assign_role("C_ROOM", Role.COMMANDER, ALICE, ALICE, "r1")
    await fire_due(store, clock, reminders)
    assert await posted(store) == [IC_NUDGE]  # no status reminder yet, and no second nudge
    clock.advance(minutes=12)  # 28 minutes: 16 since the update
    await fire_due(store, clock, reminders)
    assert await posted(store) == [IC_NUDGE, STATUS_REMINDER]
    clock.advance(minutes=15)
    await fire_due(store, clock, reminders)
    assert await posted(store) == [IC_NUDGE, STATUS_REMINDER, STATUS_REMINDER]
    assert (await timer(store, ic_nudge_key(incident.id)))[1] == "cancelled"


async def test_resolving_stops_the_reminders(store, clock, settings):
    incidents, incident = await declared(store, clock, settings)
    await incidents.assign_role("C_ROOM", Role.COMMANDER, ALICE, ALICE, "r1")
    await incidents.resolve("C_ROOM", "fixed", ALICE, "x")
    clock.advance(hours=2)
    await fire_due(store, clock, ReminderService(store, settings, clock))
    assert await posted(store) == []
    assert (await timer(store, status_reminder_key(incident.id)))[1] == "cancelled"


async def test_sev4_has_no_status_reminder(store, clock, settings):
    _, incident = await declared(store, clock, settings, Severity.SEV4)
    assert (await timer(store, status_reminder_key(incident.id)))[0] is None


async def test_snooze_moves_the_reminder(store, clock, settings):
    incidents, incident = await declared(store, clock, settings)
    reminders = ReminderService(store, settings, clock)
    clock.advance(minutes=15)
    message = await reminders.snooze("C_ROOM", BOB, "s1")
    assert "snoozed for 15 minutes" in message
    key = status_reminder_key(incident.id)
    assert (await timer(store, key))[0].due_at == clock.now() + timedelta(minutes=15)
    await fire_due(store, clock, reminders)
    assert STATUS_REMINDER not in await posted(store)
    assert any(e.kind == "reminder_snoozed" for e in await incidents.timeline(incident.id))


async def test_two_processes_post_each_reminder_exactly_once(store, clock, settings):
    incidents, _ = await declared(store, clock, settings)
    for n in range(5):
        await incidents.declare(title=f"Other incident {n}", severity=Severity.SEV1, actor=ALICE,
                                request_key=f"o{n}")
    clock.advance(minutes=15, seconds=1)
    await fire_due(store, clock, ReminderService(store, settings, clock), loops=3)
    reminders_posted = await posted(store)
    assert reminders_posted.count(STATUS_REMINDER) == 6 and reminders_posted.count(IC_NUDGE) == 6


async def test_reminders_due_during_a_restart_fire_once_afterwards(store, clock, settings):
    incidents, _ = await declared(store, clock, settings)
    clock.advance(minutes=40)  # warroom was down from minute 1 to minute 41
    reminders = ReminderService(store, settings, clock)
    await fire_due(store, clock, reminders)
    await fire_due(store, clock, reminders)
    assert sorted(await posted(store)) == sorted([IC_NUDGE, STATUS_REMINDER])


async def test_only_changes_that_move_a_timer_wake_the_timer_loop(store, clock, settings):
    woken = []
    store.timer_listeners.append(lambda: woken.append(True))
    incidents, incident = await declared(store, clock, settings)
    assert woken  # the declaration set the first reminder
    woken.clear()
    await incidents.add_note("C_ROOM", "looked at the graphs", BOB, "n1")
    assert woken == []
    clock.advance(minutes=3)
    await incidents.post_update("C_ROOM", "found it", None, BOB, "u1")
    assert woken == [True]
