"""Socket Mode with the ack sent the moment a frame arrives, and the work done by a bounded pool.

Bolt acks from inside the listener and polls for that ack every 10 ms, so under a burst of commands acks
queue behind other requests' work. warroom's slash commands, clicks and events never put anything in their
ack (replies go through response_url), so they are acked here, before any work, and then handled by a few
workers: a burst of fifty commands is acked at once and worked through without starving the socket.
View submissions are the exception: their ack carries a modal's validation errors, so Bolt sends it.
"""

from __future__ import annotations

import asyncio

import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = structlog.get_logger("warroom.slack")


def acked_by_bolt(req: SocketModeRequest) -> bool:
    return req.type == "interactive" and req.payload.get("type") in {"view_submission", "block_suggestion"}


class EarlyAckSocketModeHandler(AsyncSocketModeHandler):
    def __init__(self, *args, workers: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        self._queue: asyncio.Queue[SocketModeRequest] = asyncio.Queue()
        self._busy = 0
        self._workers = [asyncio.create_task(self._work(), name=f"slack-worker-{n}") for n in range(workers)]

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if acked_by_bolt(req):
            structlog.contextvars.clear_contextvars()
            await super().handle(client, req)
            return
        self._queue.put_nowait(req)  # queued before the ack leaves: whoever sees the ack finds it queued
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being worked on (the demo and tests wait for this)."""
        return self._queue.empty() and not self._busy

    async def _work(self) -> None:
        while True:
            req = await self._queue.get()
            self._busy += 1
            # A worker serves one request after another: each starts with a clean log context.
            structlog.contextvars.clear_contextvars()
            try:
                await run_async_bolt_app(self.app, req)
            except Exception:
                log.exception("slack_request_failed", type=req.type)
            finally:
                self._busy -= 1

    async def close_async(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await super().close_async()
