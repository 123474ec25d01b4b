"""What the core and the services need from the outside world, as Protocols.

Adapters in bot/slack, bot/integrations and bot/storage implement them; tests use in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


@dataclass(frozen=True)
class InboxEntry:
    """A Slack envelope as the inbox keeps it until it is handled."""

    envelope_id: str
    type: str
    payload: dict[str, Any] = field(repr=False)  # holds a response_url: a capability, kept out of logs
    retry_attempt: int = 0
    retry_reason: str = ""
    attempts: int = 1


class Inbox(Protocol):
    """Where Slack envelopes are committed before they are acknowledged (bot/storage/inbox.py)."""

    async def receive(self, entry: InboxEntry, *, owner: str, now: datetime, lease: timedelta) -> None: ...

    async def handled(self, envelope_id: str) -> None: ...

    async def retry(self, envelope_id: str, *, error: str, at: datetime | None) -> None: ...

    async def claim_due(self, now: datetime, owner: str, lease: timedelta) -> list[InboxEntry]: ...

    async def renew(self, envelope_ids: Sequence[str], owner: str, until: datetime) -> None: ...

    async def next_due(self) -> datetime | None: ...

    async def lease_owners(self) -> set[str]: ...

    async def release(self, owner: str) -> None: ...


@dataclass(frozen=True)
class EffectAttempt:
    """The effect being performed, for adapters that make a retry safe (bot/slack/tagged_posts.py)."""

    effect_id: int
    attempt: int


CURRENT_EFFECT: ContextVar[EffectAttempt | None] = ContextVar("warroom_current_effect", default=None)
