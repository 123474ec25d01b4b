"""Raw samples from Prometheus' HTTP API, a day at a time, in order.

Why raw samples: `increase()` and `rate()` extrapolate to the edges of their range, and a `[30d:5m]` subquery
aligns on its own grid, so neither gives exact per-window counts. A range selector in an instant query
(`selector[1d]` at time t) returns the stored samples themselves; bot/core/sla.py cuts them into windows."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import yarl

from bot.core.sla import Span, number

CHUNK = timedelta(days=1)
BASELINE = timedelta(days=1)  # how far back a series' value at the span's start is looked for

Series = frozenset  # the labels of a series, without its metric name (last_over_time drops the name)
Feed = Callable[[Series, list], None]


class PrometheusError(Exception):
    """Prometheus could not be asked, or refused the query: the message says which and why."""


def _series(metric: dict[str, str]) -> Series:
    return frozenset((name, value) for name, value in metric.items() if name != "__name__")


class Prometheus:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, *, concurrency: int = 4,
                 timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        # What messages name: never the password of a URL such as https://user:secret@prometheus/
        self.shown_url = str(yarl.URL(self.base_url).with_user(None))
        self.session = session
        self.concurrency = concurrency
        # At most this many queries in flight in all: a report of many services stays within a few days' worth
        # of samples in memory, and Prometheus is not flooded.
        self._slots = asyncio.Semaphore(concurrency)
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def query(self, expression: str, at: datetime) -> list[dict[str, Any]]:
        """An instant query's result (vector or matrix)."""
        url = f"{self.base_url}/api/v1/query"
        try:
            form = {"query": expression, "time": f"{at.timestamp():.3f}"}
            async with self._slots, self.session.post(url, data=form, timeout=self.timeout) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    raise PrometheusError(f"Prometheus at {self.shown_url} answered {response.status} without JSON "
                                          f"to `{expression}`") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PrometheusError(f"Prometheus at {self.shown_url} is unreachable: {exc or type(exc).__name__}") \
                from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "no reason given") if isinstance(body, dict) else "an unexpected answer"
            raise PrometheusError(f"Prometheus refused `{expression}`: {error}")
        return body["data"]["result"]

    async def baseline(self, selector: str, at: datetime) -> dict[Series, Any]:
        """Each series' last value at or before `at` (within a day): where a window's increase starts from."""
        result = await self.query(f"last_over_time({selector.strip()}[{int(BASELINE.total_seconds())}s])", at)
        values = {_series(item["metric"]): number(item["value"][1]) for item in result}
        return {series: value for series, value in values.items() if value is not None}

    async def samples(self, selector: str, span: Span, feed: Feed) -> None:
        """Feeds every stored sample in (span.start, span.end], series by series, a day at a time in time order.
        Up to `concurrency` days are fetched at once; only those are held in memory."""
        chunks, start = [], span.start
        while start < span.end:
            chunks.append((start, min(start + CHUNK, span.end)))
            start += CHUNK
        pending: deque[asyncio.Task] = deque()
        try:
            for chunk in chunks:
                pending.append(asyncio.create_task(self._chunk(selector, *chunk)))
                if len(pending) >= self.concurrency:
                    for series, values in await pending.popleft():
                        feed(series, values)
            while pending:
                for series, values in await pending.popleft():
                    feed(series, values)
        finally:
            for task in pending:
                task.cancel()

    async def _chunk(self, selector: str, start: datetime, end: datetime) -> list[tuple[Series, list]]:
        seconds = int((end - start).total_seconds())
        result = await self.query(f"{selector.strip()}[{seconds}s]", end)
        low = start.timestamp()
        chunk = []
        for item in result:
            values, first = item["values"], 0
            # Prometheus 2 includes a sample exactly at the range's start; it belongs to the chunk before.
            while first < len(values) and float(values[first][0]) <= low:
                first += 1
            chunk.append((_series(item["metric"]), values[first:] if first else values))
        return chunk
