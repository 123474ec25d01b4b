"""When to remind a war room to post a status update, and when to nudge it for an Incident Commander. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.incident import Incident, format_duration
from bot.core.severity import SeverityPolicy

STATUS_REMINDER = "status_reminder"
IC_NUDGE = "ic_nudge"


def status_reminder_key(incident_id: int) -> str:
    return f"incident:{incident_id}:{STATUS_REMINDER}"


def ic_nudge_key(incident_id: int) -> str:
    return f"incident:{incident_id}:{IC_NUDGE}"


def next_status_reminder(incident: Incident, policy: SeverityPolicy, last_update: datetime) -> datetime | None:
    """The cadence counts from the last update; none for resolved incidents or severities without one."""
    if not incident.is_open or policy.update_every is None:
        return None
    return last_update + policy.update_every


@dataclass(frozen=True)
class Firing:
    """What a due timer should do now: post (with the text's facts), move to a later time, or stop."""

    post: bool
    next_due: datetime | None
    silent_for: str = ""


def status_reminder(incident: Incident, policy: SeverityPolicy, last_update: datetime, now: datetime) -> Firing:
    due = next_status_reminder(incident, policy, last_update)
    if due is None:
        return Firing(False, None)
    if due > now:  # an update came in after the timer was set: just follow the new cadence
        return Firing(False, due)
    return Firing(True, now + policy.update_every, format_duration(now - last_update))


def ic_nudge(incident: Incident, now: datetime, every: timedelta) -> Firing:
    if not incident.is_open or incident.commander:
        return Firing(False, None)
    return Firing(True, now + every, format_duration(now - incident.declared_at))
