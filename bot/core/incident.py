"""The incident and its lifecycle.

Transitions are pure functions: they take the current incident, return the new one and the events that
happened. Nothing here talks to Slack, a database or the clock: the caller passes the time in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from bot.core.text import escape


class DomainError(Exception):
    """A request the incident cannot honour; the message is shown to the user as is."""


class Severity(IntEnum):
    SEV1 = 1
    SEV2 = 2
    SEV3 = 3
    SEV4 = 4

    @property
    def label(self) -> str:
        return f"SEV-{self.value}"

    @classmethod
    def parse(cls, text: str) -> "Severity":
        cleaned = text.strip().lower().replace("-", "").replace(" ", "")
        cleaned = cleaned.removeprefix("sev")
        if cleaned in {"1", "2", "3", "4"}:
            return cls(int(cleaned))
        raise DomainError(f"Unknown severity `{escape(text.strip()[:20])}`: use 1, 2, 3 or 4 (SEV-1 is the most severe).")


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, text: str) -> "Status":
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls if s is not cls.RESOLVED)
            raise DomainError(f"Unknown status `{escape(text.strip()[:20])}`: use one of {names}.") from None


class Role(StrEnum):
    COMMANDER = "ic"
    RESPONDER = "responder"
    COMMUNICATOR = "communicator"

    @property
    def label(self) -> str:
        return {"ic": "Incident Commander", "responder": "Responder", "communicator": "Communicator"}[self.value]

    @classmethod
    def parse(cls, text: str) -> "Role":
        aliases = {
            "ic": cls.COMMANDER, "commander": cls.COMMANDER, "incident-commander": cls.COMMANDER, "lead": cls.COMMANDER,
            "responder": cls.RESPONDER, "responders": cls.RESPONDER,
            "communicator": cls.COMMUNICATOR, "comms": cls.COMMUNICATOR, "scribe": cls.COMMUNICATOR,
        }
        role = aliases.get(text.strip().lower())
        if role is None:
            raise DomainError(f"Unknown role `{escape(text.strip()[:20])}`: use ic, responder or communicator.")
        return role


@dataclass(frozen=True)
class Event:
    """Something that happened to an incident; every event becomes a timeline entry."""

    kind: str
    actor: str
    at: datetime
    text: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Incident:
    title: str
    severity: Severity
    declared_by: str
    declared_at: datetime
    status: Status = Status.INVESTIGATING
    description: str = ""
    service: str = ""
    id: int | None = None
    commander: str | None = None
    communicator: str | None = None
    responders: tuple[str, ...] = ()
    paged: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None
    identified_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    channel_name: str = ""
    channel_id: str | None = None
    card_ts: str | None = None
    announce_ts: str | None = None
    is_drill: bool = False
    last_update_at: datetime | None = None
    acknowledged_by: str | None = None  # who acknowledged the page (a Slack user, or "pagerduty:<name>")
    pagerduty_id: str | None = None
    pagerduty_url: str | None = None
    impact_started_at: datetime | None = None  # when its first alert began firing (an alert opened it)
    postmortem_mandatory: bool = False  # it overlaps an SLA breach: a post-mortem is due whatever its severity

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED

    @property
    def reference(self) -> str:
        return f"INC-{self.id}" if self.id is not None else "INC-?"

    @property
    def time_to_detect(self) -> timedelta | None:
        """From the first alert's start (the impact began) to the declaration."""
        if self.impact_started_at is None:
            return None
        return max(timedelta(0), self.declared_at - self.impact_started_at)

    def durations(self) -> dict[str, timedelta | None]:
        """Time to acknowledge, identify, mitigate and resolve, measured from the declaration."""

        def since(moment: datetime | None) -> timedelta | None:
            return None if moment is None else moment - self.declared_at

        return {
            "acknowledge": since(self.acknowledged_at),
            "identify": since(self.identified_at),
            "mitigate": since(self.mitigated_at),
            "resolve": since(self.resolved_at),
        }


def person(label: str) -> str:
    """A Slack user ID as a mention; someone known only to PagerDuty ("pagerduty:Jane Doe") by name, escaped
    so that a name from outside can never become a mention or <!channel>."""
    if label[:1] in ("U", "W") and label.isalnum() and label.isupper():
        return f"<@{label}>"
    if label == "alertmanager":
        return "Alertmanager"
    name = label.removeprefix("pagerduty:").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{name[:100]} (PagerDuty)"


def _require_open(incident: Incident) -> None:
    if not incident.is_open:
        raise DomainError(f"{incident.reference} is already resolved.")


def declare(title: str, severity: Severity, actor: str, at: datetime, *, description: str = "",
            service: str = "", is_drill: bool = False) -> tuple[Incident, list[Event]]:
    title = " ".join(title.split())
    if not title:
        raise DomainError("An incident needs a title, e.g. `/incident declare sev2 Checkout errors`.")
    incident = Incident(title=title, severity=severity, declared_by=actor, declared_at=at,
                        description=description.strip(), service=service.strip(), is_drill=is_drill,
                        last_update_at=at)  # the declaration is the first word to stakeholders
    drill = " (drill)" if is_drill else ""
    return incident, [Event("declared", actor, at, f"Declared {severity.label}{drill}: {title}",
                            {"severity": severity.value})]


def change_severity(incident: Incident, severity: Severity, actor: str, at: datetime) -> tuple[Incident, list[Event]]:
    _require_open(incident)
    if severity == incident.severity:
        return incident, []
    direction = "Escalated" if severity < incident.severity else "Downgraded"
    event = Event("severity_changed", actor, at,
                  f"{direction} from {incident.severity.label} to {severity.label}",
                  {"from": incident.severity.value, "to": severity.value})
    return replace(incident, severity=severity), [event]


def assign_role(incident: Incident, role: Role, user: str, actor: str, at: datetime) -> tuple[Incident, list[Event]]:
    _require_open(incident)
    if role is Role.RESPONDER:
        if user in incident.responders:
            return incident, []
        updated = replace(incident, responders=incident.responders + (user,))
        return _acknowledged(updated, at), [Event("role_assigned", actor, at, f"<@{user}> joined as Responder",
                                                  {"role": role.value, "user": user})]
    attribute = "commander" if role is Role.COMMANDER else "communicator"
    previous = getattr(incident, attribute)
    if previous == user:
        return incident, []
    if previous:
        text = f"{role.label} handed over from <@{previous}> to <@{user}>"
    else:
        text = f"<@{user}> is now {role.label}"
    updated = replace(incident, **{attribute: user})
    if role is Role.COMMANDER:
        updated = _acknowledged(updated, at)
    return updated, [Event("role_assigned", actor, at, text, {"role": role.value, "user": user, "previous": previous})]


def _acknowledged(incident: Incident, at: datetime) -> Incident:
    # A person taking a role is the first human acknowledgement of the incident.
    return incident if incident.acknowledged_at else replace(incident, acknowledged_at=at)


def acknowledge(incident: Incident, who: str, actor: str, at: datetime, *, source: str = "slack"
                ) -> tuple[Incident, list[Event]]:
    """The page is acknowledged: paging stops. `who`: the person as they are named (a Slack user, or a
    PagerDuty user with no Slack account here); `source`: "slack" or "pagerduty"."""
    if incident.acknowledged_by:
        raise DomainError(f"{incident.reference} was already acknowledged by {person(incident.acknowledged_by)}.")
    if not incident.is_open:
        raise DomainError(f"{incident.reference} is already resolved.")
    where = " in PagerDuty" if source == "pagerduty" else ""
    text = (f"Page acknowledged{where} by {person(who)} "
            f"({format_duration(at - incident.declared_at)} after the declaration)")
    updated = replace(incident, acknowledged_by=who, acknowledged_at=incident.acknowledged_at or at)
    return updated, [Event("acknowledged", actor, at, text, {"by": who, "source": source})]


def post_update(incident: Incident, text: str, status: Status | None, actor: str,
                at: datetime) -> tuple[Incident, list[Event]]:
    _require_open(incident)
    text = text.strip()
    if not text:
        raise DomainError("An update needs some text, e.g. `/incident update Rolled back the deploy, errors falling`.")
    if status is Status.RESOLVED:
        raise DomainError("Use `/incident resolve [summary]` to resolve the incident.")
    events: list[Event] = []
    updated = incident
    if status is not None and status is not incident.status:
        updated = replace(updated, status=status)
        if status is Status.IDENTIFIED and not updated.identified_at:
            updated = replace(updated, identified_at=at)
        if status is Status.MONITORING:
            updated = replace(updated, identified_at=updated.identified_at or at, mitigated_at=updated.mitigated_at or at)
        events.append(Event("status_changed", actor, at, f"Status: {incident.status.label} → {status.label}",
                            {"from": incident.status.value, "to": status.value}))
    events.append(Event("update", actor, at, text, {"status": updated.status.value}))
    return _acknowledged(replace(updated, last_update_at=at), at), events


def add_note(incident: Incident, text: str, actor: str, at: datetime, *, permalink: str = "",
             kind: str = "note") -> tuple[Incident, list[Event]]:
    text = text.strip()
    if not text:
        raise DomainError("A timeline note needs some text, e.g. `/incident timeline Found the bad config push`.")
    return incident, [Event(kind, actor, at, text, {"permalink": permalink} if permalink else {})]


def resolve(incident: Incident, summary: str, actor: str, at: datetime) -> tuple[Incident, list[Event]]:
    _require_open(incident)
    summary = summary.strip()
    updated = replace(incident, status=Status.RESOLVED, resolved_at=at, summary=summary,
                      identified_at=incident.identified_at or at, mitigated_at=incident.mitigated_at or at,
                      acknowledged_at=incident.acknowledged_at or at)
    text = f"Resolved: {summary}" if summary else "Resolved"
    return updated, [Event("resolved", actor, at, text, {"summary": summary})]


def format_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = max(0, int(delta.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"
