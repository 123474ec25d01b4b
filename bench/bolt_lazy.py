"""Bolt's own lazy listeners against warroom's inbox handler (issue 11): the ack of 50 concurrent
`/incident status` commands, both in this process against the sandbox, on the same database. Prints figures;
asserts nothing.

    python bench/bolt_lazy.py            # SQLite in a temp dir
    DATABASE_URL=postgresql+asyncpg://... python bench/bolt_lazy.py

With `lazy=`, Bolt acks once the ack function returns and runs the work afterwards as a task: nothing is
written before the ack, so a crash after it loses the command (issue 18 forbids that). warroom's handler commits
the envelope to the inbox first. The figures say what that guarantee costs on the ack.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from bench.lifecycle import percentile  # noqa: E402
from bot import wiring  # noqa: E402
from bot.config import Environment, settings_from_mapping  # noqa: E402
from bot.sandbox.server import APP_TOKEN, BOT_TOKEN, SlackSandbox  # noqa: E402
from bot.slack.blocks import incidents as blocks  # noqa: E402
from bot.slack.rate_budget import RateBudget  # noqa: E402
from bot.storage import database  # noqa: E402

ROUNDS, CONCURRENT = 10, 50


async def ack_latencies(sandbox: SlackSandbox, channel: str) -> list[float]:
    async def one() -> float:
        payload = sandbox.slash_payload("U0ALICE", channel, "/incident", "status")
        started = asyncio.get_running_loop().time()
        await sandbox.deliver("slash_commands", payload)
        return (asyncio.get_running_loop().time() - started) * 1000
    for _ in range(20):
        await one()
    latencies: list[float] = []
    for _ in range(ROUNDS):
        latencies += await asyncio.gather(*[one() for _ in range(CONCURRENT)])
        await asyncio.sleep(0.3)
    return latencies


def report(label: str, latencies: list[float]) -> None:
    print(f"{label}: ack p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms ({ROUNDS} x {CONCURRENT} concurrent /incident status)")


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{workdir / 'warroom.db'}"
    sandbox = await SlackSandbox().start()
    settings = settings_from_mapping({"slack": {"announce_channel": "incidents"}})
    env = Environment(slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=sandbox.api_url,
                      database_url=url, http_port=0)
    channel = sandbox.workspace.channel("incidents").id
    try:
        runtime = wiring.build(env, settings, budget=RateBudget.unlimited())
        await database.upgrade(runtime.engine)
        await runtime.identity.resolve()

        # Bolt as documented: ack at once, the same work as warroom's /incident status in a lazy listener.
        # (Its own client: Bolt copies each request for its lazy functions, and a shared aiohttp session cannot be.)
        lazy = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=sandbox.api_url),
                        authorize=runtime.identity.authorize)

        async def acknowledge(ack) -> None:
            await ack()

        async def status(command, respond) -> None:
            overview = await runtime.incidents.overview()
            await respond(text=f"{len(overview.open)} open incidents", response_type="ephemeral",
                          blocks=blocks.incident_list(overview.open, overview.recently_resolved,
                                                      runtime.incidents.clock.now()))
        lazy.command("/incident")(ack=acknowledge, lazy=[status])
        handler = AsyncSocketModeHandler(lazy, APP_TOKEN)
        await handler.connect_async()
        report("Bolt lazy= listener, nothing written before the ack", await ack_latencies(sandbox, channel))
        await handler.close_async()
        await asyncio.sleep(0.5)

        stop, ready = asyncio.Event(), asyncio.Event()
        serving = asyncio.create_task(wiring.serve(runtime, stop, on_ready=ready.set, http=False))
        await asyncio.wait_for(ready.wait(), 15)
        report("warroom's handler, envelope committed to the inbox before the ack",
               await ack_latencies(sandbox, channel))
        stop.set()
        await serving
    finally:
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
