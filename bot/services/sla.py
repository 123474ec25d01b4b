"""SLA compliance as people ask for it: a month's report (the CLI, `/sla`, the monthly post), maintenance announced
from Slack, and the error budget an incident consumed (for its post-mortem)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from cachetools import LRUCache

from bot.config import Settings
from bot.core import sla as core
from bot.core.incident import DomainError, Incident
from bot.core.ports import Clock
from bot.core.sla import Compliance, Maintenance, Month, Span, Verdict
from bot.core.sla_credits import customer_credit
from bot.core.sla_report import SlaReport
from bot.integrations.prometheus import Prometheus, PrometheusError
from bot.services.authorization import Authorizer
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store

log = structlog.get_logger("warroom.sla")
DAY = timedelta(days=1)
SCRAPE_LAG = timedelta(minutes=10)  # a day's samples are final this long after it ends


@dataclass(frozen=True)
class Announced:
    window: Maintenance
    created: bool


class SlaService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, prometheus: Prometheus | None,
                 work: UnitOfWork | None = None, auth: Authorizer | None = None):
        self.store = store
        self.settings = settings
        self.clock = clock
        self.prometheus = prometheus
        self.work = work or UnitOfWork(store)
        self.auth = auth
        self._days: LRUCache = LRUCache(maxsize=4096)  # (service, day) -> verdicts of a day whose samples are final

    @property
    def section(self):
        return self.settings.file.sla

    @property
    def configured(self) -> bool:
        return self.prometheus is not None and bool(self.section.services)

    def _require(self) -> Prometheus:
        if not self.section.services:
            raise DomainError("No SLA is configured: list the services to measure in config.yaml, section `sla`.")
        if self.prometheus is None:
            raise DomainError("No Prometheus to measure the SLA from: set `sla.prometheus_url` or PROMETHEUS_URL.")
        return self.prometheus

    def services(self, only: str | None = None) -> list[str]:
        if only is None:
            return list(self.section.services)
        if only not in self.section.services:
            raise DomainError(f"`{only}` is no SLA service (known: {', '.join(self.section.services) or 'none'}).")
        return [only]

    # -- measuring ---------------------------------------------------------------------------------
    async def verdicts(self, service: str, span: Span) -> list[Verdict]:
        """Each window judged from Prometheus' raw samples (maintenance not applied yet)."""
        prometheus = self._require()
        measured = self.section.services[service]
        if span.windows == 0:
            return []
        try:
            if measured.probe:
                probes = core.ProbeWindows(span)
                await prometheus.samples(measured.probe, span, probes.add)
                return core.judge_probes(probes)
            total, errors = core.CounterWindows(span), core.CounterWindows(span)
            for selector, windows in ((measured.total, total), (measured.errors, errors)):
                for series, value in (await prometheus.baseline(selector, span.start)).items():
                    windows.baseline(series, value)
                await prometheus.samples(selector, span, windows.add)
            return core.judge_counters(total, errors)
        except PrometheusError as exc:
            raise DomainError(f"sla.services.{service}: {exc}") from None

    async def maintenance(self, start: datetime, end: datetime) -> list[Maintenance]:
        """Config's maintenance and Slack's, overlapping [start, end)."""
        async with self.store.reading() as tx:
            announced = await tx.sla.maintenance(start, end)
        configured = [m for m in self.section.resolved_maintenance() if m.start < end and m.end > start]
        return sorted(configured + announced, key=lambda m: m.start)

    async def compliance(self, service: str, span: Span, maintenance: list[Maintenance] | None = None) -> Compliance:
        if maintenance is None:
            maintenance = await self.maintenance(span.start, span.end)
        verdicts = await self.verdicts(service, span)
        return Compliance(service, span, tuple(core.exclude_maintenance(verdicts, span, service, maintenance)))

    async def report(self, month: Month | None = None, service: str | None = None) -> SlaReport:
        """A month's report; the current month's counts the windows closed so far."""
        self._require()
        now = self.clock.now()
        month = month or Month.of(now)
        if month.start > now:
            raise DomainError(f"{month} has not begun yet.")
        names = self.services(service)
        span = month.span.until(now)
        maintenance = await self.maintenance(month.start, month.next().start)
        measured = await asyncio.gather(*(self.compliance(name, span, maintenance) for name in names))
        by_name = {c.service: c for c in measured}
        customers = tuple(customer_credit(customer, by_name) for customer in self.section.resolved_customers()
                          if any(name in by_name for name in customer.services))
        return SlaReport(month, min(now, span.end), self.section.slo_target, tuple(measured), customers)

    async def month_to_date(self, service: str, now: datetime, since: datetime) -> Compliance:
        """From `since` (a day's start) to the last closed window. Days whose samples are final are measured once
        per process, so checking every five minutes asks Prometheus for the last day or two only."""
        span = Span(since, int((now - since) / core.WINDOW))
        per_day = int(DAY / core.WINDOW)
        days = [since + DAY * n for n in range(-(-span.windows // per_day))]
        final = [day for day in days if day + DAY + SCRAPE_LAG <= now]
        missing = [n for n, day in enumerate(final) if (service, day) not in self._days]
        if missing:  # from the first day not measured yet, in one fetch (a day per chunk)
            first = missing[0]
            found = await self.verdicts(service, Span(final[first], per_day * (len(final) - first)))
            for n, day in enumerate(final[first:]):
                self._days[(service, day)] = tuple(found[n * per_day:(n + 1) * per_day])
        verdicts: list[Verdict] = [v for day in final for v in self._days[(service, day)]]
        if len(verdicts) < span.windows:
            verdicts += await self.verdicts(service, Span(since + DAY * len(final), span.windows - len(verdicts)))
        maintenance = await self.maintenance(span.start, span.end)
        return Compliance(service, span, tuple(core.exclude_maintenance(verdicts, span, service, maintenance)))

    async def incident_impact(self, incident: Incident) -> dict[str, int] | None:
        """Minutes of error budget each SLA service lost while the incident lasted (its service's alone when it
        names one); None when no SLA is measured or Prometheus cannot say."""
        if not self.configured:
            return None
        start = incident.impact_started_at or incident.declared_at
        end = incident.resolved_at or self.clock.now()
        first = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
        span = Span(first, max(1, -(-int((end - first).total_seconds()) // 300)))
        span = span.until(self.clock.now())
        names = [incident.service] if incident.service in self.section.services else list(self.section.services)
        try:
            measured = [await self.compliance(name, span) for name in names]
        except DomainError as exc:
            log.warning("sla_impact_unavailable", error=str(exc))
            return None
        return {c.service: c.downtime_minutes for c in measured}

    # -- maintenance from Slack ------------------------------------------------------------------------
    async def announce_maintenance(self, service: str, start: datetime, end: datetime, actor: str,
                                   request_key: str) -> Announced:
        if self.auth is not None:
            await self.auth.may_announce_maintenance(actor)
        if service != "*":
            self.services(service)
        if end <= start:
            raise DomainError("The maintenance must end after it starts.")
        now = self.clock.now()
        if end <= now:
            raise DomainError("That maintenance is over already: announce maintenance that is still to come.")
        if end - start > timedelta(days=7):
            raise DomainError("A maintenance window is at most 7 days long.")
        window = Maintenance(service, start, end, now, actor)
        async with self.work() as tx:
            created = await tx.sla.add_maintenance(window, request_key)
        log.info("sla_maintenance_announced", service=service, start=start.isoformat(), end=end.isoformat(),
                 excluded=window.excluded, created=created)
        return Announced(window, created)

    async def sees_customer_credits(self, actor: str) -> bool:
        return self.auth is not None and await self.auth.sees_customer_credits(actor)

    async def upcoming_maintenance(self, days_back: int = 30) -> list[Maintenance]:
        now = self.clock.now()
        return await self.maintenance(now - timedelta(days=days_back), now + timedelta(days=3650))
