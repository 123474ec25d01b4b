"""A local HTTPS stand-in for Atlassian Statuspage's REST API (v1), for the tests: incidents created and updated
under /v1/pages/{page_id}/incidents, checked the way the documentation describes them. A request it would refuse
is answered as Statuspage answers it and recorded in `problems` (a test fails on any): a wrong
`Authorization: OAuth <key>`, an unknown page or component, an unknown field, a status, impact or component
state outside their enums. It keeps Statuspage's limit of one request a second per key (420 beyond it), and can
fail or rate-limit on demand. TLS is a throwaway CA (`trustme`): a process trusts it through SSL_CERT_FILE.
"""

from __future__ import annotations

import itertools
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import certifi
import trustme
from aiohttp import web

STATUSES = {"investigating", "identified", "monitoring", "resolved", "scheduled", "in_progress", "verifying",
            "completed"}
IMPACTS = {"none", "minor", "major", "critical", "maintenance"}
COMPONENT_STATES = {"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
FIELDS = {"name", "status", "impact_override", "body", "component_ids", "components", "deliver_notifications",
          "auto_transition_to_maintenance_state", "auto_transition_to_operational_state", "metadata",
          "scheduled_for", "scheduled_until", "backfilled", "created_at", "auto_tweet_at_beginning"}


@dataclass
class StatuspageSandbox:
    api_key: str = "statuspage-key-1"
    page_id: str = "pg1"
    components: dict[str, str] = field(default_factory=dict)  # id: its state
    incidents: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str, float]] = field(default_factory=list)  # method, path, when (monotonic)
    problems: list[str] = field(default_factory=list)
    rate_limited: int = 0  # 420s answered because warroom went faster than one request a second
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next requests with

    def __post_init__(self) -> None:
        self._numbers = itertools.count(1)
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._runner: web.AppRunner | None = None
        self._last: float | None = None
        self.port = 0

    async def start(self) -> "StatuspageSandbox":
        app = web.Application()
        app.router.add_post("/v1/pages/{page}/incidents", self._create)
        app.router.add_patch("/v1/pages/{page}/incidents/{id}", self._update)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/v1"

    def ca_bundle(self, path: Path) -> Path:
        path.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + self._ca.cert_pem.bytes())
        return path

    # -- the API -----------------------------------------------------------------------------------
    async def _gate(self, request: web.Request) -> tuple[dict | None, web.Response | None]:
        now = time.monotonic()
        self.requests.append((request.method, request.path, now))
        if request.headers.get("Authorization") != f"OAuth {self.api_key}":
            self.problems.append(f"{request.method} {request.path}: Authorization is not `OAuth <key>`")
            return None, web.json_response({"error": "Could not authenticate"}, status=401)
        if self._last is not None and now - self._last < 0.95:
            self.rate_limited += 1
            return None, web.json_response({"error": "Rate limit exceeded"}, status=420)
        self._last = now
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": "1"} if status in (420, 429) else {}
            return None, web.json_response({"error": "injected"}, status=status, headers=headers)
        if request.match_info["page"] != self.page_id:
            self.problems.append(f"{request.path}: unknown page")
            return None, web.json_response({"error": "Page not found"}, status=404)
        try:
            body = await request.json()
        except ValueError:
            self.problems.append(f"{request.path}: the body is not JSON")
            return None, web.json_response({"error": "invalid JSON"}, status=400)
        incident = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict):
            self.problems.append(f"{request.path}: no `incident` object")
            return None, web.json_response({"error": "incident is missing"}, status=400)
        found = self._check(incident)
        if found:
            self.problems.extend(f"{request.method} {request.path}: {p}" for p in found)
            return None, web.json_response({"error": found}, status=422)
        return incident, None

    def _check(self, incident: dict) -> list[str]:
        found = [f"unknown field `{name}`" for name in incident if name not in FIELDS]
        if "status" in incident and incident["status"] not in STATUSES:
            found.append(f"status `{incident['status']}`")
        if "impact_override" in incident and incident["impact_override"] not in IMPACTS:
            found.append(f"impact_override `{incident['impact_override']}`")
        for component in incident.get("component_ids", []):
            if component not in self.components:
                found.append(f"unknown component `{component}`")
        for component, state in (incident.get("components") or {}).items():
            if component not in self.components:
                found.append(f"unknown component `{component}`")
            if state not in COMPONENT_STATES:
                found.append(f"component state `{state}`")
        if "body" in incident and not isinstance(incident["body"], str):
            found.append("body is not text")
        return found

    async def _create(self, request: web.Request) -> web.Response:
        incident, refused = await self._gate(request)
        if refused:
            return refused
        if not incident.get("name"):
            self.problems.append("POST incidents: no `name`")
            return web.json_response({"error": "name can't be blank"}, status=422)
        number = f"inc{next(self._numbers)}"
        stored = {"id": number, "name": incident["name"], "status": incident.get("status", "investigating"),
                  "impact": incident.get("impact_override", "none"),
                  "component_ids": list(incident.get("component_ids", [])),
                  "incident_updates": [incident["body"]] if incident.get("body") else []}
        self.incidents[number] = stored
        self.components.update(incident.get("components") or {})
        return web.json_response(stored, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        incident, refused = await self._gate(request)
        if refused:
            return refused
        stored = self.incidents.get(request.match_info["id"])
        if stored is None:
            self.problems.append(f"PATCH {request.path}: no such incident")
            return web.json_response({"error": "Incident not found"}, status=404)
        for name, key in (("name", "name"), ("status", "status"), ("impact_override", "impact")):
            if name in incident:
                stored[key] = incident[name]
        if "component_ids" in incident:
            stored["component_ids"] = list(incident["component_ids"])
        if incident.get("body"):
            stored["incident_updates"].append(incident["body"])
        self.components.update(incident.get("components") or {})
        return web.json_response(stored)
