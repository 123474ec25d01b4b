"""Slack's rate limits as the sandbox enforces them when asked: Tier 2 methods about 20 calls a minute,
chat.postMessage about one a second per channel, each with a short burst, and a 429 with a whole-second
Retry-After beyond them. Kept apart from warroom's own budget (bot/slack/rate_budget.py), so that the one
checks the other."""

from __future__ import annotations

import math
import time

TIER_2_METHODS = {"conversations.create", "conversations.setTopic", "conversations.setPurpose", "pins.add",
                  "bookmarks.add", "canvases.create", "conversations.list"}


class SlackRateLimits:
    def __init__(self) -> None:
        self.enabled = False
        self.refused = 0  # how many 429s were given
        self._next: dict[str, float] = {}

    def retry_after(self, method: str, params: dict) -> int:
        """0 when the call may go; otherwise the Retry-After, in whole seconds as Slack sends it."""
        if not self.enabled:
            return 0
        if method in TIER_2_METHODS:
            key, per_second, burst = method, 20 / 60, 20
        elif method == "chat.postMessage" and params.get("channel"):
            key, per_second, burst = f"post:{params['channel']}", 1.0, 3
        else:
            return 0
        now, interval = time.monotonic(), 1 / per_second
        at = max(self._next.get(key, 0.0), now)
        if at - now > (burst - 1) * interval + 0.1:  # a little slack for clocks that are not the same
            self.refused += 1
            return max(1, math.ceil(at - (burst - 1) * interval - now))
        self._next[key] = at + interval
        return 0
