"""Incidents as the database keeps them."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from cachetools import LRUCache
from sqlalchemy import func, select, update

from bot.core.effects import IncidentRefs
from bot.core.incident import Incident, Severity, Status
from bot.core.ports import Held
from bot.storage.tables import IncidentRow

# The incident's own fields, stored as they are; the others are converted (enums, tuples) or are the key.
_CONVERTED = {"id", "severity", "status", "responders", "paged"}
_INCIDENT_FIELDS = tuple(f.name for f in dataclasses.fields(Incident) if f.name not in _CONVERTED)


def _to_incident(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _INCIDENT_FIELDS}
    return Incident(id=row.id, severity=Severity(row.severity), status=Status(row.status),
                    responders=tuple(row.responders), paged=tuple(row.paged), **values)


def _copy_into(row: IncidentRow, incident: Incident) -> None:
    for name in _INCIDENT_FIELDS:
        setattr(row, name, getattr(incident, name))
    row.severity = int(incident.severity)
    row.status = incident.status.value
    row.responders = list(incident.responders)
    row.paged = list(incident.paged)


class IncidentRepository:
    """Every incident it reads or writes is also held (`Held`), for the effects the transaction hands over."""

    def __init__(self, session, held: Held, war_rooms: LRUCache):
        self.session = session
        self.held = held
        self._war_rooms = war_rooms

    async def many(self, incident_ids: set[int]) -> dict[int, Incident]:
        query = select(IncidentRow).where(IncidentRow.id.in_(incident_ids))
        return {row.id: _to_incident(row) for row in (await self.session.execute(query)).scalars()}

    async def get(self, incident_id: int, *, for_update: bool = False) -> Incident | None:
        row = await self._row(incident_id, for_update)
        return self._hold(_to_incident(row)) if row else None

    def _hold(self, incident: Incident) -> Incident:
        self.held.incidents[incident.id] = incident
        return incident

    async def _row(self, incident_id: int, for_update: bool = False) -> IncidentRow | None:
        query = select(IncidentRow).where(IncidentRow.id == incident_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def in_channel(self, channel_id: str, *, for_update: bool = False) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.channel_id == channel_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
        return self._hold(_to_incident(row)) if row else None

    async def by_pagerduty(self, pagerduty_id: str) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.pagerduty_id == pagerduty_id)
        row = (await self.session.execute(query)).scalars().first()
        return self._hold(_to_incident(row)) if row else None

    async def set_pagerduty_state(self, incident_id: int, state: str) -> bool:
        """True when the state changed (the first failure of an outage, the first success after it)."""
        result = await self.session.execute(update(IncidentRow).where(IncidentRow.id == incident_id,
                                                                      IncidentRow.pagerduty_state != state)
                                            .values(pagerduty_state=state))
        return result.rowcount > 0

    async def by_request(self, request_key: str) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.request_key == request_key)
        row = (await self.session.execute(query)).scalar_one_or_none()
        return self._hold(_to_incident(row)) if row else None

    async def recent_open_with_title(self, title_key: str, since: datetime) -> Incident | None:
        query = (select(IncidentRow).where(IncidentRow.title_key == title_key, IncidentRow.status != Status.RESOLVED.value,
                                           IncidentRow.declared_at >= since).order_by(IncidentRow.id).limit(1))
        row = (await self.session.execute(query)).scalar_one_or_none()
        return self._hold(_to_incident(row)) if row else None

    async def channel_names_like(self, base: str) -> set[str]:
        query = select(IncidentRow.channel_name).where(IncidentRow.channel_name.startswith(base, autoescape=True))
        return set((await self.session.execute(query)).scalars())

    async def add(self, incident: Incident, *, title_key: str, request_key: str | None) -> Incident:
        row = IncidentRow(title_key=title_key, request_key=request_key, severity=0, status="", responders=[], paged=[],
                          title="", declared_by="", channel_name="")
        _copy_into(row, incident)
        self.session.add(row)
        await self.session.flush()
        return self._hold(_to_incident(row))

    async def save(self, incident: Incident) -> None:
        row = await self._row(incident.id)
        _copy_into(row, incident)
        await self.session.flush()
        self._hold(incident)

    async def set_refs(self, incident_id: int, refs: IncidentRefs) -> None:
        values = refs.values()
        if values:
            await self.session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(**values))

    async def open(self) -> list[Incident]:
        # IN, not !=: the status index then finds the few open ones among years of resolved incidents.
        query = select(IncidentRow).where(IncidentRow.status.in_([s.value for s in Status if s != Status.RESOLVED])
                                          ).order_by(IncidentRow.severity, IncidentRow.id)
        return [_to_incident(row) for row in (await self.session.execute(query)).scalars()]

    async def overlapping(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents declared before `end` and not resolved before `start` (drills left out)."""
        query = select(IncidentRow).where(IncidentRow.declared_at < end, IncidentRow.is_drill.is_(False),
                                          (IncidentRow.resolved_at.is_(None)) | (IncidentRow.resolved_at >= start)
                                          ).order_by(IncidentRow.declared_at)
        return [_to_incident(row) for row in (await self.session.execute(query)).scalars()]

    async def count_declared_by(self, actor: str, since: datetime) -> int:
        query = select(func.count()).select_from(IncidentRow).where(IncidentRow.declared_by == actor,
                                                                    IncidentRow.declared_at >= since)
        return (await self.session.execute(query)).scalar_one()

    async def recently_resolved(self, limit: int) -> list[Incident]:
        query = (select(IncidentRow).where(IncidentRow.status == Status.RESOLVED.value)
                 .order_by(IncidentRow.resolved_at.desc()).limit(limit))
        return [_to_incident(row) for row in (await self.session.execute(query)).scalars()]

    async def cached(self, incident_id: int) -> Incident | None:
        """The incident as this process last read it, for what never changes once it has a war room: its id,
        reference and channel (a runbook click checks the room with it). Read when unknown."""
        incident = self._war_rooms.get(incident_id)
        if incident is None:
            incident = await self.get(incident_id)
            if incident is not None and incident.channel_id:
                self._war_rooms[incident_id] = incident
        return incident
