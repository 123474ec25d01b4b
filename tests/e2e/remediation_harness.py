"""What the remediation tests share (tests/e2e/test_remediation.py): a "host" whose cleanup script records its
calls and answers with a chosen exit code, the policies and config they run, and ways to read what warroom
did and said."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.sandbox.workspace import BOT_USER_ID
from tests.conftest import TEST_CONFIG, ShiftedClock
from tests.slack.helpers import settle

SCRIPT = """#!/bin/sh
echo "$@" >> {calls}
sleep $(cat {sleep_file} 2>/dev/null || echo 0)
echo "freed 3 GB on $2"
exit $(cat {exit_file} 2>/dev/null || echo 0)
"""
RUNBOOK = """id: fix-test
title: Remediation test
description: Commands automation runs.
services: [disk]
steps:
  - title: Fix
    commands:
      - id: cleanup
        run: {sh} {script}
        executable: true
        category: mitigation
        timeout_seconds: 5
  - title: Verify
    verification: true
    items: [Disk below 80 %]
"""


class Host:
    """The "host" the cleanup acts on: the calls it got, and the exit code it answers with."""

    def __init__(self, directory: Path):
        self.calls_file, self.exit_file = directory / "calls", directory / "exit_code"
        self.sleep_file = directory / "sleep"
        self.script = directory / "cleanup.sh"
        self.script.write_text(SCRIPT.format(calls=self.calls_file, exit_file=self.exit_file,
                                             sleep_file=self.sleep_file))
        self.runbooks = directory / "runbooks"
        self.runbooks.mkdir()
        (self.runbooks / "fix-test.yaml").write_text(RUNBOOK.format(sh=shutil.which("sh"), script=self.script))

    @property
    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []

    def fail_with(self, code: int) -> None:
        self.exit_file.write_text(str(code))

    def take(self, seconds: int) -> None:
        self.sleep_file.write_text(str(seconds))


def policy(**overrides) -> dict:
    return {"name": "disk-cleanup", "matchers": ['alertname="DiskUsage80"'],
            "run": {"command": "fix-test/cleanup", "args": ["--host", "{instance}"]},
            "labels": {"instance": "[a-z0-9.-]+"}, "verify_after_minutes": 15, "cooldown_minutes": 30,
            "escalate": {"severity": "sev2", "follow_up": ['alertname="DiskUsage90"'], "follow_up_minutes": 60},
            **overrides}


def config(host: Host, *policies: dict, **section) -> dict:
    return {**TEST_CONFIG, "permissions": {"incident_managers": "incident-managers"},
            "alerts": {"routes": [{"matchers": ['alertname=~"Disk.*"'], "declare": "never"}]},
            "runbooks": {"directory": str(host.runbooks), "execution": {"allow": ["fix-test/cleanup"]}},
            "remediation": {"enabled": True, "policies": list(policies) or [policy()], **section}}


async def runs(bot) -> list:
    async with bot.store.reading() as tx:
        return list(reversed(await tx.remediation.recent(50)))


async def all_rows(bot) -> list:
    async with bot.store.reading() as tx:
        found, run_id = [], 1
        while (run := await tx.remediation.get(run_id)) is not None:
            found.append(run)
            run_id += 1
        return found


def said(channel, fragment: str) -> list[str]:
    """The bot's messages there containing `fragment`, in their text or their blocks."""
    found = []
    for message in channel.messages:
        if message.user == BOT_USER_ID:
            whole = message.text + "".join(b.get("text", {}).get("text", "") for b in message.blocks or []
                                           if isinstance(b.get("text"), dict))
            if fragment in whole:
                found.append(whole)
    return found


def said_anywhere(sandbox, fragment: str) -> list[str]:
    """In the alerts channel or a war room: once the alerts have an incident, its war room is where automation
    speaks."""
    return [text for channel in sandbox.workspace.channels.values() for text in said(channel, fragment)]


async def later(bot, clock: ShiftedClock, minutes: int) -> None:
    await settle(bot)
    clock.advance(minutes=minutes)
    bot.timers.wake()


async def rows_at_least(bot, count: int) -> bool:
    return len(await all_rows(bot)) >= count


async def alert_recorded(bot) -> int:
    async with bot.store.reading() as tx:
        return await tx.alerts.get(1) is not None
