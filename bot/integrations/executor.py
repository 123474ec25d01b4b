"""Runs a runbook command: no shell, no user text, a timeout, output truncated (the CommandRunner port)."""

from __future__ import annotations

import asyncio
import contextlib


class SubprocessRunner:
    async def run(self, argv: list[str], timeout: float, output_limit: int) -> tuple[int | None, str, bool]:
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout)
            timed_out = False
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            output, _ = await process.communicate()
            timed_out = True
        text = output.decode("utf-8", "replace")
        if len(text) > output_limit:  # the end of the output is where the error usually is
            text = f"…({len(text) - output_limit + 1} characters cut)\n" + text[-(output_limit - 40):]
        return (None if timed_out else process.returncode), text, timed_out
