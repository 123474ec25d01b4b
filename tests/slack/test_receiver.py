"""The receiver process's handling of a burst, on its real inbox writer (SQLite): one commit, passed on to
`warroom run` before any ack leaves."""

import asyncio
import contextlib
import fcntl
import io
import json
import os
import sqlite3
from datetime import timedelta

import pytest
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.slack.receiver import PIPE_SIZE, Receiver, _widen_pipe
from bot.storage.inbox_writer import InboxWriter, sqlite_path


class RecordingClient:
    """Slack's end of the socket: the acks it got, and what warroom run had been told when each left."""

    def __init__(self, out: io.BytesIO):
        self.out = out
        self.acks: list[tuple[str, set[str]]] = []

    async def send_socket_mode_response(self, response):
        told = {json.loads(line)["envelope_id"] for line in self.out.getvalue().splitlines()}
        self.acks.append((response.envelope_id, told))


@pytest.fixture
async def receiver(sqlite_url):
    url = sqlite_url
    inbox = InboxWriter(url, checkpoints=False)
    commits: list[int] = []
    commit = inbox.receive_many

    async def counted(batch):
        await commit(batch)
        commits.append(len(batch))

    inbox.receive_many = counted
    opened = Receiver(inbox, owner="receiver", lease=timedelta(seconds=10), app_token="xapp-test",
                      api_url="http://127.0.0.1:9/api/")
    inbox.on_committed = opened.pass_on  # as bot/receiver.py wires them
    opened._out = io.BytesIO()
    opened.commits = commits

    def rows() -> int:
        with contextlib.closing(sqlite3.connect(sqlite_path(url))) as connection:
            return connection.execute("SELECT count(*) FROM inbox").fetchone()[0]

    opened.rows = rows
    yield opened
    await inbox.close()
    await opened.client.aiohttp_client_session.close()


def command(n: int) -> SocketModeRequest:
    return SocketModeRequest(type="slash_commands", envelope_id=f"env-{n}",
                             payload={"command": "/incident", "text": f"status {n}"})


async def test_a_burst_shares_one_commit_and_each_ack_leaves_after_its_envelope_was_passed_on(receiver):
    client = RecordingClient(receiver._out)
    await asyncio.gather(*(receiver.handle(client, command(n)) for n in range(50)))
    assert receiver.commits == [50] and receiver.rows() == 50
    assert sorted(envelope for envelope, _ in client.acks) == sorted(f"env-{n}" for n in range(50))
    assert all(envelope in told for envelope, told in client.acks)
    lines = [json.loads(line) for line in receiver._out.getvalue().splitlines()]
    assert lines[3] == {"kind": "entry", "envelope_id": "env-3", "type": "slash_commands",
                        "payload": {"command": "/incident", "text": "status 3"}, "retry_attempt": 0,
                        "retry_reason": ""}


async def test_a_failed_commit_acknowledges_nothing_of_its_batch_and_the_next_arrival_is_committed(receiver):
    client = RecordingClient(receiver._out)
    working = receiver.inbox.receive_many

    async def failing(batch):
        raise sqlite3.OperationalError("disk I/O error")

    receiver.inbox.receive_many = failing
    await asyncio.gather(*(receiver.handle(client, command(n)) for n in range(3)))
    assert client.acks == [] and receiver._out.getvalue() == b"" and receiver.rows() == 0
    receiver.inbox.receive_many = working  # Slack redelivers; the database is back
    await receiver.handle(client, command(0))
    assert [envelope for envelope, _ in client.acks] == ["env-0"] and receiver.rows() == 1


def test_the_pipe_to_warroom_run_holds_a_burst_of_clicks():
    """Fifty clicks, each carrying its card, are 180 KB: more than Linux's default 64 KiB pipe, and a full pipe
    would block the receiver, and every ack with it, until warroom run reads."""
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "wb", closefd=False) as out:
            assert fcntl.fcntl(out.fileno(), fcntl.F_GETPIPE_SZ) == 64 * 1024
            _widen_pipe(out)
            assert fcntl.fcntl(out.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_SIZE == 1 << 20
        _widen_pipe(io.BytesIO())  # not a pipe (the tests' own output): nothing to widen, and no error
    finally:
        os.close(read_end)
        os.close(write_end)
