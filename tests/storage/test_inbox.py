"""The inbox on both databases: committed before the ack, leased, handed out again, deleted when handled."""

import asyncio
from datetime import timedelta

import pytest

from bot.core.ports import InboxEntry
from bot.storage.batching import GroupCommit
from bot.storage.inbox import InboxStore

LEASE = timedelta(seconds=10)


@pytest.fixture
async def inbox(store):
    opened = InboxStore(store)
    yield opened
    await opened.close()  # the receiving side's own connection goes back before the engine is disposed


def entry(n: int) -> InboxEntry:
    return InboxEntry(f"env-{n}", "slash_commands", {"command": "/incident", "text": f"status {n}"})


async def test_received_envelopes_are_committed_and_leased_to_their_receiver(inbox, clock):
    await inbox.receive(entry(1), owner="a", now=clock.now(), lease=LEASE)
    # Leased to "a": nobody else may take it while the lease runs...
    assert await inbox.claim_due(clock.now(), "b", LEASE) == []
    assert await inbox.lease_owners() == {"a"}
    # ...and "a" renews it while it works; a renewal by anybody else changes nothing.
    await inbox.renew(["env-1"], "a", clock.now() + timedelta(seconds=20))
    await inbox.renew(["env-1"], "b", clock.now())
    clock.advance(seconds=15)
    assert await inbox.claim_due(clock.now(), "b", LEASE) == []
    # "a" stops renewing (it died): once the lease lapses, "b" takes the envelope, as it was received.
    clock.advance(seconds=6)
    [taken] = await inbox.claim_due(clock.now(), "b", LEASE)
    assert taken.envelope_id == "env-1" and taken.payload == entry(1).payload and taken.attempts == 2
    assert await inbox.claim_due(clock.now(), "c", LEASE) == []
    await inbox.handled("env-1")
    assert await inbox.counts() == {}


async def test_a_redelivered_envelope_keeps_its_first_row(inbox, clock):
    await inbox.receive(entry(1), owner="a", now=clock.now(), lease=LEASE)
    await inbox.receive(entry(1), owner="b", now=clock.now(), lease=LEASE)
    assert await inbox.lease_owners() == {"a"} and await inbox.counts() == {"pending": 1}


async def test_a_failed_attempt_comes_back_when_due_and_the_last_one_stays_as_failed(inbox, clock):
    await inbox.receive(entry(1), owner="a", now=clock.now(), lease=LEASE)
    await inbox.retry("env-1", error="listener answered 500", at=clock.now() + timedelta(seconds=2))
    assert await inbox.claim_due(clock.now(), "a", LEASE) == []
    assert await inbox.next_due() == clock.now() + timedelta(seconds=2)
    clock.advance(seconds=2)
    [again] = await inbox.claim_due(clock.now(), "a", LEASE)
    assert again.attempts == 2
    await inbox.retry("env-1", error="listener answered 500", at=None)
    clock.advance(hours=1)
    assert await inbox.claim_due(clock.now(), "a", LEASE) == []
    assert await inbox.counts() == {"failed": 1}


async def test_released_leases_are_taken_at_once(inbox, clock):
    await inbox.receive(entry(1), owner="dead", now=clock.now(), lease=LEASE)
    await inbox.release("dead")
    [taken] = await inbox.claim_due(clock.now(), "alive", LEASE)
    assert taken.envelope_id == "env-1"


async def test_a_burst_of_arrivals_shares_a_few_commits(inbox, store, clock):
    """On PostgreSQL; on SQLite each arrival commits inline, in tens of microseconds, without a batch."""
    commits = []
    if inbox._writer is not None:
        insert = inbox._writer.receive_many

        async def counted(batch):
            commits.append(len(batch))
            await insert(batch)

        inbox._writer._batches = GroupCommit(counted)
    await asyncio.gather(*(inbox.receive(entry(n), owner="a", now=clock.now(), lease=LEASE) for n in range(50)))
    assert await inbox.counts() == {"pending": 50}
    if store.engine.dialect.name == "sqlite":
        assert commits == []
    else:
        assert sum(commits) == 50 and len(commits) <= 5, commits
    await asyncio.gather(*(inbox.handled(f"env-{n}") for n in range(50)))
    assert await inbox.counts() == {}
