"""Who is on call when: weekly rotations with overrides, in a named time zone. Pure.

Hand-offs are wall-clock times ("Monday 10:00 Europe/Berlin"), so the UTC instant of a hand-off moves by
an hour across a daylight-saving change while the local time stays put. Weeks are counted on local
dates, never by adding 168 hours, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Override:
    user: str
    start: datetime  # aware
    end: datetime  # aware, exclusive


@dataclass(frozen=True)
class Rotation:
    name: str
    members: tuple[str, ...]
    zone: str = "UTC"
    weekday: int = 0  # Monday
    at: time = time(10, 0)
    start: date = date(2026, 1, 5)  # the first hand-off: members[0] takes over then
    offset: int = 0  # a secondary is often the primary rotation shifted by one
    overrides: tuple[Override, ...] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """Why this rotation cannot be used as configured (empty when it can)."""
        found = []
        if len(set(self.members)) < 2:
            found.append("needs at least two different engineers")
        for index, member in enumerate(self.members):
            following = self.members[(index + 1) % len(self.members)]
            if len(self.members) > 1 and member == following:
                found.append(f"{member} would be on call two weeks in a row (positions {index + 1} and "
                             f"{(index + 1) % len(self.members) + 1})")
        if self.start.weekday() != self.weekday:
            found.append(f"start {self.start.isoformat()} is a {WEEKDAYS[self.start.weekday()]}, "
                         f"not the hand-off day ({WEEKDAYS[self.weekday]})")
        for override in self.overrides:
            if override.end <= override.start:
                found.append(f"override for {override.user} ends before it starts")
        return found


@dataclass(frozen=True)
class Shift:
    user: str
    since: datetime  # UTC
    until: datetime  # UTC: the next hand-off (or the end of an override)
    override: bool = False


def _local(rotation: Rotation, day: date) -> datetime:
    """The hand-off instant on a local date, in UTC. A wall time that does not exist (spring forward) is read
    with the offset before the change, which lands it just after the gap, as clocks do."""
    zone = ZoneInfo(rotation.zone)
    local = datetime.combine(day, rotation.at, tzinfo=zone)
    return local.astimezone(timezone.utc)


def handoff_at_or_before(rotation: Rotation, at: datetime) -> tuple[int, datetime]:
    """(week index since the rotation's start, UTC instant of that week's hand-off) for the week holding `at`."""
    local_day = at.astimezone(ZoneInfo(rotation.zone)).date()
    days_back = (local_day.weekday() - rotation.weekday) % 7
    day = local_day - timedelta(days=days_back)
    if _local(rotation, day) > at:
        day -= timedelta(days=7)
    week = (day - rotation.start).days // 7
    return week, _local(rotation, day)


def next_handoff(rotation: Rotation, at: datetime) -> datetime:
    week, handoff = handoff_at_or_before(rotation, at)
    local_day = handoff.astimezone(ZoneInfo(rotation.zone)).date() + timedelta(days=7)
    return _local(rotation, local_day)


def scheduled(rotation: Rotation, week: int) -> str:
    return rotation.members[(week + rotation.offset) % len(rotation.members)]


def on_call(rotation: Rotation, at: datetime) -> Shift:
    """Who holds the rotation at `at`: an override wins over the schedule."""
    for override in rotation.overrides:
        if override.start <= at < override.end:
            return Shift(override.user, override.start.astimezone(timezone.utc),
                         override.end.astimezone(timezone.utc), override=True)
    week, since = handoff_at_or_before(rotation, at)
    return Shift(scheduled(rotation, week), since, next_handoff(rotation, at))


@dataclass(frozen=True)
class Handoff:
    rotation: str
    at: datetime
    outgoing: str
    incoming: str
    zone: str = "UTC"


def upcoming_handoff(rotation: Rotation, at: datetime) -> Handoff:
    """The next scheduled hand-off after `at`, with who hands over to whom (overrides included)."""
    when = next_handoff(rotation, at)
    return Handoff(rotation.name, when, on_call(rotation, when - timedelta(seconds=1)).user,
                   on_call(rotation, when).user, rotation.zone)
