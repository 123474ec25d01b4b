"""config.yaml's `sla` section: where Prometheus is, how each service is measured, the customers and their tiers,
scheduled maintenance, and where the monthly report and breach notices go."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from bot.config_base import ChannelName, Strict
from bot.core.sla import Maintenance
from bot.core.sla_credits import Customer, Tier

# An instant-vector selector: a metric name with optional label matchers, or matchers alone. Functions and
# aggregations are refused: warroom reads the raw samples of exactly these series.
_SELECTOR = re.compile(r'^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{.*\})?|\{.*\})\s*$', re.S)
_MATCHER = re.compile(r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*(?:,|$)')


def _selector(text: str) -> str:
    if not _SELECTOR.match(text):
        raise ValueError(f"`{text}` is not an instant-vector selector such as "
                         f'http_requests_total{{service="api"}} (no functions, ranges or aggregations)')
    if "{" in text:
        inside = text[text.index("{") + 1:text.rindex("}")]
        position = 0
        while position < len(inside.strip()):
            found = _MATCHER.match(inside, position)
            if not found:
                raise ValueError(f"`{text}`: the label matchers must look like name=\"value\", name=~\"regex\", "
                                 f"name!=\"value\" or name!~\"regex\", separated by commas")
            position = found.end()
    return text


Selector = Annotated[str, AfterValidator(_selector)]
Percent = Annotated[Decimal, Field(gt=0, lt=100)]


class SlaServiceSection(Strict):
    """A request counter (`total`, and `errors` for the 5xx among them) or a synthetic check (`probe`)."""

    total: Selector | None = Field(None, description="counter of all requests, e.g. "
                                                     'http_requests_total{service="api"}')
    errors: Selector | None = Field(None, description="counter of the failed ones, e.g. "
                                                      'http_requests_total{service="api",code=~"5.."}')
    probe: Selector | None = Field(None, description='a probe result (1 up, 0 down), e.g. probe_success{instance="…"}')

    @model_validator(mode="after")
    def _one_source(self):
        if self.probe and (self.total or self.errors):
            raise ValueError("give either total and errors (a request counter) or probe (a synthetic check), "
                             "not both")
        if not self.probe and not (self.total and self.errors):
            raise ValueError("needs total and errors (request counters) or probe (a synthetic check)")
        return self


class CustomerSection(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    tier: Tier
    services: list[str] = Field(min_length=1)
    monthly_fee: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-10-10T02:00:00Z")
    return value.astimezone(UTC)


class MaintenanceSection(Strict):
    service: str = Field(description='a service of sla.services, or "*" for all')
    start: datetime
    end: datetime
    announced: datetime = Field(description="when customers were told; 72 hours or more before start excludes it")

    _aware = field_validator("start", "end", "announced")(classmethod(lambda cls, value: _utc(value)))

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class SlaSection(Strict):
    """SLA compliance from Prometheus (off until services are listed and a Prometheus address is known)."""

    prometheus_url: Annotated[str, Field(pattern=r"^https?://")] | None = Field(
        None, description="Prometheus' address; PROMETHEUS_URL overrides it")
    slo: Percent = Field(Decimal("99.95"), description="the internal target (percent), stricter than any SLA")
    services: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")], SlaServiceSection] = Field(
        default_factory=dict)
    customers: list[CustomerSection] = Field(default_factory=list)
    maintenance: list[MaintenanceSection] = Field(default_factory=list)
    report_day: Annotated[int, Field(ge=1, le=28)] = 1
    report_channel: ChannelName | None = Field(None, description="where the monthly report is posted")
    finance_channel: ChannelName | None = Field(None, description="where potential credits are announced")

    @model_validator(mode="after")
    def _known_services(self):
        for index, customer in enumerate(self.customers):
            for service in customer.services:
                if service not in self.services:
                    raise ValueError(f"sla.customers[{index}] ({customer.name}) names service `{service}`, which "
                                     f"sla.services does not define")
        for index, window in enumerate(self.maintenance):
            if window.service != "*" and window.service not in self.services:
                raise ValueError(f"sla.maintenance[{index}] names service `{window.service}`, which sla.services "
                                 f"does not define")
        return self

    @property
    def slo_target(self) -> Fraction:
        return Fraction(self.slo) / 100

    def resolved_customers(self) -> tuple[Customer, ...]:
        return tuple(Customer(c.name, c.tier, tuple(c.services), c.monthly_fee, c.currency) for c in self.customers)

    def resolved_maintenance(self) -> tuple[Maintenance, ...]:
        return tuple(Maintenance(m.service, m.start, m.end, m.announced, "config.yaml") for m in self.maintenance)
