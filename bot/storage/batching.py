"""Group commit: writes that arrive while one transaction is committing share the next one.

A burst of fifty acknowledgements each needing a committed row would otherwise queue for the one SQLite writer
fifty times over; batched, the burst costs a few commits, and a lone write still commits at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item]):
    """`flush` commits a batch and may return one result per item, which that item's writer gets back.
    `limit`: the most items in one batch (SQLite takes a bounded number of values in one statement)."""

    def __init__(self, flush: Callable[[Sequence[Item]], Awaitable[Sequence[Any] | None]], limit: int | None = None):
        self._flush = flush
        self._limit = limit
        self._waiting: list[tuple[Item, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def write(self, item: Item) -> Any:
        """Returns once `item` is committed, with its result; raises what the commit raised."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._run(), name="group-commit")
        return await future

    async def _run(self) -> None:
        while self._waiting:
            size = self._limit or len(self._waiting)
            batch, self._waiting = self._waiting[:size], self._waiting[size:]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:  # every writer of the batch learns it failed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for index, (_, future) in enumerate(batch):
                    if not future.done():
                        future.set_result(results[index] if results is not None else None)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)


class SharedRead(Generic[Result]):
    """Concurrent callers of one query share its execution: fifty `/incident list` at once cost a couple of
    reads, not fifty. A caller that arrives while a read runs waits for the next one, which begins after it
    arrived, so nobody is handed a result older than their own call."""

    def __init__(self, read: Callable[[], Awaitable[Result]]):
        self._read = read
        self._group: GroupCommit[None] = GroupCommit(self._run)

    async def _run(self, callers: Sequence[None]) -> list[Result]:
        result = await self._read()
        return [result] * len(callers)

    async def get(self) -> Result:
        return await self._group.write(None)
