"""The one way a use case commits.

State, timeline events, outbox effects and timers are written in one transaction; once it commits, the
dispatcher gets what was queued. Effects that may leave at once were leased to this dispatcher inside the
transaction and are handed over with what the transaction held (bot/core/ports.py `Held`), so they leave
without another claim or read; the rest wait in the outbox, and the dispatcher is woken for them.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from bot.core.ports import Dispatch, NoDispatch
from bot.storage.repository import Store, Transaction


class UnitOfWork:
    def __init__(self, store: Store, dispatch: Dispatch | None = None):
        self.store = store
        self.dispatch = dispatch or NoDispatch()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Transaction]:
        """Never open one inside another: on SQLite the second would wait for the first forever."""
        async with self.store.transaction(lease=self.dispatch.lease_for_hand_over()) as tx:
            yield tx
        if tx.outbox.enqueued:  # a timeline-only change gives the dispatcher nothing to do
            self.dispatch.hand_over(tx.outbox.handed_over, tx.held)

    def reading(self):
        """For queries only: on SQLite it does not wait for, or block, the writer."""
        return self.store.reading()
