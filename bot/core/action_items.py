"""Action items: the follow-ups that make a post-mortem worth writing. Pure: parsing and due dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from bot.core.incident import DomainError
from bot.core.text import MENTION, escape

PRIORITIES = ("P0", "P1", "P2")
DUE_HOUR = time(9, 0, tzinfo=timezone.utc)  # owners hear about an item at 09:00 UTC on its due date
_DUE = re.compile(r"\bdue:(\S+)", re.IGNORECASE)
_PRIORITY = re.compile(r"(?<!\S)(P[0-2])(?!\S)", re.IGNORECASE)


@dataclass(frozen=True)
class ActionItem:
    id: int | None
    incident_id: int
    text: str
    owner: str | None
    due: date | None
    priority: str
    created_by: str
    created_at: datetime
    done_by: str | None = None
    done_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.done_at is None

    def overdue(self, today: date) -> bool:
        return self.is_open and self.due is not None and self.due < today


def parse(text: str) -> tuple[str, str | None, date | None, str]:
    """`<text> [<@owner>] [due:YYYY-MM-DD] [P0|P1|P2]`, the options anywhere in the text."""
    owners = MENTION.findall(text)
    if len(owners) > 1:
        raise DomainError("An action item has one owner: mention only one person.")
    due = None
    match = _DUE.search(text)
    if match:
        try:
            due = date.fromisoformat(match.group(1))
        except ValueError:
            raise DomainError(f"`due:{escape(match.group(1)[:20])}` is not a date: use due:YYYY-MM-DD.") from None
    priorities = _PRIORITY.findall(text)
    priority = priorities[0].upper() if priorities else "P1"
    rest = _PRIORITY.sub(" ", _DUE.sub(" ", MENTION.sub(" ", text)))
    rest = " ".join(rest.split())
    if not rest:
        raise DomainError("Usage: `/incident action <what> [@owner] [due:YYYY-MM-DD] [P0|P1|P2]`.")
    return rest, (owners[0] if owners else None), due, priority


def first_reminder(item: ActionItem) -> datetime | None:
    if item.due is None or item.owner is None or not item.is_open:
        return None
    return datetime.combine(item.due, DUE_HOUR)


def next_overdue_reminder(now: datetime) -> datetime:
    return now + timedelta(days=1)


def next_digest(now: datetime, day: int = 1) -> datetime:
    """09:00 UTC on `day` of the next month (or of this one, if that is still ahead)."""
    this_month = datetime(now.year, now.month, day, 9, tzinfo=timezone.utc)
    if this_month > now:
        return this_month
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, day, 9, tzinfo=timezone.utc)
