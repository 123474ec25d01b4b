"""What each severity means and what it sets in motion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.core.incident import Severity


class StatusPageState(StrEnum):
    NONE = "none"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class SeverityPolicy:
    severity: Severity
    name: str
    description: str
    response_time: str
    page: tuple[str, ...]
    status_page: StatusPageState
    update_every: timedelta | None
    postmortem_required: bool
    notify_leadership: bool


DEFAULT_POLICIES: dict[Severity, SeverityPolicy] = {
    Severity.SEV1: SeverityPolicy(
        Severity.SEV1, "Critical", "Complete outage or data loss for many customers; revenue or security at stake.",
        "5 minutes", ("primary", "secondary"), StatusPageState.MAJOR_OUTAGE, timedelta(minutes=15), True, True),
    Severity.SEV2: SeverityPolicy(
        Severity.SEV2, "Major", "A core feature is broken or badly degraded for many customers.",
        "15 minutes", ("primary",), StatusPageState.DEGRADED_PERFORMANCE, timedelta(minutes=30), True, False),
    Severity.SEV3: SeverityPolicy(
        Severity.SEV3, "Minor", "A non-core feature is degraded, or a core one for few customers; a workaround exists.",
        "1 hour", (), StatusPageState.NONE, timedelta(minutes=60), False, False),
    Severity.SEV4: SeverityPolicy(
        Severity.SEV4, "Low", "Cosmetic or internal-only problem with no customer impact.",
        "next business day", (), StatusPageState.NONE, None, False, False),
}


def targets_to_page(policy: SeverityPolicy, already_paged: tuple[str, ...]) -> tuple[str, ...]:
    """The on-call slots this severity pages that have not been paged yet (an escalation pages more)."""
    return tuple(slot for slot in policy.page if slot not in already_paged)
