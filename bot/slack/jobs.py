"""Work that may take longer than a second runs after the ack as a job of its own, off the Socket Mode
workers: a /postmortem reading a long history (and waiting out 429s), or a declaration whose on-call lookup
waits on PagerDuty, must not leave the next person's trigger_id to expire in the queue behind it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from contextvars import ContextVar

import structlog

log = structlog.get_logger("warroom.slack")

# The jobs a request spawned: its inbox row is deleted only once they are done too (bot/slack/socket.py).
SPAWNED: ContextVar[list[asyncio.Task] | None] = ContextVar("warroom_spawned_jobs", default=None)


class Jobs:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, work: Coroutine, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        if (spawned := SPAWNED.get()) is not None:
            spawned.append(task)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("job_failed", job=task.get_name(), error=repr(task.exception()))

    @property
    def idle(self) -> bool:
        return not self._tasks

    async def drain(self, timeout: float = 30.0) -> None:
        """At shutdown: let running jobs finish (they reply to people), then give up on what is left."""
        if not self._tasks:
            return
        done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
