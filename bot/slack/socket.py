"""Socket Mode with every envelope committed to the inbox before it is acknowledged, and handled by a pool.

Slack never redelivers an envelope it saw acknowledged, so the ack leaves only once the envelope is on disk
(bot/storage/inbox.py); it then leaves at once, before any work: warroom's slash commands, clicks and events
put nothing in their ack (replies go through response_url), and Bolt's own ack, sent from inside the
listener, queues behind other requests' work under a burst. A few workers then handle what was received.
The row is deleted when the listener and the jobs it spawned are done; a listener's exception, or a crash,
leaves it to be handled again (request keys make that a no-op for what was already done).
View submissions are the exception: their ack carries a modal's validation errors, so it is sent after the
work, and a crash before it is seen by the person as a form that did not submit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from datetime import timedelta

import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.core.ports import Clock, Inbox, InboxEntry
from bot.log import logged
from bot.processes import dead_here, identity
from bot.slack.jobs import SPAWNED
from bot.slack.receiver import acked_with_answer, close_client

log = structlog.get_logger("warroom.slack")

ATTEMPTS = 5  # a listener that fails this often is left in the inbox as failed, for an operator


def retry_delay(attempts: int) -> float:
    return min(60.0, 2.0 ** (attempts - 1))


def _ack_payload(response) -> dict | None | bool:
    """What goes in a view submission's ack, as Bolt would send it; False when the listener failed."""
    if response.status != 200:
        return False
    if not response.body:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    return json.loads(response.body) if content_type.startswith("application/json") else {"text": response.body}


def _headers(entry: InboxEntry) -> dict[str, list[str]]:
    if not entry.retry_attempt:
        return {}
    return {"x-slack-retry-num": [str(entry.retry_attempt)], "x-slack-retry-reason": [entry.retry_reason]}


class InboxSocketModeHandler(AsyncSocketModeHandler):
    """`receiver`: the environment of a receiver process (bot/slack/receiver.py) that holds the connection
    and commits envelopes for this process, as `warroom run` has it; None: this process receives them itself,
    on its own event loop (the demo and the in-process tests, whose clocks a child process cannot share)."""

    def __init__(self, *args, inbox: Inbox, clock: Clock, workers: int = 8,
                 lease: timedelta = timedelta(seconds=10), receiver: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.receiver = receiver
        self._child: asyncio.subprocess.Process | None = None
        self._connected_future: asyncio.Future | None = None
        self._child_connected = False
        self._closing = False
        self.inbox = inbox
        self.clock = clock
        self.lease = lease
        self.owner = f"{identity()}:i{id(self):x}"
        self._queue: asyncio.Queue[InboxEntry] = asyncio.Queue()
        self._handling: set[str] = set()  # envelope ids this process holds the lease of
        self._busy = 0
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._workers = [asyncio.create_task(self._work(), name=f"slack-worker-{n}") for n in range(workers)]

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if acked_with_answer(req):
            structlog.contextvars.clear_contextvars()
            await super().handle(client, req)
            return
        entry = InboxEntry(req.envelope_id, req.type, req.payload, req.retry_attempt or 0, req.retry_reason or "")
        try:
            await self.inbox.receive(entry, owner=self.owner, now=self.clock.now(), lease=self.lease)
        except Exception:
            # Not acknowledged: Slack redelivers an event, and shows the person that a command or click failed.
            log.exception("inbox_write_failed", type=req.type)
            return
        self._handling.add(entry.envelope_id)
        self._queue.put_nowait(entry)  # queued before the ack leaves: whoever sees the ack finds it queued
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    # -- the receiver process ------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Starts the receiver process early, so that its start-up overlaps this one's; it connects later."""
        if self.receiver is not None and self._child is None:
            self._connected_future = asyncio.get_running_loop().create_future()
            await self._start_receiver(self._connected_future)

    async def connect_async(self) -> None:
        if self.receiver is None:
            await super().connect_async()
            return
        await self.prepare()
        await self._tell_receiver({"kind": "connect"})
        await asyncio.wait_for(self._connected_future, timeout=60)

    async def _start_receiver(self, connected: asyncio.Future | None = None) -> None:
        env = {**os.environ, **self.receiver, "WARROOM_INBOX_OWNER": self.owner,
               "WARROOM_INBOX_LEASE": str(self.lease.total_seconds())}
        self._child = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.receiver", env=env,
                                                           stdin=asyncio.subprocess.PIPE,
                                                           stdout=asyncio.subprocess.PIPE)
        self._track(asyncio.create_task(self._read_receiver(self._child, connected), name="slack-receiver"))

    async def _tell_receiver(self, message: dict) -> None:
        self._child.stdin.write((json.dumps(message) + "\n").encode())
        await self._child.stdin.drain()

    async def _read_receiver(self, child: asyncio.subprocess.Process, connected: asyncio.Future | None) -> None:
        while line := await child.stdout.readline():
            message = json.loads(line)
            if message["kind"] == "connected":
                self._child_connected = True
                if connected is not None and not connected.done():
                    connected.set_result(None)
                continue
            entry = InboxEntry(message["envelope_id"], message["type"], message["payload"],
                               message["retry_attempt"], message["retry_reason"])
            if message["kind"] == "view":
                self._track(asyncio.create_task(self._answer_view(child, entry)))
            elif entry.envelope_id not in self._handling:  # not already taken back from the inbox
                self._handling.add(entry.envelope_id)
                self._queue.put_nowait(entry)
        self._child_connected = False
        code = await child.wait()
        if connected is not None and not connected.done():
            connected.set_exception(RuntimeError(f"the Slack receiver exited ({code}) before connecting"))
        if not self._closing:
            log.error("slack_receiver_exited", code=code)  # started again: Slack's envelopes must have a reader
            await asyncio.sleep(1)
            if not self._closing:
                await self._start_receiver()
                await self._tell_receiver({"kind": "connect"})

    async def _answer_view(self, child: asyncio.subprocess.Process, entry: InboxEntry) -> None:
        """A view submission: handled here, and its answer sent back for the receiver to put in the ack."""
        structlog.contextvars.clear_contextvars()
        try:
            response = await self.app.async_dispatch(AsyncBoltRequest(
                mode="socket_mode", body=entry.payload, headers=_headers(entry)))
            payload = _ack_payload(response)
        except Exception:
            log.exception("slack_request_failed", type=entry.type)
            payload = False
        if child is self._child:
            with logged("receiver_answer_failed", log):
                await self._tell_receiver({"envelope_id": entry.envelope_id, "payload": payload})

    async def is_connected(self) -> bool:
        if self.receiver is None:
            return await self.client.is_connected()
        return self._child_connected and self._child is not None and self._child.returncode is None

    async def stop_receiving(self) -> None:
        """At shutdown: no more envelopes arrive (Slack sends them to another connection, or waits)."""
        if self._closing:
            return
        self._closing = True
        if self.receiver is None:
            await close_client(self.client)
            return
        if self._child is not None and self._child.returncode is None:
            self._child.terminate()
            try:
                await asyncio.wait_for(self._child.wait(), timeout=5)
            except asyncio.TimeoutError:
                self._child.kill()
                await self._child.wait()

    @property
    def idle(self) -> bool:
        """Nothing queued, being worked on or being settled (the demo and tests wait for this)."""
        return self._queue.empty() and not self._busy and not self._handling

    @property
    def holding(self) -> list[str]:
        return list(self._handling)

    async def renew_leases(self) -> None:
        """Called by the heartbeat: what this process is handling stays its own while it lives."""
        await self.inbox.renew(self.holding, self.owner, self.clock.now() + self.lease)

    async def _work(self) -> None:
        while True:
            entry = await self._queue.get()
            self._busy += 1
            # A worker serves one request after another: each starts with a clean log context.
            structlog.contextvars.clear_contextvars()
            try:
                await self._handle(entry)
            finally:
                self._busy -= 1

    async def _handle(self, entry: InboxEntry) -> None:
        spawned: list[asyncio.Task] = []
        token = SPAWNED.set(spawned)
        try:
            response = await self.app.async_dispatch(
                AsyncBoltRequest(mode="socket_mode", body=entry.payload, headers=_headers(entry)))
            failure = f"listener answered {response.status}" if response.status >= 500 else None
        except Exception as exc:
            log.exception("slack_request_failed", type=entry.type)
            failure = repr(exc)
        finally:
            SPAWNED.reset(token)
        if failure is not None:
            await self._settle(entry, failure)
        elif spawned:  # a declaration's job: the envelope is handled when the job is
            self._track(asyncio.create_task(self._settle_after(entry, spawned)))
        else:
            await self._settle(entry, None)

    async def _settle_after(self, entry: InboxEntry, spawned: list[asyncio.Task]) -> None:
        while pending := [task for task in spawned if not task.done()]:
            await asyncio.wait(pending)
        await self._settle(entry, None)

    async def _settle(self, entry: InboxEntry, failure: str | None) -> None:
        try:
            if failure is None:
                await self.inbox.handled(entry.envelope_id)
            else:
                last = entry.attempts >= ATTEMPTS
                at = None if last else self.clock.now() + timedelta(seconds=retry_delay(entry.attempts))
                (log.error if last else log.warning)("inbox_entry_failed", type=entry.type, attempts=entry.attempts,
                                                     error=failure, retried=not last)
                await self.inbox.retry(entry.envelope_id, error=failure, at=at)
                self._wakeup.set()
        except Exception:
            # The row stays leased to us and lapses: handled again later, a no-op if this one was done.
            log.exception("inbox_settle_failed", type=entry.type)
        finally:
            self._handling.discard(entry.envelope_id)

    def _track(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def take_over(self, *, idle_wait: float | None = None) -> None:
        """Hands out what is in the inbox and nobody handles: envelopes of a process that died (at once when it
        was on this host, else when its lease lapses) and listeners' failures due for another attempt."""
        idle_wait = idle_wait if idle_wait is not None else self.lease.total_seconds() / 2
        with logged("inbox_recovery_failed", log):
            for owner in await self.inbox.lease_owners():
                if owner != self.owner and dead_here(owner):
                    log.info("inbox_lease_recovered", owner=owner)
                    await self.inbox.release(owner)
        while True:
            self._wakeup.clear()
            try:
                claimed = await self.inbox.claim_due(self.clock.now(), self.owner, self.lease)
            except Exception:
                log.exception("inbox_claim_failed")
                claimed = []
                await asyncio.sleep(1)
            for entry in claimed:
                if entry.envelope_id in self._handling:
                    continue  # ours already (a test clock jumped past our own lease)
                log.info("inbox_entry_taken", type=entry.type, attempts=entry.attempts)
                self._handling.add(entry.envelope_id)
                self._queue.put_nowait(entry)
            timeout = idle_wait
            with logged("inbox_next_due_failed", log):
                due = await self.inbox.next_due()
                if due is not None:
                    timeout = max(0.05, min(timeout, (due - self.clock.now()).total_seconds()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)

    async def drain(self, timeout: float) -> None:
        """At shutdown, once no more envelopes arrive: waits for what was received to be handled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.idle:
            if loop.time() > deadline:
                raise TimeoutError("inbox not drained")
            await asyncio.sleep(0.02)

    async def close_async(self) -> None:
        await self.stop_receiving()  # closes the connection, or the receiver process that holds it
        for task in [*self._workers, *self._tasks]:
            task.cancel()
        with logged("inbox_release_failed", log):
            await self.inbox.release(self.owner)  # what is left unfinished is taken at once by the next process
        with logged("inbox_close_failed", log):
            await self.inbox.close()
