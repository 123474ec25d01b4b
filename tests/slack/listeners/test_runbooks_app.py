"""Runbooks in the war room, through the real app over Socket Mode, on both databases."""

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from bot.config import settings_from_mapping
from bot.slack.ids import ActionId
from bot.storage.runs import RunRepository
from tests.conftest import ALICE, BOB, CAROL, DAVE, TEST_CONFIG
from tests.slack.helpers import declare, join, replies_to, settle, submit_modal

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable
EXEC_RUNBOOK = f"""id: exec-test
title: Execution test
description: Commands run from Slack.
services: [exec-svc]
steps:
  - title: Commands
    commands:
      - id: say-hello
        run: {PY} -c "print('hello from the runbook')"
        executable: true
        category: read_only
      - id: slow
        run: {PY} -c "import time; time.sleep(30)"
        executable: true
        timeout_seconds: 1
      - id: risky-rollback
        run: {PY} -c "print('rolled back')"
        executable: true
        category: deploy_rollback
      - id: not-allowed
        run: {PY} -c "print('nope')"
        executable: true
      - id: dump-env
        run: {PY} -c "import os; print(sorted(os.environ)); print(os.environ.get('SLACK_BOT_TOKEN')); print('<!channel> <@U0BOB> <https://evil.example|safe>')"
        executable: true
        category: diagnostic
  - title: Verify
    verification: true
    items: [all good]
"""

_SIXTY_COMMANDS = "\n".join(f"      - run: echo command-{n}" for n in range(60))
LONG_RUNBOOK = f"""id: long-step
title: Long step
description: Too long for one message.
steps:
  - title: Sixty commands
    items: [first, second]
    commands:
{_SIXTY_COMMANDS}
  - title: Verify
    verification: true
    items: [all good]
"""


def dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture
def runbook_dir(tmp_path) -> Path:
    directory = tmp_path / "runbooks"
    shutil.copytree(ROOT / "runbooks", directory)
    (directory / "exec-test.yaml").write_text(EXEC_RUNBOOK)
    (directory / "long-step.yaml").write_text(LONG_RUNBOOK)
    return directory


@pytest.fixture
def runbook_settings(runbook_dir):
    return settings_from_mapping({**TEST_CONFIG, "permissions": {"incident_managers": "incident-managers"},
                                  "runbooks": {"directory": str(runbook_dir), "execution": {
        "enabled": True, "allow": ["exec-test/say-hello", "exec-test/slow", "exec-test/risky-rollback",
                                                 "exec-test/dump-env"], "runners": "ic"}}})


@pytest.fixture
async def bot(bot_factory, runbook_settings):
    return await bot_factory(runbook_settings)


def step_messages(sandbox, room):
    return [m for m in room.messages if m.blocks and m.blocks[0].get("text", {}).get("text", "").find("*Step ") >= 0]


def current(sandbox, room):
    return sandbox.messages_with_action(room.id, ActionId.RUNBOOK_DONE)[-1]


async def timeline_kinds(bot, room):
    incident = await bot.incidents.find_in(room.id)
    return [e.kind for e in await bot.incidents.timeline(incident.id)]


async def test_a_whole_runbook_clicked_through(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 DB connection pool exhausted")
    assert "Suggested runbook: *Database connection pool exhausted*" in dump(room.messages[0].blocks +
                                                                                    [b for m in room.messages for b in m.blocks])
    await sandbox.slash(ALICE, room.id, "/incident", "runbook")
    await settle(bot)
    [picker] = [e for e in sandbox.ephemerals_for(ALICE) if e.blocks and "accessory" in e.blocks[0]]
    groups = picker.blocks[0]["accessory"]["option_groups"]
    assert groups[0]["options"][0]["value"] == "database-connection-pool-exhausted"
    await sandbox.click(ALICE, room.id, None, ActionId.RUNBOOK_PICK, value="database-connection-pool-exhausted",
                        ephemeral=picker)
    await settle(bot)
    header = [m for m in room.messages if "Runbook: Database connection pool exhausted" in m.text][0]
    assert "0/3" in dump(header.blocks)
    step = current(sandbox, room)
    await sandbox.click(BOB, room.id, step.ts, f"{ActionId.RUNBOOK_CHECK_PREFIX}0", value=["0", "1"])
    await sandbox.click(BOB, room.id, step.ts, ActionId.RUNBOOK_DONE)
    await settle(bot)
    assert "Done by <@U0BOB>" in dump(room.find(step.ts).blocks)
    assert ":ballot_box_with_check: Check waiting clients" in dump(room.find(step.ts).blocks)
    assert "1/3" in dump(room.find(header.ts).blocks)
    step = current(sandbox, room)
    await sandbox.click(BOB, room.id, step.ts, f"{ActionId.RUNBOOK_BRANCH_PREFIX}2")
    await sandbox.click(BOB, room.id, step.ts, ActionId.RUNBOOK_NOTE)
    await settle(bot)
    await submit_modal(sandbox, bot, BOB, {ActionId.NOTE_INPUT: "raised pool to 80 <!channel>"})
    assert "Raise the pool size" in dump(room.find(step.ts).blocks)
    assert "raised pool to 80 &lt;!channel&gt;" in dump(room.find(step.ts).blocks)
    await sandbox.click(CAROL, room.id, step.ts, ActionId.RUNBOOK_SKIP)  # CAROL was not paged: not in the room
    await settle(bot)
    assert any("Only people in #incident-" in r for r in replies_to(sandbox, CAROL))
    assert "Skipped by" not in dump(room.find(step.ts).blocks)
    await join(sandbox, bot, room, CAROL)
    await sandbox.click(CAROL, room.id, step.ts, ActionId.RUNBOOK_SKIP)
    await settle(bot)
    await sandbox.click(ALICE, room.id, current(sandbox, room).ts, ActionId.RUNBOOK_DONE)
    await settle(bot)
    summary = [m for m in room.messages if "Runbook finished" in m.text]
    assert len(summary) == 1 and "2 steps done · 1 skipped · 1 note ·" in dump(summary[0].blocks)
    assert "Finished" in dump(room.find(header.ts).blocks)
    assert sandbox.messages_with_action(room.id, ActionId.RUNBOOK_DONE) == []
    kinds = await timeline_kinds(bot, room)
    assert kinds.count("runbook_step") == 3 and {"runbook_started", "runbook_branch", "runbook_note",
                                                  "runbook_finished"} <= set(kinds)


async def test_start_by_name_and_unknown_names(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Something")
    await sandbox.slash(ALICE, room.id, "/incident", "runbook no-such-thing")
    await sandbox.slash(ALICE, "general", "/incident", "runbook disk-filling-up")
    await settle(bot)
    replies = replies_to(sandbox, ALICE)
    assert any("No runbook `no-such-thing`. Available:" in r and "`disk-filling-up`" in r for r in replies)
    assert any("war-room channel" in r for r in replies)


async def test_two_people_clicking_done_at_once_complete_the_step_once(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Disk filling up")
    await join(sandbox, bot, room, BOB, CAROL)
    await sandbox.slash(ALICE, room.id, "/incident", "runbook disk-filling-up")
    await settle(bot)
    step = current(sandbox, room)
    await asyncio.gather(*[sandbox.click(user, room.id, step.ts, ActionId.RUNBOOK_DONE)
                           for user in (ALICE, BOB, CAROL, BOB)])
    await settle(bot)
    assert (await timeline_kinds(bot, room)).count("runbook_step") == 1
    assert len(step_messages(sandbox, room)) == 2


async def test_two_runs_in_one_incident_move_independently(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Disk filling up")
    await join(sandbox, bot, room, BOB, CAROL)
    await sandbox.slash(ALICE, room.id, "/incident", "runbook disk-filling-up")
    await settle(bot)
    await sandbox.slash(BOB, room.id, "/incident", "runbook certificate-expiry")
    await settle(bot)
    disk_header = [m for m in room.messages if m.text.startswith("Runbook: Disk")][0]
    cert_header = [m for m in room.messages if m.text.startswith("Runbook: TLS certificate")][0]
    disk_step, cert_step = step_messages(sandbox, room)
    await sandbox.click(CAROL, room.id, cert_step.ts, ActionId.RUNBOOK_DONE)
    await settle(bot)
    assert "Done by <@U0CAROL>" in dump(room.find(cert_step.ts).blocks)
    assert "Done by" not in dump(room.find(disk_step.ts).blocks)
    assert " 1/3`" in dump(room.find(cert_header.ts).blocks) and " 0/" in dump(room.find(disk_header.ts).blocks)
    await sandbox.click(CAROL, room.id, disk_step.ts, ActionId.RUNBOOK_SKIP)
    await settle(bot)
    assert "Skipped by <@U0CAROL>" in dump(room.find(disk_step.ts).blocks)
    assert " 1/" in dump(room.find(disk_header.ts).blocks)
    assert len(step_messages(sandbox, room)) == 4


async def test_a_run_survives_a_restart_and_keeps_the_runbook_it_started_with(sandbox, bot_factory,
                                                                             runbook_settings, runbook_dir):
    first = await bot_factory(runbook_settings)
    room = await declare(sandbox, first, ALICE, "sev3 Disk filling up")
    await join(sandbox, first, room, BOB)
    await sandbox.slash(ALICE, room.id, "/incident", "runbook disk-filling-up")
    await settle(first)
    path = runbook_dir / "disk-filling-up.yaml"
    path.write_text(path.read_text().replace("title: Free space", "title: Edited while running"))
    await sandbox.click(BOB, room.id, current(sandbox, room).ts, ActionId.RUNBOOK_DONE)
    await settle(first)
    assert "Free space" in dump(current(sandbox, room).blocks)
    await first.socket.close_async()
    second = await bot_factory(runbook_settings)  # same database, a new process's worth of state
    step = current(sandbox, room)
    await sandbox.click(BOB, room.id, step.ts, ActionId.RUNBOOK_DONE)
    await settle(second)
    assert "Done by <@U0BOB>" in dump(room.find(step.ts).blocks)
    assert "Edited while running" not in dump([m.blocks for m in room.messages])
    assert len(step_messages(sandbox, room)) == 3


async def test_a_long_step_has_its_full_text_in_its_thread_posted_once(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Long step")
    # Slack refuses the second page once: the retry must post the rest, not the step or the first page again.
    await join(sandbox, bot, room, BOB)
    sandbox.fail("chat.postMessage", status=429, error="ratelimited", retry_after=0,
                 when=lambda params: "part 2/2" in params.get("text", ""))
    await sandbox.slash(ALICE, room.id, "/incident", "runbook long-step")
    await settle(bot)
    [step] = step_messages(sandbox, room)
    thread = [m for m in room.messages if m.thread_ts == step.ts]
    assert [("part 1/2" in m.text, "part 2/2" in m.text) for m in thread] == [(True, False), (False, True)]
    assert len([c for c in sandbox.calls_to("chat.postMessage") if "part 2/2" in c.params.get("text", "")]) == 2
    assert all(f"echo command-{n}" in dump([m.blocks for m in thread]) for n in range(60))
    assert "echo command-59" not in dump(step.blocks) and "thread" in dump(step.blocks)
    await sandbox.click(BOB, room.id, step.ts, f"{ActionId.RUNBOOK_CHECK_PREFIX}0", value=["1"])
    await sandbox.click(BOB, room.id, step.ts, ActionId.RUNBOOK_DONE)
    await settle(bot)
    assert "1 of 2 items checked" in dump(room.find(step.ts).blocks)
    assert "Done by <@U0BOB>" in dump(room.find(step.ts).blocks)
    assert len([m for m in room.messages if m.thread_ts == step.ts]) == 2
    assert len(step_messages(sandbox, room)) == 2


async def test_a_long_step_whose_text_slack_refuses_for_good_still_moves_on(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Long step")
    await join(sandbox, bot, room, BOB)
    sandbox.fail("chat.postMessage", status=200, error="invalid_blocks", when=lambda p: "full text" in p.get("text", ""))
    await sandbox.slash(ALICE, room.id, "/incident", "runbook long-step")
    await settle(bot)
    [step] = step_messages(sandbox, room)
    assert [m for m in room.messages if m.thread_ts == step.ts] == []
    await sandbox.click(BOB, room.id, step.ts, ActionId.RUNBOOK_DONE)
    await settle(bot)
    assert "Done by <@U0BOB>" in dump(room.find(step.ts).blocks)  # the step message is still known
    assert len(step_messages(sandbox, room)) == 2


async def run_button(sandbox, room, command_id):
    step = step_messages(sandbox, room)[0]
    for block in step.blocks:
        for element in block.get("elements", []):
            if element.get("value") and f'"command":"{command_id}"' in element["value"]:
                return step, element["action_id"]
    return step, None


async def test_executable_commands_the_allowlist_the_ic_and_the_audit_log(sandbox, bot):
    sandbox.workspace.add_usergroup("incident-managers", [BOB])
    room = await declare(sandbox, bot, ALICE, "sev2 exec-svc broken")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await sandbox.slash(ALICE, room.id, "/incident", "runbook exec-test")
    await settle(bot)
    step, hello = await run_button(sandbox, room, "say-hello")
    assert (await run_button(sandbox, room, "not-allowed"))[1] is None  # not allowlisted: no button
    await sandbox.click(BOB, room.id, step.ts, hello)
    await settle(bot)
    assert any("Only the Incident Commander (<@U0ALICE>)" in r for r in replies_to(sandbox, BOB))
    await sandbox.click(ALICE, room.id, step.ts, hello)
    await settle(bot)
    await bot.runbooks.drain()
    await settle(bot)
    thread = [m for m in room.messages if m.thread_ts == step.ts]
    assert any("hello from the runbook" in dump(m.blocks) and "exit code 0" in dump(m.blocks)
               for m in thread)
    run_id = json.loads(step.blocks[-1]["elements"][0]["value"])["run"]
    with pytest.raises(Exception, match="`exec-test/not-allowed` is not in the execution allowlist"):
        await bot.runbooks.request_execution(room.id, run_id, "not-allowed", ALICE, "")

    _, slow = await run_button(sandbox, room, "slow")
    await sandbox.click(ALICE, room.id, step.ts, slow)
    await settle(bot)
    await bot.runbooks.drain()
    await settle(bot)
    assert any("`slow` finished: timed out" in dump(m.blocks) for m in room.messages if m.thread_ts)

    _, risky = await run_button(sandbox, room, "risky-rollback")
    await sandbox.click(ALICE, room.id, step.ts, risky)
    await settle(bot)
    [approval] = sandbox.messages_with_action(room.id, ActionId.RUNBOOK_APPROVE)
    await sandbox.click(ALICE, room.id, approval.ts, ActionId.RUNBOOK_APPROVE)
    await sandbox.click(CAROL, room.id, approval.ts, ActionId.RUNBOOK_APPROVE)  # not in the war room
    await join(sandbox, bot, room, DAVE)
    await sandbox.click(DAVE, room.id, approval.ts, ActionId.RUNBOOK_APPROVE)  # in the room, but no approver
    await settle(bot)
    assert any("A second person must approve" in r for r in replies_to(sandbox, ALICE))
    assert any("Only people in #incident-" in r for r in replies_to(sandbox, CAROL))
    assert any("Only the Incident Commander (<@U0ALICE>) or members of @incident-managers may approve" in r
               for r in replies_to(sandbox, DAVE))
    assert not any("`risky-rollback` finished" in dump(m.blocks) for m in room.messages)
    await sandbox.click(BOB, room.id, approval.ts, ActionId.RUNBOOK_APPROVE)  # an incident manager
    await settle(bot)
    await sandbox.click(CAROL, room.id, approval.ts, ActionId.RUNBOOK_APPROVE)  # too late: already approved
    await settle(bot)
    await bot.runbooks.drain()
    await settle(bot)
    assert any("rolled back" in dump(m.blocks) for m in room.messages if m.thread_ts == step.ts)

    async with bot.store.reading() as tx:
        audit = await RunRepository(tx).executions()
    assert [(e.command_id, e.status, e.requested_by, e.approved_by) for e in audit] == [
        ("say-hello", "refused", BOB, None), ("say-hello", "succeeded", ALICE, None),
        ("not-allowed", "refused", ALICE, None), ("slow", "timed_out", ALICE, None),
        ("risky-rollback", "succeeded", ALICE, BOB), ("risky-rollback", "approval_refused", ALICE, None),
        ("risky-rollback", "approval_refused", CAROL, None), ("risky-rollback", "approval_refused", DAVE, None)]
    assert "Only the Incident Commander" in audit[0].reason and "allowlist" in audit[2].reason
    assert "Only people in #incident-" in audit[6].reason
    assert audit[1].argv == [sys.executable, "-c", "print('hello from the runbook')"]
    assert audit[1].runner and audit[1].runner.endswith(f":{os.getpid()}")
    assert (await timeline_kinds(bot, room)).count("runbook_command") >= 6

async def test_a_command_run_from_slack_sees_no_secret_and_mentions_nobody(sandbox, bot_factory, runbook_settings,
                                                                          monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-9999-leak-check")
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", "pd-leak-check-token")
    bot = await bot_factory(runbook_settings)
    room = await declare(sandbox, bot, ALICE, "sev2 exec-svc leaking")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await sandbox.slash(ALICE, room.id, "/incident", "runbook exec-test")
    await settle(bot)
    step, dump_env = await run_button(sandbox, room, "dump-env")
    await sandbox.click(ALICE, room.id, step.ts, dump_env)
    await settle(bot)
    await bot.runbooks.drain()
    await settle(bot)
    [result] = [m for m in room.messages if m.thread_ts == step.ts and "`dump-env` finished" in dump(m.blocks)]
    shown = dump(result.blocks)
    assert "exit code 0" in shown and "'PATH'" in shown and "None" in shown  # the variable is not there at all
    assert "leak-check" not in shown and "SLACK_BOT_TOKEN" not in shown and "PAGERDUTY_API_TOKEN" not in shown
    assert "&lt;!channel&gt; &lt;@U0BOB&gt; &lt;https://evil.example|safe&gt;" in shown
    async with bot.store.reading() as tx:
        [stored] = [e for e in await RunRepository(tx).executions() if e.command_id == "dump-env"]
    assert "leak-check" not in stored.output and "SLACK_BOT_TOKEN" not in stored.output


async def test_a_command_running_when_warroom_died_is_marked_interrupted_at_start(sandbox, bot_factory,
                                                                                  runbook_settings):
    import socket
    import subprocess

    first = await bot_factory(runbook_settings)
    room = await declare(sandbox, first, ALICE, "sev2 exec-svc crashed")
    await sandbox.slash(ALICE, room.id, "/incident", "runbook exec-test")
    await settle(first)
    step = step_messages(sandbox, room)[0]
    run_id = json.loads(step.blocks[-1]["elements"][0]["value"])["run"]
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs: the "warroom" that started the command
    async with first.store.transaction() as tx:
        runs = RunRepository(tx)
        execution_id = await runs.add_execution(run_id=run_id, position=0, command_id="say-hello", argv=["true"],
                                                category="read_only", status="running", requested_by=ALICE,
                                                at=first.incidents.clock.now())
        await runs.update_execution(execution_id, started_at=first.incidents.clock.now(),
                                    runner=f"{socket.gethostname()}:{gone.pid}")
    await first.socket.close_async()
    second = await bot_factory(runbook_settings)
    await settle(second)
    async with second.store.reading() as tx:
        execution = await RunRepository(tx).execution(execution_id)
    assert execution.status == "interrupted"
    thread = [dump(m.blocks) for m in room.messages if m.thread_ts == step.ts]
    assert any("`say-hello` finished: interrupted: warroom restarted while it ran" in text for text in thread)
    incident = await second.incidents.find_in(room.id)
    assert any("was interrupted" in e.text for e in await second.incidents.timeline(incident.id))
