"""Action items: added in the war room or from the post-mortem, listed, closed, chased until done.

Owners get a DM at 09:00 UTC on the due date and every day while the item is overdue; a digest of open
items goes to the ops-review channel once a month. Both run on the same exactly-once timers as reminders.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot.config import Settings
from bot.core import actions as core
from bot.core import permissions
from bot.core.actions import ActionItem
from bot.core.incident import DomainError, Event, Incident
from bot.core.ports import Clock, Directory, Dispatch, NoDispatch
from bot.core.text import escape
from bot.services.authorization import Authorizer
from bot.services.incidents import Duplicate
from bot.storage.repository import Effect, Store, Transaction
from bot.storage.tables import ActionItemRow
from bot.storage.timers import Timer, TimerRepository

DUE = "action_item_due"
DIGEST = "action_item_digest"
DIGEST_KEY = "action_items:digest"
ITEMS = ActionItemRow.__table__


def _item(row) -> ActionItem:
    return ActionItem(row.id, row.incident_id, row.text, row.owner, row.due, row.priority, row.created_by,
                      row.created_at, row.done_by, row.done_at)


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
        self.dispatch = dispatch or NoDispatch()
        self.auth = Authorizer(settings, directory)

    async def add(self, channel_id: str, text: str, actor: str, request_key: str) -> ActionItem:
        what, owner, due, priority = core.parse(text)
        if owner and not await self.directory.user_exists(owner):
            raise DomainError(f"I can't find a user `{escape(owner[:40])}` in this workspace.")
        async with self.store.reading() as tx:
            incident = await tx.incident_by_channel(channel_id)
        if incident is None:
            raise DomainError("Action items belong to an incident: add them in its war-room channel.")
        await self.auth.in_room(incident, actor, "add action items to")
        now = self.clock.now()
        async with self.store.transaction() as tx:
            if request_key and not await tx.first_time(request_key, now):
                raise Duplicate()
            row = ActionItemRow(incident_id=incident.id, text=what, owner=owner, due=due, priority=priority,
                                created_by=actor, created_at=now)
            tx.session.add(row)
            await tx.session.flush()
            item = _item(row)
            await tx.append_timeline(incident.id, [Event("action_item", actor, now,
                                                         f"Action item added: {describe(item)}")])
            reminder = core.first_reminder(item)
            if reminder:
                await TimerRepository(tx).set(f"action:{item.id}:due", DUE, reminder, incident_id=incident.id,
                                              payload={"item": item.id})
            await tx.enqueue(incident.id, [[Effect("slack", "post_action_item", {"item": item.id})]], now)
        self.dispatch.wake()
        return item

    async def done(self, item_id: int, actor: str, request_key: str) -> ActionItem:
        """Closed by its owner, the person who added it, or the incident's IC (or an incident manager)."""
        now = self.clock.now()
        is_manager = await self.auth.is_manager(actor)
        async with self.store.transaction() as tx:
            row = (await tx.session.execute(select(ITEMS).where(ITEMS.c.id == item_id).with_for_update())).one_or_none()
            if row is None:
                raise DomainError("That action item no longer exists.")
            if row.done_at is not None:
                raise Duplicate()
            incident = await tx.incident(row.incident_id)
            self.auth.enforce(permissions.action_item_close(incident, row.owner, row.created_by, actor,
                                                            is_manager=is_manager), "close_action_item", actor, incident)
            if request_key and not await tx.first_time(request_key, now):
                raise Duplicate()
            await tx.session.execute(update(ITEMS).where(ITEMS.c.id == item_id).values(done_by=actor, done_at=now))
            await TimerRepository(tx).cancel(f"action:{item_id}:due")
            item = _item(row)
            await tx.append_timeline(item.incident_id, [Event("action_item", actor, now,
                                                              f"Action item done: {describe(item)}")])
        return ActionItem(**{**item.__dict__, "done_by": actor, "done_at": now})

    async def get(self, item_id: int) -> ActionItem | None:
        async with self.store.reading() as tx:
            row = (await tx.session.execute(select(ITEMS).where(ITEMS.c.id == item_id))).one_or_none()
        return _item(row) if row else None

    async def of_incident(self, incident_id: int) -> list[ActionItem]:
        return await self._query(ITEMS.c.incident_id == incident_id)

    async def open_for(self, owner: str) -> list[ActionItem]:
        return await self._query(ITEMS.c.owner == owner, ITEMS.c.done_at.is_(None))

    async def overdue(self) -> list[ActionItem]:
        today = self.clock.now().date()
        return await self._query(ITEMS.c.done_at.is_(None), ITEMS.c.due < today)

    async def all_open(self) -> list[ActionItem]:
        return await self._query(ITEMS.c.done_at.is_(None))

    async def _query(self, *conditions) -> list[ActionItem]:
        async with self.store.reading() as tx:
            rows = (await tx.session.execute(select(ITEMS).where(*conditions)
                                             .order_by(ITEMS.c.priority, ITEMS.c.due, ITEMS.c.id))).all()
        return [_item(row) for row in rows]

    # -- chasing -----------------------------------------------------------------------------------
    async def fire(self, timer: Timer) -> None:
        now = self.clock.now()
        async with self.store.transaction() as tx:
            if timer.kind == DIGEST:
                await self._digest(tx, timer, now)
            else:
                await self._due(tx, timer, now)
        self.dispatch.wake()

    async def _due(self, tx: Transaction, timer: Timer, now: datetime) -> None:
        row = (await tx.session.execute(select(ITEMS).where(ITEMS.c.id == timer.payload["item"]))).one_or_none()
        item = _item(row) if row else None
        if item is None or not item.is_open:
            await TimerRepository(tx).settle(timer.id, None, False)
            return
        await tx.enqueue(item.incident_id, [[Effect("slack", "dm", {
            "user": item.owner, "item": item.id, "late": item.overdue(now.date())})]], now)
        await TimerRepository(tx).settle(timer.id, core.next_overdue_reminder(now), True)

    async def _digest(self, tx: Transaction, timer: Timer, now: datetime) -> None:
        channel = self.settings.file.action_items.digest_channel
        rows = (await tx.session.execute(select(ITEMS).where(ITEMS.c.done_at.is_(None))
                                         .order_by(ITEMS.c.priority, ITEMS.c.due))).all()
        items = [_item(row) for row in rows]
        if channel:
            await tx.enqueue(None, [[Effect("slack", "digest", {"channel": channel, "month": f"{now:%B %Y}",
                                                                "items": [i.id for i in items]})]], now)
        await TimerRepository(tx).settle(timer.id, core.next_digest(now, self.settings.file.action_items.digest_day),
                                         bool(channel))

    async def ensure_digest(self) -> None:
        """Called at start: the monthly digest timer exists once the digest channel is configured."""
        if not self.settings.file.action_items.digest_channel:
            return
        async with self.store.transaction() as tx:
            timers = TimerRepository(tx)
            if await timers.status(DIGEST_KEY) != "pending":
                await timers.set(DIGEST_KEY, DIGEST, core.next_digest(self.clock.now(),
                                                                      self.settings.file.action_items.digest_day))


__all__ = ["ActionItemService", "describe", "Incident"]
