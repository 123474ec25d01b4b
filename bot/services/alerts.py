"""Alerts in: an Alertmanager delivery opens, joins or asks about an incident, and keeps its war room's alerts
message current. One transaction per delivery: the alerts, the incident it opens, the timeline and the effects
commit together before Alertmanager gets its 200, and a re-send of the same group changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.config import Settings
from bot.core import alerts as core
from bot.core import effects as fx
from bot.core.alerts import AlertGroup, Decision, Declare
from bot.core.incident import DomainError, Event, Incident, Severity
from bot.core.ports import Clock, Directory, Dispatch
from bot.core.text import is_user_id
from bot.integrations.alertmanager import WebhookPayload
from bot.services.incidents import Duplicate, IncidentService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import IntegrityError, Store, Transaction
from bot.storage.timers import Fired, Timer

log = structlog.get_logger("warroom.alerts")
ACTOR = "alertmanager"
NOT_HERE = "That alert message belongs to another channel; nothing was changed."


class AlertService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, directory: Directory,
                 incidents: IncidentService, dispatch: Dispatch | None = None, *, silences: bool = False,
                 catalog=None):
        self.store, self.settings, self.clock, self.directory = store, settings, clock, directory
        self.incidents = incidents
        self.section = settings.file.alerts
        self.routes = self.section.resolved_routes()
        self.silences = silences  # whether an Alertmanager API is configured to silence through
        self.catalog = catalog  # the runbooks, to offer the one that answers these alerts
        self.remediation = None  # bot/services/remediation.py: policies answer new firings in the same transaction
        self.work = UnitOfWork(store, dispatch)

    def flapping(self, group: AlertGroup) -> set[str]:
        """The fingerprints of the group's alerts that are flapping now."""
        section = self.section.flapping
        starts: dict[str, list[datetime]] = {}
        for alert in group.alerts:
            starts.setdefault(alert.fingerprint, []).append(alert.starts_at)
        return {fingerprint for fingerprint, firings in starts.items()
                if core.flapping(firings, section.count, timedelta(minutes=section.minutes))}

    def decision(self, group: AlertGroup) -> Decision:
        return core.decide_group(group.labels, list(group.alerts), self.routes)

    # -- deliveries --------------------------------------------------------------------------------
    async def receive(self, payload: WebhookPayload) -> str:
        """What the delivery did: "unchanged" (a re-send), "declared", "joined", "asked" or "recorded"."""
        delivered = [alert.alert() for alert in payload.alerts]
        labels = dict(payload.commonLabels)
        decision = core.decide_group(labels, delivered, self.routes)
        on_call: dict[str, list[str]] | None = None if core.pages(decision) else {}
        for attempt in range(4):
            try:
                return await self._receive(payload, delivered, labels, decision, on_call)
            except _OnCallNeeded:
                # Only a delivery that opens an incident asks who is on call, outside the transaction (it may ask
                # PagerDuty): the re-sends of every group_interval never do.
                on_call = await self.incidents.on_call_for(decision.severity)
            except IntegrityError:
                # The same new group delivered twice at once (Alertmanager's retry racing its first try, or two
                # replicas): the other one made it; this one now finds it.
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    async def _receive(self, payload: WebhookPayload, delivered: list, labels: dict[str, str], decision: Decision,
                       on_call: dict[str, list[str]] | None) -> str:
        now = self.clock.now()
        async with self.work() as tx:
            group_id = await tx.alerts.group_for(payload.groupKey, labels, now)
            before = await tx.alerts.get(group_id)
            found = core.changes({(a.fingerprint, a.starts_at): a for a in before.alerts}, delivered)
            if not found and payload.truncatedAlerts == before.truncated:
                return "unchanged"
            known = {(a.fingerprint, a.starts_at) for a in before.alerts}
            for change in found:
                if (change.alert.fingerprint, change.alert.starts_at) in known:
                    await tx.alerts.resolve(group_id, change.alert)
            await tx.alerts.add_firings(group_id, [c.alert for c in found
                                                   if (c.alert.fingerprint, c.alert.starts_at) not in known], now)
            await tx.alerts.update(group_id, now, truncated=payload.truncatedAlerts, labels=labels)
            group = await tx.alerts.get(group_id)
            # A flapping alert is recorded but stops producing messages until it settles.
            flapping = self.flapping(group)
            news = [change for change in found if change.alert.fingerprint not in flapping]
            if found and not news and payload.truncatedAlerts == before.truncated:
                # No new message, no timeline entry, no prompt: its message, edited in place, marks it flapping.
                incident = await tx.incidents.get(group.incident_id) if group.incident_id else None
                if incident is not None and incident.is_open and group.room_ts:
                    await tx.outbox.enqueue(incident.id, [[fx.PostAlerts(group_id=group.id)]], now)
                elif group.ask_ts:
                    await self._ask(tx, group, group.ask_channel, now)
                outcome = "flapping"
            else:
                outcome = await self._act(tx, group, news, decision, on_call, now)
            if self.remediation is not None:
                # After the route acted: what automation says goes to the war room the route may just have
                # opened, or after the alerts channel's message about these alerts.
                await self.remediation.on_changes(tx, await tx.alerts.get(group_id), found, now)
        log.info("alertmanager_delivery", group=group_id, changes=len(found), outcome=outcome,
                 firing=group.firing, severity=decision.severity.label)
        return outcome

    async def _act(self, tx: Transaction, group: AlertGroup, found: list[core.Change], decision: Decision,
                   on_call: dict[str, list[str]], now: datetime) -> str:
        incident = await tx.incidents.get(group.incident_id, for_update=True) if group.incident_id else None
        if incident is not None and incident.is_open:
            await tx.timeline.append(incident.id, [_event(change, now) for change in found])
            waves = [[fx.PostAlerts(group_id=group.id), fx.UpdateCard()]]
            auto = self.section.auto_resolve_minutes if incident.declared_by == ACTOR else None
            if found and group.firing == 0 and await self._all_clear(tx, incident):
                later = f"; if nobody acts, warroom resolves it in {auto} minutes" if auto else ""
                waves.append([fx.PromptResolve(text=f"Every alert of this incident has resolved{later}")])
                if auto:
                    await tx.timers.set(_auto_resolve_key(incident.id), AUTO_RESOLVE,
                                        now + timedelta(minutes=auto), incident_id=incident.id,
                                        payload={"since": now.isoformat()})
            elif group.firing and auto:
                await tx.timers.cancel(_auto_resolve_key(incident.id))  # firing again: not all clear any more
            await tx.outbox.enqueue(incident.id, waves, now)
            return "joined"
        if group.storm_id is not None:
            await self._storm(tx, group.storm_id, now)
            return "storm"
        if group.firing and decision.declare is Declare.AUTO:
            window = timedelta(minutes=self.section.storm_window_minutes)
            await tx.alerts.guard_new_incidents()
            if await tx.incidents.count_declared_by(ACTOR, now - window) >= self.section.max_new_incidents:
                # An alert storm: one picture in the alerts channel instead of a war room per group.
                storm = await tx.alerts.storm_since(now - window, decision.channel or self.section.channel, now)
                await tx.alerts.update(group.id, now, storm_id=storm)
                await self._storm(tx, storm, now)
                return "storm"
            await self._declare(tx, group, decision, on_call, now, found)
            return "declared"
        if group.firing and decision.declare is Declare.ASK:
            channel = decision.channel or self.section.channel
            await self._ask(tx, group, channel, now)
            return "asked"
        if group.ask_ts:  # an ask message already out: it shows the resolves too
            await self._ask(tx, group, group.ask_channel, now)
        return "recorded"

    @staticmethod
    async def _ask(tx: Transaction, group: AlertGroup, channel: str, now: datetime) -> None:
        # In a lane of the group's own: an update never overtakes the post that made the message.
        await tx.outbox.enqueue(None, [[fx.AskAboutAlerts(group_id=group.id, channel=channel)]], now,
                                lane=f"alerts-{group.id}")

    @staticmethod
    async def _storm(tx: Transaction, storm_id: int, now: datetime) -> None:
        await tx.outbox.enqueue(None, [[fx.StormSummary(storm_id=storm_id)]], now, lane=f"storm-{storm_id}")

    async def _declare(self, tx: Transaction, group: AlertGroup, decision: Decision, on_call: dict | None,
                       now: datetime, found: list[core.Change], actor: str = ACTOR) -> Incident:
        if on_call is None:
            raise _OnCallNeeded()  # rolls the transaction back; `receive` looks it up and comes again
        firing = [alert for alert in group.alerts if alert.firing]
        began = core.impact_began(firing)
        summary = "; ".join(sorted({alert.summary() for alert in firing}))[:1000]
        declared = await self.incidents.declare_in(
            tx, title=group.title, severity=decision.severity, actor=actor,
            request_key=f"alerts:{group.id}:{began.isoformat() if began else ''}", on_call=on_call,
            description=summary, service=decision.service, impact_started_at=began, pages=core.pages(decision))
        incident = declared.incident
        await tx.alerts.update(group.id, now, incident_id=incident.id, opened_incident=declared.created)
        changes = found or [core.Change(alert, "fired") for alert in firing]
        await tx.timeline.append(incident.id, [_event(change, now) for change in changes])
        await tx.outbox.enqueue(incident.id, [[fx.PostAlerts(group_id=group.id)]], now)
        if group.ask_ts:
            await self._ask(tx, group, group.ask_channel, now)
        return incident

    async def _all_clear(self, tx: Transaction, incident: Incident) -> bool:
        return all(group.firing == 0 for group in await tx.alerts.of_incident(incident.id))

    # -- people deciding ---------------------------------------------------------------------------
    async def declare(self, group_id: int, channel_id: str, actor: str, request_key: str) -> Incident:
        """The Declare button of an alert group someone was asked about."""
        group = await self._group_clicked(group_id, channel_id, actor, "declare incidents from")
        decision = self.decision(group)
        on_call = await self.incidents.on_call_for(decision.severity) if core.pages(decision) else {}
        now = self.clock.now()
        async with self.work() as tx:
            if not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            group = await tx.alerts.get(group_id)
            current = await tx.incidents.get(group.incident_id) if group.incident_id else None
            if current is not None and current.is_open:
                raise DomainError(f"These alerts are already {current.reference}: <#{current.channel_id}>.")
            await tx.alerts.acted(group_id, now)
            if group.storm_id is not None:
                await self._storm(tx, group.storm_id, now)
            return await self._declare(tx, group, decision, on_call, now, [], actor=actor)

    async def acknowledge(self, group_id: int, channel_id: str, actor: str, request_key: str) -> None:
        await self._group_clicked(group_id, channel_id, actor, "acknowledge alerts in")
        now = self.clock.now()
        async with self.work() as tx:
            if not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            group = await tx.alerts.get(group_id)
            await tx.alerts.update(group_id, now, acknowledged_by=actor)
            await tx.alerts.acted(group_id, now)
            await self._ask(tx, group, group.ask_channel, now)

    async def silence(self, group_id: int, hours: int, channel_id: str, actor: str, request_key: str) -> str:
        """A real Alertmanager silence on the group's common labels, for `hours`, created by the Slack user."""
        if not self.silences:
            raise DomainError("Silencing needs Alertmanager's address: set `alerts.alertmanager_url` in config.yaml.")
        if hours not in (1, 4, 24):
            raise DomainError("Silence for 1, 4 or 24 hours.")
        group = await self._group_clicked(group_id, channel_id, actor, "silence alerts in")
        if not group.silence_matchers():
            raise DomainError("These alerts share no label to silence them by.")
        now = self.clock.now()
        until = now + timedelta(hours=hours)
        async with self.work() as tx:
            if not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            await tx.alerts.update(group_id, now, silenced_until=until, silenced_by=actor)
            await tx.alerts.acted(group_id, now)
            create = fx.CreateSilence(group_id=group_id, matchers=group.silence_matchers(), starts_at=now.isoformat(),
                                      ends_at=until.isoformat(), actor=actor,
                                      comment=f"Silenced from Slack: {group.title}"[:500])
            await tx.outbox.enqueue(group.incident_id, [[create], self._redraw(group)], now,
                                    lane="alertmanager")
            if group.incident_id:
                await tx.timeline.append(group.incident_id, [Event("alert", actor, now,
                                                                    f"<@{actor}> silenced {group.title} for {hours} h")])
        return f":mute: Silencing {group.title} for {hours} h in Alertmanager."

    async def expire_silence(self, group_id: int, channel_id: str, actor: str, request_key: str) -> str:
        group = await self._group_clicked(group_id, channel_id, actor, "expire silences in")
        if not group.silence_id:
            raise DomainError("There is no silence to expire.")
        now = self.clock.now()
        async with self.work() as tx:
            if not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            expire = fx.ExpireSilence(group_id=group_id, silence_id=group.silence_id)
            await tx.outbox.enqueue(group.incident_id, [[expire], self._redraw(group)], now, lane="alertmanager")
            if group.incident_id:
                await tx.timeline.append(group.incident_id, [Event("alert", actor, now,
                                                                    f"<@{actor}> expired the silence on {group.title}")])
        return ":loud_sound: Expiring the silence."

    def _redraw(self, group: AlertGroup) -> list[fx.Effect]:
        redraw: list[fx.Effect] = []
        if group.incident_id:
            redraw.append(fx.PostAlerts(group_id=group.id))
        if group.ask_ts:
            redraw.append(fx.AskAboutAlerts(group_id=group.id, channel=group.ask_channel))
        return redraw

    async def _group_clicked(self, group_id: int, channel_id: str, actor: str, verb: str) -> AlertGroup:
        """The group of a click, which must come from where its message is (the alerts channel or its war
        room), from someone in that channel: the group id in the button is never trusted alone."""
        async with self.store.reading() as tx:
            group = await tx.alerts.get(group_id)
            incident = await tx.incidents.get(group.incident_id) if group and group.incident_id else None
        rooms = {group.ask_channel} if group else set()
        if incident is not None:
            rooms.add(incident.channel_id)
        if group is None or not channel_id or channel_id not in rooms:
            log.warning("alert_click_refused", group=group_id, channel=channel_id)
            raise DomainError(NOT_HERE)
        if not await self.directory.is_member(channel_id, actor):
            raise DomainError(f"Only people in this channel may {verb} it.")
        return group

    # -- views -------------------------------------------------------------------------------------
    async def view(self, group_id: int) -> GroupView | None:
        """The group as its messages show it: with its severity, the runbook offered first, what is flapping."""
        async with self.store.reading() as tx:
            group = await tx.alerts.get(group_id)
        if group is None:
            return None
        decision = self.decision(group)
        return GroupView(group, decision.severity, self._runbook(group, decision), frozenset(self.flapping(group)))

    def _runbook(self, group: AlertGroup, decision: Decision) -> tuple[str, str] | None:
        """The route's runbook, else the first whose `alerts:` names an alert of the group."""
        if self.catalog is None:
            return None
        named = self.catalog.get(decision.runbook) if decision.runbook else None
        names = {alert.name.lower() for alert in group.alerts}
        answer = named or next((r for r in self.catalog.all() if names & {a.lower() for a in r.alerts}), None)
        return (answer.id, answer.title) if answer else None

    async def runbook_started(self, group_id: int, channel_id: str) -> None:
        """Its runbook was started from the alerts message in this war room: someone acted on it. The group in
        the button counts only if it is this room's (the runbook service checked the room and the person)."""
        async with self.work() as tx:
            group = await tx.alerts.get(group_id)
            incident = await tx.incidents.get(group.incident_id) if group and group.incident_id else None
            if incident is None or incident.channel_id != channel_id:
                log.warning("alert_click_refused", group=group_id, channel=channel_id)
                return
            await tx.alerts.acted(group_id, self.clock.now())

    async def storm(self, storm_id: int) -> tuple[dict, list[AlertGroup]] | None:
        async with self.store.reading() as tx:
            return await tx.alerts.storm(storm_id)

    # -- noise -------------------------------------------------------------------------------------
    async def noise(self, days: int = 7) -> list[core.NoiseRow]:
        """Per alert name over the last `days`: fires, how many were acted on, median duration, flapping."""
        now = self.clock.now()
        async with self.store.reading() as tx:
            firings = await tx.alerts.firings_since(now - timedelta(days=days))
        flapping = self.section.flapping
        return core.noise(firings, now, flapping.count, timedelta(minutes=flapping.minutes))

    async def fire_digest(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        """The weekly noise digest (a timer): the alerts that fired three or more times without action."""
        channel = self.section.noise_channel
        if channel:
            flapping = self.section.flapping
            rows = core.noise(await tx.alerts.firings_since(now - timedelta(days=7)), now, flapping.count,
                              timedelta(minutes=flapping.minutes))
            lines = tuple(core.noise_line(row) for row in rows if row.ignored)
            await tx.outbox.enqueue(None, [[fx.NoiseDigest(channel=channel, lines=lines)]], now)
        return Fired(core.next_noise_digest(now), fired=bool(channel))

    async def fire_auto_resolve(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        """All clear for alerts.auto_resolve_minutes: resolve, unless a person has acted in the meantime or an
        alert fires again (which cancels the timer)."""
        incident = await tx.incidents.get(timer.incident_id, for_update=True)
        if incident is None or not incident.is_open or incident.declared_by != ACTOR:
            return Fired(None, fired=False)
        since = datetime.fromisoformat(timer.payload["since"])
        people = [e for e in await tx.timeline.of(incident.id) if e.at >= since and is_user_id(e.actor)]
        if people or not await self._all_clear(tx, incident):
            return Fired(None, fired=False)
        minutes = self.section.auto_resolve_minutes
        await self.incidents.resolve_in(tx, incident, f"Every alert resolved {minutes} minutes ago and nobody "
                                                      f"acted since: resolved by warroom", ACTOR)
        log.info("alerts_auto_resolved", incident_id=incident.id)
        return Fired(None)

    async def ensure_digest(self) -> None:
        """At start: the weekly digest timer exists once alerts.noise_channel is set."""
        if not self.section.noise_channel:
            return
        async with self.work() as tx:
            if await tx.timers.status(NOISE_DIGEST_KEY) != "pending":
                await tx.timers.set(NOISE_DIGEST_KEY, NOISE_DIGEST, core.next_noise_digest(self.clock.now()))

    async def of_incident(self, incident_id: int) -> list[AlertGroup]:
        async with self.store.reading() as tx:
            return await tx.alerts.of_incident(incident_id)


class _OnCallNeeded(Exception):
    pass


@dataclass(frozen=True)
class GroupView:
    group: AlertGroup
    severity: Severity
    runbook: tuple[str, str] | None  # (id, title) of the runbook offered first
    flapping: frozenset[str]  # fingerprints


NOISE_DIGEST = "alert_noise_digest"
AUTO_RESOLVE = "alert_auto_resolve"


def _auto_resolve_key(incident_id: int) -> str:
    return f"incident:{incident_id}:alerts_auto_resolve"
NOISE_DIGEST_KEY = "alerts:noise_digest"


def _event(change: core.Change, now: datetime) -> Event:
    alert = change.alert
    if change.kind == "fired":
        return Event("alert", ACTOR, alert.starts_at, f"Alert fired: {alert.name}: {alert.summary()}"[:3000],
                     {"fingerprint": alert.fingerprint})
    return Event("alert", ACTOR, alert.ends_at or now, f"Alert resolved: {alert.name}"[:3000],
                 {"fingerprint": alert.fingerprint})
