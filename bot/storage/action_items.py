"""Action items as the database keeps them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update

from bot.core.action_items import ActionItem
from bot.storage.tables import ActionItemRow

ITEMS = ActionItemRow.__table__
_ORDER = (ITEMS.c.priority, ITEMS.c.due, ITEMS.c.id)


def _item(row) -> ActionItem:
    return ActionItem(row.id, row.incident_id, row.text, row.owner, row.due, row.priority, row.created_by,
                      row.created_at, row.done_by, row.done_at)


class ActionItemRepository:
    def __init__(self, session):
        self.session = session

    async def add(self, *, incident_id: int, text: str, owner: str | None, due: date | None, priority: str,
                  created_by: str, created_at: datetime) -> ActionItem:
        row = ActionItemRow(incident_id=incident_id, text=text, owner=owner, due=due, priority=priority,
                            created_by=created_by, created_at=created_at)
        self.session.add(row)
        await self.session.flush()
        return _item(row)

    async def get(self, item_id: int, *, for_update: bool = False) -> ActionItem | None:
        query = select(ITEMS).where(ITEMS.c.id == item_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).one_or_none()
        return _item(row) if row else None

    async def close(self, item_id: int, by: str, at: datetime) -> None:
        await self.session.execute(update(ITEMS).where(ITEMS.c.id == item_id).values(done_by=by, done_at=at))

    async def of_incident(self, incident_id: int) -> list[ActionItem]:
        return await self._query(ITEMS.c.incident_id == incident_id)

    async def open_for(self, owner: str) -> list[ActionItem]:
        return await self._query(ITEMS.c.owner == owner, ITEMS.c.done_at.is_(None))

    async def overdue(self, today: date) -> list[ActionItem]:
        return await self._query(ITEMS.c.done_at.is_(None), ITEMS.c.due < today)

    async def all_open(self) -> list[ActionItem]:
        return await self._query(ITEMS.c.done_at.is_(None))

    async def _query(self, *conditions) -> list[ActionItem]:
        rows = (await self.session.execute(select(ITEMS).where(*conditions).order_by(*_ORDER))).all()
        return [_item(row) for row in rows]
