"""The PagerDuty mirror's outbound side: the `pagerduty` package's clients, called off the event loop.

`pagerduty` (RestApiV2Client, EventsApiV2Client) is the maintained successor of `pdpyras`, which is
deprecated and gets no updates after 2025-06-20. Its clients are synchronous and retry by sleeping
(a 429 without limit, a refused connection three times over ~21 s), which would hold a worker thread
hostage during an outage. Here they are told never to retry: one attempt, and a failure goes back to the
outbox as RetryLater, which reschedules it without blocking anything.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import httpx2
import pagerduty
import structlog

from bot.config import Environment, Settings
from bot.core import effects as fx
from bot.core.effects import IncidentRefs
from bot.core.incident import Incident, Severity
from bot.core.ports import CURRENT_EFFECT, Performer, RetryLater
from bot.environment import secret

log = structlog.get_logger("warroom.pagerduty")

NOTE_PREFIX = "[warroom] "  # our own notes come back as incident.annotated webhooks; this tells them apart
OPEN_STATUSES = ("triggered", "acknowledged")
EVENT_SEVERITY = {Severity.SEV1: "critical", Severity.SEV2: "error", Severity.SEV3: "warning", Severity.SEV4: "info"}
# PagerDuty's own advice: retry these; anything else 4xx is our mistake and retrying will not fix it.
TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}


class PermanentPagerDutyError(Exception):
    pass


def incident_key(incident: Incident) -> str:
    return f"warroom-{incident.reference}"


def incident_id_from_key(key: str | None) -> int | None:
    """warroom's incident id from a PagerDuty incident key that warroom made, else None."""
    if key and key.startswith("warroom-INC-") and key[len("warroom-INC-"):].isdigit():
        return int(key[len("warroom-INC-"):])
    return None


def urgency(severity: Severity) -> str:
    return "high" if severity <= Severity.SEV2 else "low"


def _no_retries(client: pagerduty.ApiClient) -> None:
    # One attempt per call. A status listed in `retry` with attempts over `max_http_attempts` is returned at
    # once instead of slept on; a network error with max_network_attempts 0 raises at once.
    client.retry = {status: 1 for status in TRANSIENT_STATUSES}
    client.max_http_attempts = -1
    client.max_network_attempts = 0
    client.timeout = 5.0
    # Its "exceeded maximum number of attempts (-1)" errors describe the settings above, not a fault;
    # warroom logs each failure itself, with the effect it belongs to.
    client.log = _quiet


_quiet = logging.getLogger("warroom.pagerduty.client")
_quiet.setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class PagerDutyClients:
    rest: pagerduty.RestApiV2Client | None
    events: pagerduty.EventsApiV2Client | None

    @classmethod
    def from_env(cls, env: Environment, settings: Settings) -> "PagerDutyClients | None":
        """None when the mirror is off: no token and no routing key, or no service configured."""
        section = settings.file.pagerduty
        if not section.service_id or not (env.pagerduty_api_token or section.routing_key):
            return None
        rest = events = None
        try:
            if env.pagerduty_api_token:
                # Defaults only (no verify=, no trust_env=False): SSL_CERT_FILE decides whom the process trusts.
                rest = pagerduty.RestApiV2Client(secret(env.pagerduty_api_token), default_from=env.pagerduty_from_email,
                                                 base_url=env.pagerduty_api_url)
                _no_retries(rest)
            if section.routing_key:
                events = pagerduty.EventsApiV2Client(section.routing_key, base_url=env.pagerduty_events_url)
                _no_retries(events)
        except pagerduty.UrlError as exc:
            raise SystemExit(f"PAGERDUTY_API_URL / PAGERDUTY_EVENTS_URL: {exc}") from None
        return cls(rest, events)


async def _send(call: Callable[..., httpx2.Response], *args, **kwargs) -> Any:
    """One HTTP call in a worker thread; its failure sorted into retry-later or give-up."""
    try:
        response = await asyncio.to_thread(call, *args, **kwargs)
    except (pagerduty.Error, httpx2.TransportError) as exc:
        if isinstance(exc, pagerduty.HttpError) and exc.response is not None:
            response = exc.response  # 401: the client raises rather than returning
        else:
            raise RetryLater(f"no answer: {type(exc.__cause__ or exc).__name__}") from None
    status = response.status_code
    if status in TRANSIENT_STATUSES:
        after = response.headers.get("Retry-After")
        raise RetryLater(f"PagerDuty answered {status}", float(after) if after and after.isdigit() else None)
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if status >= 400:
        raise PagerDutyRejected(status, body)
    return body


class PagerDutyRejected(PermanentPagerDutyError):
    def __init__(self, status: int, body: dict):
        error = body.get("error") if isinstance(body, dict) else None
        self.status = status
        self.code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        details = "; ".join(error.get("errors") or []) if isinstance(error, dict) else ""
        super().__init__(f"PagerDuty refused ({status}, code {self.code}): {message} {details}".strip())


class PagerDutyEffects(Performer):
    """Performs the outbox's "pagerduty" effects. `on_reachability(incident_id, reachable, reason)` lets the
    service tell the war room once when PagerDuty goes away and once when it comes back."""

    def __init__(self, clients: PagerDutyClients, settings: Settings,
                 on_reachability: Callable[[int, bool, str], Awaitable[None]] | None = None,
                 display_name: Callable[[str], Awaitable[str]] | None = None,
                 on_refused: Callable[[int, str], Awaitable[None]] | None = None):
        self.rest, self.events = clients.rest, clients.events
        self.display_name = display_name
        self.on_refused = on_refused
        self.section = settings.file.pagerduty
        self.on_reachability = on_reachability

    async def perform(self, effect: fx.Effect, incident: Incident | None, context=None) -> fx.Result:
        if incident is None:
            raise PermanentPagerDutyError(f"{effect.type} without an incident")
        try:
            refs = await super().perform(effect, incident)
        except RetryLater as exc:
            if self.on_reachability:
                await self.on_reachability(incident.id, False, str(exc))
            raise
        except PermanentPagerDutyError as exc:
            if isinstance(effect, fx.PagerDutyCreate) and self.on_refused:  # without a twin, nobody is paged through PagerDuty
                await self.on_refused(incident.id, str(exc))
            raise
        if self.on_reachability:
            await self.on_reachability(incident.id, True, "")
        return refs

    # -- effects -----------------------------------------------------------------------------------
    async def _create(self, effect: fx.PagerDutyCreate, incident: Incident) -> fx.Result:
        if incident.pagerduty_id:
            return None
        if self.events:
            await _send(self.events.post, "/v2/enqueue", json=self._trigger_event(incident))
            found = await self._find(incident) if self.rest else None
            return self._refs(found) if found else None
        body = {"incident": {
            "type": "incident", "title": self._title(incident),
            "service": {"id": self.section.service_id, "type": "service_reference"},
            "urgency": urgency(incident.severity), "incident_key": incident_key(incident),
            "body": {"type": "incident_body", "details": self._details(incident)},
        }}
        if self.section.escalation_policy_id:
            body["incident"]["escalation_policy"] = {"id": self.section.escalation_policy_id,
                                                     "type": "escalation_policy_reference"}
        priority = self.section.priorities.get(f"sev{incident.severity.value}")
        if priority:
            body["incident"]["priority"] = {"id": priority, "type": "priority_reference"}
        try:
            created = await _send(self.rest.post, "/incidents", json=body)
            return self._refs(created["incident"])
        except PagerDutyRejected as exc:
            # 2002: an open incident has this key already. A retry after a lost answer lands here.
            if exc.code != 2002:
                raise
            found = await self._find(incident)
            if not found:
                raise
            return self._refs(found)

    async def _update(self, effect: fx.PagerDutyUpdate, incident: Incident) -> None:
        pd_id = await self._pagerduty_id(incident)
        if not pd_id:
            return
        change: dict[str, Any] = {"type": "incident_reference", "urgency": urgency(incident.severity),
                                  "title": self._title(incident)}
        priority = self.section.priorities.get(f"sev{incident.severity.value}")
        if priority:
            change["priority"] = {"id": priority, "type": "priority_reference"}
        await _send(self.rest.put, f"/incidents/{pd_id}", json={"incident": change})

    async def _note(self, effect: fx.PagerDutyNote, incident: Incident) -> None:
        pd_id = await self._pagerduty_id(incident)
        if not pd_id:
            return
        author = await self.display_name(effect.actor) if self.display_name and effect.actor else ""
        content = (NOTE_PREFIX + effect.text + (f" (by {author} in Slack)" if author else ""))[:25000]
        attempt = CURRENT_EFFECT.get()
        if attempt is not None and attempt.attempt > 1:
            # An earlier attempt may have reached PagerDuty before its answer was lost: look before posting.
            notes = await _send(self.rest.get, f"/incidents/{pd_id}/notes")
            if any(note.get("content") == content for note in notes.get("notes", [])):
                return
        await _send(self.rest.post, f"/incidents/{pd_id}/notes", json={"note": {"content": content}})

    async def _responders(self, effect: fx.PagerDutyResponders, incident: Incident) -> None:
        pd_id = await self._pagerduty_id(incident)
        targets = [self.section.users[u] for u in effect.users if u in self.section.users]
        requester = self.section.users.get(effect.actor) or self.section.requester_id
        if not pd_id or not targets or not requester:
            return
        await _send(self.rest.post, f"/incidents/{pd_id}/responder_requests", json={
            "requester_id": requester,
            "message": f"{effect.role_label} needed on {incident.reference}: "
                       f"{incident.title}"[:1000],
            "responder_request_targets": [{"responder_request_target": {"id": target, "type": "user_reference"}}
                                          for target in targets],
        })

    async def _acknowledge(self, effect: fx.PagerDutyAcknowledge, incident: Incident) -> None:
        await self._set_status(incident, "acknowledged")

    async def _resolve(self, effect: fx.PagerDutyResolve, incident: Incident) -> None:
        await self._set_status(incident, "resolved")

    async def _set_status(self, incident: Incident, status: str):
        if self.events:
            action = "resolve" if status == "resolved" else "acknowledge"
            await _send(self.events.post, "/v2/enqueue", json={"event_action": action,
                                                                "dedup_key": incident_key(incident)})
            return
        pd_id = await self._pagerduty_id(incident)
        if not pd_id:
            return
        try:
            await _send(self.rest.put, f"/incidents/{pd_id}",
                        json={"incident": {"type": "incident_reference", "status": status}})
        except PagerDutyRejected as exc:
            if exc.status != 400 or "resolved" not in str(exc).lower():
                raise  # resolving an incident already resolved in PagerDuty is done, not failed

    # -- helpers -----------------------------------------------------------------------------------
    async def _pagerduty_id(self, incident: Incident) -> str | None:
        if incident.pagerduty_id:
            return incident.pagerduty_id
        found = await self._find(incident) if self.rest else None
        return found["id"] if found else None

    async def _find(self, incident: Incident) -> dict | None:
        body = await _send(self.rest.get, "/incidents", params={"incident_key": incident_key(incident)})
        incidents = body.get("incidents", [])
        return next((i for i in incidents if i.get("status") in OPEN_STATUSES), incidents[0] if incidents else None)

    @staticmethod
    def _refs(found: dict) -> IncidentRefs:
        return IncidentRefs(pagerduty_id=found["id"], pagerduty_url=found.get("html_url"))

    handlers = {fx.PagerDutyCreate: _create, fx.PagerDutyUpdate: _update, fx.PagerDutyNote: _note,
                fx.PagerDutyResponders: _responders, fx.PagerDutyAcknowledge: _acknowledge,
                fx.PagerDutyResolve: _resolve}

    @staticmethod
    def _title(incident: Incident) -> str:
        return f"[{incident.severity.label}] {incident.title}"[:1024]

    @staticmethod
    def _details(incident: Incident) -> str:
        # A string: what PagerDuty's Incident Creation documentation takes (the spec's schema says object, its
        # own example and the service say string).
        lines = [f"Declared in Slack by warroom as {incident.reference}; war room #{incident.channel_name}."]
        if incident.description:
            lines.append(f"Impact: {incident.description[:10000]}")
        return "\n".join(lines)

    def _trigger_event(self, incident: Incident) -> dict[str, Any]:
        payload = {"summary": self._title(incident), "source": "warroom",
                   "severity": EVENT_SEVERITY[incident.severity],
                   "timestamp": incident.declared_at.astimezone(timezone.utc).isoformat(),
                   "custom_details": {"war_room": incident.channel_name, "incident": incident.reference}}
        if incident.service:
            payload["component"] = incident.service
        return {"event_action": "trigger", "dedup_key": incident_key(incident), "payload": payload}


async def oncall_users(rest: pagerduty.RestApiV2Client, *, schedule: str | None = None,
                       escalation_policy: str | None = None, at: datetime | None = None) -> list[dict]:
    """Who PagerDuty says is on call (level 1 first), as PagerDuty user references."""
    params: dict[str, Any] = {"earliest": "true"}
    if schedule:
        params["schedule_ids[]"] = [schedule]
    if escalation_policy:
        params["escalation_policy_ids[]"] = [escalation_policy]
    if at:
        params["since"] = params["until"] = at.astimezone(timezone.utc).isoformat()
    body = await _send(rest.get, "/oncalls", params=params)
    entries = sorted(body.get("oncalls", []), key=lambda entry: entry.get("escalation_level") or 0)
    return [entry["user"] for entry in entries if entry.get("user")]
