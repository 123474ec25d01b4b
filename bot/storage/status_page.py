"""Public incidents and their updates, over the same transaction as the incident change that made them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.status_page import (
    ComponentState,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from bot.storage.tables_public import PublicIncidentRow, PublicUpdateRow

INCIDENTS = PublicIncidentRow.__table__
UPDATES = PublicUpdateRow.__table__


def _incident(row, updates=()) -> PublicIncident:
    return PublicIncident(row.incident_id, row.title, ComponentState(row.impact), tuple(row.components),
                          PublicStatus(row.status), row.published_at, row.resolved_at, row.last_update_at,
                          tuple(updates))


def _update(row) -> PublicUpdate:
    return PublicUpdate(row.at, PublicStatus(row.status), row.text, row.actor, row.id)


class PublicRepository:
    def __init__(self, session):
        self.session = session

    def _insert(self, table):
        return (postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert)(table)

    async def get(self, incident_id: int, *, with_updates: bool = False) -> PublicIncident | None:
        row = (await self.session.execute(select(INCIDENTS).where(INCIDENTS.c.incident_id == incident_id))).first()
        if row is None:
            return None
        return _incident(row, await self.updates_of(incident_id) if with_updates else ())

    async def save(self, incident: PublicIncident, changed_at: datetime) -> None:
        values = {"changed_at": changed_at, "title": incident.title, "impact": incident.impact.value, "components": list(incident.components),
                  "status": incident.status.value, "published_at": incident.published_at,
                  "resolved_at": incident.resolved_at, "last_update_at": incident.last_update_at}
        statement = self._insert(INCIDENTS).values(incident_id=incident.incident_id, **values)
        await self.session.execute(statement.on_conflict_do_update(index_elements=["incident_id"], set_=values))

    async def add_update(self, incident_id: int, update_: PublicUpdate, request_key: str | None) -> int | None:
        """The new update's id; None when this request was published before (Slack redelivered it)."""
        statement = self._insert(UPDATES).values(
            incident_id=incident_id, at=update_.at, status=update_.status.value, text=update_.text,
            actor=update_.actor, request_key=request_key)
        if request_key:
            statement = statement.on_conflict_do_nothing(index_elements=["request_key"])
        return (await self.session.execute(statement.returning(UPDATES.c.id))).scalar()

    async def updates_of(self, incident_id: int) -> list[PublicUpdate]:
        rows = (await self.session.execute(select(UPDATES).where(UPDATES.c.incident_id == incident_id)
                                           .order_by(UPDATES.c.at.desc(), UPDATES.c.id.desc()))).all()
        return [_update(row) for row in rows]

    async def set_statuspage_id(self, incident_id: int, statuspage_id: str) -> None:
        await self.session.execute(update(INCIDENTS).where(INCIDENTS.c.incident_id == incident_id)
                                   .values(statuspage_id=statuspage_id))

    async def statuspage_id(self, incident_id: int) -> str | None:
        return (await self.session.execute(select(INCIDENTS.c.statuspage_id)
                                           .where(INCIDENTS.c.incident_id == incident_id))).scalar()

    # -- what the page shows -----------------------------------------------------------------------
    async def since(self, start: datetime) -> list[PublicIncident]:
        """Open incidents, and those resolved since `start` (the uptime bars), with their updates."""
        rows = (await self.session.execute(select(INCIDENTS).where(
            (INCIDENTS.c.resolved_at.is_(None)) | (INCIDENTS.c.resolved_at >= start))
            .order_by(INCIDENTS.c.published_at.desc()))).all()
        return await self._with_updates(rows)

    async def history(self, offset: int, limit: int) -> tuple[list[PublicIncident], int]:
        """Resolved incidents, newest first, a page of them, and how many there are."""
        rows = (await self.session.execute(select(INCIDENTS).where(INCIDENTS.c.resolved_at.is_not(None))
                                           .order_by(INCIDENTS.c.resolved_at.desc()).offset(offset)
                                           .limit(limit))).all()
        total = (await self.session.execute(select(func.count()).select_from(INCIDENTS)
                                            .where(INCIDENTS.c.resolved_at.is_not(None)))).scalar_one()
        return await self._with_updates(rows), total

    async def version(self) -> tuple:
        """Changes whenever anything customers see changes: the snapshot is rebuilt only then."""
        latest = (await self.session.execute(select(func.max(UPDATES.c.id), func.count(UPDATES.c.id)))).first()
        touched = (await self.session.execute(select(func.max(INCIDENTS.c.changed_at),
                                                     func.count(INCIDENTS.c.incident_id)))).first()
        return tuple(latest) + tuple(touched)

    async def _with_updates(self, rows) -> list[PublicIncident]:
        ids = [row.incident_id for row in rows]
        updates: dict[int, list[PublicUpdate]] = {i: [] for i in ids}
        if ids:
            for row in (await self.session.execute(select(UPDATES).where(UPDATES.c.incident_id.in_(ids))
                                                   .order_by(UPDATES.c.at.desc(), UPDATES.c.id.desc()))).all():
                updates[row.incident_id].append(_update(row))
        return [_incident(row, updates[row.incident_id]) for row in rows]
