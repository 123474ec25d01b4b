"""SLA records: maintenance announced from Slack, and the breach notices already given."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.sla import Maintenance
from bot.storage.tables import SlaMaintenanceRow, SlaNoticeRow

MAINTENANCE = SlaMaintenanceRow.__table__
NOTICES = SlaNoticeRow.__table__


def _maintenance(row) -> Maintenance:
    return Maintenance(row.service, row.start_at, row.end_at, row.announced_at, row.announced_by, row.id)


class SlaRepository:
    def __init__(self, session):
        self.session = session

    def _insert(self, table):
        return (postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert)(table)

    async def add_maintenance(self, window: Maintenance, request_key: str) -> bool:
        """False when this request was recorded before (Slack redelivered it)."""
        statement = self._insert(MAINTENANCE).values(
            service=window.service, start_at=window.start, end_at=window.end, announced_at=window.announced,
            announced_by=window.by, request_key=request_key).on_conflict_do_nothing(index_elements=["request_key"])
        return (await self.session.execute(statement)).rowcount == 1

    async def maintenance(self, start: datetime, end: datetime) -> list[Maintenance]:
        """Announced maintenance that overlaps [start, end)."""
        rows = (await self.session.execute(select(MAINTENANCE).where(MAINTENANCE.c.start_at < end,
                                                                     MAINTENANCE.c.end_at > start)
                                           .order_by(MAINTENANCE.c.start_at))).all()
        return [_maintenance(row) for row in rows]

    async def notice_once(self, key: str, at: datetime) -> bool:
        """True the first time a notice with this key is given, False ever after."""
        statement = self._insert(NOTICES).values(key=key, at=at).on_conflict_do_nothing(index_elements=["key"])
        return (await self.session.execute(statement)).rowcount == 1
