"""Automated remediation, decided: which policy answers an alert, what it may run with which arguments, and
whether its guardrails let it run now. Pure: the service reads the history and writes the decision.

An alert's labels reach an action only through a policy's explicit allowlist, each value matching its own
pattern in full; annotations and free text never do. Guardrails count what was done per target (a storm of
alerts about one disk runs one cleanup), per hour and per alert.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.alerts import Matcher
from bot.core.runbook import GUARDED_CATEGORIES

# Never run by a machine: these stay buttons that need two people (bot/core/runbook.py).
NEVER_AUTOMATED = GUARDED_CATEGORIES
PER_ALERT_WINDOW = timedelta(hours=24)


class Outcome(StrEnum):
    """What became of one alert firing a policy answered (the audit row's status)."""

    PENDING = "pending"  # decided to run; its timer runs it
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"  # warroom stopped while it ran: nobody knows how far it got
    REFUSED = "refused"  # an argument from a label did not match its pattern
    DRY_RUN = "dry_run"
    RECORDED = "recorded"  # a record-only policy: Kubernetes heals it, warroom writes it down
    COVERED = "covered"  # the same target was just handled: this alert rides on that run
    LIMITED = "limited"  # the policy's hourly or per-alert limit is reached
    PAUSED = "paused"  # automation is paused (/incident automation pause)

    @property
    def acted(self) -> bool:
        """Counts for the cooldown: something was run, or would have been, or was written down for the target."""
        return self in ACTED

    @property
    def ran(self) -> bool:
        """Counts against the hourly and per-alert limits: an action ran (or was about to)."""
        return self in RAN


RAN = frozenset({Outcome.PENDING, Outcome.RUNNING, Outcome.SUCCEEDED, Outcome.FAILED, Outcome.TIMED_OUT,
                 Outcome.INTERRUPTED})
ACTED = RAN | {Outcome.DRY_RUN, Outcome.RECORDED}


@dataclass(frozen=True)
class Guardrails:
    cooldown: timedelta
    max_per_hour: int
    max_per_alert: int  # within PER_ALERT_WINDOW


@dataclass(frozen=True)
class Past:
    """A decision already made for the same policy (the service reads the last day of them)."""

    id: int
    outcome: Outcome
    target: str
    fingerprint: str
    at: datetime


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""
    covered_by: int | None = None
    announce: bool = True
    escalate: bool = False  # page at once (a dry run never pages: it writes down that it would)


def decide(*, record_only: bool, guard: Guardrails, target: str, fingerprint: str, history: list[Past],
           now: datetime, paused: bool, dry_run: bool) -> Verdict:
    """What one new alert firing gets from its policy, given the policy's recent history."""
    recent = sorted((p for p in history if p.target == target and now - p.at < guard.cooldown),
                    key=lambda p: p.at, reverse=True)
    acted = next((p for p in recent if p.outcome.acted), None)
    if acted is not None:
        return Verdict(Outcome.COVERED, f"the same target was handled at {acted.at:%H:%M} UTC (cooldown "
                                        f"{_minutes(guard.cooldown)})", covered_by=acted.id, announce=False)
    if paused:
        told = any(p.outcome is Outcome.PAUSED for p in recent)
        return Verdict(Outcome.PAUSED, "automation is paused", announce=not told)
    if record_only:
        return Verdict(Outcome.RECORDED)
    hour = [p for p in history if p.outcome.ran and now - p.at < timedelta(hours=1)]
    if len(hour) >= guard.max_per_hour:
        return Verdict(Outcome.LIMITED, f"the policy already ran {len(hour)} times in the last hour (limit "
                                        f"{guard.max_per_hour})", escalate=not dry_run)
    same_alert = [p for p in history if p.outcome.ran and p.fingerprint == fingerprint
                  and now - p.at < PER_ALERT_WINDOW]
    if len(same_alert) >= guard.max_per_alert:
        return Verdict(Outcome.LIMITED, f"it already ran {len(same_alert)} times for this alert in 24 hours (limit "
                                        f"{guard.max_per_alert}): it does not fix it", escalate=not dry_run)
    if dry_run:
        return Verdict(Outcome.DRY_RUN)
    return Verdict(Outcome.PENDING)


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} min"


# -- arguments from labels -------------------------------------------------------------------------
class ArgumentRefused(ValueError):
    """A label value that does not match its pattern (or a label the policy does not allow): nothing runs."""


_FORMATTER = string.Formatter()


def placeholders(template: str) -> list[str]:
    """The `{label}` names in an argument template; raises ValueError for anything but a bare label name
    (`{a.b}`, `{a[0]}`, `{a!r}`, `{a:>9}` could reach further than the label's value)."""
    names = []
    for _, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"`{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}` "
                             f"must be a bare label name, e.g. {{instance}}")
        names.append(name)
    return names


def render_arguments(templates: tuple[str, ...], labels: dict[str, str],
                     allowed: dict[str, re.Pattern]) -> list[str]:
    """Each template with its `{label}` placeholders filled from the alert's labels. Each argument stays one
    argument (no shell ever splits it); a value must match its label's pattern in full, or nothing runs."""
    values = {}
    for template in templates:
        for name in placeholders(template):
            if name not in allowed:
                raise ArgumentRefused(f"label `{name}` is not in the policy's `labels` allowlist")
            value = labels.get(name)
            if value is None:
                raise ArgumentRefused(f"the alert has no label `{name}`")
            if not allowed[name].fullmatch(value):
                raise ArgumentRefused(f"label `{name}`={value[:80]!r} does not match `{allowed[name].pattern}`")
            values[name] = value
    return [template.format_map(values) for template in templates]


def target_of(target_labels: tuple[str, ...], labels: dict[str, str]) -> str:
    """What a storm is counted by: the values of the target labels ("*": the policy acts on one thing)."""
    if not target_labels:
        return "*"
    return ",".join(f"{name}={labels.get(name, '')}" for name in target_labels)[:300]


def matches(matchers: tuple[Matcher, ...], labels: dict[str, str]) -> bool:
    return bool(matchers) and all(m.matches(labels) for m in matchers)


def same_target(target_labels: tuple[str, ...], run_labels: dict[str, str], labels: dict[str, str]) -> bool:
    """A follow-up alert is about the run's target when it agrees on every target label."""
    return all(labels.get(name) == run_labels.get(name) for name in target_labels)


class Verification(StrEnum):
    FIXED = "fixed"
    STILL_FIRING = "still_firing"
    FOLLOW_UP = "follow_up"


def verify(still_firing: bool, follow_up_firing: bool) -> Verification:
    """At the verification time: the alert still firing, or a follow-up alert about the same target, pages."""
    if follow_up_firing:
        return Verification.FOLLOW_UP
    return Verification.STILL_FIRING if still_firing else Verification.FIXED
