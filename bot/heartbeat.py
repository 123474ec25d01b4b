"""Leases kept alive while their work runs, so that they can be short.

Effects, timers and inbox envelopes are claimed under a lease: another replica takes them over when it lapses.
A lease long enough for the slowest work (a minute) made a dead replica's work wait that long; instead each
holder renews what it is working on every few seconds, and a lease of ten seconds lapses only when its
holder has stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import structlog

log = structlog.get_logger("warroom")

LEASE = timedelta(seconds=10)
RENEW_EVERY = 3.0  # seconds: two renewals may fail before a lease lapses


class Heartbeat:
    def __init__(self, renewers: Sequence[Callable[[], Awaitable[None]]], *, every: float = RENEW_EVERY):
        self.renewers = list(renewers)
        self.every = every

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.beat()

    async def beat(self) -> None:
        for renew in self.renewers:
            try:
                await renew()
            except Exception:
                # The database is away: the lease may lapse and the work be done again elsewhere, which the
                # request keys and dedup keys make harmless.
                log.warning("lease_renewal_failed", renewer=getattr(renew, "__qualname__", repr(renew)))
