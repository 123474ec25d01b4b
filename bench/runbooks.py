"""Runbook figures, with `warroom run` as its own process against the sandbox. Prints; asserts nothing.

    python bench/runbooks.py              # the next click 10 ms after the next step appears
    python bench/runbooks.py --think 250  # ...250 ms after, as a fast human would
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/empty python bench/runbooks.py  # an empty database

Targets (issue 3): click to updated message p99 <= 30 ms on loopback; the memory a run with 100 steps takes.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import percentile, start_warroom  # noqa: E402

from bot.core.runbook import Run, StepProgress  # noqa: E402
from bot.runbooks import load_file  # noqa: E402
from bot.sandbox.server import SlackSandbox  # noqa: E402
from bot.slack.blocks import runbooks as runbook_blocks  # noqa: E402
from bot.slack.ids import ActionId  # noqa: E402

STEPS = 100


def hundred_step_runbook(directory: Path) -> Path:
    lines = ["id: hundred-steps", "title: A hundred steps", "description: For the benchmark.", "steps:"]
    for n in range(STEPS - 1):
        lines += [f"  - title: Step {n + 1}", "    items:", f"      - check thing {n} a", f"      - check thing {n} b",
                  "    commands:", f"      - run: echo step {n}"]
    lines += ["  - title: Verify", "    verification: true", "    items: [all good]"]
    path = directory / "hundred.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


THINK_SECONDS = (float(sys.argv[sys.argv.index("--think") + 1]) if "--think" in sys.argv else 10.0) / 1000


def machine_speed() -> float:
    """A fixed loop, timed: on shared machines the same code runs 10-50% slower from one hour to the next,
    and the click figures move with it. Printed beside them so that runs can be compared."""
    started = time.perf_counter()
    total = 0
    for number in range(3_000_000):
        total += number
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    print(f"machine speed: a fixed 3M-step loop took {machine_speed():.0f} ms (lower is quieter; the click figures "
          f"move with it)")
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    runbooks = workdir / "runbooks"
    runbooks.mkdir()
    path = hundred_step_runbook(runbooks)

    tracemalloc.start()
    runbook = load_file(path)
    run = Run(1, 1, runbook, "U0ALICE", datetime.now(timezone.utc), tuple(StepProgress() for _ in runbook.steps))
    rendered = [runbook_blocks.step(run, position, frozenset()) for position in range(STEPS)]
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"a {STEPS}-step run in memory (runbook, run state, all step messages rendered): "
          f"{current / 1024:.0f} KiB (peak {peak / 1024:.0f} KiB)")
    del rendered

    sandbox = await SlackSandbox().start()
    import lifecycle
    lifecycle.CONFIG += f"runbooks: {{directory: {runbooks}}}\n"
    process, _, _ = await start_warroom(sandbox, workdir)
    try:
        await sandbox.slash("U0ALICE", "general", "/incident", "declare sev3 Runbook bench")
        room = await sandbox.wait_for(lambda: next((c for c in sandbox.workspace.channels.values()
                                                    if c.name.startswith("incident-") and c.pins), None))
        rss_before = psutil.Process(process.pid).memory_info().rss / 2 ** 20
        await sandbox.join("U0BOB", room.id)  # only people in the war room may walk its runbooks
        await sandbox.slash("U0ALICE", room.id, "/incident", "runbook hundred-steps")
        await sandbox.wait_for(lambda: sandbox.messages_with_action(room.id, ActionId.RUNBOOK_DONE))
        latencies = []
        step_ts = sandbox.messages_with_action(room.id, ActionId.RUNBOOK_DONE)[-1].ts
        for n in range(STEPS):
            before = len(sandbox.calls)
            sent = time.monotonic()
            await sandbox.click("U0BOB", room.id, step_ts, ActionId.RUNBOOK_DONE)
            # only the call log is polled: scanning messages would load the sandbox sharing this process
            updated = await sandbox.wait_for(lambda: next((c.at for c in sandbox.calls[before:]
                                                           if c.method == "chat.update" and c.params.get("ts") == step_ts),
                                                          None), timeout=10, interval=0.001)
            latencies.append((updated - sent) * 1000)
            if n < STEPS - 1:
                await sandbox.wait_for(lambda: any(c.method == "chat.postMessage" for c in sandbox.calls[before:]),
                                       timeout=10, interval=0.001)
                await asyncio.sleep(THINK_SECONDS)
                step_ts = room.messages[-1].ts
        await asyncio.sleep(0.5)
        rss_after = psutil.Process(process.pid).memory_info().rss / 2 ** 20
        print(f"click Done -> step message updated, {STEPS} clicks, each {THINK_SECONDS * 1000:.0f} ms after its step "
              f"appeared: p50 {statistics.median(latencies):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms  (target p99 <= 30)")
        print(f"warroom run RSS before the run {rss_before:.1f} MB, after {STEPS} steps {rss_after:.1f} MB "
              f"(+{rss_after - rss_before:.1f} MB)")
    finally:
        process.terminate()
        process.wait(timeout=20)
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
