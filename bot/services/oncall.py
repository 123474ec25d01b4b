"""Who is on call now, from config (fixed slots, weekly rotations) or from PagerDuty, and the weekly hand-off.

At each hand-off of a rotation kept in config, a timer posts the hand-off checklist to the team channel
and sets itself for the next one, in the same transaction, so each hand-off is posted exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core import oncall as core
from bot.core.ports import Clock, Dispatch
from bot.integrations.pagerduty import oncall_users
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.oncall")

HANDOFF = "oncall_handoff"
PAGERDUTY_CACHE_SECONDS = 60.0
FIRST = ("primary", "secondary", "incident_commander")  # /oncall lists these first, then the rest as configured


def handoff_key(rotation: str) -> str:
    return f"oncall:{rotation}:{HANDOFF}"


@dataclass(frozen=True)
class Holder:
    name: str  # the slot or rotation
    users: list[str]
    until: datetime | None = None  # the next hand-off, for rotations kept here
    source: str = "config"


class OnCallService:
    def __init__(self, settings: Settings, clock: Clock, *, store: Store | None = None, pagerduty=None,
                 dispatch: Dispatch | None = None):
        self.settings, self.clock, self.store = settings, clock, store
        self.section = settings.file.oncall
        self.pagerduty = pagerduty  # a RestApiV2Client, for rotations that name a PagerDuty schedule
        self.work = UnitOfWork(store, dispatch)
        self.rotations = {name: section.rotation(name) for name, section in self.section.rotations.items()
                          if not (section.pagerduty_schedule or section.pagerduty_escalation_policy)}
        self._slack_of = {pd: slack for slack, pd in settings.file.pagerduty.users.items()}
        self._cache: dict[str, tuple[float, list[str]]] = {}

    async def holder(self, name: str, at: datetime) -> Holder:
        if name in self.section.slots:
            return Holder(name, list(self.section.slots[name]))
        if name in self.rotations:
            shift = core.on_call(self.rotations[name], at)
            return Holder(name, [shift.user], shift.until)
        if name in self.section.rotations:
            return Holder(name, await self._from_pagerduty(name), source="PagerDuty")
        if name.startswith(("U", "W")) and name[1:].isalnum() and name.isupper():
            return Holder(name, [name], source="user")
        return Holder(name, [], source="nobody")

    async def users(self, names: Iterable[str], at: datetime) -> dict[str, list[str]]:
        return {name: (await self.holder(name, at)).users for name in dict.fromkeys(names)}

    async def _from_pagerduty(self, name: str) -> list[str]:
        cached = self._cache.get(name)
        if cached and time.monotonic() - cached[0] < PAGERDUTY_CACHE_SECONDS:
            return cached[1]
        section = self.section.rotations[name]
        if self.pagerduty is None:
            log.warning("oncall_pagerduty_off", rotation=name)
            return []
        try:
            people = await oncall_users(self.pagerduty, schedule=section.pagerduty_schedule,
                                        escalation_policy=section.pagerduty_escalation_policy)
        except Exception as exc:  # paging goes on with what config knows; the reason is logged
            log.warning("oncall_pagerduty_failed", rotation=name, error=str(exc))
            return cached[1] if cached else []
        users = [self._slack_of[person["id"]] for person in people if person.get("id") in self._slack_of][:1]
        self._cache[name] = (time.monotonic(), users)
        return users

    # -- /oncall -----------------------------------------------------------------------------------
    async def overview(self) -> tuple[list[Holder], core.Handoff | None]:
        now = self.clock.now()
        names = sorted(list(self.section.slots) + list(self.section.rotations),
                       key=lambda name: FIRST.index(name) if name in FIRST else len(FIRST))
        holders = [await self.holder(name, now) for name in names]
        upcoming = sorted((core.upcoming_handoff(rotation, now) for rotation in self.rotations.values()),
                          key=lambda handoff: handoff.at)
        return holders, (upcoming[0] if upcoming else None)

    # -- hand-offs ---------------------------------------------------------------------------------
    async def ensure_handoffs(self) -> None:
        """At start-up: a pending timer for the next hand-off of every rotation kept in config."""
        if self.store is None or not self.section.team_channel:
            return
        now = self.clock.now()
        async with self.work() as tx:
            timers = tx.timers
            pending = await timers.pending([handoff_key(name) for name in self.rotations])
            for name, rotation in self.rotations.items():
                due = core.next_handoff(rotation, now)
                current = pending.get(handoff_key(name))
                if current is None or current.due_at != due:
                    await timers.set(handoff_key(name), HANDOFF, due, payload={"rotation": name})

    async def fire(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        name = timer.payload.get("rotation", "")
        rotation = self.rotations.get(name)
        if rotation is None or not self.section.team_channel:
            return Fired(None, fired=False)
        # The hand-off that is due, even if the timer fires a little late.
        handoff = core.upcoming_handoff(rotation, timer.due_at - timedelta(seconds=1))

        def summary(incident) -> fx.HandoffIncident:
            return fx.HandoffIncident(severity=incident.severity.value, reference=incident.reference,
                                      title=incident.title, status=incident.status.label,
                                      channel_id=incident.channel_id)
        open_incidents = [summary(i) for i in await tx.incidents.open()]
        # Known issues include what was fixed this past week: its follow-ups are the incoming's to watch.
        week_ago = handoff.at - timedelta(days=7)
        resolved = [summary(i) for i in await tx.incidents.recently_resolved(20)
                    if i.resolved_at and i.resolved_at > week_ago]
        await tx.outbox.enqueue(None, [[fx.Handoff(
            channel=self.section.team_channel, rotation=name, at=handoff.at.isoformat(),
            outgoing=handoff.outgoing, incoming=handoff.incoming, zone=rotation.zone,
            incidents=tuple(open_incidents), resolved=tuple(resolved))]], now)
        log.info("oncall_handoff_posted", rotation=name)
        return Fired(core.next_handoff(rotation, max(now, timer.due_at)))

