"""The runbook command runner with real subprocesses: what a command can see, how it is stopped, how much of
what it prints is kept."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import psutil
import pytest

from bot.integrations.executor import (
    REDACTED,
    BoundedOutput,
    SubprocessRunner,
    secret_values,
)

PY = sys.executable
SECRETS = {"SLACK_BOT_TOKEN": "xoxb-1111-2222-secretbot", "SLACK_APP_TOKEN": "xapp-1-A1-secretapp",
           "PAGERDUTY_API_TOKEN": "u+pdsecrettoken", "PAGERDUTY_WEBHOOK_SECRET": "whsec-old,whsec-new-one",
           "DATABASE_URL": "postgresql+asyncpg://warroom:db-pass-123@db/warroom"}


async def gone(marker: str) -> bool:
    """No `sleep <marker>` process runs (a killed one may take a moment to disappear from the process table)."""
    for _ in range(40):
        if not [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]:
            return True
        await asyncio.sleep(0.05)
    return False


def environment(**extra) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", **SECRETS, **extra}


async def test_a_command_gets_a_minimal_environment_and_never_warrooms_secrets():
    runner = SubprocessRunner(allowed_env=["KUBECONFIG"], environ=environment(KUBECONFIG="/etc/kube", OTHER="no"))
    code, output, timed_out = await runner.run([PY, "-c", "import os; print(sorted(os.environ.items()))"], 10, 2000)
    assert (code, timed_out) == (0, False)
    assert "KUBECONFIG" in output and "/etc/kube" in output and "'PATH'" in output
    for name, value in [*SECRETS.items(), ("OTHER", "no")]:
        assert name not in output
    assert "secret" not in output and "db-pass" not in output


async def test_secret_values_are_scrubbed_from_output_however_they_got_there():
    runner = SubprocessRunner(environ=environment())
    leak = "print('token=xoxb-1111-2222-secretbot; app xapp-1-A1-secretapp; whsec-new-one; db-pass-123')"
    code, output, _ = await runner.run([PY, "-c", leak], 10, 2000)
    assert code == 0
    assert "secret" not in output and "whsec-new-one" not in output and "db-pass-123" not in output
    assert output.count(REDACTED) == 4
    assert secret_values({"LANG": "C.UTF-8", "MY_PASSWORD": "1"}) == []  # short and ordinary values stay


async def test_the_timeout_kills_every_process_the_command_started():
    marker = f"{17 + uuid.uuid4().int % 1000 / 1000:.3f}"  # a sleep this process can recognise
    runner = SubprocessRunner(environ=environment())
    started = time.monotonic()
    code, output, timed_out = await runner.run(["sh", "-c", f"sleep {marker}; echo late"], 1, 2000)
    assert timed_out and code is None and "late" not in output
    assert time.monotonic() - started < 5
    assert await gone(marker)


async def test_a_child_left_in_the_background_is_stopped_with_the_command():
    marker = f"{30 + uuid.uuid4().int % 1000 / 1000:.3f}"
    runner = SubprocessRunner(environ=environment())
    started = time.monotonic()
    code, output, timed_out = await runner.run(["sh", "-c", f"sleep {marker} & echo started"], 1, 2000)
    # The background sleep holds the output pipe open: the command is not over until the timeout stops it.
    assert timed_out and "started" in output and time.monotonic() - started < 5
    assert await gone(marker)


async def test_huge_output_keeps_its_start_and_end_within_the_limit():
    runner = SubprocessRunner(environ=environment())
    script = ("import sys\nsys.stdout.write('FIRST LINE\\n')\nfor n in range(200000): "
              "sys.stdout.write('x' * 99 + '\\n')\nsys.stdout.write('LAST LINE: exit 3\\n')\nsys.exit(3)")
    code, output, timed_out = await runner.run([PY, "-c", script], 30, 2000)
    assert (code, timed_out) == (3, False)
    assert output.startswith("FIRST LINE") and output.rstrip().endswith("LAST LINE: exit 3")
    assert "bytes cut)" in output and len(output) <= 2000 + 60


def test_the_buffer_holds_only_its_head_and_tail():
    buffer = BoundedOutput(head=100, tail=100)
    for _ in range(10_000):
        buffer.feed(b"y" * 1000)
    assert buffer.total == 10_000_000 and len(buffer.head) == 100 and len(buffer.tail) == 100
    small = BoundedOutput(head=100, tail=100)
    small.feed("héllo wörld\n".encode())
    assert small.text(2000) == "héllo wörld\n"


@pytest.mark.parametrize("argv", [["/no/such/program"]])
async def test_a_missing_program_raises_for_the_service_to_report(argv):
    with pytest.raises(OSError):
        await SubprocessRunner(environ=environment()).run(argv, 5, 2000)
