"""What the post-mortem draft can say from the record alone: the template's key moments, and what went well or
wrong measured against the severity's policy. Each line names the figure and the target; the author keeps,
edits or deletes it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from bot.core.incident import Incident, format_duration
from bot.core.postmortem import TimelineLike
from bot.core.severity import SeverityPolicy, StatusPageState


@dataclass(frozen=True)
class Moment:
    name: str
    at: datetime | None
    how: str  # where the time comes from


@dataclass(frozen=True)
class Measured:
    went_well: bool
    text: str


def _first(timeline: Sequence[TimelineLike], kind: str, test=lambda entry: True):
    return next((entry for entry in timeline if entry.kind == kind and test(entry)), None)


def _status(entry, status: str) -> bool:
    return entry.data.get("to") == status


def key_moments(incident: Incident, timeline: Sequence[TimelineLike],
                first_message_at: datetime | None = None) -> list[Moment]:
    """The moments the post-mortem template names, each derived from the record (None: not reached)."""
    fired = _first(timeline, "alert", lambda e: e.text.startswith("Alert fired"))
    start = (Moment("Alert fired", incident.impact_started_at or fired.at, "the first alert's start")
             if incident.impact_started_at or fired else
             Moment("Reported", incident.declared_at, "the declaration"))
    acknowledged = _first(timeline, "acknowledged")
    update = _first(timeline, "update")
    began = [at for at in (update.at if update else None, first_message_at) if at is not None]
    identified = _first(timeline, "status_changed", lambda e: _status(e, "identified"))
    monitoring = _first(timeline, "status_changed", lambda e: _status(e, "monitoring"))
    step_done = [e for e in timeline if e.kind == "runbook_step" and e.data.get("state") == "done"]
    mitigation = next((e for e in step_done if e.data.get("role") == "mitigation"), None)
    mitigated = min((e for e in (monitoring, mitigation) if e is not None), key=lambda e: e.at, default=None)
    cleared = [e for e in timeline if e.kind == "alert" and e.text.startswith("Alert resolved")]
    verified = [e for e in step_done if e.data.get("role") == "verification"]
    restored = (Moment("Service restored", cleared[-1].at, "the last alert resolved") if cleared else
                Moment("Service restored", verified[-1].at, "the runbook's verification step done") if verified
                else Moment("Service restored", monitoring.at if monitoring else None, "status → monitoring"))
    return [
        start,
        Moment("Incident declared", incident.declared_at, "the declaration"),
        Moment("On-call acknowledged", acknowledged.at if acknowledged else None, "the page's acknowledgement"),
        Moment("Investigation began", min(began) if began else None, "the first update or responder message"),
        Moment("Root cause identified", identified.at if identified else incident.identified_at
               if incident.identified_at and incident.identified_at != incident.resolved_at else None,
               "status → identified"),
        Moment("Mitigation applied", mitigated.at if mitigated else None,
               "a runbook's mitigation step done" if mitigated is not None and mitigated is mitigation
               else "status → monitoring"),
        restored,
        Moment("All-clear declared", incident.resolved_at, "the resolve"),
    ]


def response_target(policy: SeverityPolicy) -> timedelta | None:
    """The severity's response time as a duration ("5 minutes", "1 hour"); None for "next business day"."""
    found = re.fullmatch(r"\s*(\d+)\s*(minute|hour)s?\s*", policy.response_time)
    if not found:
        return None
    return timedelta(minutes=int(found[1]) * (60 if found[2] == "hour" else 1))


def _minutes(delta: timedelta) -> str:
    return format_duration(delta)


def measured(incident: Incident, timeline: Sequence[TimelineLike], policy: SeverityPolicy,
             now: datetime, suggested: Sequence[str] = (), slack_retried: int = 0) -> list[Measured]:
    """What went well and what went wrong, in figures against the policy. `suggested`: the titles of the
    runbooks that match this incident (its alerts, service, title), followed or not; `slack_retried`: how
    many of its Slack calls failed at first (an outage, or rate limits)."""
    lines: list[Measured] = []
    end = incident.resolved_at or now
    if incident.impact_started_at is not None:
        detect = incident.declared_at - incident.impact_started_at
        lines.append(Measured(detect <= timedelta(minutes=5), f"Detection: declared {_minutes(detect)} after the "
                                                               f"impact began (the first alert's start)"))
    acknowledged = _first(timeline, "acknowledged")
    target = response_target(policy)
    if policy.page and target is not None:
        if acknowledged is None:
            lines.append(Measured(False, f"Response: the page was never acknowledged (target: within "
                                         f"{policy.response_time})"))
        else:
            took = acknowledged.at - incident.declared_at
            lines.append(Measured(took <= target, f"Response: acknowledged {_minutes(took)} after the declaration "
                                                  f"(target: within {policy.response_time})"))
        # Step 1 is the first page itself; the steps after it are the escalations.
        escalations = [e for e in timeline if e.kind == "escalated" and e.data.get("step", 1) > 1
                       and (acknowledged is None or e.at <= acknowledged.at)]
        lines.append(Measured(not escalations, "Escalation: the first page was answered" if not escalations else
                              f"Escalation: {len(escalations)} escalation step{'s' if len(escalations) > 1 else ''} "
                              f"before someone answered"))
    updates = [e.at for e in timeline if e.kind == "update"]
    cadence = policy.update_every
    if cadence is not None:
        if not updates:
            lines.append(Measured(False, f"Updates: none was posted (target: every {_minutes(cadence)})"))
        else:
            first = updates[0] - incident.declared_at
            lines.append(Measured(first <= cadence, f"First update: {_minutes(first)} after the declaration "
                                                    f"(target: within {_minutes(cadence)})"))
            marks = [incident.declared_at, *updates, end]
            gap = max(b - a for a, b in zip(marks, marks[1:]))
            lines.append(Measured(gap <= cadence, f"Update cadence: kept, the longest gap {_minutes(gap)} (target: "
                                                  f"every {_minutes(cadence)})" if gap <= cadence else
                                  f"Update cadence: the longest gap between updates was {_minutes(gap)} (target: "
                                  f"every {_minutes(cadence)})"))
        # What the Communicator published (the page's opening message is the template's, at the declaration).
        public = [e.at for e in timeline if e.kind == "public_update"]
        if policy.status_page is not StatusPageState.NONE and not incident.is_drill:
            lines.append(Measured(bool(public) and public[0] - incident.declared_at <= cadence,
                                  f"Status page: first public update {_minutes(public[0] - incident.declared_at)} "
                                  f"after the declaration (target: within {_minutes(cadence)})" if public else
                                  "Status page: nobody published an update after the opening message"))
    runs = [e for e in timeline if e.kind == "runbook_started"]
    finished = [e for e in timeline if e.kind == "runbook_finished"]
    if runs:
        names = ", ".join(e.text.removeprefix("Runbook started: ") for e in runs)
        lines.append(Measured(bool(finished), f"Runbook: {names} followed" + (" to the end" if finished else
                                                                               ", not finished")))
    elif suggested:
        lines.append(Measured(False, f"Runbook: {', '.join(suggested[:3])} matched this incident but was not "
                                     f"followed"))
    else:
        lines.append(Measured(False, "Runbook: none exists for this failure; write one and route its alert to it"))
    outages = [e for e in timeline if e.kind == "pagerduty" and "unreachable" in e.text.lower()]
    if outages:
        lines.append(Measured(False, f"Tooling: PagerDuty was unreachable during the incident "
                                     f"({len(outages)} time{'s' if len(outages) > 1 else ''})"))
    if slack_retried:
        lines.append(Measured(False, f"Tooling: Slack failed {slack_retried} of warroom's calls at first (an outage "
                                     f"or its rate limits); they went out late, in order"))
    return lines


def start_phrase(moments: list[Moment]) -> str:
    return "the first alert" if moments[0].name == "Alert fired" else "the report"


def duration(incident: Incident, moments: list[Moment], now: datetime) -> timedelta:
    """From the first key moment (the impact's start, or the report) to the all-clear (or now)."""
    return (incident.resolved_at or now) - (moments[0].at or incident.declared_at)


def summary(incident: Incident, policy: SeverityPolicy, moments: list[Moment], now: datetime,
            md=lambda text: text) -> tuple[str, str, str]:
    """Three sentences from the facts: what broke, for how long and for whom, how it ended. `md` escapes
    people's text for the medium."""
    service = f" ({md(incident.service)})" if incident.service else ""
    broke = f"“{md(incident.title)}”{service} was a {incident.severity.label} ({policy.name.lower()}) incident."
    lasted = format_duration(duration(incident, moments, now))
    affected = (f" It affected {md(incident.description.rstrip('.'))}." if incident.description else
                " _Who was affected: fill in (components, customers)._")
    how_long = f"It lasted {lasted}, from {start_phrase(moments)} to the all-clear.{affected}" \
        if incident.resolved_at else f"It has lasted {lasted} so far.{affected}"
    ended = (f"It ended with: {md(incident.summary.rstrip('.'))}." if incident.summary else
             "_How it ended: fill in (the resolve gave no summary)._") if incident.resolved_at else \
        "_It is not over yet._"
    return broke, how_long, ended


@dataclass(frozen=True)
class Seed:
    what: str
    text: str
    link: str


def root_cause_seeds(timeline: Sequence[TimelineLike], name_of=lambda user: user) -> list[Seed]:
    """Where the Five Whys can start: messages responders pinned or marked, and the update that said the
    cause was identified."""
    seeds = [Seed(f"marked as the root cause by {name_of(entry.actor)}", entry.text, entry.data.get("permalink", ""))
             for entry in timeline if entry.kind == "root_cause"]
    seeds += [Seed(f"pinned by {name_of(entry.actor)}", entry.text, entry.data.get("permalink", ""))
              for entry in timeline if entry.kind == "message"]
    identified = next((entry for entry in timeline if entry.kind == "update"
                       and entry.data.get("status") == "identified"), None)
    if identified is not None:
        seeds.append(Seed(f"the update that identified it, by {name_of(identified.actor)}", identified.text, ""))
    return seeds[:20]


DUE_WINDOWS = {"P0": timedelta(weeks=2), "P1": timedelta(weeks=4)}


def due_windows(since: datetime) -> dict[str, str]:
    return {priority: (since + window).strftime("%Y-%m-%d") for priority, window in DUE_WINDOWS.items()}


def marked(moments: list[Moment], timeline: Sequence[TimelineLike]) -> list[str]:
    """Per timeline entry, the key moments it is (", "-joined; each moment on the first entry at its time)."""
    waiting: dict[datetime, list[str]] = {}
    for moment in moments:
        if moment.at is not None:
            waiting.setdefault(moment.at, []).append(moment.name)
    return [", ".join(waiting.pop(entry.at, [])) for entry in timeline]
