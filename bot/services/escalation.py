"""Escalation chains, fired from timers: each step DMs its people a page with an Acknowledge button, and
sets the timer for the next step in the same transaction. The first acknowledgement, an Incident
Commander or the resolve stops it (IncidentService cancels the timer; a step that fires anyway checks).
"""

from __future__ import annotations

from datetime import datetime

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core import escalation as core
from bot.core.incident import Event
from bot.core.ports import Clock, Dispatch
from bot.services.oncall import OnCallService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.escalation")


def chain_of(settings: Settings, chains: dict, incident) -> tuple[core.Step, ...]:
    """The chain an incident runs now, from its severity's policy (does it page?) and the configured chains."""
    return core.chain_for(chains, incident.severity, pages=bool(settings.policy(incident.severity).page),
                          named=frozenset(settings.file.escalation.chains))


class EscalationService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, oncall: OnCallService,
                 dispatch: Dispatch | None = None):
        self.store, self.settings, self.clock, self.oncall = store, settings, clock, oncall
        self.section = settings.file.escalation
        self.chains = self.section.resolved_chains()
        self.work = UnitOfWork(store, dispatch)

    async def prepare(self, timer: Timer, now: datetime) -> dict[str, list[str]]:
        """Who is on call for the step that is due: looked up before the transaction, as it may ask PagerDuty."""
        async with self.store.reading() as tx:
            incident = await tx.incidents.get(timer.incident_id) if timer.incident_id else None
        step, started = self._step(timer)
        page = core.page_due(incident, self.chain(incident), step, started) if incident else None
        return await self.oncall.users(page.notify, now) if page else {}

    async def fire(self, tx: Transaction, timer: Timer, now: datetime, holders: dict[str, list[str]]) -> Fired:
        step, started = self._step(timer)
        incident = await tx.incidents.get(timer.incident_id, for_update=True) if timer.incident_id else None
        chain = self.chain(incident) if incident else ()  # its severity may have changed meanwhile
        page = core.page_due(incident, chain, step, started) if incident else None
        if page is None:
            return Fired(None, fired=False)
        users = self._audience(incident, [u for name in page.notify for u in holders.get(name, [])])
        nobody = [name for name in page.notify if not holders.get(name)]
        await tx.timeline.append(incident.id, [self._event(incident, page, users, nobody, len(chain), now)])
        if users:
            await tx.outbox.enqueue(incident.id, [[fx.Page(user=user, step=step + 1, steps=len(chain))
                                                   for user in users]], now)
        log.info("escalation_step", incident_id=incident.id, step=step + 1, users=len(users))
        return Fired(page.next_due, payload={**timer.payload, "step": step + 1} if page.next_due else None)

    @staticmethod
    def _step(timer: Timer) -> tuple[int, datetime | None]:
        started = timer.payload.get("started")
        return int(timer.payload.get("step", 0)), datetime.fromisoformat(started) if started else None

    def chain(self, incident) -> tuple[core.Step, ...]:
        return chain_of(self.settings, self.chains, incident)

    def _audience(self, incident, users: list[str]) -> list[str]:
        unique = list(dict.fromkeys(users))
        if incident.is_drill:  # a drill pages nobody outside its audience
            return [user for user in unique if user in self.section.drill_audience]
        return unique

    @staticmethod
    def _event(incident, page: core.Page, users: list[str], nobody: list[str], steps: int, now) -> Event:
        who = ", ".join(f"<@{user}>" for user in users) or "nobody"
        text = f"Escalation step {page.step + 1} of {steps}: paged {who}"
        if nobody:
            text += f" (no one on call for {', '.join(nobody)})"
        if incident.is_drill:
            text += " (drill: only the drill audience is paged)"
        return Event("escalated", "warroom", now, text, {"step": page.step + 1, "users": users})
