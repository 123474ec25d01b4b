"""Runbook command figures with real subprocesses. Prints; asserts nothing.

    python bench/executor.py

Targets (issue 10): memory stays flat whatever a command prints (19 MB of output raised the bot's memory by
54 MB before output was read as a stream); the timeout stops a command and everything it started.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.integrations.executor import SubprocessRunner  # noqa: E402

NOISY = "import sys\nline = 'x' * 99 + '\\n'\nfor _ in range({n}): sys.stdout.write(line)\n"


async def main() -> None:
    runner = SubprocessRunner()
    me = psutil.Process()
    await runner.run([sys.executable, "-c", "print('warm')"], 10, 2000)  # imports and first-use allocations
    for megabytes in (19, 190):
        before = me.memory_info().rss
        started = time.monotonic()
        code, output, _ = await runner.run([sys.executable, "-c", NOISY.format(n=megabytes * 10_000)], 120, 2000)
        took = time.monotonic() - started
        grew = (me.memory_info().rss - before) / 2 ** 20
        print(f"{megabytes} MB of output: RSS +{grew:.1f} MB, {len(output)} characters kept, exit {code}, "
              f"{megabytes / took:.0f} MB/s read")
    started = time.monotonic()
    _, _, timed_out = await runner.run(["sh", "-c", "sleep 17; echo late"], 2, 2000)
    print(f"`sh -c 'sleep 17; echo late'` with a 2 s timeout: stopped after {time.monotonic() - started:.2f} s "
          f"(timed out: {timed_out})")
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "17"]]
    print(f"`sleep 17` processes left behind: {len(left)}")


if __name__ == "__main__":
    asyncio.run(main())
