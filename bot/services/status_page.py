"""The customers' view of an incident: opened from the severity's template when a SEV-1 or SEV-2 is declared,
its impact following the severity, public updates written by the Communicator (never the war room's text),
"Resolved" at the resolve, and a reminder during a SEV-1 when the page has been quiet for 15 minutes.

Everything here is written in the incident change's own transaction (IncidentService calls in), or in one of
its own for what people do from Slack; Atlassian Statuspage and the webhook subscribers follow through the
outbox, each in a lane of its own, so an outage there never holds up the war room."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core.incident import DomainError, Event, Incident, Role, Severity
from bot.core.ports import Clock, Dispatch
from bot.core.severity import StatusPageState
from bot.core.status_page import (
    ComponentState,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from bot.core.text import escape
from bot.services.authorization import Authorizer
from bot.services.incidents import Duplicate
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.status_page")
REMINDER = "public_update_reminder"
STATUSPAGE_LANE = "statuspage"
NOT_PUBLIC = "This incident is not on the status page."


def reminder_key(incident_id: int) -> str:
    return f"incident:{incident_id}:public_update_reminder"


class PublicStatusService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, auth: Authorizer,
                 dispatch: Dispatch | None = None):
        self.store, self.settings, self.clock, self.auth = store, settings, clock, auth
        self.section = settings.file.status_page
        self.work = UnitOfWork(store, dispatch)

    def impact(self, severity: Severity) -> ComponentState | None:
        state = self.settings.policy(severity).status_page
        return None if state is StatusPageState.NONE else ComponentState(state.value)

    # -- inside an incident change's transaction ---------------------------------------------------
    async def declared(self, tx: Transaction, incident: Incident, now: datetime) -> None:
        impact = self.impact(incident.severity)
        if incident.is_drill or impact is None or not self.section.configured:
            return  # drills never publish; SEV-3 and SEV-4 stay off the page unless someone publishes
        await self._open(tx, incident, impact, now)

    async def severity_changed(self, tx: Transaction, incident: Incident, now: datetime) -> None:
        if incident.is_drill or not self.section.configured:
            return
        public = await tx.public.get(incident.id)
        impact = self.impact(incident.severity)
        if public is None:
            if impact is not None:
                await self._open(tx, incident, impact, now)
            return
        if not public.is_open:
            return
        # Downgraded below what the page shows: it stays on the page, degraded, until it is resolved.
        changed = replace(public, impact=impact or ComponentState.DEGRADED_PERFORMANCE)
        await tx.public.save(changed, now)
        await self._schedule_reminder(tx, incident, changed)
        await self._sync(tx, incident, changed, "", now)

    async def resolved(self, tx: Transaction, incident: Incident, now: datetime) -> None:
        public = await tx.public.get(incident.id)
        await tx.timers.cancel(reminder_key(incident.id))
        if public is None or not public.is_open:
            return
        text = self.section.message("resolved", list(public.components))
        closed = replace(public, status=PublicStatus.RESOLVED, resolved_at=now, last_update_at=now)
        await tx.public.save(closed, now)
        await tx.public.add_update(incident.id, PublicUpdate(now, PublicStatus.RESOLVED, text, "warroom"), None)
        await self._sync(tx, incident, closed, text, now)

    async def _open(self, tx: Transaction, incident: Incident, impact: ComponentState, now: datetime) -> None:
        components = tuple(self.section.components_for(incident.service))
        text = self.section.message(incident.severity.name.lower(), list(components))
        public = PublicIncident(incident.id, _public_title(components), impact, components,
                                PublicStatus.INVESTIGATING, now, None, now)
        await tx.public.save(public, now)
        await tx.public.add_update(incident.id, PublicUpdate(now, PublicStatus.INVESTIGATING, text, "warroom"), None)
        # No message of its own: the card, posted or updated with this change, shows what customers read.
        await self._schedule_reminder(tx, incident, public)
        await self._sync(tx, incident, public, text, now)

    # -- people, from Slack ------------------------------------------------------------------------
    async def publish(self, channel_id: str, text: str, actor: str, request_key: str,
                      status: PublicStatus | None = None) -> PublicIncident:
        """`/incident statuspage <text>`, *Still investigating*: the Communicator, the IC or an incident manager."""
        text = text.strip()
        if not text:
            raise DomainError("What should customers read? `/incident statuspage <text>`; it is published as "
                              "written, so keep internal details out.")
        incident = await self._may_publish(channel_id, actor)
        now = self.clock.now()
        async with self.work() as tx:
            if not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            incident = await tx.incidents.get(incident.id, for_update=True)
            return await self.publish_in(tx, incident, text, status, actor, now)

    async def publish_in(self, tx: Transaction, incident: Incident, text: str, status: PublicStatus | None,
                         actor: str, now: datetime) -> PublicIncident:
        """A public update in the caller's transaction (the update form's *Also publish*)."""
        if len(text) > 2000:
            raise DomainError(f"A public update is at most 2,000 characters ({len(text)} given).")
        if not incident.is_open:
            raise DomainError(f"{incident.reference} is resolved: the status page already says so.")
        if incident.is_drill:
            raise DomainError("A drill never publishes to the status page.")
        public = await tx.public.get(incident.id)
        if public is None:  # a SEV-3 someone decides customers should hear about
            impact = self.impact(incident.severity) or ComponentState.DEGRADED_PERFORMANCE
            components = tuple(self.section.components_for(incident.service))
            public = PublicIncident(incident.id, _public_title(components), impact, components,
                                    PublicStatus.INVESTIGATING, now)
        status = status or _public_status(incident)
        public = replace(public, status=status, last_update_at=now)
        await tx.public.save(public, now)
        await tx.public.add_update(incident.id, PublicUpdate(now, status, text, actor), None)
        await tx.timeline.append(incident.id, [Event("public_update", actor, now,
                                                     f"Published to the status page ({status.label}): {text}"[:3000])])
        await self._tell_room(tx, incident, f":satellite_antenna: <@{actor}> published to the status page "
                                            f"(*{status.label}*): {escape(text)}", now)
        await self._schedule_reminder(tx, incident, public)
        await self._sync(tx, incident, public, text, now)
        log.info("public_update", incident_id=incident.id, status=status.value)
        return public

    async def set_components(self, channel_id: str, components: list[str], actor: str,
                             request_key: str) -> PublicIncident:
        known = [c.name for c in self.section.components]
        unknown = [name for name in components if name not in known]
        if unknown:
            raise DomainError(f"No component named {', '.join(unknown)[:200]}.")
        incident = await self._may_publish(channel_id, actor)
        now = self.clock.now()
        async with self.work() as tx:
            if not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            public = await tx.public.get(incident.id)
            if public is None or not public.is_open:
                raise DomainError(NOT_PUBLIC + " Publish an update first (`/incident statuspage <text>`).")
            ordered = tuple(name for name in known if name in components)
            public = replace(public, components=ordered, title=_public_title(ordered))
            await tx.public.save(public, now)
            text = escape(", ".join(ordered)) or "none"
            await tx.timeline.append(incident.id, [Event("public_components", actor, now,
                                                         f"Status page components: {text}")])
            await self._tell_room(tx, incident, f":satellite_antenna: <@{actor}> set the status page's affected "
                                                f"components: {text}.", now)
            await self._sync(tx, incident, public, "", now)
        return public

    async def draft(self, incident: Incident) -> str | None:
        """What the update form pre-fills for customers (None: it may not publish, a drill or resolved)."""
        if incident.is_drill or not incident.is_open or not self.section.configured:
            return None
        async with self.store.reading() as tx:
            public = await tx.public.get(incident.id)
        components = list(public.components) if public else self.section.components_for(incident.service)
        key = "still_investigating" if public is not None else incident.severity.name.lower()
        return self.section.message(key, components)

    async def shown(self, incident_id: int) -> PublicIncident | None:
        """What the page says of an incident now, with its latest update first (the card shows it)."""
        async with self.store.reading() as tx:
            return await tx.public.get(incident_id, with_updates=True)

    async def public_of(self, channel_id: str) -> tuple[Incident, PublicIncident | None]:
        async with self.store.reading() as tx:
            incident = await tx.incidents.in_channel(channel_id)
            if incident is None:
                raise DomainError("This works in an incident's war-room channel.")
            return incident, await tx.public.get(incident.id)

    async def _may_publish(self, channel_id: str, actor: str) -> Incident:
        async with self.store.reading() as tx:
            incident = await tx.incidents.in_channel(channel_id)
        if incident is None:
            raise DomainError("The status page is updated from an incident's war-room channel.")
        return await self.check_may_publish(incident, actor)

    async def check_may_publish(self, incident: Incident, actor: str) -> Incident:
        if not self.section.configured:
            raise DomainError("No status page is set up: add `status_page.components` to config.yaml (README, "
                              "\"Status page\").")
        if incident.is_drill:
            raise DomainError("A drill never publishes to the status page.")
        await self.auth.in_room(incident, actor, "publish to the status page for")
        if actor in (incident.communicator, incident.commander) or await self.auth.is_manager(actor):
            return incident
        who = incident.communicator or incident.commander
        holder = f"<@{who}>" if who else "nobody yet: take the role with `/incident role communicator @you`"
        raise DomainError(f"Only the {Role.COMMUNICATOR.label} or the Incident Commander publishes to the status "
                          f"page (now: {holder}).")

    # -- the SEV-1 reminder ------------------------------------------------------------------------
    async def _schedule_reminder(self, tx: Transaction, incident: Incident, public: PublicIncident) -> None:
        if incident.severity is Severity.SEV1 and public.is_open:
            due = (public.last_update_at or public.published_at) + timedelta(minutes=self.section.reminder_minutes)
            await tx.timers.set(reminder_key(incident.id), REMINDER, due, incident_id=incident.id)
        else:
            await tx.timers.cancel(reminder_key(incident.id))

    async def fire_reminder(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        incident = await tx.incidents.get(timer.incident_id)
        public = await tx.public.get(timer.incident_id) if incident else None
        if incident is None or not incident.is_open or public is None or not public.is_open \
                or incident.severity is not Severity.SEV1:
            return Fired(None, fired=False)
        minutes = self.section.reminder_minutes
        quiet = int((now - (public.last_update_at or public.published_at)).total_seconds() // 60)
        who = incident.communicator or incident.commander
        text = (f":satellite_antenna: {'<@' + who + '>' if who else 'Communicator'}: the status page has had no "
                f"update for {quiet} minutes. During a SEV-1 customers hear from us every {minutes} minutes, even "
                f"when nothing changed.")
        await tx.outbox.enqueue(incident.id, [[fx.PublicUpdateReminder(
            text=text, template=self.section.message("still_investigating", list(public.components)))]], now)
        return Fired(now + timedelta(minutes=minutes))

    # -- what leaves -------------------------------------------------------------------------------
    async def _tell_room(self, tx: Transaction, incident: Incident, text: str, now: datetime) -> None:
        """Who published what, in the war room; the card shows the page's state."""
        await tx.outbox.enqueue(incident.id, [[fx.PostMessage(template=fx.Template.STATUS_PAGE, text=text),
                                                fx.UpdateCard()]], now)

    async def _sync(self, tx: Transaction, incident: Incident, public: PublicIncident, text: str,
                    now: datetime) -> None:
        if self.section.hosted:
            await tx.outbox.enqueue(incident.id, [[fx.StatusPageSync(
                title=public.title, impact=public.impact.value, status=public.status.value,
                components=public.components, text=text)]], now, lane=STATUSPAGE_LANE)
        for index, _ in enumerate(self.section.subscribers):
            body = json.dumps({"incident": {"id": incident.id, "title": public.title, "impact": public.impact.value,
                                            "status": public.status.value, "components": list(public.components),
                                            "published_at": public.published_at.isoformat(),
                                            "resolved_at": public.resolved_at.isoformat() if public.resolved_at
                                            else None},
                               "update": {"text": text, "at": now.isoformat()} if text else None},
                              sort_keys=True)
            await tx.outbox.enqueue(incident.id, [[fx.StatusWebhook(subscriber=index, body=body)]], now,
                                    lane=f"status-webhook-{index}")


def _public_title(components: tuple[str, ...]) -> str:
    if not components:
        return "Service disruption"
    return f"{', '.join(components[:3])}{' and more' if len(components) > 3 else ''}: service disruption"


def _public_status(incident: Incident) -> PublicStatus:
    return incident.status
