"""Use cases of the incident lifecycle: the core decides, this module persists and queues the effects.

Every call commits the new state, its timeline events and its outbox effects in one transaction, then
wakes the dispatcher. A request key (Slack's trigger id or event id) makes a redelivered request a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core import incident as core
from bot.core import permissions
from bot.core.effects import Template
from bot.core.incident import (
    DomainError,
    Incident,
    Role,
    Severity,
    Status,
)
from bot.core.naming import channel_base, next_free_name, title_key
from bot.core.ports import Clock, Directory, Dispatch
from bot.core.severity import targets_to_page
from bot.core.text import escape, is_user_id
from bot.services import effects
from bot.services.authorization import Authorizer
from bot.services.incident_queries import IncidentQueries, NotInWarRoom
from bot.services.incident_timers import schedule_timers
from bot.services.oncall import OnCallService
from bot.services.postmortems import PostmortemService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import IntegrityError, Store, Transaction

log = structlog.get_logger("warroom.incidents")


class Duplicate(Exception):
    """The request was handled before (a redelivery); the caller stays silent."""


@dataclass(frozen=True)
class Declared:
    incident: Incident
    created: bool


def _paged_events(users: list[str], slots, actor: str, at) -> list[core.Event]:
    if not users:
        return []
    who = ", ".join(f"<@{user}>" for user in users)
    return [core.Event("paged", actor, at, f"Paged {who} ({', '.join(slots)} on call)", {"users": users})]


class IncidentService(IncidentQueries):
    def __init__(self, store: Store, settings: Settings, clock: Clock, directory: Directory,
                 dispatch: Dispatch | None = None, *, oncall: OnCallService | None = None, pagerduty: bool = False):
        super().__init__(store)
        self.settings = settings
        self.clock = clock
        self.directory = directory
        self.work = UnitOfWork(store, dispatch)
        self.oncall = oncall or OnCallService(settings, clock)
        self.pagerduty = pagerduty  # whether incidents are mirrored to PagerDuty
        self.chains = settings.file.escalation.resolved_chains()
        self.auth = Authorizer(settings, directory)
        self.public = None  # bot/services/status_page.py: the customers' view follows in the same transaction

    # -- declare -----------------------------------------------------------------------------------
    async def declare(self, *, title: str, severity: Severity, actor: str, request_key: str | None,
                      description: str = "", service: str = "", is_drill: bool = False,
                      pagerduty: tuple[str, str | None] | None = None) -> Declared:
        """`pagerduty` (id, url): the incident comes from PagerDuty, which must not get a second one."""
        now = self.clock.now()
        draft, events = core.declare(title, severity, actor, now, description=description, service=service,
                                     is_drill=is_drill)
        if pagerduty:
            draft = replace(draft, pagerduty_id=pagerduty[0], pagerduty_url=pagerduty[1])
        on_call = {} if is_drill else await self.oncall.users(self.settings.policy(severity).page, now)
        same_title = title_key(draft.title)
        for _ in range(5):
            try:
                result, tx = await self._declare_once(draft, events, same_title, request_key, on_call)
                break
            except IntegrityError:
                # Someone declared the same thing at the same moment: the retry finds theirs.
                continue
        else:
            raise DomainError("Could not declare the incident: too many simultaneous declarations, try again.")
        structlog.contextvars.bind_contextvars(incident_id=result.incident.id)
        log.info("incident_declared" if result.created else "incident_joined", severity=result.incident.severity.label,
                 channel_name=result.incident.channel_name, drill=result.incident.is_drill)
        return result

    async def _declare_once(self, draft: Incident, events, same_title: str, request_key: str | None,
                            on_call: dict[str, list[str]]) -> tuple[Declared, Transaction]:
        async with self.work() as tx:
            if request_key:
                existing = await tx.incidents.by_request(request_key)
                if existing:
                    raise Duplicate()
            return await self._declare_in(tx, draft, events, same_title, request_key, on_call), tx

    async def declare_in(self, tx: Transaction, *, title: str, severity: Severity, actor: str, request_key: str,
                         on_call: dict[str, list[str]], description: str = "", service: str = "",
                         impact_started_at=None, pages: bool = True, page: tuple[str, ...] | None = None) -> Declared:
        """Declares inside the caller's transaction (alerts: the delivery and its incident commit together).
        A request key seen before gives back that incident. `pages`: False never pages (SEV-3 and SEV-4 alerts
        wait for business hours); `page`: these on-call slots instead of the severity's."""
        existing = await tx.incidents.by_request(request_key)
        if existing:
            return Declared(existing, created=False)
        draft, events = core.declare(title, severity, actor, self.clock.now(), description=description,
                                     service=service)
        draft = replace(draft, impact_started_at=impact_started_at)
        return await self._declare_in(tx, draft, events, title_key(draft.title), request_key,
                                      on_call if pages else {}, pages=pages, page=page)

    async def on_call_for(self, severity: Severity) -> dict[str, list[str]]:
        """Who the severity pages now (may ask PagerDuty: call it before a transaction)."""
        return await self.oncall.users(self.settings.policy(severity).page, self.clock.now())

    async def _declare_in(self, tx: Transaction, draft: Incident, events, same_title: str, request_key: str | None,
                          on_call: dict[str, list[str]], *, pages: bool = True,
                          page: tuple[str, ...] | None = None) -> Declared:
        now = draft.declared_at
        twin = await tx.incidents.recent_open_with_title(same_title, now - self.settings.dedup_window)
        if twin:
            await tx.timeline.append(twin.id, [core.Event("joined", draft.declared_by, now,
                                                          f"{core.person(draft.declared_by)} declared the same "
                                                          f"incident again" + (" and was added" if is_user_id(
                                                              draft.declared_by) else ""))])
            if is_user_id(draft.declared_by):
                await tx.outbox.enqueue(twin.id, effects.after_join(draft.declared_by), now)
            return Declared(twin, created=False)
        policy = self.settings.policy(draft.severity)
        slots = () if draft.is_drill or not pages else (tuple(page) if page is not None else
                                                        targets_to_page(policy, ()))
        paged = effects.paged_users(slots, on_call)
        base = channel_base(self.settings.slack.channel_prefix, now.date(), draft.title)
        name = next_free_name(base, await tx.incidents.channel_names_like(base))
        draft = replace(draft, channel_name=name, paged=slots)
        incident = await tx.incidents.add(draft, title_key=same_title, request_key=request_key)
        await tx.timeline.append(incident.id, events + _paged_events(paged, slots, draft.declared_by, now))
        # Someone declaring from outside Slack (PagerDuty) is not a member to invite.
        invitees = [u for u in dict.fromkeys([draft.declared_by] + paged) if is_user_id(u)]
        await tx.outbox.enqueue(incident.id, effects.after_declare(incident, policy, invitees, paged,
                                                            self.settings.slack.leadership_channel), now,
                         new_incident=True)
        if self.pagerduty and effects.mirrored(incident, policy):
            waves = [[fx.LinkPagerDuty()]] if incident.pagerduty_id \
                else effects.pagerduty_create()
            await tx.outbox.enqueue(incident.id, waves, now, lane=effects.PAGERDUTY_LANE)
        await self._schedule(tx, incident, declared=True)
        if self.public is not None:
            await self.public.declared(tx, incident, now)
        return Declared(incident, created=True)

    # -- changes to an open incident ---------------------------------------------------------------
    async def change_severity(self, channel_id: str, severity: Severity, actor: str, request_key: str) -> Incident:
        await self._in_room(channel_id, actor, "change the severity of")
        now = self.clock.now()
        on_call = await self.oncall.users(self.settings.policy(severity).page, now)
        async with self.work() as tx:
            incident = await self._load(tx, channel_id, request_key, now)
            await self._check_permission(incident, "change_severity", "change the severity of", actor)
            updated, events = core.change_severity(incident, severity, actor, now)
            if events:
                policy = self.settings.policy(severity)
                new_slots = () if updated.is_drill else targets_to_page(policy, updated.paged)
                newly_paged = effects.paged_users(new_slots, on_call)
                updated = replace(updated, paged=updated.paged + new_slots)
                events = events + _paged_events(newly_paged, new_slots, actor, now)
                mirror = effects.pagerduty_after_severity_change(updated, policy) \
                    if self._mirrored(updated, policy) else []
                await self._commit(tx, updated, events, effects.after_severity_change(
                    updated, events[0], policy, newly_paged, self.settings.slack.leadership_channel), now, mirror)
                if self.public is not None:
                    await self.public.severity_changed(tx, updated, now)
        return updated

    async def assign_role(self, channel_id: str, role: Role, user: str, actor: str, request_key: str) -> Incident:
        await self._in_room(channel_id, actor, "assign roles in")
        if not await self.directory.user_exists(user):
            raise DomainError(f"I can't find a user `{escape(user[:40])}` in this workspace: mention them as @name.")
        is_manager = await self.auth.is_manager(actor)
        now = self.clock.now()
        async with self.work() as tx:
            incident = await self._load(tx, channel_id, request_key, now)
            self.auth.enforce(permissions.role_change(incident, role, user, actor, is_manager=is_manager,
                                                      managers=self.auth.managers), "assign_role", actor, incident)
            updated, events = core.assign_role(incident, role, user, actor, now)
            if events:
                # Someone taking a role themselves is already responding: no request to send them.
                asks_someone = role is not Role.COMMUNICATOR and user != actor
                mirror = effects.pagerduty_responders([user], actor, role.label) \
                    if asks_someone and self._mirrored(updated) else []
                await self._commit(tx, updated, events, effects.after_role(events[0]), now, mirror)
        return updated

    async def post_update(self, channel_id: str, text: str, status: Status | None, actor: str,
                          request_key: str, *, public_text: str | None = None) -> Incident:
        """`public_text`: also publish this to the status page (the war room's text never goes there)."""
        incident = await self._in_room(channel_id, actor, "post updates to")
        if public_text is not None:
            if self.public is None:
                raise DomainError("No status page is configured.")
            await self.public.check_may_publish(incident, actor)
        now = self.clock.now()
        async with self.work() as tx:
            incident = await self._load(tx, channel_id, request_key, now)
            updated, events = core.post_update(incident, text, status, actor, now)
            mirror = effects.pagerduty_note(f"{updated.status.label}: {text.strip()}", actor) \
                if self._mirrored(updated) else []
            await self._commit(tx, updated, events, effects.after_update(updated, events), now, mirror)
            if public_text is not None:
                await self.public.publish_in(tx, updated, public_text, None, actor, now)
        return updated

    async def add_note(self, channel_id: str, text: str, actor: str, request_key: str, *, permalink: str = "",
                       kind: str = "note", dedup_key: str | None = None) -> Incident:
        await self._in_room(channel_id, actor, "add to the timeline of")
        now = self.clock.now()
        async with self.work() as tx:
            incident = await self._load(tx, channel_id, request_key, now)
            if dedup_key and await tx.timeline.has_key(dedup_key):
                raise Duplicate()
            _, events = core.add_note(incident, text, actor, now, permalink=permalink, kind=kind)
            await tx.timeline.append(incident.id, events, dedup_key=dedup_key)
        return incident

    async def resolve(self, channel_id: str, summary: str, actor: str, request_key: str) -> Incident:
        await self._in_room(channel_id, actor, "resolve")
        now = self.clock.now()
        async with self.work() as tx:
            incident = await self._load(tx, channel_id, request_key, now)
            await self._check_permission(incident, "resolve", "resolve", actor)
            updated = await self._resolve_in(tx, incident, summary, actor, now, mirror=True)
        return updated

    async def resolve_in(self, tx: Transaction, incident: Incident, summary: str, actor: str) -> Incident:
        """Resolves inside the caller's transaction (alerts all clear, a timer)."""
        return await self._resolve_in(tx, incident, summary, actor, self.clock.now(), mirror=True)

    async def _resolve_in(self, tx: Transaction, incident: Incident, summary: str, actor: str, now, *,
                          mirror: bool) -> Incident:
        updated, events = core.resolve(incident, summary, actor, now)
        policy = self.settings.policy(updated.severity)
        pagerduty = effects.pagerduty_status("resolved") if mirror and self._mirrored(updated, policy) else []
        await self._commit(tx, updated, events, effects.after_resolve(updated, events[0], policy), now, pagerduty)
        if self.public is not None:
            await self.public.resolved(tx, updated, now)
        required = policy.postmortem_required or updated.postmortem_mandatory  # an SLA breach makes it mandatory
        await PostmortemService.schedule(tx, updated, required and not updated.is_drill)
        return updated

    # -- acknowledgements and changes that come from PagerDuty -------------------------------------
    async def acknowledge(self, incident_id: int, actor: str, request_key: str, *, who: str | None = None,
                          source: str = "slack") -> Incident:
        """The page is acknowledged: paging stops. `who` names a PagerDuty user that has no Slack account here."""
        now = self.clock.now()
        is_manager = source == "slack" and await self.auth.is_manager(actor)
        async with self.work() as tx:
            if request_key and not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            incident = await tx.incidents.get(incident_id, for_update=True)
            if incident is None:
                raise DomainError("That incident no longer exists.")
            if source == "slack":
                paged = {user for entry in await tx.timeline.of(incident.id) if entry.kind in ("paged", "escalated")
                         for user in (entry.data or {}).get("users", [])}
                self.auth.enforce(permissions.page_acknowledgement(incident, actor, paged, is_manager=is_manager),
                                  "acknowledge_page", actor, incident)
            updated, events = core.acknowledge(incident, who or actor, actor, now, source=source)
            wave = [[fx.UpdateCard(), fx.PostMessage(template=Template.ACKNOWLEDGED, text=events[0].text)]]
            mirror = effects.pagerduty_status("acknowledged") if source == "slack" and self._mirrored(updated) else []
            await self._commit(tx, updated, events, wave, now, mirror)
        return updated

    async def resolve_from_pagerduty(self, incident_id: int, who: str, request_key: str) -> Incident | None:
        """Resolved in PagerDuty: resolve here too (not back to PagerDuty). None when already resolved."""
        now = self.clock.now()
        async with self.work() as tx:
            if request_key and not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            incident = await tx.incidents.get(incident_id, for_update=True)
            if incident is None or not incident.is_open:
                return None
            updated = await self._resolve_in(tx, incident, f"Resolved in PagerDuty by {who}", f"pagerduty:{who}",
                                             now, mirror=False)
        return updated

    async def record(self, incident_id: int, kind: str, text: str, request_key: str, *,
                     room: fx.PostMessage | None = None) -> bool:
        """A timeline entry from outside Slack (PagerDuty); `room` also posts a message to the war room."""
        now = self.clock.now()
        async with self.work() as tx:
            if request_key and not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            incident = await tx.incidents.get(incident_id)
            if incident is None:
                return False
            await tx.timeline.append(incident_id, [core.Event(kind, "pagerduty", now, text)])
            if room:
                await tx.outbox.enqueue(incident_id, [[room]], now)
        return True

    async def incident_for_pagerduty(self, pagerduty_id: str | None, key_id: int | None) -> Incident | None:
        async with self.store.reading() as tx:
            found = await tx.incidents.by_pagerduty(pagerduty_id) if pagerduty_id else None
            if found is None and key_id is not None:
                found = await tx.incidents.get(key_id)
            return found

    async def check_may(self, channel_id: str, action: str, actor: str) -> Incident:
        """Raises DomainError with the reason when the actor may not; used before asking for confirmation."""
        verb = {"resolve": "resolve", "change_severity": "change the severity of"}[action]
        incident = await self._in_room(channel_id, actor, verb)
        await self._check_permission(incident, action, verb, actor)
        if not incident.is_open:
            raise DomainError(f"{incident.reference} is already resolved.")
        return incident

    # -- helpers -----------------------------------------------------------------------------------
    async def _load(self, tx: Transaction, channel_id: str, request_key: str, now) -> Incident:
        # A concurrent duplicate on PostgreSQL waits here for the first one's commit, then sees it.
        if request_key and not await tx.requests.first_time(request_key, now):
            raise Duplicate()
        incident = await tx.incidents.in_channel(channel_id, for_update=True)
        if incident is None:
            raise NotInWarRoom("This command works in an incident's war-room channel. "
                               "Use `/incident list` to find one, or `/incident declare` to start one.")
        return incident

    async def _schedule(self, tx: Transaction, incident: Incident, *, declared: bool = False) -> None:
        await schedule_timers(tx.timers, incident, self.settings, self.chains, self.clock.now(),
                              declared=declared)

    async def _check_permission(self, incident: Incident, action: str, verb: str, actor: str) -> None:
        await self.auth.rule(self.settings.file.permissions.rule(action), action, verb, incident, actor)

    async def check_member(self, channel_id: str, actor: str, verb: str) -> Incident:
        """Raises a refusal unless the actor is in this war room; for buttons that open a form or change no
        incident state (the form's submission is checked again)."""
        return await self._in_room(channel_id, actor, verb)

    async def _in_room(self, channel_id: str, actor: str, verb: str) -> Incident:
        """The incident of this war room, once the actor is known to be in it (checked before the write
        transaction: a membership miss asks Slack)."""
        incident = await self.incident_in(channel_id)
        await self.auth.in_room(incident, actor, verb)
        return incident

    def _mirrored(self, incident: Incident, policy=None) -> bool:
        return self.pagerduty and effects.mirrored(incident, policy or self.settings.policy(incident.severity))

    async def _commit(self, tx: Transaction, incident: Incident, events, waves, now, pagerduty=()) -> None:
        structlog.contextvars.bind_contextvars(incident_id=incident.id)
        log.info("incident_changed", events=[event.kind for event in events])
        await self._schedule(tx, incident)
        await tx.incidents.save(incident)
        await tx.timeline.append(incident.id, events)
        await tx.outbox.enqueue(incident.id, waves, now)
        if pagerduty:
            await tx.outbox.enqueue(incident.id, pagerduty, now, lane=effects.PAGERDUTY_LANE)
