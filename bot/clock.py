"""The one clock warroom reads outside the tests (which pass a fake one): UTC, timezone-aware."""

from __future__ import annotations

from datetime import datetime, timezone


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)
