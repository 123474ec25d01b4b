"""The incident timeline, and the request keys that make a redelivered request a no-op."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.incident import Event
from bot.storage.tables import ProcessedRequestRow, TimelineRow


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str
    text: str
    data: dict


class TimelineRepository:
    def __init__(self, session):
        self.session = session

    async def has_key(self, dedup_key: str) -> bool:
        query = select(TimelineRow.id).where(TimelineRow.dedup_key == dedup_key)
        return (await self.session.execute(query)).first() is not None

    async def append(self, incident_id: int, events: Sequence[Event], *, dedup_key: str | None = None) -> None:
        if not events:
            return
        rows = [{"incident_id": incident_id, "at": event.at, "actor": event.actor, "kind": event.kind,
                 "text": event.text, "data": dict(event.data), "dedup_key": dedup_key if index == 0 else None}
                for index, event in enumerate(events)]
        await self.session.execute(insert(TimelineRow), rows)

    async def of(self, incident_id: int) -> list[TimelineEntry]:
        query = select(TimelineRow).where(TimelineRow.incident_id == incident_id).order_by(TimelineRow.at,
                                                                                            TimelineRow.id)
        return [TimelineEntry(r.at, r.actor, r.kind, r.text, r.data)
                for r in (await self.session.execute(query)).scalars()]

    async def append_many(self, entries: Sequence[tuple[int, Event]]) -> None:
        """Events of several incidents in one statement."""
        if entries:
            await self.session.execute(insert(TimelineRow), [
                {"incident_id": incident_id, "at": event.at, "actor": event.actor, "kind": event.kind,
                 "text": event.text, "data": dict(event.data), "dedup_key": None} for incident_id, event in entries])


class RequestKeys:
    """Slack trigger ids, event ids, webhook ids: each recorded once, so a redelivery is recognised."""

    def __init__(self, session):
        self.session = session

    async def first_time(self, key: str, at: datetime) -> bool:
        """Records a request key in one statement; False when it was recorded before (a redelivery)."""
        insert_for = postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        table = ProcessedRequestRow.__table__
        statement = (insert_for(table).values(key=key, at=at).on_conflict_do_nothing(index_elements=["key"])
                     .returning(table.c.key))
        return (await self.session.execute(statement)).first() is not None

    async def first_times(self, keys: list[str], at: datetime) -> set[str]:
        """`first_time` for many distinct keys in one statement: the keys not seen before."""
        if not keys:
            return set()
        insert_for = postgresql_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        table = ProcessedRequestRow.__table__
        statement = (insert_for(table).values([{"key": key, "at": at} for key in keys])
                     .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key))
        return set((await self.session.execute(statement)).scalars())
