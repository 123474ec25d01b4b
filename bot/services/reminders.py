"""Status-update reminders and the no-Incident-Commander nudge, fired from timers.

A timer fires in one transaction with what it posts, so a crash before the commit fires it again and a
crash after it does not: each reminder is posted exactly once, whatever the number of processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core import reminders as core
from bot.core.incident import DomainError, Event, Incident, format_duration
from bot.core.ports import Clock, Dispatch
from bot.services.incidents import Duplicate
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.reminders")


class ReminderService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, dispatch: Dispatch | None = None):
        self.store, self.settings, self.clock = store, settings, clock
        self.work = UnitOfWork(store, dispatch)

    async def fire(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        incident = await tx.incidents.get(timer.incident_id) if timer.incident_id else None
        if incident is None:
            return Fired(None, fired=False)
        firing = self._decide(timer.kind, incident, now)
        if firing.post:
            await tx.outbox.enqueue(incident.id, [[fx.PostReminder(reminder=timer.kind,
                                                                   silent_for=firing.silent_for)]], now)
            log.info("reminder_posted", kind=timer.kind, incident_id=incident.id)
        return Fired(firing.next_due, fired=firing.post)

    def _decide(self, kind: str, incident: Incident, now) -> core.Firing:
        if kind == core.STATUS_REMINDER:
            policy = self.settings.policy(incident.severity)
            return core.status_reminder(incident, policy, incident.last_update_at or incident.declared_at, now)
        if kind == core.IC_NUDGE:
            return core.ic_nudge(incident, now, timedelta(minutes=self.settings.file.reminders.ic_nudge_minutes))
        return core.Firing(False, None)

    async def snooze(self, channel_id: str, actor: str, request_key: str) -> str:
        now = self.clock.now()
        minutes = self.settings.file.reminders.snooze_minutes
        async with self.work() as tx:
            incident = await tx.incidents.in_channel(channel_id, for_update=True)
            if incident is None or not incident.is_open:
                raise DomainError("There is no open incident in this channel to snooze reminders for.")
            if request_key and not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            due = now + timedelta(minutes=minutes)
            await tx.timers.set(core.status_reminder_key(incident.id), core.STATUS_REMINDER, due,
                                          incident_id=incident.id)
            await tx.timeline.append(incident.id, [Event("reminder_snoozed", actor, now,
                                                         f"Status reminder snoozed for {minutes} min")])
        return f":zzz: Status reminder snoozed for {minutes} minutes (until {due:%H:%M} UTC)."


__all__ = ["ReminderService", "format_duration"]
