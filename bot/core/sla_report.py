"""A month's SLA report: every service's compliance, the error budgets against each target, the credits owed, as
the data `--format json` prints (bot/sla_formats.py renders text and CSV from the same)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from bot.core.sla import Compliance, Month, Verdict
from bot.core.sla_credits import (
    TARGETS,
    CustomerCredit,
    Tier,
    enterprise_credit,
    pro_credit,
)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _number(value: Fraction | int | None, places: int = 6) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, int) or value.denominator == 1:
        return int(value)
    return round(float(value), places)


@dataclass(frozen=True)
class SlaReport:
    month: Month
    until: datetime  # windows that closed by then count
    slo: Fraction
    services: tuple[Compliance, ...]
    customers: tuple[CustomerCredit, ...] = ()

    @property
    def complete(self) -> bool:
        return all(c.span.windows == self.month.span.windows for c in self.services)

    @property
    def targets(self) -> dict[str, Fraction]:
        return {"slo": self.slo, Tier.PRO.value: TARGETS[Tier.PRO], Tier.ENTERPRISE.value: TARGETS[Tier.ENTERPRISE]}

    def service(self, name: str) -> Compliance:
        return next(c for c in self.services if c.service == name)

    def as_dict(self) -> dict[str, Any]:
        return {"month": str(self.month), "from": _iso(self.month.start), "until": _iso(self.until),
                "complete": self.complete, "window_minutes": 5, "slo_pct": _number(self.slo * 100),
                "services": {c.service: self._service(c) for c in self.services},
                "customers": [{"name": owed.customer.name, "tier": owed.customer.tier.value,
                               "credit_pct": owed.percent, "credit_amount": str(owed.amount),
                               "currency": owed.customer.currency, "monthly_fee": str(owed.customer.monthly_fee),
                               "service": owed.worst_service} for owed in self.customers]}

    def _service(self, compliance: Compliance) -> dict[str, Any]:
        availability = compliance.availability
        budgets = {}
        for name, target in self.targets.items():
            budget = compliance.budget(target)
            share = budget.remaining_share
            budgets[name] = {"target_pct": _number(target * 100), "allowed_minutes": _number(budget.allowed_minutes, 3),
                             "consumed_minutes": budget.consumed_minutes,
                             "remaining_minutes": _number(budget.remaining_minutes, 3),
                             "remaining_pct": _number(share * 100, 3) if share is not None else None}
        return {
            "windows": {"total": len(compliance.verdicts), "good": compliance.good,
                        "bad": compliance.count(Verdict.BAD), "bad_no_data": compliance.count(Verdict.BAD_NO_DATA),
                        "excluded": compliance.count(Verdict.EXCLUDED)},
            "availability_pct": _number(availability * 100) if availability is not None else None,
            "downtime_minutes": compliance.downtime_minutes,
            "error_budget": budgets,
            "credits": {"pro_pct": pro_credit(compliance.downtime_minutes, compliance.eligible_minutes),
                        "enterprise_pct": enterprise_credit(availability)},
            "bad_periods": [{"start": _iso(p.start), "end": _iso(p.end), "minutes": p.minutes,
                             "no_data_minutes": p.no_data_minutes} for p in compliance.bad_periods()],
        }
