"""Remediation's three timers, each fired exactly once across processes and restarts:

- act: claims the run (pending → running, in its own commit), runs the action outside any transaction, then
  records the result, announces it, and sets the verification, or pages at once when it failed. A run found
  already running was started by a process that died: its outcome is unknown, so a human is paged.
- verify: at `verify_after_minutes`, the alert still firing (or a follow-up alert) pages; resolved, nobody is.
- escalate: pages the policy's on-call slots into the alerts' open incident, or declares one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from bot import processes
from bot.core import effects as fx
from bot.core import remediation as core
from bot.core.incident import DomainError, Event
from bot.core.remediation import Outcome
from bot.integrations.http_action import HttpActions
from bot.services import remediation_texts as texts
from bot.services.effects import paged_users
from bot.services.incidents import IncidentService
from bot.services.remediation import ACTOR, VERIFY, RemediationService, verify_key
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.remediation")


@dataclass(frozen=True)
class Acted:
    outcome: Outcome
    exit_code: int | None = None
    http_status: int | None = None
    output: str = ""


class RemediationTimers:
    def __init__(self, remediation: RemediationService, incidents: IncidentService, runner,
                 http: HttpActions | None, work: UnitOfWork):
        self.remediation, self.incidents, self.runner, self.http, self.work = (remediation, incidents, runner,
                                                                              http, work)
        self.clock = remediation.clock
        self.settings = remediation.settings

    # -- act ---------------------------------------------------------------------------------------
    async def prepare_act(self, timer: Timer, now: datetime) -> Acted | None:
        run_id = timer.payload["run"]
        async with self.work() as tx:
            run = await tx.remediation.get(run_id, for_update=True)
            if run is None or run.outcome not in (Outcome.PENDING, Outcome.RUNNING):
                return None
            if run.outcome is Outcome.RUNNING:
                return Acted(Outcome.INTERRUPTED, output="warroom stopped while the action ran")
            if (await tx.remediation.switch()).paused:
                return Acted(Outcome.PAUSED)  # paused between the alert and now
            await tx.remediation.claim(run_id, processes.identity(), now)
        # Committed as running before it runs: a crash from here on is seen as "interrupted", never run again.
        policy = self.remediation.policy(run.policy)
        limit = self.settings.file.runbooks.execution.output_limit
        try:
            if policy is None:
                raise DomainError(f"policy `{run.policy}` is no longer configured")
            if run.kind == "http":
                missing = self.http.missing(policy.http.headers) if self.http else ["an HTTP client"]
                if missing:
                    raise DomainError(f"not set in the environment: {', '.join(missing)}")
                answer = await self.http.post(run.request["url"], policy.http.headers, run.request["body"],
                                              policy.http.timeout_seconds, limit)
                outcome = (Outcome.TIMED_OUT if answer.timed_out else
                           Outcome.SUCCEEDED if answer.status is not None and 200 <= answer.status < 300
                           else Outcome.FAILED)
                return Acted(outcome, http_status=answer.status, output=answer.text)
            _, timeout = self.remediation.command(policy)  # the runbook may have changed since the decision
            exit_code, output, timed_out = await self.runner.run(run.request["argv"], timeout, limit)
            outcome = Outcome.TIMED_OUT if timed_out else (Outcome.SUCCEEDED if exit_code == 0 else Outcome.FAILED)
            return Acted(outcome, exit_code=exit_code, output=output)
        except DomainError as exc:
            return Acted(Outcome.FAILED, output=f"not run: {exc}")
        except Exception as exc:  # the program is missing, not executable, ...
            return Acted(Outcome.FAILED, output=f"could not start: {exc}"[:limit])

    async def fire_act(self, tx: Transaction, timer: Timer, now: datetime, acted: Acted | None) -> Fired:
        if acted is None:
            return Fired(None, fired=False)
        run = await tx.remediation.get(timer.payload["run"], for_update=True)
        policy = self.remediation.policy(run.policy)
        now = self.clock.now()  # the timer's `now` is from before the action ran
        values = {"outcome": acted.outcome, "exit_code": acted.exit_code, "http_status": acted.http_status,
                  "output": acted.output, "finished_at": now}
        succeeded = acted.outcome is Outcome.SUCCEEDED
        if succeeded and policy is not None and policy.verify_after_minutes:
            values["verify_at"] = now + timedelta(minutes=policy.verify_after_minutes)
        if succeeded and policy is not None and policy.escalate.follow_up:
            values["watch_until"] = now + timedelta(minutes=policy.escalate.follow_up_minutes)
        await tx.remediation.update(run.id, **values)
        run = await tx.remediation.get(run.id)
        log.info("remediation_acted", run=run.id, policy=run.policy, outcome=acted.outcome.value,
                 exit_code=acted.exit_code, http_status=acted.http_status)
        if acted.outcome is Outcome.PAUSED:
            if policy is not None:
                await self.remediation.tell(tx, run, texts.decided(run, policy, self.remediation.paged(policy)), now)
            return Fired(None)
        if run.verify_at:
            await tx.timers.set(verify_key(run.id), VERIFY, run.verify_at, payload={"run": run.id})
        paged = self.remediation.paged(policy) if policy is not None else "the on-call"
        await self.remediation.tell(tx, run, texts.finished(run, policy, paged) if policy is not None else
                                    f"Policy `{run.policy}`: {texts.result(run)}.", now)
        if not succeeded:
            await self.remediation.escalate_later(tx, run, f"the action {texts.result(run).replace('*', '')}", now)
        return Fired(None)

    # -- verify ------------------------------------------------------------------------------------
    async def fire_verify(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        run = await tx.remediation.get(timer.payload["run"], for_update=True)
        if run is None or run.verification or run.escalated_at:
            return Fired(None, fired=False)
        policy = self.remediation.policy(run.policy)
        follow_ups = policy.escalate.follow_up_matchers() if policy else ()
        group = await tx.alerts.get(run.group_id) if run.group_id else None
        follow_up = group is not None and any(
            alert.firing and core.matches(follow_ups, alert.labels)
            and core.same_target(policy.target_labels(), run.labels, alert.labels) for alert in group.alerts)
        verdict = core.verify(await self.remediation.still_firing(tx, run), follow_up)
        log.info("remediation_verified", run=run.id, policy=run.policy, verification=verdict.value)
        if verdict is core.Verification.FIXED:
            await tx.remediation.update(run.id, verification=verdict.value)
            await self.remediation.tell(tx, run, texts.fixed(run, policy), now)
            return Fired(None)
        what = {Outcome.DRY_RUN: "dry run", Outcome.RECORDED: "record"}.get(run.outcome, "action")
        why = (f"{run.alertname} was still firing {policy.verify_after_minutes if policy else '?'} minutes after "
               f"the {what}" if verdict is core.Verification.STILL_FIRING else "a follow-up alert is firing about it")
        await self.remediation.escalate_later(tx, run, why, now, verdict)
        return Fired(None)

    # -- escalate ----------------------------------------------------------------------------------
    async def prepare_escalate(self, timer: Timer, now: datetime) -> dict[str, list[str]]:
        async with self.work.store.reading() as tx:
            run = await tx.remediation.get(timer.payload["run"])
        policy = self.remediation.policy(run.policy) if run else None
        if policy is None or run.escalated_at or run.outcome is Outcome.DRY_RUN:
            return {}
        return await self.incidents.oncall.users(self.remediation.slots(policy), now)

    async def fire_escalate(self, tx: Transaction, timer: Timer, now: datetime,
                            on_call: dict[str, list[str]]) -> Fired:
        run = await tx.remediation.get(timer.payload["run"], for_update=True)
        if run is None or run.escalated_at:
            return Fired(None, fired=False)
        why = timer.payload.get("why", "")
        policy = self.remediation.policy(run.policy)
        if policy is None:
            return Fired(None, fired=False)
        await tx.remediation.update(run.id, escalated_at=now, escalation=why[:500])
        if run.outcome is Outcome.DRY_RUN:  # a dry run pages nobody: it says it would have
            await self.remediation.tell(tx, run, texts.would_page(run, why, self.remediation.paged(policy)), now)
            return Fired(None)
        slots = self.remediation.slots(policy)
        incident = await self.remediation.open_incident(tx, run)
        already: tuple[str, ...] = ()
        if incident is None:
            incident = await self._declare(tx, run, policy, slots, on_call, why, now)
            users = paged_users(slots, on_call)
        else:
            # Slots this incident has paged already are not paged again: a storm of failures is one page.
            fresh = tuple(slot for slot in slots if slot not in incident.paged)
            already = tuple(slot for slot in slots if slot in incident.paged)
            users = [u for u in paged_users(fresh, on_call) if u != incident.commander]
            if fresh:
                await tx.incidents.save(replace(incident, paged=incident.paged + fresh))
            if users:
                await tx.outbox.enqueue(incident.id, [[fx.Invite(users=tuple(users))], [
                    fx.Page(user=user, step=1, steps=1, reason=f"automation did not fix {run.alertname}: {why}")
                    for user in users]], now)
        nobody = [slot for slot in slots if not on_call.get(slot) and slot not in already]
        await tx.remediation.update(run.id, incident_id=incident.id)
        run = await tx.remediation.get(run.id)
        await self.remediation.tell(tx, run, texts.escalated(run, why, users, nobody, already), now)
        log.warning("remediation_escalated", run=run.id, policy=run.policy, incident_id=incident.id, why=why)
        return Fired(None)

    async def _declare(self, tx: Transaction, run, policy, slots, on_call, why: str, now: datetime):
        group = await tx.alerts.get(run.group_id) if run.group_id else None
        title = group.title if group else f"{run.alertname}"
        declared = await self.incidents.declare_in(
            tx, title=title, severity=self.remediation.severity(policy), actor=ACTOR,
            request_key=f"remediation:{run.id}", on_call=on_call, page=slots,
            description=f"Automation did not fix it: {why} (policy {run.policy})"[:1000],
            service=(group.labels.get("service", "") if group else "")[:80], impact_started_at=run.starts_at)
        incident = declared.incident
        if group is not None:
            await tx.alerts.update(group.id, now, incident_id=incident.id, opened_incident=declared.created)
            await tx.outbox.enqueue(incident.id, [[fx.PostAlerts(group_id=group.id)]], now)
        history = [run] + await tx.remediation.covered(run.id)
        await tx.timeline.append(incident.id, [Event(
            "remediation", ACTOR, row.finished_at or row.decided_at,
            f"Automation: policy `{row.policy}` {row.outcome.value.replace('_', ' ')} for {row.alertname} "
            f"({row.target})", {"run": row.id}) for row in history[:20]])
        return incident
