"""Timer figures with 1,000 open incidents (issue 5). Prints; asserts nothing.

    python bench/scheduler.py          # SQLite; DATABASE_URL=postgresql+asyncpg://... for PostgreSQL

Targets: reminders within 1 s of due; under 2% of a core between them.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.config import settings_from_mapping  # noqa: E402
from bot.core.incident import Severity  # noqa: E402
from bot.core.reminders import IC_NUDGE, STATUS_REMINDER, status_reminder_key  # noqa: E402
from bot.scheduler import TimerHandler, TimerLoop  # noqa: E402
from bot.services.incidents import IncidentService  # noqa: E402
from bot.services.reminders import ReminderService  # noqa: E402
from bot.storage import database  # noqa: E402
from bot.storage.repository import Store  # noqa: E402
from bot.storage.timers import TimerRepository  # noqa: E402

INCIDENTS = 1000


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class Everyone:
    async def user_exists(self, user_id: str) -> bool:
        return True

    async def in_usergroup(self, user_id: str, handle: str) -> bool:
        return True


async def main() -> None:
    from bot import log
    log.configure("WARNING")
    url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
    engine = database.create_engine(url)
    await database.upgrade(engine)
    store, clock = Store(engine), Clock()
    # Reminders only: escalation timers (on by default) have no handler in this bare timer loop.
    settings = settings_from_mapping({"reminders": {"ic_nudge_minutes": 0}, "escalation": {"enabled": False}})
    incidents = IncidentService(store, settings, clock, Everyone())
    started = time.perf_counter()
    ids = []
    for n in range(INCIDENTS):
        result = await incidents.declare(title=f"Bench incident {n}", severity=Severity.SEV1, actor="U0BENCH",
                                         request_key=f"bench-{n}-{time.time()}")
        ids.append(result.incident.id)
    print(f"declared {INCIDENTS} SEV-1 incidents in {time.perf_counter() - started:.1f} s")

    # Bring every reminder into the next few seconds, 5 ms apart.
    first = clock.now() + timedelta(seconds=3)
    due = {}
    async with store.transaction() as tx:
        for index, incident_id in enumerate(ids):
            when = first + timedelta(milliseconds=5 * index)
            due[status_reminder_key(incident_id)] = when
            await TimerRepository(tx).set(status_reminder_key(incident_id), STATUS_REMINDER, when,
                                          incident_id=incident_id)
    reminders = ReminderService(store, settings, clock)
    lateness: list[float] = []
    original = reminders.fire

    async def fire(tx, timer, now, prepared):
        lateness.append((clock.now() - due[timer.key]).total_seconds())
        return await original(tx, timer, now, prepared)

    loop = TimerLoop(store, {STATUS_REMINDER: TimerHandler(fire), IC_NUDGE: TimerHandler(fire)}, clock)
    task = asyncio.create_task(loop.run())
    while len(lateness) < INCIDENTS:
        await asyncio.sleep(0.1)
    lateness.sort()
    print(f"{INCIDENTS} reminders due 5 ms apart: late by p50 {statistics.median(lateness) * 1000:.0f} ms, "
          f"p99 {lateness[int(0.99 * len(lateness)) - 1] * 1000:.0f} ms, max {lateness[-1] * 1000:.0f} ms  "
          "(target <= 1000 ms)")

    # Now every incident's next reminder is 15 minutes away: the loop should sleep, not poll.
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    await asyncio.sleep(10)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    print(f"between reminders, {INCIDENTS} timers pending: {100 * cpu / wall:.2f}% of a core over {wall:.0f} s "
          "(target < 2%)")
    await loop.stop()
    task.cancel()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
