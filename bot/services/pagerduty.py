"""The PagerDuty mirror's inbound side (Webhooks v3) and its reachability notices.

Every delivery is recorded under its X-Webhook-Id in the same transaction as what it changes, so a
redelivery changes nothing. Events about incidents warroom does not know, on services it does not
watch, are acknowledged and ignored.
"""

from __future__ import annotations

import structlog

from bot.config import Settings
from bot.core import effects as fx
from bot.core.incident import DomainError, Event, Severity
from bot.core.ports import Clock, Dispatch
from bot.integrations.pagerduty import NOTE_PREFIX, incident_id_from_key
from bot.integrations.pagerduty_webhooks import WebhookEvent
from bot.services.incidents import Duplicate, IncidentService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store

log = structlog.get_logger("warroom.pagerduty")

TIMELINE_ONLY = {
    "incident.escalated": "Escalated in PagerDuty",
    "incident.reassigned": "Reassigned in PagerDuty",
    "incident.unacknowledged": "Acknowledgement timed out in PagerDuty",
    "incident.priority_updated": "Priority changed in PagerDuty",
    "incident.responder.added": "Responder requested in PagerDuty",
    "incident.responder.replied": "Responder replied in PagerDuty",
    "incident.reopened": "Reopened in PagerDuty",
}


class PagerDutyMirror:
    def __init__(self, store: Store, settings: Settings, clock: Clock, incidents: IncidentService,
                 dispatch: Dispatch | None = None):
        self.store, self.settings, self.clock, self.incidents = store, settings, clock, incidents
        self.section = settings.file.pagerduty
        self.work = UnitOfWork(store, dispatch)
        self._slack_of = {pd: slack for slack, pd in self.section.users.items()}
        self._reachable: set[int] = set()  # incidents whose last PagerDuty call worked, in this process
        self._incident_ids: dict[str, int] = {}  # PagerDuty incident id -> ours; a mirror never changes twin

    # -- outbound reachability ---------------------------------------------------------------------
    async def reachability(self, incident_id: int, reachable: bool, reason: str) -> None:
        """Tells the war room once when PagerDuty stops answering, and once when it answers again."""
        if reachable and incident_id in self._reachable:
            return  # the common case costs no transaction
        now = self.clock.now()
        async with self.work() as tx:
            changed = await tx.incidents.set_pagerduty_state(incident_id, "" if reachable else "unreachable")
            if changed and not reachable:
                await tx.timeline.append(incident_id, [Event("pagerduty", "warroom", now,
                                                             f"PagerDuty unreachable ({reason}); retrying")])
                await tx.outbox.enqueue(incident_id, [[fx.PostMessage(template=fx.Template.PAGERDUTY_UNREACHABLE,
                                                                reason=reason)]], now)
            elif changed:
                await tx.timeline.append(incident_id, [Event("pagerduty", "warroom", now, "PagerDuty reachable again")])
                await tx.outbox.enqueue(incident_id, [[fx.PostMessage(template=fx.Template.PAGERDUTY_BACK)]], now)
        (self._reachable.add if reachable else self._reachable.discard)(incident_id)

    async def refused(self, incident_id: int, reason: str) -> None:
        """PagerDuty refused to create the twin (a wrong service ID, a bad token): the room must page by hand."""
        now = self.clock.now()
        async with self.work() as tx:
            await tx.timeline.append(incident_id, [Event("pagerduty", "warroom", now, f"PagerDuty refused: {reason}")])
            await tx.outbox.enqueue(incident_id, [[fx.PostMessage(template=fx.Template.PAGERDUTY_REFUSED, reason=reason)]],
                             now)

    # -- inbound webhooks --------------------------------------------------------------------------
    async def handle(self, webhook_id: str, event: WebhookEvent) -> str:
        """What the delivery did: "ignored", "duplicate" or the change made."""
        # The signed event id, never the unsigned X-Webhook-Id alone: a captured delivery replayed under a new
        # header id is the same event.
        key = f"pd-webhook:{event.id or webhook_id}"
        known = self._incident_ids.get(event.incident_id or "")
        text = self._timeline_text(event)
        if known is not None and text is not None:
            return await self._note(known, text, key)  # the busy path: no reads
        incident = await self.incidents.incident_for_pagerduty(event.incident_id,
                                                               incident_id_from_key(event.incident.get("incident_key")))
        if incident is not None and incident.pagerduty_id:
            self._incident_ids[incident.pagerduty_id] = incident.id
        try:
            if incident is None:
                return await self._unknown(event, key)
            who = self._who(event)
            if event.event_type == "incident.acknowledged":
                if incident.acknowledged_by:
                    return "ignored"
                slack_user = self._slack_of.get(event.agent_id or "")
                await self.incidents.acknowledge(incident.id, slack_user or "pagerduty", key, source="pagerduty",
                                                 who=None if slack_user else f"pagerduty:{who}")
                return "acknowledged"
            if event.event_type == "incident.resolved":
                if not incident.is_open:
                    return "ignored"  # resolved here first; PagerDuty is telling us what we told it
                if self.section.on_resolve == "resolve":
                    await self.incidents.resolve_from_pagerduty(incident.id, who, key)
                    return "resolved"
                await self.incidents.record(incident.id, "pagerduty", f"Resolved in PagerDuty by {who}", key,
                                            room=fx.PostMessage(template=fx.Template.PAGERDUTY_RESOLVED_PROMPT,
                                                                   text=f"Resolved in PagerDuty by {who}"))
                return "prompted"
            return await self._note(incident.id, text, key) if text is not None else "ignored"
        except Duplicate:
            return "duplicate"
        except DomainError as exc:  # e.g. acknowledged in Slack a moment before
            log.info("pagerduty_webhook_no_change", reason=str(exc))
            return "ignored"

    def _timeline_text(self, event: WebhookEvent) -> str | None:
        """The timeline entry of an event that only goes on the timeline; None for any other event."""
        who = self._who(event)
        if event.event_type == "incident.annotated":
            content = str(event.data.get("content", ""))
            if content.startswith(NOTE_PREFIX):
                return None  # our own note, coming back
            return f"Note in PagerDuty by {who}: {content}"[:3000]
        if event.event_type in TIMELINE_ONLY:
            return f"{TIMELINE_ONLY[event.event_type]} ({who}){self._assignees(event)}"
        return None

    async def _note(self, incident_id: int, text: str, key: str) -> str:
        event = Event("pagerduty", "pagerduty", self.clock.now(), text)
        return "noted" if await self.store.append_once(incident_id, event, key) else "duplicate"

    async def _unknown(self, event: WebhookEvent, key: str) -> str:
        """An incident warroom did not make: a trigger on a watched service opens a war room."""
        service = (event.incident.get("service") or {}).get("id")
        if event.event_type != "incident.triggered" or service not in self.section.open_war_rooms_for:
            return "ignored"
        if incident_id_from_key(event.incident.get("incident_key")) is not None:
            return "ignored"  # ours, but not recorded yet: the create effect records it
        title = str(event.incident.get("title") or "PagerDuty incident")[:200]
        declared = await self.incidents.declare(
            title=title, severity=self._severity(event.incident), actor="pagerduty", request_key=key,
            description=f"Triggered in PagerDuty on {(event.incident.get('service') or {}).get('summary', service)}",
            service=str((event.incident.get("service") or {}).get("summary") or ""),
            pagerduty=(event.incident_id, event.incident.get("html_url")))
        return "declared" if declared.created else "joined"

    def _severity(self, incident: dict) -> Severity:
        priority = (incident.get("priority") or {}) if isinstance(incident.get("priority"), dict) else {}
        for key, priority_id in self.section.priorities.items():
            if priority.get("id") == priority_id:
                return Severity(int(key[-1]))
        return Severity.SEV2 if incident.get("urgency", "high") == "high" else Severity.SEV3

    @staticmethod
    def _who(event: WebhookEvent) -> str:
        return (event.agent_name or "PagerDuty")[:100]

    @staticmethod
    def _assignees(event: WebhookEvent) -> str:
        names = [a.get("summary") for a in event.incident.get("assignees") or [] if isinstance(a, dict)]
        return f": now with {', '.join(n for n in names if n)}" if any(names) else ""
