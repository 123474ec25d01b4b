"""Post-mortems as the database keeps them: one row per incident, updated in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot.core.effects import PostmortemRefs
from bot.core.postmortem import Postmortem, PostmortemState
from bot.storage.tables import PostmortemRow


def _postmortem(row: PostmortemRow) -> Postmortem:
    return Postmortem(row.incident_id, PostmortemState(row.state), row.content, list(row.flags), row.canvas_id,
                      row.file_id, row.due_at, row.version)


class PostmortemRepository:
    def __init__(self, session):
        self.session = session

    async def get(self, incident_id: int) -> Postmortem | None:
        query = select(PostmortemRow).where(PostmortemRow.incident_id == incident_id)
        row = (await self.session.execute(query)).scalar_one_or_none()
        return _postmortem(row) if row else None

    async def add(self, incident_id: int, content: str, flags: list[dict], at: datetime,
                  due_at: datetime | None) -> None:
        self.session.add(PostmortemRow(incident_id=incident_id, content=content, flags=flags, created_at=at,
                                       updated_at=at, due_at=due_at))
        await self.session.flush()

    async def update(self, incident_id: int, at: datetime, **values) -> None:
        """`values`: content, flags, state, version; a new version forgets the old one's canvas and file."""
        if "state" in values:
            values["state"] = PostmortemState(values["state"]).value
        await self.session.execute(update(PostmortemRow).where(PostmortemRow.incident_id == incident_id)
                                   .values(updated_at=at, **values))

    async def set_refs(self, incident_id: int, refs: PostmortemRefs) -> None:
        values = {name: value for name, value in refs.__dict__.items() if value is not None}
        if values:
            await self.session.execute(update(PostmortemRow).where(PostmortemRow.incident_id == incident_id)
                                       .values(**values))
