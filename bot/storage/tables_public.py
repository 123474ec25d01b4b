"""The status page's tables: incidents as customers see them, and their public updates. With a migration in
bot/storage/migrations/versions for every change, like bot/storage/tables.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from bot.storage.tables import _at, _json


class PublicIncidentRow(SQLModel, table=True):
    """An incident as customers see it on the status page: its own title, impact, components and status; the
    war room's text never lands here."""

    __tablename__ = "public_incidents"

    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), primary_key=True))
    title: str
    impact: str
    components: list = _json(list)
    status: str
    published_at: datetime = _at(nullable=False, index=True)
    resolved_at: datetime | None = _at(index=True)
    last_update_at: datetime | None = _at()
    changed_at: datetime = _at(nullable=False)  # anything customers see changed: the page's snapshot is rebuilt
    statuspage_id: str | None = None  # the incident's id on Atlassian Statuspage


class PublicUpdateRow(SQLModel, table=True):
    """One public update, with who published it (the war room sees it too)."""

    __tablename__ = "public_updates"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    at: datetime = _at(nullable=False)
    status: str
    text: str
    actor: str
    request_key: str | None = Field(default=None, sa_column=Column(String(200), unique=True, nullable=True))
