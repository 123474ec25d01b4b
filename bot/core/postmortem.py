"""What a post-mortem draft says, worked out from the incident and its timeline. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, Sequence

from bot.core.incident import DomainError, Incident, format_duration


class TimelineLike(Protocol):
    at: Any
    actor: str
    kind: str
    text: str
    data: dict


@dataclass(frozen=True)
class PostmortemFacts:
    incident: Incident
    durations: dict[str, str]
    timeline: list[dict[str, str]]
    participants: list[str]
    severity_changes: list[str]
    updates: list[str]


def facts(incident: Incident, timeline: Sequence[TimelineLike], name_of=lambda user: user) -> PostmortemFacts:
    participants: list[str] = []
    for user in [incident.declared_by, incident.commander, incident.communicator, *incident.responders,
                 *(entry.actor for entry in timeline)]:
        if user and user not in participants:
            participants.append(user)
    rows = [{"at": f"{entry.at:%Y-%m-%d %H:%M:%S} UTC", "actor": name_of(entry.actor), "kind": entry.kind,
             "text": entry.text, "link": entry.data.get("permalink", "")} for entry in timeline]
    return PostmortemFacts(
        incident=incident,
        durations={**{key: format_duration(value) for key, value in incident.durations().items()},
                   "detect": format_duration(incident.time_to_detect) if incident.time_to_detect is not None
                   else None},
        timeline=rows,
        participants=[name_of(user) for user in participants],
        severity_changes=[entry.text for entry in timeline if entry.kind == "severity_changed"],
        updates=[entry.text for entry in timeline if entry.kind == "update"],
    )


@dataclass(frozen=True)
class HistoryMessage:
    """A human message of the war room, as the post-mortem uses it."""

    ts: str
    at: Any
    author: str
    text: str
    thread_of: str | None = None
    edited: bool = False


def conversation(messages: Sequence[HistoryMessage], name_of=lambda user: user) -> list[dict[str, str]]:
    """The war room's human conversation in time order, thread replies right after their parent."""
    tops = sorted((m for m in messages if m.thread_of is None or m.thread_of == m.ts), key=lambda m: m.ts)
    replies: dict[str, list[HistoryMessage]] = {}
    for message in messages:
        if message.thread_of and message.thread_of != message.ts:
            replies.setdefault(message.thread_of, []).append(message)
    rows = []
    for top in tops:
        for message in [top] + sorted(replies.get(top.ts, []), key=lambda m: m.ts):
            rows.append({"at": f"{message.at:%H:%M}", "author": name_of(message.author),
                         "text": message.text.replace("\n", " "), "reply": message is not top,
                         "edited": message.edited})
    return rows


def due(incident: Incident, required: bool, hours: int = 48):
    """When the post-mortem is due: 48 hours after the resolve, for severities that require one."""
    if not required or incident.resolved_at is None:
        return None
    return incident.resolved_at + timedelta(hours=hours)


class PostmortemState(StrEnum):
    """draft -> in review -> published; a published post-mortem is never edited, only followed by a new version."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_ORDER = list(PostmortemState)
# What the IC is reminded to do on each day after the resolve, and the state that means it is done.
REMINDER_STEPS = {"draft": (1, PostmortemState.DRAFT), "review": (2, PostmortemState.IN_REVIEW),
                  "publish": (3, PostmortemState.PUBLISHED)}


@dataclass(frozen=True)
class Postmortem:
    incident_id: int
    state: PostmortemState
    content: str
    flags: list[dict]
    canvas_id: str | None
    file_id: str | None
    due_at: datetime | None
    version: int = 1


def advance(current: PostmortemState, wanted: PostmortemState, reference: str) -> PostmortemState:
    """Review or publish: only forward. Raises DomainError with the reason otherwise."""
    if _ORDER.index(wanted) <= _ORDER.index(current):
        raise DomainError(f"The post-mortem of {reference} is already {current.label}.")
    return wanted


@dataclass(frozen=True)
class Redraft:
    """What drafting again does to a stored post-mortem."""

    version: int
    # A published post-mortem, or a draft someone edited by hand, stays as it is: the new draft becomes its
    # next version, beside it, instead of replacing people's work.
    new_version: bool
    because: str = ""  # "published" or "edited"


def redraft(existing: Postmortem, edited_by_hand: bool = False) -> Redraft:
    if existing.state is PostmortemState.PUBLISHED:
        return Redraft(existing.version + 1, True, "published")
    if edited_by_hand:
        return Redraft(existing.version + 1, True, "edited")
    return Redraft(existing.version, False)


def reminder_needed(step: str, existing: Postmortem | None) -> bool:
    """Whether the IC still has this step to do: drafting is due until there is a draft, and so on."""
    if existing is None:
        return True
    if step == "draft":
        return False
    return _ORDER.index(existing.state) < _ORDER.index(REMINDER_STEPS[step][1])
