"""The SLA, watched: every five minutes, as a window closes, warroom checks each service's month so far and its
error-budget burn; on the report day it posts last month's report. Both are timers in the database, so they
fire exactly once across processes and restarts; Prometheus is asked before the timer's transaction
(`prepare`), and everything they decide commits with the timer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core import sla as core
from bot.core.incident import DomainError, Event, Incident, Severity
from bot.core.ports import Clock
from bot.core.sla import Compliance, Month, Verdict
from bot.core.sla_credits import TARGETS, Tier, breached, credit, customer_credit
from bot.core.sla_report import SlaReport
from bot.core.text import escape
from bot.services.incidents import IncidentService
from bot.services.postmortems import PostmortemService
from bot.services.sla import SlaService
from bot.services.sla_texts import breach_notice, customer_draft, monthly_text
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.sla")
ACTOR = "warroom"
SLA_REPORT, SLA_REPORT_KEY = "sla_monthly_report", "sla:monthly_report"
SLA_CHECK, SLA_CHECK_KEY = "sla_check", "sla:check"
CHECK_DELAY = timedelta(minutes=1)  # after a window closes: its last scrape has landed in Prometheus
BURN_LOOKBACK = timedelta(hours=6)  # the slow burn's long window
TREND_MONTHS = 3


def next_check(now: datetime) -> datetime:
    closed = now - CHECK_DELAY
    boundary = closed.replace(second=0, microsecond=0, minute=closed.minute - closed.minute % 5)
    return boundary + core.WINDOW + CHECK_DELAY


def next_report(now: datetime, day: int) -> datetime:
    """The report day, 09:00 UTC: this month's if still ahead, else next month's."""
    this = now.replace(day=day, hour=9, minute=0, second=0, microsecond=0)
    return this if this > now else Month.of(now).next().start.replace(day=day, hour=9)


@dataclass(frozen=True)
class ServiceNow:
    month: Compliance  # the month so far
    fast: bool  # 14.4x over 1 h and 5 min
    slow: bool  # 6x over 6 h and 30 min


@dataclass(frozen=True)
class Checked:
    month: Month
    services: dict[str, ServiceNow]
    on_call: dict[str, list[str]]


@dataclass(frozen=True)
class MonthFacts:
    report: SlaReport
    trend: list[tuple[Month, dict[str, float | None]]]  # oldest first
    incidents: list[tuple[Incident, str]]  # with the root cause, as far as known


class SlaWatch:
    def __init__(self, sla: SlaService, incidents: IncidentService, store: Store, settings: Settings, clock: Clock,
                 work: UnitOfWork | None = None):
        self.sla = sla
        self.incidents = incidents
        self.store = store
        self.settings = settings
        self.clock = clock
        self.work = work or UnitOfWork(store)

    @property
    def section(self):
        return self.settings.file.sla

    async def ensure_timers(self) -> None:
        """At start: the five-minute check, and the monthly report once sla.report_channel is set."""
        if not self.sla.configured:
            return
        now = self.clock.now()
        async with self.work() as tx:
            if await tx.timers.status(SLA_CHECK_KEY) != "pending":
                await tx.timers.set(SLA_CHECK_KEY, SLA_CHECK, next_check(now))
            if self.section.report_channel and await tx.timers.status(SLA_REPORT_KEY) != "pending":
                await tx.timers.set(SLA_REPORT_KEY, SLA_REPORT, next_report(now, self.section.report_day))

    # -- the monthly report ------------------------------------------------------------------------------
    async def prepare_report(self, timer: Timer, now: datetime) -> MonthFacts | None:
        if not self.sla.configured or not self.section.report_channel:
            return None
        month = Month.of(now).previous()
        report = await self.sla.report(month)
        trend, earlier = [], month
        for _ in range(TREND_MONTHS):
            earlier = earlier.previous()
            past = await self.sla.report(earlier)
            trend.insert(0, (earlier, {c.service: _trend_figure(c) for c in past.services}))
        async with self.store.reading() as tx:
            found = await tx.incidents.overlapping(month.start, month.next().start)
            found = [i for i in found if i.declared_at >= month.start or (i.resolved_at or now) >= month.start]
            causes = [(i, root_cause(await tx.postmortems.get(i.id), i)) for i in found]
        return MonthFacts(report, trend, causes)

    async def fire_report(self, tx: Transaction, timer: Timer, now: datetime, prepared: MonthFacts | None) -> Fired:
        channel = self.section.report_channel
        if prepared is not None and channel:
            report = prepared.report
            await tx.outbox.enqueue(None, [[fx.SlaMonthlyReport(
                channel=channel, month=str(report.month), text=monthly_text(prepared.report, prepared.trend,
                                                                            prepared.incidents),
                slo=str(report.slo), verdicts={c.service: core.encode(c.verdicts) for c in report.services})]], now,
                lane="sla-report")
            log.info("sla_report_queued", month=str(report.month))
        return Fired(next_report(now, self.section.report_day), fired=prepared is not None)

    # -- the five-minute check -----------------------------------------------------------------------------
    async def prepare_check(self, timer: Timer, now: datetime) -> Checked | None:
        if not self.sla.configured:
            return None
        month = Month.of(now)
        burn_from = (now - BURN_LOOKBACK).replace(hour=0, minute=0, second=0, microsecond=0)
        since = min(month.start, burn_from)
        slo = self.section.slo_target
        services = {}
        for name in self.sla.services():
            try:
                measured = await self.sla.month_to_date(name, now, since)
            except DomainError as exc:  # Prometheus down or refusing: this check skips it, the next one tries again
                log.warning("sla_check_unmeasured", service=name, error=str(exc))
                continue
            if all(v in (Verdict.BAD_NO_DATA, Verdict.EXCLUDED) for v in measured.verdicts):
                # Not one sample since the month began: a selector that matches nothing (a typo, a renamed
                # metric) far more likely than a month-long outage. Nobody is paged for it; /sla shows it.
                log.warning("sla_service_without_samples", service=name)
                continue
            services[name] = ServiceNow(measured.between(month.start, measured.span.end),
                                        core.burning(measured.verdicts, slo, core.FAST_BURN),
                                        core.burning(measured.verdicts, slo, core.SLOW_BURN))
        paging = any(s.fast for s in services.values())
        on_call = await self.incidents.on_call_for(Severity.SEV2) if paging else {}
        return Checked(month, services, on_call)

    async def fire_check(self, tx: Transaction, timer: Timer, now: datetime, prepared: Checked | None) -> Fired:
        if prepared is None:
            return Fired(None, fired=False)  # no SLA any more: the check stops until it is configured again
        acted = False
        for name, state in prepared.services.items():
            for tier in (Tier.ENTERPRISE, Tier.PRO):
                if breached(tier, state.month) and await tx.sla.notice_once(
                        f"sla:breach:{prepared.month}:{name}:{tier.value}", now):
                    await self._breach(tx, name, tier, state.month, now)
                    acted = True
            if state.fast:  # a page covers the warning
                if await tx.sla.notice_once(f"sla:burn:fast:{name}:{now:%Y-%m-%dT%H}", now):
                    await self._fast_burn(tx, name, prepared.on_call, now)
                    acted = True
            elif state.slow and await tx.sla.notice_once(f"sla:burn:slow:{name}:{now:%Y-%m-%d}:{now.hour // 6}", now):
                await tx.outbox.enqueue(None, [[fx.SlaNotice(
                    channel=self.settings.file.alerts.channel,
                    text=f":hourglass_flowing_sand: *{escape(name)}* is spending its error budget 6× faster than the "
                         f"SLO ({core.percent(self.section.slo_target, 2)} %) allows, over the last 6 hours and "
                         f"30 minutes. Not urgent yet; look before it becomes a page.")]], now, lane="sla")
                acted = True
        return Fired(next_check(now), fired=acted)

    async def _breach(self, tx: Transaction, service: str, tier: Tier, month: Compliance, now: datetime) -> None:
        customers = [customer_credit(c, {service: month}) for c in self.section.resolved_customers()
                     if c.tier is tier and service in c.services]
        rest = self.month_windows_left(month)
        projected = Compliance(service, month.span, month.verdicts + (Verdict.GOOD,) * rest)
        text = breach_notice(service, tier, month, credit(tier, month), credit(tier, projected), customers)
        channel = self.section.finance_channel or self.section.report_channel or self.settings.file.alerts.channel
        await tx.outbox.enqueue(None, [[fx.SlaNotice(channel=channel, text=text)]], now, lane="sla")
        periods = month.bad_periods()
        overlapping = [i for i in await tx.incidents.overlapping(month.span.start, now)
                       if i.service in ("", service) and _overlaps(i, periods, now)]
        draft = customer_draft(service, tier, month, credit(tier, month))
        if overlapping:
            latest = overlapping[-1]
            who = f"<@{latest.communicator}>" if latest.communicator else "Communicator"
            await tx.outbox.enqueue(latest.id, [[fx.PostMessage(template=fx.Template.SLA_NOTICE, text=(
                f":receipt: {who}, {escape(service)} fell below the {tier.value.capitalize()} SLA this month. A draft "
                f"for the customers, to adapt and send:\n{draft}"))]], now)
        else:
            await tx.outbox.enqueue(None, [[fx.SlaNotice(channel=channel, text=(
                f":receipt: Draft for the customers of {escape(service)}, for the Communicator to adapt and send "
                f"(no incident overlaps the bad windows):\n{draft}"))]], now, lane="sla")
        for incident in overlapping:
            await self._mandatory(tx, incident, service, tier, now)
        log.info("sla_breach_noticed", service=service, tier=tier.value, incidents=[i.id for i in overlapping])

    async def _mandatory(self, tx: Transaction, incident: Incident, service: str, tier: Tier, now: datetime) -> None:
        """An incident during an SLA breach needs a post-mortem, whatever its severity."""
        if incident.postmortem_mandatory:
            return
        await tx.incidents.save(dataclasses.replace(incident, postmortem_mandatory=True))
        text = (f"SLA breach: {service} is below the {tier.value.capitalize()} SLA "
                f"({core.percent(TARGETS[tier], 1)} %) this month; a post-mortem of {incident.reference} is mandatory")
        await tx.timeline.append(incident.id, [Event("sla", ACTOR, now, text)])
        await tx.outbox.enqueue(incident.id, [[fx.PostMessage(template=fx.Template.SLA_NOTICE,
                                                              text=f":memo: {escape(text)}.")]], now)
        if not incident.is_open and await tx.postmortems.get(incident.id) is None:
            await PostmortemService.schedule(tx, incident, True)

    async def _fast_burn(self, tx: Transaction, service: str, on_call: dict[str, list[str]], now: datetime) -> None:
        text = (f"{service} is spending its error budget 14.4× faster than the SLO "
                f"({core.percent(self.section.slo_target, 2)} %) allows, over the last hour and the last 5 minutes: "
                f"at this pace a month's budget is gone in about two days")
        open_ = [i for i in await tx.incidents.open() if i.service == service and not i.is_drill]
        if open_:  # people are on it already: tell them, do not page again
            await tx.outbox.enqueue(open_[0].id, [[fx.PostMessage(template=fx.Template.SLA_NOTICE,
                                                                  text=f":fire: {escape(text)}.")]], now)
            return
        declared = await self.incidents.declare_in(
            tx, title=f"{service}: error budget burning fast", severity=Severity.SEV2, actor=ACTOR,
            request_key=f"sla:burn:fast:{service}:{now:%Y-%m-%dT%H}", on_call=on_call, description=text,
            service=service)
        log.info("sla_fast_burn_declared", service=service, incident_id=declared.incident.id)

    def month_windows_left(self, month: Compliance) -> int:
        return Month.of(month.span.start).span.windows - len(month.verdicts)


UNMONITORED = 0.9  # a past month with this share of its windows unsampled shows as "no data" in the trend


def _trend_figure(month: Compliance) -> float | None:
    """A past month's availability for the trend; None for a month before monitoring began (almost no sample:
    by the SLA's definition it would read as a month-long outage, which it was not)."""
    if not month.verdicts or month.count(Verdict.BAD_NO_DATA) >= UNMONITORED * len(month.verdicts):
        return None
    return float(month.availability * 100) if month.availability is not None else None


def _overlaps(incident: Incident, periods, now: datetime) -> bool:
    start = incident.impact_started_at or incident.declared_at
    end = incident.resolved_at or now
    return any(p.start < end and p.end > start for p in periods)


def root_cause(postmortem, incident: Incident) -> str:
    """The post-mortem's root cause as its author wrote it, else the resolve summary."""
    if postmortem is not None:
        _, _, after = postmortem.content.partition("## Root cause")
        for line in after.split("\n## ")[0].splitlines():
            line = line.strip()
            if line and not line.startswith("_") and not line.rstrip("?").endswith("Why"):
                return line.lstrip("0123456789. ")[:200]
    return incident.summary[:200]
