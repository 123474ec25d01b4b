"""A local PagerDuty stand-in over HTTPS: the parts of REST API v2 and Events API v2 warroom uses, and
signed Webhooks v3 back to warroom. `warroom demo` and the tests drive the real `pagerduty` client at it.

The client insists on https://, so the stand-in serves TLS with a throwaway CA (`trustme`); a process
trusts it when SSL_CERT_FILE points at `ca_bundle()`. Faults (an outage, 429s, 5xx, slowness) are
switched on and off by the test or the demo script.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import aiohttp
import certifi
import trustme
from aiohttp import web

from bot.integrations.pagerduty_webhooks import sign

API_TOKEN = "pd-sandbox-token"
# validate(method, path template, body) -> problems; the tests plug in the official OpenAPI specs
Validator = Callable[[str, str, dict], list[str]]


@dataclass
class Recorded:
    method: str
    path: str  # the route template, e.g. /incidents/{id}/notes
    body: dict | None
    headers: dict


@dataclass
class PagerDutyFaults:
    down: bool = False  # connections are refused
    status: int | None = None  # every request answered with this status...
    times: int = 0  # ...this many times (0 with a status: until cleared)
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class PagerDutySandbox:
    validate: Validator | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    incidents: dict[str, dict] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    oncalls: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    faults: PagerDutyFaults = field(default_factory=PagerDutyFaults)

    def __post_init__(self) -> None:
        self._numbers = itertools.count(1)
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> "PagerDutySandbox":
        app = web.Application()
        app.router.add_post("/incidents", self._create)
        app.router.add_get("/incidents", self._list)
        app.router.add_get("/incidents/{id}", self._get)
        app.router.add_put("/incidents/{id}", self._update)
        app.router.add_get("/incidents/{id}/notes", self._notes)
        app.router.add_post("/incidents/{id}/notes", self._add_note)
        app.router.add_post("/incidents/{id}/responder_requests", self._responder_request)
        app.router.add_get("/oncalls", self._oncalls)
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self._listen(port)
        return self

    async def _listen(self, port: int) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        self._site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=context)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def go_down(self) -> None:
        """An outage: the port stops listening, so connections are refused."""
        self.faults.down = True
        await self._site.stop()

    async def come_back(self) -> None:
        self.faults.down = False
        await self._listen(self.port)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def ca_bundle(self, path: Path) -> Path:
        """The stand-in's CA plus the usual public roots, for SSL_CERT_FILE (it replaces the trust store)."""
        path.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + self._ca.cert_pem.bytes())
        return path

    def client_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    # -- the API -----------------------------------------------------------------------------------
    async def _gate(self, request: web.Request, template: str, *, write: bool = False) -> tuple[dict | None, web.Response | None]:
        if self.faults.down and request.transport:
            # A connection kept alive from before the outage: drop it, as a dead host would.
            request.transport.abort()
            raise web.HTTPServiceUnavailable()
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return None, self._error(400, 2001, "Invalid Input Provided", ["body is not JSON"])
        self.requests.append(Recorded(request.method, template, body, dict(request.headers)))
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if self.faults.status:
            status = self.faults.status
            if self.faults.times:  # a limited number of faults; 0 means until cleared
                self.faults.times -= 1
                if not self.faults.times:
                    self.faults.status = None
            headers = {"Retry-After": str(self.faults.retry_after)} if self.faults.retry_after else {}
            return None, web.json_response({"error": {"message": "stand-in fault", "code": 0}}, status=status,
                                           headers=headers)
        if template != "/v2/enqueue" and request.headers.get("Authorization") != f"Token token={API_TOKEN}":
            return None, self._error(401, 2006, "Unauthorized", [])
        if write and template != "/v2/enqueue" and not request.headers.get("From"):
            return None, self._error(400, 2001, "Invalid Input Provided", ["A From header is required"])
        if body is not None and self.validate:
            problems = self.validate(request.method.lower(), template, body)
            if problems:
                self.problems += [f"{request.method} {template}: {p}" for p in problems]
                return None, self._error(400, 2001, "Invalid Input Provided", problems)
        return body, None

    @staticmethod
    def _error(status: int, code: int, message: str, errors: list[str]) -> web.Response:
        return web.json_response({"error": {"message": message, "code": code, "errors": errors}}, status=status)

    async def _create(self, request: web.Request) -> web.Response:
        body, refused = await self._gate(request, "/incidents", write=True)
        if refused:
            return refused
        spec = body["incident"]
        key = spec.get("incident_key")
        if key and any(i["incident_key"] == key and i["status"] != "resolved" for i in self.incidents.values()):
            return self._error(400, 2002, "Invalid Input Provided",
                               [f"Open incident with key '{key}' already exists for this service."])
        incident = self.open_incident(spec["title"], spec["service"]["id"], key, spec.get("urgency", "high"),
                                      spec.get("priority"))
        return web.json_response({"incident": incident}, status=201)

    def open_incident(self, title: str, service_id: str, key: str | None = None, urgency: str = "high",
                      priority: dict | None = None) -> dict:
        number = next(self._numbers)
        pd_id = f"Q{number:06d}SB"
        now = datetime.now(timezone.utc).isoformat()
        incident = {"id": pd_id, "type": "incident", "incident_number": number, "title": title,
                    "status": "triggered", "urgency": urgency, "priority": priority,
                    "incident_key": key or uuid.uuid4().hex, "created_at": now, "updated_at": now,
                    "service": {"id": service_id, "type": "service_reference", "summary": service_id},
                    "html_url": f"https://sandbox.pagerduty.invalid/incidents/{pd_id}",
                    "self": f"{self.url}/incidents/{pd_id}", "notes": [], "responder_requests": []}
        self.incidents[pd_id] = incident
        return incident

    @staticmethod
    def _public(incident: dict) -> dict:
        return {k: v for k, v in incident.items() if k not in ("notes", "responder_requests")}

    async def _list(self, request: web.Request) -> web.Response:
        _, refused = await self._gate(request, "/incidents")
        if refused:
            return refused
        key = request.query.get("incident_key")
        found = [self._public(i) for i in self.incidents.values() if not key or i["incident_key"] == key]
        return web.json_response({"incidents": found, "limit": 25, "offset": 0, "more": False, "total": None})

    def _find(self, request: web.Request) -> dict | None:
        return self.incidents.get(request.match_info["id"])

    async def _get(self, request: web.Request) -> web.Response:
        _, refused = await self._gate(request, "/incidents/{id}")
        if refused:
            return refused
        incident = self._find(request)
        if not incident:
            return self._error(404, 2100, "Not Found", [])
        return web.json_response({"incident": self._public(incident)})

    async def _update(self, request: web.Request) -> web.Response:
        body, refused = await self._gate(request, "/incidents/{id}", write=True)
        if refused:
            return refused
        incident = self._find(request)
        if not incident:
            return self._error(404, 2100, "Not Found", [])
        change = body["incident"]
        if incident["status"] == "resolved" and change.get("status") == "resolved":
            return self._error(400, 2001, "Invalid Input Provided", ["Incident Already Resolved"])
        for name in ("status", "urgency", "priority", "title"):
            if name in change:
                incident[name] = change[name]
        incident["updated_at"] = datetime.now(timezone.utc).isoformat()
        return web.json_response({"incident": self._public(incident)})

    async def _notes(self, request: web.Request) -> web.Response:
        _, refused = await self._gate(request, "/incidents/{id}/notes")
        if refused:
            return refused
        incident = self._find(request)
        return web.json_response({"notes": incident["notes"] if incident else []})

    async def _add_note(self, request: web.Request) -> web.Response:
        body, refused = await self._gate(request, "/incidents/{id}/notes", write=True)
        if refused:
            return refused
        incident = self._find(request)
        if not incident:
            return self._error(404, 2100, "Not Found", [])
        note = {"id": f"N{len(incident['notes']) + 1}", "content": body["note"]["content"],
                "created_at": datetime.now(timezone.utc).isoformat()}
        incident["notes"].append(note)
        return web.json_response({"note": note}, status=201)

    async def _responder_request(self, request: web.Request) -> web.Response:
        body, refused = await self._gate(request, "/incidents/{id}/responder_requests", write=True)
        if refused:
            return refused
        incident = self._find(request)
        if not incident:
            return self._error(404, 2100, "Not Found", [])
        incident["responder_requests"].append(body)
        return web.json_response({"responder_request": {"incident": {"id": incident["id"]},
                                                        "message": body["message"]}})

    async def _oncalls(self, request: web.Request) -> web.Response:
        _, refused = await self._gate(request, "/oncalls")
        if refused:
            return refused
        schedules = set(request.query.getall("schedule_ids[]", []))
        policies = set(request.query.getall("escalation_policy_ids[]", []))
        found = [entry for entry in self.oncalls
                 if (not schedules or (entry.get("schedule") or {}).get("id") in schedules)
                 and (not policies or entry["escalation_policy"]["id"] in policies)]
        return web.json_response({"oncalls": found, "limit": 25, "offset": 0, "more": False, "total": None})

    async def _enqueue(self, request: web.Request) -> web.Response:
        body, refused = await self._gate(request, "/v2/enqueue")
        if refused:
            return refused
        key, action = body.get("dedup_key") or uuid.uuid4().hex, body["event_action"]
        open_one = next((i for i in self.incidents.values() if i["incident_key"] == key
                         and i["status"] != "resolved"), None)
        if action == "trigger" and open_one is None:
            severity = body["payload"]["severity"]
            self.open_incident(body["payload"]["summary"], "events-integration", key,
                               "high" if severity in ("critical", "error") else "low")
        elif open_one is not None and action in ("acknowledge", "resolve"):
            open_one["status"] = "acknowledged" if action == "acknowledge" else "resolved"
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)

    # -- PagerDuty's side of the story: people acting in PagerDuty, and the webhooks that follow ----
    async def act(self, pd_id: str, event_type: str, agent: dict | None = None, **data) -> aiohttp.ClientResponse:
        """Changes the incident as PagerDuty would, then delivers the signed webhook; returns warroom's answer."""
        incident = self.incidents[pd_id]
        if event_type == "incident.acknowledged":
            incident["status"] = "acknowledged"
        elif event_type == "incident.resolved":
            incident["status"] = "resolved"
        return await self.deliver(self.webhook(event_type, incident, agent, **data))

    def webhook(self, event_type: str, incident: dict, agent: dict | None = None, **data) -> dict:
        if event_type == "incident.annotated":
            payload = {"type": "incident_note", "id": uuid.uuid4().hex[:7], "content": data["content"],
                       "trimmed": False, "incident": {"id": incident["id"], "type": "incident_reference",
                                                      "html_url": incident["html_url"]}}
        else:
            payload = {**self._public(incident), **data}
        return {"event": {"id": uuid.uuid4().hex, "event_type": event_type, "resource_type": "incident",
                          "occurred_at": datetime.now(timezone.utc).isoformat(), "agent": agent,
                          "client": None, "data": payload}}

    async def deliver(self, document: dict, *, webhook_id: str | None = None,
                      signature: str | None = None) -> aiohttp.ClientResponse:
        raw = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-Webhook-Id": webhook_id or uuid.uuid4().hex}
        if signature != "":  # "" sends none at all; None signs with the subscription's secret
            headers["X-PagerDuty-Signature"] = signature or sign(self.webhook_secret, raw)
        async with aiohttp.ClientSession() as session:
            async with session.post(self.webhook_url, data=raw, headers=headers) as response:
                await response.read()
                return response
