"""One rate budget for every effect that calls Slack: per method tier, and per channel for posts.

Slack allows about 20 calls a minute of a Tier 2 method (conversations.create, setTopic, setPurpose,
pins.add, bookmarks.add, canvases.create, conversations.list) and about one chat.postMessage a second per
channel, with short bursts. (Tier 3 methods, chat.update among them, allow 50 a minute: a person clicking
through a runbook never comes near it, and budgeting them would only slow the clicks down.) Without a shared budget each effect learns that from its own 429, waits
its own Retry-After, and the deferred retries all fire together and collect 429s again. With it, an effect
that would exceed the budget is not sent: it is retried later (RetryLater) at a time of its own, spread so
that the deferred ones come back one slot apart, and a burst drains at the rate Slack allows. A 429 that
gets through anyway (another app on the same token, a limit Slack changed) moves the whole key back.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.ports import RetryLater


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int  # calls that may go at once after a quiet spell


TIER_2 = Limit(20 / 60, 20)
POSTS_PER_CHANNEL = Limit(1.0, 3)
METHODS = {
    "conversations.create": TIER_2, "conversations.setTopic": TIER_2, "conversations.setPurpose": TIER_2,
    "pins.add": TIER_2, "bookmarks.add": TIER_2, "canvases.create": TIER_2, "conversations.list": TIER_2,
}
PER_CHANNEL = {"chat.postMessage"}


class _Bucket:
    """The generic cell rate algorithm (a token bucket kept as one time), plus the slots promised to callers
    it deferred: a fresh caller queues behind them, and a caller arriving at a due slot takes it."""

    EARLY = 0.05  # a deferred caller may come back this much before its slot (timers are not exact)

    def __init__(self, limit: Limit):
        self.interval = 1 / limit.per_second
        self.tolerance = (limit.burst - 1) * self.interval
        self.theoretical = 0.0  # when the bucket would be empty again at the allowed rate
        self.promised: deque[float] = deque()

    def take(self, now: float) -> float:
        """0 when a call may go now (it is counted); otherwise the seconds until this caller's own slot."""
        while self.promised and self.promised[0] < now - 5 * self.interval:
            self.promised.popleft()  # a deferred caller that never came back
        returning = bool(self.promised) and self.promised[0] <= now + self.EARLY
        if returning:
            self.promised.popleft()
        if returning or not self.promised:
            at = max(self.theoretical, now)
            if at - now <= self.tolerance + self.EARLY:
                self.theoretical = at + self.interval
                return 0.0
            first = at - self.tolerance
        else:
            first = now
        slot = max(first, self.promised[-1] + self.interval) if self.promised else first
        self.promised.append(slot)
        return max(slot - now, self.EARLY)

    def block(self, now: float, seconds: float) -> None:
        """Slack said 429: nothing of this key goes before `seconds` have passed."""
        self.theoretical = max(self.theoretical, now + seconds + self.tolerance)


class RateBudget:
    def __init__(self, clock=time.monotonic, *, enabled: bool = True):
        self.clock = clock
        self.enabled = enabled
        self._buckets: dict[str, _Bucket] = {}

    @classmethod
    def unlimited(cls) -> "RateBudget":
        """For the demo and the in-process tests, which press minutes of an incident into milliseconds: there
        pacing posts to Slack's rate would only make them wait. `warroom run` always budgets."""
        return cls(enabled=False)

    @staticmethod
    def key(method: str, channel: str | None) -> tuple[str, Limit] | None:
        if method in PER_CHANNEL and channel:
            return f"{method}:{channel}", POSTS_PER_CHANNEL
        limit = METHODS.get(method)
        return (method, limit) if limit else None

    def take(self, method: str, channel: str | None = None) -> float:
        found = self.key(method, channel) if self.enabled else None
        if found is None:
            return 0.0
        name, limit = found
        now = self.clock()
        return self._buckets.setdefault(name, _Bucket(limit)).take(now)

    def rate_limited(self, method: str, channel: str | None, retry_after: float) -> None:
        found = self.key(method, channel)
        if found is not None:
            name, limit = found
            now = self.clock()
            self._buckets.setdefault(name, _Bucket(limit)).block(now, retry_after)


def _channel(kwargs: dict[str, Any]) -> str | None:
    for part in ("json", "data", "params"):
        value = kwargs.get(part)
        if isinstance(value, dict) and value.get("channel"):
            return str(value["channel"])
    return None


class BudgetedWebClient(AsyncWebClient):
    """The Web API client of the outbox: every call asks the shared budget first. A call over budget is not
    sent: a short wait (a busy channel's next second) is waited here; a long one (a Tier 2 backlog) sends the
    effect back to the outbox, to be retried at the slot the budget gave it."""

    SHORT_WAIT = 2.0

    def __init__(self, *args, budget: RateBudget, **kwargs):
        super().__init__(*args, **kwargs)
        self.budget = budget

    async def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        channel = _channel(kwargs)
        for _ in range(3):
            wait = self.budget.take(api_method, channel)
            if wait <= 0:
                break
            if wait > self.SHORT_WAIT:
                raise RetryLater(f"{api_method} over Slack's rate (shared budget)", after_seconds=wait)
            await asyncio.sleep(wait)  # the slot is this caller's: it takes it when it asks again
        else:
            raise RetryLater(f"{api_method} over Slack's rate (shared budget)", after_seconds=self.SHORT_WAIT)
        try:
            return await super().api_call(api_method, **kwargs)
        except Exception as exc:
            response = getattr(exc, "response", None)
            if response is not None and getattr(response, "status_code", 0) == 429:
                retry_after = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
                self.budget.rate_limited(api_method, channel, float(retry_after) if retry_after else 30.0)
            raise
