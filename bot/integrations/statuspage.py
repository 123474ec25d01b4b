"""The status-page port. Until a status-page integration is configured, changes are logged only."""

from __future__ import annotations

from typing import Any

import structlog

from bot.core.incident import Incident

log = structlog.get_logger("warroom.statuspage")


class LoggingStatusPage:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict]] = []

    async def perform(self, kind: str, payload: dict[str, Any], incident: Incident | None) -> dict[str, Any]:
        self.published.append((kind, dict(payload)))
        log.info("status_page_" + kind, incident_id=incident.id if incident else None,
                 state=payload.get("state"), status=payload.get("status"))
        return {}
