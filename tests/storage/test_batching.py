"""Group commits and shared reads: what concurrent callers share, and what they never share."""

import asyncio

from bot.storage.batching import GroupCommit, SharedRead


async def test_writes_that_arrive_together_share_a_commit_and_each_gets_its_own_result():
    batches = []

    async def flush(items):
        batches.append(list(items))
        return [item * 10 for item in items]

    group = GroupCommit(flush)
    assert await asyncio.gather(*(group.write(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert batches == [[0, 1, 2, 3, 4]]


async def test_concurrent_readers_share_one_read():
    reads = 0

    async def read():
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return reads

    shared = SharedRead(read)
    assert await asyncio.gather(*(shared.get() for _ in range(50))) == [1] * 50
    assert await shared.get() == 2  # a later caller reads again


async def test_a_reader_who_arrives_during_a_read_gets_the_next_one_never_an_older_result():
    database = {"open": 1}
    running, release = asyncio.Event(), asyncio.Event()

    async def read():
        seen = database["open"]
        running.set()
        await release.wait()
        return seen

    shared = SharedRead(read)
    first = asyncio.create_task(shared.get())
    await running.wait()
    database["open"] = 2  # committed while the first read runs: the second caller asked after it
    second = asyncio.create_task(shared.get())
    await asyncio.sleep(0)
    release.set()
    assert await first == 1
    assert await second == 2


async def test_a_failed_read_fails_everybody_who_shared_it_and_the_next_caller_reads_again():
    attempts = 0

    async def read():
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database went away")
        return "fine"

    shared = SharedRead(read)
    results = await asyncio.gather(shared.get(), shared.get(), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    assert await shared.get() == "fine" and attempts == 2
