"""Automated remediation: alerts answered by policies (config `remediation`), inside the alert delivery's own
transaction, so that a re-sent group decides nothing twice. What runs, runs later from a DB timer (exactly once
across processes and restarts); its verification and its escalation are timers too
(bot/services/remediation_timers.py). The pause switch and the status live here."""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta

import structlog

from bot.config import Settings
from bot.config_remediation import PolicySection
from bot.core import effects as fx
from bot.core import remediation as core
from bot.core.alerts import Alert, AlertGroup, Change
from bot.core.incident import DomainError, Event, Incident, Severity
from bot.core.ports import Clock, Dispatch
from bot.core.remediation import Outcome, Verdict
from bot.services import remediation_texts as texts
from bot.services.authorization import Authorizer
from bot.services.incidents import Duplicate
from bot.services.unit_of_work import UnitOfWork
from bot.storage.remediation import NewRun, RemediationRun, Switch
from bot.storage.repository import Store, Transaction

log = structlog.get_logger("warroom.remediation")
ACTOR = "remediation"
ACT, VERIFY, ESCALATE = "remediation_act", "remediation_verify", "remediation_escalate"


def act_key(run_id: int) -> str:
    return f"remediation:{run_id}:act"


def verify_key(run_id: int) -> str:
    return f"remediation:{run_id}:verify"


def escalate_key(run_id: int) -> str:
    return f"remediation:{run_id}:escalate"


class RemediationService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, auth: Authorizer, catalog=None,
                 dispatch: Dispatch | None = None):
        self.store, self.settings, self.clock, self.auth, self.catalog = store, settings, clock, auth, catalog
        self.section = settings.file.remediation
        self.policies = [p for p in self.section.policies if p.enabled]
        self._matchers = {p.name: p.matcher_list() for p in self.policies}
        self._follow_ups = {p.name: p.escalate.follow_up_matchers() for p in self.policies}
        self.work = UnitOfWork(store, dispatch)

    @property
    def active(self) -> bool:
        return self.section.enabled and bool(self.policies)

    def policy(self, name: str) -> PolicySection | None:
        return next((p for p in self.policies if p.name == name), None)

    def paged(self, policy: PolicySection) -> str:
        return texts.who_is_paged(policy, self.slots(policy))

    def slots(self, policy: PolicySection) -> tuple[str, ...]:
        if policy.escalate.page is not None:
            return tuple(policy.escalate.page)
        return tuple(self.settings.policy(self.severity(policy)).page)

    @staticmethod
    def severity(policy: PolicySection) -> Severity:
        return Severity(int(policy.escalate.severity[-1]))

    @property
    def channel(self) -> str:
        return self.section.channel or self.settings.file.alerts.channel

    # -- in the alert delivery's transaction -------------------------------------------------------
    async def on_changes(self, tx: Transaction, group: AlertGroup, found: list[Change], now: datetime) -> None:
        """Answers what one delivery changed: new firings go to the policies that match them and to the runs
        watching for a follow-up alert; a resolve may tell a run it worked."""
        if not self.active or not found:
            return
        incident = await tx.incidents.get(group.incident_id) if group.incident_id else None
        incident = incident if incident is not None and incident.is_open else None
        switch: Switch | None = None
        for change in found:
            alert = change.alert
            if change.kind == "resolved":
                await self._resolved(tx, alert, now)
                continue
            await self._follow_up(tx, alert, now)
            for policy in self.policies:
                if core.matches(self._matchers[policy.name], alert.labels):
                    switch = switch or await tx.remediation.switch()
                    await self._answer(tx, policy, group, alert, incident, switch.paused, now)

    async def _answer(self, tx: Transaction, policy: PolicySection, group: AlertGroup, alert: Alert,
                      incident: Incident | None, paused: bool, now: datetime) -> None:
        target = core.target_of(policy.target_labels(), alert.labels)
        history = await tx.remediation.history(policy.name, now - core.PER_ALERT_WINDOW)
        verdict = core.decide(record_only=policy.record, guard=policy.guardrails(), target=target,
                              fingerprint=alert.fingerprint, history=history, now=now, paused=paused,
                              dry_run=self.section.dry_run)
        request: dict = {}
        if verdict.outcome in (Outcome.PENDING, Outcome.DRY_RUN, Outcome.PAUSED, Outcome.LIMITED):
            try:
                request = self.request(policy, alert.labels)
            except (core.ArgumentRefused, DomainError) as exc:
                verdict = Verdict(Outcome.REFUSED, str(exc), escalate=not self.section.dry_run)
        watching = verdict.outcome in (Outcome.DRY_RUN, Outcome.RECORDED)
        run = NewRun(policy.name, policy.kind, verdict.outcome, alert.fingerprint, alert.starts_at,
                     dict(alert.labels), target, now, reason=verdict.reason, group_id=group.id,
                     incident_id=incident.id if incident else None, covered_by=verdict.covered_by, request=request,
                     verify_at=now + timedelta(minutes=policy.verify_after_minutes)
                     if watching and policy.verify_after_minutes else None,
                     watch_until=now + timedelta(minutes=policy.escalate.follow_up_minutes)
                     if watching and policy.escalate.follow_up else None)
        run_id = await tx.remediation.add(run)
        if run_id is None:
            return  # this policy answered this firing before (a late re-send)
        log.info("remediation_decided", policy=policy.name, run=run_id, outcome=verdict.outcome.value,
                 target=target, reason=verdict.reason)
        if verdict.outcome is Outcome.PENDING:
            await tx.timers.set(act_key(run_id), ACT, now, payload={"run": run_id})
            return
        if run.verify_at:
            await tx.timers.set(verify_key(run_id), VERIFY, run.verify_at, payload={"run": run_id})
        if verdict.escalate:
            await tx.timers.set(escalate_key(run_id), ESCALATE, now, payload={"run": run_id, "why": verdict.reason})
        if verdict.announce:
            saved = await tx.remediation.get(run_id)
            await self.tell(tx, saved, texts.decided(saved, policy, self.paged(policy), dry_run=self.section.dry_run),
                            now)

    def request(self, policy: PolicySection, labels: dict[str, str]) -> dict:
        """What the policy sends for these labels: argv (from the runbook command and the allowed labels) or the
        HTTP request (headers by name only: their values are secrets). Raises when it may not run."""
        if policy.record:
            return {}
        patterns = policy.patterns()
        if policy.http:
            body = _fill(policy.http.body, labels, patterns)
            return {"method": "POST", "url": policy.http.url, "headers": sorted(policy.http.headers), "body": body}
        return {"argv": self.command(policy)[0] + core.render_arguments(tuple(policy.run.args), labels, patterns)}

    def command(self, policy: PolicySection) -> tuple[list[str], int]:
        """The runbook command's argv and timeout; DomainError when it is missing, not executable, not in the
        allowlist or never automated (the runbook may have changed since `warroom check`)."""
        runbook_id, command_id = policy.run.command.split("/")
        runbook = self.catalog.get(runbook_id) if self.catalog is not None else None
        if runbook is None:
            raise DomainError(f"no runbook `{runbook_id}`")
        _, command = runbook.command(command_id)
        if not command.executable:
            raise DomainError(f"`{policy.run.command}` is not marked executable in its runbook")
        if policy.run.command not in self.settings.file.runbooks.execution.allow:
            raise DomainError(f"`{policy.run.command}` is not in runbooks.execution.allow")
        if command.category in core.NEVER_AUTOMATED:
            raise DomainError(f"`{policy.run.command}` is a {command.category.replace('_', ' ')} command: never "
                              f"automated")
        return shlex.split(command.run), command.timeout_seconds

    async def _resolved(self, tx: Transaction, alert: Alert, now: datetime) -> None:
        """The alert a run answered resolved before its verification: it worked; say so now."""
        for run in await tx.remediation.unverified_of(alert.fingerprint):
            if run.outcome not in (Outcome.SUCCEEDED, Outcome.RECORDED, Outcome.DRY_RUN):
                continue
            if await self.still_firing(tx, run):
                continue  # another alert it covers still fires: the verification decides
            policy = self.policy(run.policy)
            await tx.remediation.update(run.id, verification=core.Verification.FIXED.value)
            await tx.timers.cancel(verify_key(run.id))
            await self.tell(tx, run, texts.fixed(run, policy), now)

    async def _follow_up(self, tx: Transaction, alert: Alert, now: datetime) -> None:
        """A follow-up alert (DiskUsage90 after the cleanup) about a watched run's target pages at once."""
        policies = [p for p in self.policies if core.matches(self._follow_ups[p.name], alert.labels)]
        if not policies:
            return
        for run in await tx.remediation.watching([p.name for p in policies], now):
            policy = self.policy(run.policy)
            if core.same_target(policy.target_labels(), run.labels, alert.labels):
                await self.escalate_later(tx, run, f"{alert.name} fired after it", now,
                                          core.Verification.FOLLOW_UP)

    async def escalate_later(self, tx: Transaction, run: RemediationRun, why: str, now: datetime,
                             verification: core.Verification | None = None) -> None:
        """Pages from a timer of its own, due now: who is on call is looked up outside any transaction."""
        await tx.remediation.update(run.id, watch_until=None,
                                    verification=verification.value if verification else run.verification)
        await tx.timers.cancel(verify_key(run.id))
        await tx.timers.set(escalate_key(run.id), ESCALATE, now, payload={"run": run.id, "why": why})

    async def still_firing(self, tx: Transaction, run: RemediationRun) -> bool:
        """Whether the run's alert, or one it covers (the same target in a storm), is firing now."""
        rows = [run] + await tx.remediation.covered(run.id)
        groups = {}
        for row in rows:
            if row.group_id is not None and row.group_id not in groups:
                groups[row.group_id] = await tx.alerts.get(row.group_id)
        fingerprints = {row.fingerprint for row in rows}
        return any(alert.firing and alert.fingerprint in fingerprints
                   for group in groups.values() if group is not None for alert in group.alerts)

    async def tell(self, tx: Transaction, run: RemediationRun, text: str, now: datetime) -> None:
        """In the war room of the alerts' incident (and on its timeline), else in the remediation channel."""
        incident = await self.open_incident(tx, run)
        if incident is not None:
            await tx.timeline.append(incident.id, [Event("remediation", ACTOR, now, text[:3000].split("\n```")[0],
                                                         {"run": run.id, "policy": run.policy})])
            await tx.outbox.enqueue(incident.id, [[fx.RemediationNotice(text=text)]], now)
        else:
            # The lane of the alerts' own message in the channel: the notice follows it.
            await tx.outbox.enqueue(None, [[fx.RemediationNotice(channel=self.channel, text=text)]], now,
                                    lane=f"alerts-{run.group_id}" if run.group_id else f"remediation-{run.policy}")

    async def open_incident(self, tx: Transaction, run: RemediationRun) -> Incident | None:
        group = await tx.alerts.get(run.group_id) if run.group_id else None
        for incident_id in (group.incident_id if group else None, run.incident_id):
            if incident_id:
                incident = await tx.incidents.get(incident_id)
                if incident is not None and incident.is_open:
                    return incident
        return None

    # -- the pause switch --------------------------------------------------------------------------
    async def set_paused(self, paused: bool, channel_id: str, actor: str, why: str, request_key: str) -> str:
        """`/incident automation pause|resume [why]`: the IC of the war room it is typed in, or an incident
        manager. Recorded with who and why; every replica reads it before acting."""
        async with self.store.reading() as tx:
            incident = await tx.incidents.in_channel(channel_id)
        if not (incident is not None and incident.is_open and incident.commander == actor) and \
                not await self.auth.is_manager(actor):
            managers = f" or a member of @{self.auth.managers}" if self.auth.managers else ""
            raise DomainError(f"Only the Incident Commander of an open incident (in its war room){managers} may "
                              f"{'pause' if paused else 'resume'} automation.")
        now = self.clock.now()
        verb = "paused" if paused else "resumed"
        text = (f":double_vertical_bar: <@{actor}> paused automated remediation" if paused else
                f":arrow_forward: <@{actor}> resumed automated remediation") + (f": {why}" if why else "") + "."
        async with self.work() as tx:
            before = await tx.remediation.switch()
            if not await tx.remediation.flip(paused, actor, why[:500], now, request_key):
                raise Duplicate()
            if incident is not None and incident.is_open:
                await tx.timeline.append(incident.id, [Event("remediation", actor, now, text, {"paused": paused})])
            await tx.outbox.enqueue(None, [[fx.RemediationNotice(channel=self.channel, text=text)]], now,
                                    lane="remediation-switch")
        log.warning("remediation_switched", paused=paused, actor=actor, why=why)
        already = " (it already was)" if before.paused == paused else ""
        return f"Automated remediation is {verb}{already}. Announced in #{self.channel}."

    async def status(self) -> str:
        async with self.store.reading() as tx:
            switch = await tx.remediation.switch()
            recent = await tx.remediation.recent(5)
        return texts.status(self.section, self.policies, switch, recent)


def _fill(value, labels: dict[str, str], patterns) -> object:
    if isinstance(value, str):
        return core.render_arguments((value,), labels, patterns)[0]
    if isinstance(value, dict):
        return {key: _fill(item, labels, patterns) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, labels, patterns) for item in value]
    return value
