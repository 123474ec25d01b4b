"""An incident's timers follow its state, in the same transaction as the change: the status-update
reminder, the nudge to take command, the escalation chain (only for severities that page)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Settings
from bot.core import escalation, reminders
from bot.core.incident import Incident
from bot.services.escalation import chain_of
from bot.storage.timers import TimerRepository


async def schedule_timers(timers: TimerRepository, incident: Incident, settings: Settings, chains: dict,
                          now: datetime, *, declared: bool = False) -> None:
    """Moves the incident's timers to match its new state (the caller's transaction holds `timers`)."""
    reminder, nudge = reminders.status_reminder_key(incident.id), reminders.ic_nudge_key(incident.id)
    pending = await timers.pending([reminder, nudge])
    due = reminders.next_status_reminder(incident, settings.policy(incident.severity),
                                         incident.last_update_at or incident.declared_at)
    current = pending.get(reminder)
    if due is None:
        if current:
            await timers.cancel(reminder)
    elif due <= now and current is not None and current.due_at > now:
        pass  # already overdue and reminded: keep the next reminder where it is
    elif current is None or current.due_at != due:
        await timers.set(reminder, reminders.STATUS_REMINDER, due, incident_id=incident.id)
    minutes = settings.file.reminders.ic_nudge_minutes
    wanted = incident.is_open and not incident.commander and minutes
    if not wanted and nudge in pending:
        await timers.cancel(nudge)
    elif wanted and declared:
        # Set once, at the declaration; after that it only repeats itself or is cancelled.
        await timers.set(nudge, reminders.IC_NUDGE, incident.declared_at + timedelta(minutes=minutes),
                         incident_id=incident.id)
    chain = chain_of(settings, chains, incident) if settings.file.escalation.enabled else ()
    key = escalation.escalation_key(incident.id)
    if declared and chain:
        await timers.set(key, escalation.ESCALATION, incident.declared_at + chain[0].after, incident_id=incident.id,
                         payload={"step": 0})
    elif not declared and (escalation.settled(incident) or not chain):
        await timers.cancel(key)  # acknowledged, commanded, resolved, or a severity that pages nobody
    elif not declared and await timers.status(key) in (None, "cancelled"):
        # A severity change made the incident page: its chain starts now, counted from now.
        await timers.set(key, escalation.ESCALATION, now + chain[0].after, incident_id=incident.id,
                         payload={"step": 0, "started": now.isoformat()})
