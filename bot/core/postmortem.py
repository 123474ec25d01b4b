"""What a post-mortem draft says, worked out from the incident and its timeline. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from bot.core.incident import Incident, format_duration


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
        durations={key: format_duration(value) for key, value in incident.durations().items()},
        timeline=rows,
        participants=[name_of(user) for user in participants],
        severity_changes=[entry.text for entry in timeline if entry.kind == "severity_changed"],
        updates=[entry.text for entry in timeline if entry.kind == "update"],
    )
