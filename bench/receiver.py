"""The ack's floor: the Slack receiver process (`python -m bot.receiver`) alone against the sandbox, with nobody
handling what it passes on. bench/lifecycle.py measures the same bursts with `warroom run` handling them on
the same two cores; the difference between the two is what the listeners' work costs the ack. Prints
figures; asserts nothing.

    python bench/receiver.py            # SQLite in a temp dir
    DATABASE_URL=postgresql+asyncpg://... python bench/receiver.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.lifecycle import percentile  # noqa: E402
from bot.sandbox.server import APP_TOKEN, SlackSandbox  # noqa: E402
from bot.storage import database  # noqa: E402

ROUNDS = 10


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-receiver-"))
    database_url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    engine = database.create_engine(database_url)
    await database.upgrade(engine)
    await engine.dispose()
    sandbox = await SlackSandbox().start()
    env = {**os.environ, "DATABASE_URL": database_url, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": sandbox.api_url,
           "WARROOM_INBOX_OWNER": "bench", "WARROOM_LOG_LEVEL": "WARNING"}
    receiver = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.receiver", env=env,
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    receiver.stdin.write(b'{"kind": "connect"}\n')
    await receiver.stdin.drain()

    async def read_and_drop() -> None:  # what `warroom run` would handle
        while await receiver.stdout.readline():
            pass

    reader = asyncio.create_task(read_and_drop())
    try:
        await sandbox.wait_connected(30)
        channel = sandbox.workspace.channel("general").id

        async def timed_ack() -> float:
            payload = sandbox.slash_payload("U0ALICE", channel, "/incident", "status")
            started = time.perf_counter()
            await sandbox.deliver("slash_commands", payload)
            return (time.perf_counter() - started) * 1000

        gc.freeze()  # the sandbox's collector pauses are not the receiver's (bench/lifecycle.py says more)
        alone = [await timed_ack() for _ in range(50)]
        print(f"one envelope at a time: p50 {percentile(alone, 50):.2f} ms, p99 {percentile(alone, 99):.2f} ms")
        latencies: list[float] = []
        for _ in range(ROUNDS):
            latencies += await asyncio.gather(*[timed_ack() for _ in range(50)])
            await asyncio.sleep(0.3)
        print(f"50 concurrent x{ROUNDS}, nobody handling them: p50 {percentile(latencies, 50):.2f} ms, "
              f"p99 {percentile(latencies, 99):.2f} ms, max {max(latencies):.2f} ms")
    finally:
        receiver.terminate()
        await receiver.wait()
        reader.cancel()
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
