"""warroom's own status page, as served on /status, /status.json and /status/history.atom: rendered once from a
snapshot of the public incidents, rebuilt only when something customers see changed (checked at most once a
second, and once a minute for the clock), never per request."""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jinja2
import structlog

from bot.config import Settings
from bot.core.ports import Clock
from bot.core.sla import WINDOW, WINDOW_MINUTES, Maintenance, Verdict
from bot.core.status_page import (
    PublicIncident,
    Window,
    banner,
    component_states,
    uptime,
)
from bot.storage.repository import Store

log = structlog.get_logger("warroom.status_page")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HISTORY_PAGE = 10
UPCOMING = timedelta(days=14)

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                          autoescape=jinja2.select_autoescape(["html", "atom", "j2"], default=True),
                          trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Snapshot:
    version: tuple
    html: bytes
    json: bytes
    atom: bytes
    etag: str


class StatusPageView:
    def __init__(self, store: Store, settings: Settings, clock: Clock,
                 maintenance: Callable[[datetime, datetime], Awaitable[list[Maintenance]]] | None = None,
                 *, recheck_seconds: float = 1.0, sla=None, sla_every_seconds: float = 300.0):
        """`sla` (bot/services/sla.py): when it measures a component's services, their bad minutes per day
        draw the uptime bars, refreshed in the background (the first 90 days take Prometheus seconds)."""
        self.store, self.settings, self.clock = store, settings, clock
        self.section = settings.file.status_page
        self.maintenance = maintenance
        self.recheck_seconds = recheck_seconds
        measured = set(sla.section.services) if sla is not None and sla.configured else set()
        self.sla = sla if measured else None
        self.sla_services = sorted({name for c in self.section.components for name in c.services} & measured)
        self.sla_every_seconds = sla_every_seconds
        self.measured: dict[str, dict[date, int]] = {}  # SLA service: bad minutes per day
        self._generation = 0
        self._refresher: asyncio.Task | None = None
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = asyncio.Lock()
        self._history: dict[tuple, bytes] = {}

    async def current(self) -> Snapshot:
        if self.sla is not None and self.sla_services and self._refresher is None:
            self._refresher = asyncio.create_task(self._measure(), name="status-page-sla")
        if self._snapshot is not None and time.monotonic() - self._checked < self.recheck_seconds:
            return self._snapshot
        async with self._lock:  # one rebuild however many clients ask at once
            if self._snapshot is not None and time.monotonic() - self._checked < self.recheck_seconds:
                return self._snapshot
            now = self.clock.now()
            windows = await self._windows(now)
            async with self.store.reading() as tx:
                version = (await tx.public.version(), tuple(windows), now.replace(second=0, microsecond=0),
                           self._generation)
                if self._snapshot is None or self._snapshot.version != version:
                    incidents = await tx.public.since(now - timedelta(days=90))
                    self._snapshot = self._build(version, incidents, windows, now)
                    self._history.clear()
            self._checked = time.monotonic()
            return self._snapshot

    async def history(self, page: int) -> tuple[bytes, bool]:
        """A page of past incidents, and whether that page exists."""
        snapshot = await self.current()
        key = (snapshot.version, page)
        if key not in self._history:
            async with self.store.reading() as tx:
                incidents, total = await tx.public.history((page - 1) * HISTORY_PAGE, HISTORY_PAGE)
            pages = max(1, -(-total // HISTORY_PAGE))
            if page > pages:
                return b"", False
            html = _ENV.get_template("status_history.html.j2").render(
                page=self._page(), incidents=[_shown(i) for i in incidents], number=page, pages=pages,
                total=total).encode()
            if len(self._history) > 50:
                self._history.clear()
            self._history[key] = html
        return self._history[key], True

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)

    async def _measure(self) -> None:
        """The SLA's bad minutes per day over the last 90 days, for each measured service, every few minutes
        (finished days are measured once per process: bot/services/sla.py)."""
        while True:
            now = self.clock.now()
            since = datetime.combine(now.date() - timedelta(days=89), datetime.min.time(), tzinfo=timezone.utc)
            try:
                for service in self.sla_services:
                    compliance = await self.sla.month_to_date(service, now, since)
                    self.measured[service] = bad_minutes_per_day(compliance.verdicts, since)
                self._generation += 1
                self._checked = 0.0  # rebuild with it at the next request
            except Exception:  # Prometheus down or refusing: the bars keep what they had, or incident durations
                log.warning("status_page_sla_unavailable", exc_info=True)
            await asyncio.sleep(self.sla_every_seconds)

    def _measured_for(self, component) -> dict[date, float] | None:
        """A component's bad minutes per day: the worst of its measured services (None: none is measured)."""
        days = [self.measured[name] for name in component.services if name in self.measured]
        if not days:
            return None
        return {day: max(d.get(day, 0) for d in days) for day in set().union(*days)}

    # -- building ----------------------------------------------------------------------------------
    async def _windows(self, now: datetime) -> list[Window]:
        if self.maintenance is None:
            return []
        found = await self.maintenance(now - timedelta(days=1), now + UPCOMING)
        windows = []
        for window in found:
            if window.end <= now:
                continue
            names = tuple(c.name for c in self.section.components if window.service == "*"
                          or window.service in c.services)
            if names:
                windows.append(Window(names, window.start, window.end))
        return windows

    def _page(self) -> dict:
        return {"title": self.section.title, "url": self.section.public_url or ""}

    def _build(self, version: tuple, incidents: list[PublicIncident], windows: list[Window],
               now: datetime) -> Snapshot:
        names = [c.name for c in self.section.components]
        states = component_states(names, incidents, windows, now)
        shown_banner = banner(states, incidents)
        groups: dict[str, list[dict]] = {}
        for component in self.section.components:
            days, percent = uptime(component.name, incidents, now.date(), now,
                                   measured=self._measured_for(component))
            groups.setdefault(component.group or "", []).append({
                "name": component.name, "description": component.description, "state": states[component.name],
                "uptime": f"{percent:.2f}", "days": days})
        active = [_shown(i) for i in incidents if i.is_open]
        maintenance = [{"components": ", ".join(w.components), "start": w.start, "end": w.end,
                        "running": w.start <= now < w.end} for w in sorted(windows, key=lambda w: w.start)]
        html = _ENV.get_template("status.html.j2").render(
            page=self._page(), banner=shown_banner, groups=groups, active=active, maintenance=maintenance,
            recent=[_shown(i) for i in incidents if not i.is_open][:5], now=now).encode()
        summary = {
            "page": {**self._page(), "updated_at": now.isoformat()},
            "status": {"indicator": shown_banner.level, "description": shown_banner.text},
            "components": [{"name": c["name"], "description": c["description"], "group": group or None,
                            "status": c["state"].value, "uptime_90_days": c["uptime"]}
                           for group, shown in groups.items() for c in shown],
            "incidents": [_json_incident(i) for i in incidents if i.is_open],
            "scheduled_maintenances": [{"components": list(w.components), "start": w.start.isoformat(),
                                        "end": w.end.isoformat()} for w in windows],
        }
        atom = _ENV.get_template("status.atom.j2").render(
            page=self._page(), incidents=[{**_shown(i), "content_html": _html(i)} for i in incidents[:50]],
            now=now).encode()
        etag = f'"{abs(hash(version)):x}"'
        return Snapshot(version, html, json.dumps(summary, sort_keys=True).encode(), atom, etag)


def bad_minutes_per_day(verdicts, since: datetime) -> dict[date, int]:
    """The SLA's bad minutes per UTC day. Before the first window with any sample, monitoring had not begun:
    those windows are not downtime, and days wholly before it are left out (the incidents tell those)."""
    first = next((n for n, verdict in enumerate(verdicts) if verdict is not Verdict.BAD_NO_DATA), None)
    if first is None:
        return {}
    per_day = int(timedelta(days=1) / WINDOW)
    found = {}
    for start in range(first - first % per_day, len(verdicts), per_day):
        bad = sum(1 for verdict in verdicts[max(start, first):start + per_day]
                  if verdict in (Verdict.BAD, Verdict.BAD_NO_DATA))
        found[(since + start * WINDOW).date()] = bad * WINDOW_MINUTES
    return found


def _shown(incident: PublicIncident) -> dict:
    return {"id": incident.incident_id, "title": incident.title, "impact": incident.impact,
            "status": incident.status, "components": ", ".join(incident.components),
            "published_at": incident.published_at, "resolved_at": incident.resolved_at,
            "updated_at": incident.updates[0].at if incident.updates else incident.published_at,
            "updates": incident.updates}


def _html(incident: PublicIncident) -> str:
    """An entry's content: HTML, escaped once here and once more as XML by the template."""
    return "".join(f"<p><strong>{update.status.label}</strong> ({update.at:%Y-%m-%d %H:%M} UTC): "
                   f"{html.escape(update.text)}</p>" for update in incident.updates)


def _json_incident(incident: PublicIncident) -> dict:
    return {"id": incident.incident_id, "name": incident.title, "status": incident.status.value,
            "impact": incident.impact.value, "components": list(incident.components),
            "created_at": incident.published_at.isoformat(),
            "updates": [{"status": u.status.value, "body": u.text, "created_at": u.at.isoformat()}
                        for u in incident.updates]}
