"""What the core and the services need from the outside world, as Protocols.

Adapters in bot/slack, bot/integrations and bot/storage implement them; tests use in-memory fakes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.core.incident import Incident


class Clock(Protocol):
    def now(self) -> datetime: ...


class Directory(Protocol):
    """The workspace's people and user groups."""

    async def user_exists(self, user_id: str) -> bool: ...

    async def in_usergroup(self, user_id: str, handle: str) -> bool: ...

    async def is_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is in the channel now (a cached answer that a miss refreshes)."""
        ...


class EffectPerformer(Protocol):
    """Carries out one kind of outbox effect (a Slack post, a page, a status-page update).

    Returns references to remember on the incident (e.g. {"channel_id": "C123"}). Raises
    `RetryLater` for transient failures; any other exception fails the effect for good. A performer
    may also take `context=`: what the service that queued an effect held when it handed it over.
    """

    async def perform(self, kind: str, payload: dict[str, Any], incident: Incident) -> dict[str, Any]: ...


class RetryLater(Exception):
    """The effect should be tried again. `refs` records what it did before it stopped (a message it already
    posted, say), so that the retry carries on from there instead of doing it twice."""

    def __init__(self, reason: str, after_seconds: float | None = None, refs: dict[str, Any] | None = None):
        super().__init__(reason)
        self.after_seconds = after_seconds
        self.refs = refs


class Dispatch(Protocol):
    """The outbox dispatcher, as services see it."""

    def lease_for_hand_over(self) -> tuple[str, datetime] | None: ...

    def hand_over(self, items: list, incident: Incident | None = None) -> None: ...

    def wake(self) -> None: ...


class NoDispatch:
    """For services used without a dispatcher (tests, the CLI): effects wait in the outbox."""

    def lease_for_hand_over(self) -> None:
        return None

    def hand_over(self, items: list, incident: Incident | None = None) -> None:
        pass

    def wake(self) -> None:
        pass
