"""`warroom run` as a real subprocess, over Socket Mode, against the sandbox in this test process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.server import APP_TOKEN, BOT_TOKEN
from bot.slack.ids import ActionId
from tests.conftest import ALICE, BOB, CAROL, DAVE

CONFIG = """
slack: {announce_channel: incidents, leadership_channel: leadership}
oncall: {primary: [U0BOB], secondary: [U0CAROL]}
permissions: {resolve: ic}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Warroom:
    def __init__(self, sandbox, database_url: str, tmp_path: Path):
        self.port = free_port()
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG)
        self.log = tmp_path / "warroom.log"
        self.env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
                    "SLACK_API_URL": sandbox.api_url, "DATABASE_URL": database_url,
                    "WARROOM_CONFIG": str(config), "WARROOM_HTTP_PORT": str(self.port)}
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=self.log.open("a"))
        deadline = asyncio.get_running_loop().time() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "warroom run never became ready"
                await asyncio.sleep(0.1)

    def stop(self, sig=signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=20)


@pytest.fixture
async def warroom(sandbox, database_url, tmp_path):
    process = Warroom(sandbox, database_url, tmp_path)
    yield process
    if process.process and process.process.poll() is None:
        process.process.kill()
        process.process.wait()


async def eventually(sandbox, predicate, timeout=15.0):
    return await sandbox.wait_for(predicate, timeout=timeout, interval=0.05)


def room_of(sandbox):
    rooms = [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")]
    return rooms[0] if rooms else None


async def test_a_whole_incident_through_warroom_run(sandbox, warroom):
    await warroom.start()
    ws = sandbox.workspace
    # bad input first: nothing is created
    await sandbox.slash(ALICE, "general", "/incident", "explode")
    await eventually(sandbox, lambda: any("Unknown subcommand" in e.text for e in sandbox.ephemerals_for(ALICE)))
    payload = sandbox.slash_payload(ALICE, "general", "/incident", "declare sev2 Payments API <!channel> 503")
    await sandbox.deliver("slash_commands", payload)
    await sandbox.deliver("slash_commands", payload, retry_attempt=1)  # Slack redelivers
    room = await eventually(sandbox, lambda: (r := room_of(sandbox)) and r.pins and r)
    await sandbox.slash(ALICE, room.id, "/incident", "sev 1")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await sandbox.slash(ALICE, room.id, "/incident", f"role communicator <@{DAVE}>")
    await eventually(sandbox, lambda: CAROL in room.members and DAVE in room.members and "IC <@U0ALICE>" in room.topic)
    await sandbox.slash(DAVE, room.id, "/incident", "update identified Bad deploy 4f2a")
    await eventually(sandbox, lambda: any("*Update* (Identified)" in m.text for m in room.messages))
    clue = sandbox.say(BOB, room.id, "p99 latency 9s on payments-db")
    await sandbox.react(ALICE, room.id, clue.ts)
    await sandbox.slash(BOB, room.id, "/incident", "timeline Rollback started")
    await sandbox.slash(BOB, room.id, "/incident", "resolve")  # not the IC: refused
    await eventually(sandbox, lambda: any("Only the Incident Commander" in e.text for e in sandbox.ephemerals_for(BOB)))
    await sandbox.slash(ALICE, room.id, "/incident", "resolve Rolled back 4f2a")
    view = await eventually(sandbox, lambda: [v for v in ws.views.values() if v.get("user") == ALICE])
    await sandbox.submit_view(ALICE, view[-1]["id"], {ActionId.SUMMARY_INPUT: "Rolled back 4f2a"})
    await eventually(sandbox, lambda: any("All clear" in m.text for m in room.messages)
                     and any("Resolved" in m.text for m in ws.channel("incidents").messages)
                     and room.topic.startswith("Resolved · SEV-1"))

    assert len([c for c in ws.channels.values() if c.name.startswith("incident-")]) == 1
    assert room.topic.startswith("Resolved · SEV-1 · IC <@U0ALICE>")
    texts = [m.text for m in room.messages]
    assert any("Escalated from SEV-2 to SEV-1" in t for t in texts)
    assert any("*Update* (Identified)" in t for t in texts)
    announcements = ws.channel("incidents").messages
    assert announcements[0].thread_ts is None and len([m for m in announcements if not m.thread_ts]) == 1
    assert any("Resolved" in m.text for m in announcements)
    assert "<!channel>" not in "".join(m.text for c in ws.channels.values() for m in c.messages if m.bot)
    assert warroom.stop() == 0
    log = warroom.log.read_text()
    assert BOT_TOKEN not in log and APP_TOKEN not in log
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    # One declaration for the delivery and its redelivery. (Its id need not be 1: on PostgreSQL the
    # redelivery's rolled-back insert may have used up a sequence value first.)
    declared = [e for e in events if e.get("event") == "incident_declared"]
    assert len(declared) == 1 and isinstance(declared[0].get("incident_id"), int)


async def test_a_crash_with_effects_pending_loses_nothing_and_repeats_nothing(sandbox, warroom):
    await warroom.start()
    sandbox.fail("chat.postMessage", status=503, times=10_000)  # Slack is down for posting
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Crash in the middle")
    room = await eventually(sandbox, lambda: room_of(sandbox))
    await eventually(sandbox, lambda: len(sandbox.calls_to("chat.postMessage")) >= 2)
    warroom.stop(signal.SIGKILL)
    sandbox.faults.clear()  # Slack recovers while warroom is down
    await warroom.start()
    await eventually(sandbox, lambda: room.pins and any("INCIDENT:" in m.text for m in room.messages), timeout=30)
    await asyncio.sleep(0.5)
    rooms = [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")]
    assert rooms == [room]
    cards = [m for m in room.messages if m.blocks and m.blocks[0]["type"] == "header"]
    assert len(cards) == 1 and len(room.pins) == 1
    assert len(sandbox.workspace.channel("incidents").messages) == 1


@pytest.mark.failed_effects
async def test_health_and_readiness(sandbox, warroom):
    await warroom.start()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{warroom.port}/healthz") as response:
            assert response.status == 200
        async with session.get(f"http://127.0.0.1:{warroom.port}/readyz") as response:
            body = await response.json()
            assert response.status == 200 and body["checks"] == {"database": True, "slack": True}
            assert body["effects"] == {"pending": 0, "failed": 0}
        # An announcement Slack refuses for good shows on /readyz (readiness itself is about the process).
        announce = sandbox.workspace.channel("incidents").id
        sandbox.fail("chat.postMessage", status=200, error="is_archived", times=50,
                     when=lambda params: params.get("channel") == announce)
        await sandbox.slash("U0ALICE", "general", "/incident", "declare sev3 Archived announcements")
        for _ in range(100):
            async with session.get(f"http://127.0.0.1:{warroom.port}/readyz") as response:
                body = await response.json()
            if body["effects"]["failed"]:
                break
            await asyncio.sleep(0.05)
        assert response.status == 200 and body["effects"]["failed"] == 1
    assert warroom.stop() == 0
