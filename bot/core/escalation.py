"""Escalation chains: who is paged when, until someone acknowledges. Pure.

A chain is a list of steps, each "after N minutes, page these on-call slots or people". Step times count
from the declaration, so a chain that resumes after a restart keeps its original schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.incident import Incident, Severity

ESCALATION = "escalation"


@dataclass(frozen=True)
class Step:
    after: timedelta
    notify: tuple[str, ...]  # on-call slot or rotation names, or Slack user IDs


def _steps(*steps: tuple[int, tuple[str, ...]]) -> tuple[Step, ...]:
    return tuple(Step(timedelta(minutes=minutes), notify) for minutes, notify in steps)


DEFAULT_CHAINS: dict[str, tuple[Step, ...]] = {
    "default": _steps((0, ("primary",)), (5, ("secondary",)), (10, ("engineering_manager",)),
                      (15, ("vp_engineering", "seniors"))),
    "sev1": _steps((0, ("primary", "secondary")), (5, ("incident_commander",)), (10, ("engineering_leadership",)),
                   (30, ("executive_briefing",))),
}


def chain_for(chains: dict[str, tuple[Step, ...]], severity: Severity, *, pages: bool = True,
              named: frozenset[str] = frozenset()) -> tuple[Step, ...]:
    """The chain that pages for an incident of this severity. A severity that pages nobody (SEV-3 and SEV-4 by
    default) runs no chain, not even `default`, unless a chain is configured for it by name (`named`):
    paging people at 2 a.m. for what can wait until morning is what this is for avoiding."""
    own = f"sev{severity.value}"
    if not pages and own not in named:
        return ()
    return chains.get(own) or chains.get("default") or ()


def escalation_key(incident_id: int) -> str:
    return f"incident:{incident_id}:{ESCALATION}"


def settled(incident: Incident) -> bool:
    """Paging stops at the first acknowledgement, once someone commands the incident, or at the resolve."""
    return not incident.is_open or bool(incident.acknowledged_by) or bool(incident.commander)


@dataclass(frozen=True)
class Page:
    step: int
    notify: tuple[str, ...]
    next_due: datetime | None  # when the following step is due, None at the end of the chain


def page_due(incident: Incident, chain: tuple[Step, ...], step: int, started: datetime | None = None) -> Page | None:
    """What step `step` pages, or None when paging has stopped (acknowledged, resolved, or the chain ended).
    Step times count from `started`: the declaration, or the severity change that made the incident page."""
    if settled(incident) or step >= len(chain):
        return None
    base = started or incident.declared_at
    following = base + chain[step + 1].after if step + 1 < len(chain) else None
    return Page(step, chain[step].notify, following)
