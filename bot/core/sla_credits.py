"""What an SLA shortfall costs: service credits per tier, and per customer in money. Exact arithmetic
(fractions), so a shortfall of exactly one step is one step."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from bot.core.sla import Compliance


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


TARGETS: dict[Tier, Fraction] = {Tier.PRO: Fraction(995, 1000), Tier.ENTERPRISE: Fraction(999, 1000)}
ENTERPRISE_STEP = Fraction(1, 1000)  # every started 0.1 percentage point below 99.9 % ...
ENTERPRISE_STEP_CREDIT, ENTERPRISE_MAX = 10, 30  # ... is 10 % of the bill, at most 30 %
PRO_ALLOWED_SHARE = Fraction(5, 1000)  # allowed downtime L: 0.5 % of the eligible minutes
PRO_STEP_CREDIT, PRO_MAX = 10, 100  # 10 % for every started 10 % of L by which the excess exceeds it


def enterprise_credit(availability: Fraction | None) -> int:
    """Percent of the monthly bill: [99.8, 99.9) → 10, [99.7, 99.8) → 20, below → 30."""
    target = TARGETS[Tier.ENTERPRISE]
    if availability is None or availability >= target:
        return 0
    steps = math.ceil((target - availability) / ENTERPRISE_STEP)
    return min(ENTERPRISE_STEP_CREDIT * steps, ENTERPRISE_MAX)


def pro_credit(downtime_minutes: int, eligible_minutes: int) -> int:
    """Percent of the monthly bill: L = 0.5 % of the eligible minutes, X = downtime − L; 10 % for every started
    tenth of L in X."""
    allowed = PRO_ALLOWED_SHARE * eligible_minutes
    excess = downtime_minutes - allowed
    if excess <= 0 or allowed <= 0:
        return 0
    steps = math.ceil(excess / (allowed / 10))
    return min(PRO_STEP_CREDIT * steps, PRO_MAX)


def credit(tier: Tier, compliance: Compliance) -> int:
    if tier is Tier.ENTERPRISE:
        return enterprise_credit(compliance.availability)
    if tier is Tier.PRO:
        return pro_credit(compliance.downtime_minutes, compliance.eligible_minutes)
    return 0  # Free: no SLA


def breached(tier: Tier, compliance: Compliance) -> bool:
    """Whether the availability is below the tier's SLA."""
    target = TARGETS.get(tier)
    return target is not None and compliance.availability is not None and compliance.availability < target


@dataclass(frozen=True)
class Customer:
    name: str
    tier: Tier
    services: tuple[str, ...]
    monthly_fee: Decimal
    currency: str = "USD"


@dataclass(frozen=True)
class CustomerCredit:
    customer: Customer
    percent: int
    amount: Decimal
    worst_service: str | None  # the service whose shortfall decides


def customer_credit(customer: Customer, compliance: dict[str, Compliance]) -> CustomerCredit:
    """A customer with several services gets the credit of the worst one (credits do not add up)."""
    worst, percent_ = None, 0
    for service in customer.services:
        if service in compliance and (owed := credit(customer.tier, compliance[service])) > percent_:
            worst, percent_ = service, owed
    amount = (customer.monthly_fee * percent_ / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return CustomerCredit(customer, percent_, amount, worst)
