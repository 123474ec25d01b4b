"""What customers see, decided: each component's state from the open public incidents and the maintenance
running now, the banner, and 90 days of uptime per component from incident durations. Pure.

Customers never read the war room: a public incident has its own title, impact and updates, written from the
team's templates or by the Communicator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

# Customers read the same four statuses the war room uses (investigating … resolved).
from bot.core.incident import Status as PublicStatus


class ComponentState(StrEnum):
    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def rank(self) -> int:
        return list(ComponentState).index(self)


@dataclass(frozen=True)
class PublicUpdate:
    at: datetime
    status: PublicStatus
    text: str
    actor: str = ""
    id: int | None = None


@dataclass(frozen=True)
class PublicIncident:
    """An incident as customers see it. `impact` is the state it puts its components in."""

    incident_id: int
    title: str
    impact: ComponentState
    components: tuple[str, ...]
    status: PublicStatus
    published_at: datetime
    resolved_at: datetime | None = None
    last_update_at: datetime | None = None
    updates: tuple[PublicUpdate, ...] = field(default=(), compare=False)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class Window:
    """Scheduled maintenance of some components."""

    components: tuple[str, ...]
    start: datetime
    end: datetime
    title: str = "Scheduled maintenance"


def component_states(components: list[str], incidents: list[PublicIncident], maintenance: list[Window],
                     now: datetime) -> dict[str, ComponentState]:
    """Each component's worst state now: an open incident's impact, else maintenance running now."""
    states = {name: ComponentState.OPERATIONAL for name in components}
    for window in maintenance:
        if window.start <= now < window.end:
            for name in window.components:
                if name in states:
                    states[name] = ComponentState.UNDER_MAINTENANCE
    for incident in incidents:
        if not incident.is_open:
            continue
        for name in incident.components:
            if name in states and incident.impact.rank > states[name].rank:
                states[name] = incident.impact
    return states


@dataclass(frozen=True)
class Banner:
    level: str  # operational | maintenance | degraded | outage
    text: str


def banner(states: dict[str, ComponentState], incidents: list[PublicIncident]) -> Banner:
    worst = max((s for s in states.values()), key=lambda s: s.rank, default=ComponentState.OPERATIONAL)
    open_impacts = [i.impact for i in incidents if i.is_open]
    if open_impacts:
        worst = max([worst, *open_impacts], key=lambda s: s.rank)
    if worst is ComponentState.MAJOR_OUTAGE:
        return Banner("outage", "Major outage")
    if worst is ComponentState.PARTIAL_OUTAGE:
        return Banner("outage", "Partial outage")
    if worst is ComponentState.DEGRADED_PERFORMANCE:
        return Banner("degraded", "Degraded performance")
    if worst is ComponentState.UNDER_MAINTENANCE:
        return Banner("maintenance", "Scheduled maintenance in progress")
    return Banner("operational", "All systems operational")


# How much of its time an impact counts as down, for the uptime bars (what Statuspage's bars do as well).
DOWNTIME_WEIGHT = {ComponentState.MAJOR_OUTAGE: 1.0, ComponentState.PARTIAL_OUTAGE: 0.5,
                   ComponentState.DEGRADED_PERFORMANCE: 0.0, ComponentState.UNDER_MAINTENANCE: 0.0,
                   ComponentState.OPERATIONAL: 0.0}


@dataclass(frozen=True)
class Day:
    day: date
    downtime_minutes: float
    worst: ComponentState
    incidents: tuple[str, ...]  # the public titles of that day's incidents

    @property
    def level(self) -> str:
        if self.worst in (ComponentState.MAJOR_OUTAGE, ComponentState.PARTIAL_OUTAGE):
            return "outage" if self.downtime_minutes >= 30 else "minor"
        if self.worst is ComponentState.DEGRADED_PERFORMANCE:
            return "minor"
        return "none"


def uptime(component: str, incidents: list[PublicIncident], today: date, now: datetime, days: int = 90,
           measured: dict[date, float] | None = None) -> tuple[list[Day], float]:
    """The last `days` days of one component, oldest first, and its uptime over them in percent. `measured`:
    the SLA's bad minutes per day for the component's services (bot/core/sla.py), which then decide those
    days' bars and uptime; other days (before the measurement began), the public incidents' durations do."""
    first = today - timedelta(days=days - 1)
    found = []
    total_down = 0.0
    for offset in range(days):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, time.min, tzinfo=timezone.utc)
        end = start + timedelta(days=1)
        down, worst, titles = 0.0, ComponentState.OPERATIONAL, []
        for incident in incidents:
            if component not in incident.components:
                continue
            began, ended = incident.published_at, incident.resolved_at or now
            overlap = (min(end, ended) - max(start, began)).total_seconds() / 60
            if overlap <= 0:
                continue
            down += overlap * DOWNTIME_WEIGHT[incident.impact]
            titles.append(incident.title)
            if incident.impact.rank > worst.rank:
                worst = incident.impact
        if measured is not None and day in measured:  # a day the SLA measured; before, incidents tell
            down = float(measured[day])
            worst = (ComponentState.MAJOR_OUTAGE if down >= 30 else ComponentState.PARTIAL_OUTAGE if down
                     else worst if worst is ComponentState.DEGRADED_PERFORMANCE else ComponentState.OPERATIONAL)
        total_down += down
        found.append(Day(day, round(down, 1), worst, tuple(dict.fromkeys(titles))))
    elapsed = min(days * 1440.0, max(1.0, (now - datetime.combine(first, time.min, tzinfo=timezone.utc))
                                     .total_seconds() / 60))
    return found, max(0.0, 100.0 * (1 - total_down / elapsed))
