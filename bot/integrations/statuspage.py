"""The status-page port. Until a status-page integration is configured, changes are logged only."""

from __future__ import annotations

import structlog

from bot.core import effects as fx
from bot.core.incident import Incident
from bot.core.ports import Performer

log = structlog.get_logger("warroom.statuspage")


class LoggingStatusPage(Performer):
    def __init__(self) -> None:
        self.published: list[fx.Effect] = []

    async def _log(self, effect: fx.StatusPagePublish | fx.StatusPageUpdate, incident: Incident | None) -> None:
        self.published.append(effect)
        log.info("status_page_" + effect.kind, incident_id=incident.id if incident else None,
                 state=getattr(effect, "state", None), status=getattr(effect, "status", None))

    handlers = {fx.StatusPagePublish: _log, fx.StatusPageUpdate: _log}
