"""Alerts from Prometheus Alertmanager: matchers in Alertmanager's own syntax, the routes that decide what an
alert group does, and what a delivery changes. Pure: the webhook's parsing is in bot/integrations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.incident import DomainError, Severity


class Declare(StrEnum):
    AUTO = "auto"    # open an incident for the group, or join the open one
    ASK = "ask"      # post to the alerts channel with Declare, Silence and Acknowledge buttons
    NEVER = "never"  # record only


# Alertmanager's matcher: a label name, an operator, and a value, quoted or not ("=~" is a regex anchored at
# both ends, as Alertmanager anchors it).
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s",{}=~!]*))\s*$')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    pattern: re.Pattern | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> "Matcher":
        """`severity="critical"`, `service=~"api|checkout"`, `env!=staging`; raises DomainError with the reason."""
        found = _MATCHER.match(text or "")
        if not found:
            raise DomainError(f"`{text}` is not a matcher: write it as Alertmanager does, e.g. severity=\"critical\", "
                              f"service=~\"api|checkout\" or env!=\"staging\"")
        name, op, quoted, bare = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare  # \" is a quote, \\ a backslash
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re.compile(f"^(?:{value})$")
            except re.error as exc:
                raise DomainError(f"`{text}`: the regular expression does not compile ({exc})") from None
        return cls(name, op, value, pattern)

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")  # a missing label matches as the empty string, as in Alertmanager
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = self.pattern.match(actual) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Route:
    """The first route whose matchers all hold decides; a field it leaves out falls back to the defaults."""

    matchers: tuple[Matcher, ...] = ()
    severity: Severity | None = None
    declare: Declare | None = None
    service: str | None = None
    runbook: str | None = None
    channel: str | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        return all(matcher.matches(labels) for matcher in self.matchers)


@dataclass(frozen=True)
class Decision:
    severity: Severity
    declare: Declare
    service: str
    runbook: str | None
    channel: str | None


SEVERITY_LABELS = {"critical": Severity.SEV1, "page": Severity.SEV1, "high": Severity.SEV2, "error": Severity.SEV2,
                   "major": Severity.SEV2, "warning": Severity.SEV3, "minor": Severity.SEV3,
                   "info": Severity.SEV4, "low": Severity.SEV4, "none": Severity.SEV4}


def decide(labels: dict[str, str], routes: tuple[Route, ...]) -> Decision:
    """What an alert group with these labels does. Without a matching route the `severity` label decides
    (critical -> SEV-1, high/error/major -> SEV-2, warning/minor -> SEV-3, info/low -> SEV-4; unknown: SEV-3);
    SEV-1 and SEV-2 open incidents, SEV-3 and SEV-4 ask."""
    route = next((r for r in routes if r.matches(labels)), Route())
    severity = route.severity or SEVERITY_LABELS.get(labels.get("severity", "").lower(), Severity.SEV3)
    declare = route.declare or (Declare.AUTO if severity <= Severity.SEV2 else Declare.ASK)
    service = route.service or labels.get("service") or labels.get("job") or ""
    return Decision(severity, declare, service, route.runbook, route.channel)


def decide_group(common: dict[str, str], alerts: list["Alert"], routes: tuple[Route, ...]) -> Decision:
    """A group is as severe as its most severe alert: each firing alert (every alert, once all resolved) is
    routed on its own labels, and the most severe decision wins; with no alerts, the common labels decide."""
    considered = [a for a in alerts if a.firing] or alerts
    decisions = [decide({**common, **alert.labels}, routes) for alert in considered] or [decide(common, routes)]
    return min(decisions, key=lambda d: d.severity)


def pages(decision: Decision) -> bool:
    """SEV-3 and SEV-4 never page anybody, at any hour: they wait in the alerts channel for business hours."""
    return decision.severity <= Severity.SEV2


@dataclass(frozen=True)
class Alert:
    """One firing of one alert: `fingerprint` + `starts_at` (the same alert firing again after it resolved is
    a new firing with a new `starts_at`)."""

    fingerprint: str
    starts_at: datetime
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def links(self) -> list[tuple[str, str]]:
        """(label, https URL) for the alert's runbook, dashboard and source graph; anything not http(s) is left out."""
        candidates = [("Runbook", self.annotations.get("runbook_url", "")),
                      ("Dashboard", self.annotations.get("dashboard") or self.annotations.get("dashboardURL") or ""),
                      ("Source", self.generator_url)]
        return [(label, url) for label, url in candidates if url.startswith(("https://", "http://"))]

    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name


@dataclass(frozen=True)
class Change:
    """What one delivery changed for one alert firing: it is new (firing), it resolved, or it fired again after
    a resolve was recorded (a late or out-of-order delivery). Nothing else is a change."""

    alert: Alert
    kind: str  # fired | resolved


def changes(known: dict[tuple[str, datetime], Alert], delivered: list[Alert]) -> list[Change]:
    """Alertmanager re-sends whole groups on every tick: only what differs from what is recorded counts."""
    found = []
    for alert in delivered:
        before = known.get((alert.fingerprint, alert.starts_at))
        if before is None:
            found.append(Change(alert, "fired" if alert.firing else "resolved"))
        elif before.firing and not alert.firing:
            found.append(Change(alert, "resolved"))
    return found


def impact_began(alerts: list[Alert]) -> datetime | None:
    """Time to detect starts when the first alert began firing."""
    return min((alert.starts_at for alert in alerts), default=None)


def counts(alerts: list[Alert]) -> tuple[int, int]:
    """(firing, resolved)"""
    firing = sum(1 for alert in alerts if alert.firing)
    return firing, len(alerts) - firing


@dataclass(frozen=True)
class AlertGroup:
    """One Alertmanager group (its `groupKey`): its alerts, the incident it opened or joined, and its messages."""

    id: int
    key: str
    labels: dict[str, str]  # the group's common labels
    alerts: tuple[Alert, ...] = ()
    incident_id: int | None = None
    truncated: int = 0
    ask_channel: str | None = None
    ask_ts: str | None = None
    room_ts: str | None = None
    silence_id: str | None = None
    silenced_until: datetime | None = None
    silenced_by: str | None = None
    acknowledged_by: str | None = None
    storm_id: int | None = None
    acted_at: datetime | None = None

    @property
    def title(self) -> str:
        """What the incident it opens is called: the alert's name and what it is about."""
        names = sorted({alert.name for alert in self.alerts}) or [self.labels.get("alertname", "Alert")]
        subject = self.labels.get("service") or self.labels.get("job") or self.labels.get("instance") or ""
        more = f" (+{len(names) - 1} more)" if len(names) > 1 else ""
        return f"{names[0]}{more}" + (f" on {subject}" if subject else "")

    @property
    def firing(self) -> int:
        return counts(list(self.alerts))[0]

    def silence_matchers(self) -> dict[str, str]:
        """The labels every alert of the group shares: a silence on them covers the group and no more."""
        return dict(self.labels)


def flapping(firings: list[datetime], count: int, window: timedelta) -> bool:
    """An alert (one fingerprint) whose latest firing is its `count`-th within `window` is flapping; it settles
    once it fires again after a quiet `window`."""
    if not firings:
        return False
    latest = max(firings)
    return sum(1 for start in firings if start >= latest - window) >= count


@dataclass(frozen=True)
class NoiseRow:
    """One alert name over the report's period: how often it fired and whether anyone acted."""

    name: str
    fires: int
    acted: int  # firings in groups someone acted on
    median_minutes: float | None  # of the resolved firings
    flapping: bool

    @property
    def acted_ratio(self) -> float:
        return self.acted / self.fires if self.fires else 0.0

    @property
    def ignored(self) -> bool:
        """"If an alert fires 3 times without action, fix it or delete it."""
        return self.fires >= 3 and self.acted == 0


def noise(firings: list[tuple[str, str, datetime, datetime | None, bool]], now: datetime, flap_count: int,
          flap_window: timedelta) -> list[NoiseRow]:
    """`firings`: (alert name, fingerprint, starts_at, ends_at, acted on) of every firing in the period; the
    noisiest first."""
    by_name: dict[str, list] = {}
    for firing in firings:
        by_name.setdefault(firing[0], []).append(firing)
    rows = []
    for name, entries in by_name.items():
        durations = sorted((ends - starts).total_seconds() / 60 for _, _, starts, ends, _ in entries if ends)
        median = durations[len(durations) // 2] if durations else None
        by_print: dict[str, list[datetime]] = {}
        for _, fingerprint, starts, _, _ in entries:
            by_print.setdefault(fingerprint, []).append(starts)
        flaps = any(flapping(starts, flap_count, flap_window) for starts in by_print.values())
        rows.append(NoiseRow(name, len(entries), sum(1 for *_, acted in entries if acted), median, flaps))
    return sorted(rows, key=lambda row: (row.acted_ratio, -row.fires, row.name))


def next_noise_digest(now: datetime) -> datetime:
    """When the weekly noise digest is due: Mondays, 09:00 UTC."""
    monday = (now + timedelta(days=(7 - now.weekday()) % 7 or 7)).replace(hour=9, minute=0, second=0, microsecond=0)
    this_week = now.replace(hour=9, minute=0, second=0, microsecond=0)
    return this_week if now.weekday() == 0 and now < this_week else monday


def noise_line(row: NoiseRow) -> str:
    median = f"{row.median_minutes:.0f} min" if row.median_minutes is not None else "still firing"
    return (f"{row.name}: fired {row.fires}×, acted on {row.acted_ratio:.0%}, median {median}"
            + (", flapping" if row.flapping else ""))
