"""The Socket Mode connection in a process of its own, so that an ack never waits for anybody's work.

On the event loop that runs the listeners, every step of an ack (read the frame, commit it to the inbox,
send the ack) queued behind whatever the listeners were doing: fifty `/incident status` listing 205 open
incidents pushed acks to p99 40-120 ms. A thread did not help (it waits for the GIL just the same). This
process does nothing but read frames, commit them to the inbox, acknowledge them and pass them on, one JSON
line each on its standard output; `warroom run` reads them and hands them to its workers. View submissions,
whose ack carries the listener's answer, are passed on first and acknowledged with the answer that comes
back on standard input.

    python -m bot.receiver    # started by `warroom run` (bot/receiver.py); the environment carries its settings
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta

import structlog
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SystemClock
from bot.core.ports import InboxEntry

log = structlog.get_logger("warroom.slack")

ANSWER_WITHIN = 2.8  # seconds: Slack waits 3 for a view submission's ack


def acked_with_answer(req: SocketModeRequest) -> bool:
    return req.type == "interactive" and req.payload.get("type") in {"view_submission", "block_suggestion"}


async def close_client(client: SocketModeClient) -> None:
    """Closes a Socket Mode client at once: slack_sdk closes the WebSocket while its own receiver task still
    reads from it, and aiohttp then waits its full 10 s close timeout; stopping that task first avoids it."""
    client.auto_reconnect_enabled = False
    for task in (client.message_receiver, client.current_session_monitor):
        if task is not None:
            task.cancel()
    await client.close()


def envelope_line(kind: str, envelope: SocketModeRequest | InboxEntry, payload_json: str | None = None) -> bytes:
    """One JSON line; `payload_json`: the payload already serialised (for the inbox row), spliced in as it is."""
    head = json.dumps({"kind": kind, "envelope_id": envelope.envelope_id, "type": envelope.type,
                       "retry_attempt": envelope.retry_attempt or 0, "retry_reason": envelope.retry_reason or ""})
    payload = json.dumps(envelope.payload) if payload_json is None else payload_json
    return f'{head[:-1]}, "payload": {payload}}}\n'.encode()


PIPE_SIZE = 1 << 20  # bytes: Linux's default 64 KiB holds eighteen clicks (each carries its message)


def _widen_pipe(out) -> None:
    """A burst that fills the pipe to warroom run blocks this process's one thread, and every ack with it,
    until warroom run reads: fifty clicks on a card are 180 KB. 1 MiB is what Linux lets anyone ask for."""
    import fcntl

    with contextlib.suppress(OSError, AttributeError, ValueError):  # not a pipe, or not Linux
        fcntl.fcntl(out.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)


class Receiver:
    def __init__(self, inbox, *, owner: str, lease: timedelta, app_token: str, api_url: str | None):
        self.inbox = inbox
        self.owner = owner
        self.lease = lease
        self.clock = SystemClock()
        web = AsyncWebClient(base_url=api_url) if api_url else AsyncWebClient()
        self.client = SocketModeClient(app_token=app_token, web_client=web, ping_interval=10)
        self.client.socket_mode_request_listeners.append(self.handle)
        self._answers: dict[str, asyncio.Future] = {}
        self._go = asyncio.Event()  # started early, it connects when warroom run is ready to handle envelopes
        self._out = sys.stdout.buffer
        _widen_pipe(self._out)

    def say(self, line: bytes) -> None:
        self._out.write(line)
        self._out.flush()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        structlog.contextvars.clear_contextvars()
        if acked_with_answer(req):
            await self._answer_view(client, req)
            return
        entry = InboxEntry(req.envelope_id, req.type, req.payload, req.retry_attempt or 0, req.retry_reason or "")
        try:
            # Envelopes that arrive together (Slack sends a burst as fast as the socket takes it) share one
            # commit, after which `pass_on` has written them to warroom run.
            await self.inbox.receive(entry, owner=self.owner, now=self.clock.now(), lease=self.lease)
        except Exception:
            # Not acknowledged: Slack redelivers an event, and shows the person that a command or click failed.
            log.exception("inbox_write_failed", type=req.type)
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    def pass_on(self, committed: Sequence[tuple[InboxEntry, str]]) -> None:
        """Called by the inbox once a batch is committed, before any of its acks leaves: one write for all."""
        self.say(b"".join(envelope_line("entry", entry, payload_json) for entry, payload_json in committed))

    async def _answer_view(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        answer = asyncio.get_running_loop().create_future()
        self._answers[req.envelope_id] = answer
        self.say(envelope_line("view", req))
        try:
            payload = await asyncio.wait_for(answer, ANSWER_WITHIN)
        except asyncio.TimeoutError:
            log.warning("view_answer_late")
            return  # no ack: Slack shows the person the form did not submit, rather than a wrong answer
        finally:
            self._answers.pop(req.envelope_id, None)
        if payload is not False:  # False: the listener failed; Slack shows its own error
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=payload))

    async def read_answers(self) -> None:
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            message = json.loads(line)
            if message.get("kind") == "connect":
                self._go.set()
                continue
            answer = self._answers.get(message["envelope_id"])
            if answer is not None and not answer.done():
                answer.set_result(message.get("payload"))
        # warroom run has gone: so does its receiver
        os.kill(os.getpid(), signal.SIGTERM)

    async def run(self, stop: asyncio.Event) -> None:
        """Connects, says so, and passes envelopes on until `stop`."""
        answers = asyncio.create_task(self.read_answers())
        waits = [asyncio.create_task(self._go.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if stop.is_set():
            answers.cancel()
            return
        await self.client.connect()
        # Everything made so far (modules, the SDK, the connection) lives as long as the process: out of the
        # collector's sight, a full collection no longer walks it (one took 11.8 ms, in the middle of a burst).
        gc.freeze()
        self.say(b'{"kind": "connected"}\n')
        await stop.wait()
        answers.cancel()
        await close_client(self.client)
