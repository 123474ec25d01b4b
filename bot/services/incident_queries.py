"""What the incident commands read: apart from the use cases that change incidents (bot/services/incidents.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.incident import DomainError, Incident
from bot.storage.batching import SharedRead
from bot.storage.repository import Store, TimelineEntry


class NotInWarRoom(DomainError):
    pass


@dataclass(frozen=True)
class Overview:
    """What `/incident list` shows."""
    open: tuple[Incident, ...]
    recently_resolved: tuple[Incident, ...]


class IncidentQueries:
    def __init__(self, store: Store):
        self.store = store
        self._overviews: SharedRead[Overview] = SharedRead(self._read_overview)

    async def incident_in(self, channel_id: str) -> Incident:
        async with self.store.reading() as tx:
            incident = await tx.incidents.in_channel(channel_id)
        if incident is None:
            raise NotInWarRoom("This command works in an incident's war-room channel. "
                               "Use `/incident list` to find one, or `/incident declare` to start one.")
        return incident

    async def find_in(self, channel_id: str) -> Incident | None:
        async with self.store.reading() as tx:
            return await tx.incidents.in_channel(channel_id)

    async def open_incidents(self) -> list[Incident]:
        async with self.store.reading() as tx:
            return await tx.incidents.open()

    async def overview(self) -> Overview:
        """Every open incident and the last five resolved. When something big breaks everybody asks at once, and
        then they share the reads."""
        return await self._overviews.get()

    async def _read_overview(self) -> Overview:
        async with self.store.reading() as tx:
            return Overview(tuple(await tx.incidents.open()), tuple(await tx.incidents.recently_resolved(5)))

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        async with self.store.reading() as tx:
            return await tx.timeline.of(incident_id)
