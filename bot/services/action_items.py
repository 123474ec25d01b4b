"""Action items: added in the war room or from the post-mortem, listed, closed, chased until done.

Owners get a DM at 09:00 UTC on the due date and every day while the item is overdue; a digest of open
items goes to the ops-review channel once a month. Both run on the same exactly-once timers as reminders.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.config import Settings
from bot.core import action_items as core
from bot.core import effects as fx
from bot.core import permissions
from bot.core.action_items import ActionItem
from bot.core.incident import DomainError, Event, Incident
from bot.core.ports import Clock, Directory, Dispatch
from bot.core.text import escape
from bot.services.authorization import Authorizer
from bot.services.incidents import Duplicate
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

DUE = "action_item_due"
DIGEST = "action_item_digest"
DIGEST_KEY = "action_items:digest"


def describe(item: ActionItem) -> str:
    """Plain text, for the timeline (which the post-mortem renders with people's names)."""
    parts = [f"#{item.id} ({item.priority})", item.text]
    if item.owner:
        parts.append(f"owner <@{item.owner}>")
    if item.due:
        parts.append(f"due {item.due.isoformat()}")
    return " · ".join(parts)


class ActionItemService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, directory: Directory,
                 dispatch: Dispatch | None = None):
        self.store, self.settings, self.clock, self.directory = store, settings, clock, directory
        self.work = UnitOfWork(store, dispatch)
        self.auth = Authorizer(settings, directory)

    async def add(self, channel_id: str, text: str, actor: str, request_key: str) -> ActionItem:
        what, owner, due, priority = core.parse(text)
        if owner and not await self.directory.user_exists(owner):
            raise DomainError(f"I can't find a user `{escape(owner[:40])}` in this workspace.")
        async with self.store.reading() as tx:
            incident = await tx.incidents.in_channel(channel_id)
        if incident is None:
            raise DomainError("Action items belong to an incident: add them in its war-room channel.")
        await self.auth.in_room(incident, actor, "add action items to")
        now = self.clock.now()
        async with self.work() as tx:
            if request_key and not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            item = await tx.action_items.add(incident_id=incident.id, text=what, owner=owner, due=due,
                                             priority=priority, created_by=actor, created_at=now)
            await tx.timeline.append(incident.id, [Event("action_item", actor, now,
                                                         f"Action item added: {describe(item)}")])
            reminder = core.first_reminder(item)
            if reminder:
                await tx.timers.set(f"action:{item.id}:due", DUE, reminder, incident_id=incident.id,
                                    payload={"item": item.id})
            await tx.outbox.enqueue(incident.id, [[fx.PostActionItem(item=item.id)]], now)
        return item

    async def done(self, item_id: int, actor: str, request_key: str) -> ActionItem:
        """Closed by its owner, the person who added it, or the incident's IC (or an incident manager)."""
        now = self.clock.now()
        is_manager = await self.auth.is_manager(actor)
        async with self.work() as tx:
            item = await tx.action_items.get(item_id, for_update=True)
            if item is None:
                raise DomainError("That action item no longer exists.")
            if not item.is_open:
                raise Duplicate()
            incident = await tx.incidents.get(item.incident_id)
            self.auth.enforce(permissions.action_item_close(incident, item.owner, item.created_by, actor,
                                                            is_manager=is_manager), "close_action_item", actor, incident)
            if request_key and not await tx.requests.first_time(request_key, now):
                raise Duplicate()
            await tx.action_items.close(item_id, actor, now)
            await tx.timers.cancel(f"action:{item_id}:due")
            await tx.timeline.append(item.incident_id, [Event("action_item", actor, now,
                                                              f"Action item done: {describe(item)}")])
        return replace(item, done_by=actor, done_at=now)

    async def get(self, item_id: int) -> ActionItem | None:
        async with self.store.reading() as tx:
            return await tx.action_items.get(item_id)

    async def of_incident(self, incident_id: int) -> list[ActionItem]:
        async with self.store.reading() as tx:
            return await tx.action_items.of_incident(incident_id)

    async def open_for(self, owner: str) -> list[ActionItem]:
        async with self.store.reading() as tx:
            return await tx.action_items.open_for(owner)

    async def overdue(self) -> list[ActionItem]:
        async with self.store.reading() as tx:
            return await tx.action_items.overdue(self.clock.now().date())

    async def all_open(self) -> list[ActionItem]:
        async with self.store.reading() as tx:
            return await tx.action_items.all_open()

    # -- chasing -----------------------------------------------------------------------------------
    async def fire(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        return await (self._digest(tx, now) if timer.kind == DIGEST else self._due(tx, timer, now))

    async def _due(self, tx: Transaction, timer: Timer, now: datetime) -> Fired:
        item = await tx.action_items.get(timer.payload["item"])
        if item is None or not item.is_open:
            return Fired(None, fired=False)
        await tx.outbox.enqueue(item.incident_id, [[fx.RemindActionItem(user=item.owner, item=item.id,
                                                                        late=item.overdue(now.date()))]], now)
        return Fired(core.next_overdue_reminder(now))

    async def _digest(self, tx: Transaction, now: datetime) -> Fired:
        channel = self.settings.file.action_items.digest_channel
        if channel:
            items = await tx.action_items.all_open()
            await tx.outbox.enqueue(None, [[fx.ActionItemDigest(channel=channel, month=f"{now:%B %Y}",
                                                                items=tuple(i.id for i in items))]], now)
        return Fired(core.next_digest(now, self.settings.file.action_items.digest_day), fired=bool(channel))

    async def ensure_digest(self) -> None:
        """Called at start: the monthly digest timer exists once the digest channel is configured."""
        if not self.settings.file.action_items.digest_channel:
            return
        async with self.work() as tx:
            timers = tx.timers
            if await timers.status(DIGEST_KEY) != "pending":
                await timers.set(DIGEST_KEY, DIGEST, core.next_digest(self.clock.now(),
                                                                      self.settings.file.action_items.digest_day))


__all__ = ["ActionItemService", "describe", "Incident"]
