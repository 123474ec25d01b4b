"""Alert groups and the firings of their alerts, as the database keeps them."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update

from bot.core.alerts import Alert, AlertGroup
from bot.core.effects import AlertRefs
from bot.storage.tables import AlertGroupRow, AlertRow, AlertStormRow, TimelineRow

GROUPS, ALERTS, STORMS = AlertGroupRow.__table__, AlertRow.__table__, AlertStormRow.__table__
TIMELINE = TimelineRow.__table__


def key_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def _alert(row) -> Alert:
    return Alert(row.fingerprint, row.starts_at, row.status, dict(row.labels), dict(row.annotations), row.ends_at,
                 row.generator_url)


class AlertRepository:
    def __init__(self, session):
        self.session = session

    async def group_for(self, group_key: str, labels: dict[str, str], at: datetime) -> int:
        """The group's id, made on its first delivery; locked for the rest of the transaction."""
        hashed = key_hash(group_key)
        query = select(GROUPS.c.id).where(GROUPS.c.key_hash == hashed).with_for_update()
        found = (await self.session.execute(query)).scalar()
        if found is not None:
            return found
        return (await self.session.execute(GROUPS.insert().values(
            key_hash=hashed, group_key=group_key, labels=labels, truncated=0, created_at=at, updated_at=at)
            .returning(GROUPS.c.id))).scalar_one()

    async def get(self, group_id: int) -> AlertGroup | None:
        row = (await self.session.execute(select(GROUPS).where(GROUPS.c.id == group_id))).one_or_none()
        if row is None:
            return None
        alerts = (await self.session.execute(select(ALERTS).where(ALERTS.c.group_id == group_id)
                                             .order_by(ALERTS.c.starts_at, ALERTS.c.id))).all()
        return AlertGroup(row.id, row.group_key, dict(row.labels), tuple(_alert(a) for a in alerts), row.incident_id,
                          row.truncated, row.ask_channel, row.ask_ts, row.room_ts, row.silence_id,
                          row.silenced_until, row.silenced_by, row.acknowledged_by, row.storm_id, row.acted_at)

    async def of_incident(self, incident_id: int) -> list[AlertGroup]:
        ids = (await self.session.execute(select(GROUPS.c.id).where(GROUPS.c.incident_id == incident_id)
                                          .order_by(GROUPS.c.id))).scalars().all()
        return [await self.get(group_id) for group_id in ids]

    async def add_firings(self, group_id: int, alerts: list[Alert], at: datetime) -> None:
        """New firings in one statement (a delivery of a thousand alerts is one insert, not a thousand)."""
        if alerts:
            await self.session.execute(ALERTS.insert(), [
                {"group_id": group_id, "fingerprint": alert.fingerprint, "starts_at": alert.starts_at,
                 "ends_at": alert.ends_at, "status": alert.status, "alertname": alert.name[:200],
                 "labels": alert.labels, "annotations": alert.annotations,
                 "generator_url": alert.generator_url[:2000], "received_at": at} for alert in alerts])

    async def resolve(self, group_id: int, alert: Alert) -> None:
        await self.session.execute(update(ALERTS).where(ALERTS.c.group_id == group_id,
                                                        ALERTS.c.fingerprint == alert.fingerprint,
                                                        ALERTS.c.starts_at == alert.starts_at)
                                   .values(status="resolved", ends_at=alert.ends_at))

    async def update(self, group_id: int, at: datetime, **values: Any) -> None:
        await self.session.execute(update(GROUPS).where(GROUPS.c.id == group_id).values(updated_at=at, **values))

    async def set_refs(self, refs: AlertRefs) -> None:
        values = {name: value for name, value in refs.__dict__.items() if name != "group_id" and value is not None}
        if refs.silence_cleared:
            values.update(silence_id=None, silenced_until=None, silenced_by=None)
        values.pop("silence_cleared", None)
        if values:
            await self.session.execute(update(GROUPS).where(GROUPS.c.id == refs.group_id).values(**values))

    async def acted(self, group_id: int, at: datetime) -> None:
        """Someone acted on the group (declared, acknowledged, silenced, started its runbook): not noise."""
        await self.session.execute(update(GROUPS).where(GROUPS.c.id == group_id, GROUPS.c.acted_at.is_(None))
                                   .values(acted_at=at))

    # -- storms ------------------------------------------------------------------------------------
    async def guard_new_incidents(self) -> None:
        """Deliveries that may open incidents count them one at a time, so that a storm's fifty concurrent groups
        cannot all see "below the limit" (PostgreSQL: a transaction-scoped advisory lock; SQLite has one writer)."""
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(7001)"))

    async def storm_since(self, since: datetime, channel: str, at: datetime) -> int:
        """The storm collecting groups now: the one begun within the window, else a new one."""
        query = select(STORMS.c.id).where(STORMS.c.started_at >= since).order_by(STORMS.c.id.desc()).limit(1)
        found = (await self.session.execute(query)).scalar()
        if found is not None:
            return found
        return (await self.session.execute(STORMS.insert().values(started_at=at, channel=channel)
                                           .returning(STORMS.c.id))).scalar_one()

    async def storm(self, storm_id: int) -> tuple[dict, list[AlertGroup]] | None:
        row = (await self.session.execute(select(STORMS).where(STORMS.c.id == storm_id))).one_or_none()
        if row is None:
            return None
        ids = (await self.session.execute(select(GROUPS.c.id).where(GROUPS.c.storm_id == storm_id)
                                          .order_by(GROUPS.c.id))).scalars().all()
        return dict(row._mapping), [await self.get(group_id) for group_id in ids]

    async def set_storm_ts(self, storm_id: int, ts: str) -> None:
        await self.session.execute(update(STORMS).where(STORMS.c.id == storm_id).values(ts=ts))

    # -- noise -------------------------------------------------------------------------------------
    async def firings_since(self, since: datetime) -> list[tuple[str, str, datetime, datetime | None, bool]]:
        """(alert name, fingerprint, starts_at, ends_at, acted on) of every firing that began since then. Acted on:
        someone used its buttons, or a person did anything in the incident it opened or joined."""
        people = (select(TIMELINE.c.id).where(TIMELINE.c.incident_id == GROUPS.c.incident_id,
                                              TIMELINE.c.actor.like("U%") | TIMELINE.c.actor.like("W%"))
                  .exists())
        query = (select(ALERTS.c.alertname, ALERTS.c.fingerprint, ALERTS.c.starts_at, ALERTS.c.ends_at,
                        GROUPS.c.acted_at.is_not(None) | people)
                 .join(GROUPS, GROUPS.c.id == ALERTS.c.group_id).where(ALERTS.c.starts_at >= since))
        return [tuple(row) for row in (await self.session.execute(query)).all()]
