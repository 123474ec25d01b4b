"""What the core and the services need from the outside world, as Protocols.

Adapters in bot/slack, bot/integrations and bot/storage implement them; tests use in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bot.core.incident import Incident

if TYPE_CHECKING:  # the receiver process imports this module and should not load pydantic for it
    from bot.core.effects import Effect, Result


class Clock(Protocol):
    def now(self) -> datetime: ...


class Directory(Protocol):
    """The workspace's people and user groups."""

    async def user_exists(self, user_id: str) -> bool: ...

    async def in_usergroup(self, user_id: str, handle: str) -> bool: ...

    async def is_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is in the channel now (a cached answer that a miss refreshes)."""
        ...


class UnknownEffect(Exception):
    """No handler for this effect: a bug (a model without its registry line), never retried."""


class Performer:
    """Carries out the effects of one target (Slack, PagerDuty, the status page, ...).

    `handlers` is the registry: `{effect model: handler}`, each handler an `async (self, effect, incident)`
    returning what to remember (a `Result`). A handler raises `RetryLater` for transient failures; any
    other exception fails the effect for good. `context` is what the transaction that queued a handed-over
    effect already held (bot/storage/repository.py); a performer may use it instead of reading it back.
    """

    handlers: ClassVar[Mapping[type[Effect], Callable[..., Awaitable[Result]]]] = {}

    async def perform(self, effect: Effect, incident: Incident | None, context: Any = None) -> Result:
        handler = self.handlers.get(type(effect))
        if handler is None:
            raise UnknownEffect(f"no handler for {effect.type} in {type(self).__name__}")
        return await handler(self, effect, incident)

    async def report_failure(self, effect: Effect, error: Exception, incident: Incident | None) -> None:
        """Called by the dispatcher when an effect failed for good: tell someone, where that helps."""


# How the Slack adapter's RetryLater reasons begin when Slack itself failed (bot/slack/effects/calls.py), as
# opposed to an effect waiting its turn: the post-mortem counts these as Slack trouble during an incident.
SLACK_FAILURES = ("rate limited", "Slack answered", "Slack unreachable", "file upload failed")


class RetryLater(Exception):
    """The effect should be tried again. `refs` records what it did before it stopped (a message it already
    posted, say), so that the retry carries on from there instead of doing it twice."""

    def __init__(self, reason: str, after_seconds: float | None = None, refs: Result = None):
        super().__init__(reason)
        self.after_seconds = after_seconds
        self.refs = refs


@dataclass(frozen=True)
class Held:
    """What the transaction that queued handed-over effects read or wrote: the dispatcher performs them with
    it instead of reading it back. `runs`: run id -> (Run, RunMessages) as the transaction saved it."""

    incidents: dict[int, Incident] = field(default_factory=dict)
    runs: dict[int, Any] = field(default_factory=dict)


class Dispatch(Protocol):
    """The outbox dispatcher, as the unit of work sees it (bot/services/unit_of_work.py)."""

    def lease_for_hand_over(self) -> tuple[str, datetime] | None: ...

    def hand_over(self, items: list, held: Held) -> None: ...

    def wake(self) -> None: ...


class NoDispatch:
    """For services used without a dispatcher (tests, the CLI): effects wait in the outbox."""

    def lease_for_hand_over(self) -> None:
        return None

    def hand_over(self, items: list, held: Held) -> None:
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
