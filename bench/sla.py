"""A month's SLA report against a real Prometheus (Debian's `prometheus`, backfilled by promtool with the month of
tests/sla_month.py: one sample a minute per series), for 3 and for 30 services. Prints figures; asserts nothing.

    WARROOM_TEST_PROMETHEUS=/usr/bin/prometheus python bench/sla.py

Issue 14: the time `warroom sla report --month 2026-10 --format json` takes and its peak memory (RSS of the
process, polled every 10 ms), how both grow with the number of services; and the five-minute check's cost
once the month's finished days are cached (the SLA watch asks Prometheus for today only).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.config import settings_from_mapping  # noqa: E402
from bot.core.sla import Month  # noqa: E402
from bot.integrations.prometheus import Prometheus  # noqa: E402
from bot.services.sla import SlaService  # noqa: E402
from bot.storage import database  # noqa: E402
from bot.storage.repository import Store  # noqa: E402
from tests.conftest import FakeClock, free_port  # noqa: E402
from tests.sla_month import SERVICES, RealPrometheus  # noqa: E402

EXTRA = 28  # api2 ... api29: with api and web, 30 services


def services(count: int) -> dict:
    chosen = dict(SERVICES)
    for number in range(2, count):
        chosen[f"api{number}"] = {"total": f'http_requests_total{{service="api{number}"}}',
                                  "errors": f'http_requests_total{{service="api{number}",code=~"5.."}}'}
    return chosen


def peak_rss(command: list[str], env: dict) -> tuple[float, float, bytes]:
    """Runs `command`; its wall time, its peak RSS in MB (polled every 10 ms) and what it printed."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.01)
    out, err = child.communicate()
    if child.returncode:
        raise SystemExit(err.decode()[-2000:])
    return time.perf_counter() - started, peak / 2**20, out


def run_cli(url: str, workdir: Path, count: int) -> tuple[float, float]:
    config = workdir / f"config-{count}.yaml"
    config.write_text(yaml.safe_dump({"sla": {"prometheus_url": url, "services": services(count)}}))
    env = {**os.environ, "WARROOM_CONFIG": str(config), "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'b.db'}"}
    elapsed, peak, _ = peak_rss([sys.executable, "-m", "bot", "sla", "report", "--month", "2026-10", "--format",
                                 "json"], env)
    return elapsed, peak


def run_in_process(url: str, workdir: Path, count: int) -> tuple[float, float, float, int]:
    """The report alone, as `/sla` and the monthly post run it: (seconds, RSS before, peak RSS, windows)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'p.db'}"}
    _, peak, out = peak_rss([sys.executable, __file__, "--child", url, str(count)], env)
    figures = json.loads(out)
    return figures["seconds"], figures["rss_before"], peak, figures["windows"]


async def child(url: str, count: int) -> None:
    engine = database.create_engine(os.environ["DATABASE_URL"])
    await database.upgrade(engine)
    async with aiohttp.ClientSession() as http:
        service = SlaService(Store(engine), settings_from_mapping({"sla": {"prometheus_url": url,
                                                                          "services": services(count)}}),
                             FakeClock(datetime(2026, 11, 2, tzinfo=UTC)), Prometheus(url, http))
        gc.collect()
        gc.freeze()  # as `warroom run` does once started
        before = psutil.Process().memory_info().rss / 2**20
        started = time.perf_counter()
        report = await service.report(Month(2026, 10))
        seconds = time.perf_counter() - started
    await engine.dispose()
    print(json.dumps({"seconds": seconds, "rss_before": before,
                      "windows": sum(len(c.verdicts) for c in report.services)}))


async def check_cost(url: str, workdir: Path, count: int) -> tuple[float, float]:
    """The watch's month-to-date measure on 10-24 12:00: first (every day asked), then again (cached days)."""
    engine = database.create_engine(f"sqlite+aiosqlite:///{workdir / 'c.db'}")
    await database.upgrade(engine)
    clock = FakeClock(datetime(2026, 10, 24, 12, 1, tzinfo=UTC))
    try:
        async with aiohttp.ClientSession() as http:
            service = SlaService(Store(engine), settings_from_mapping({"sla": {"prometheus_url": url,
                                                                              "services": services(count)}}),
                                 clock, Prometheus(url, http))
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                for name in service.services():
                    await service.month_to_date(name, clock.now(), datetime(2026, 10, 1, tzinfo=UTC))
                timings.append(time.perf_counter() - started)
            return timings[0], timings[1]
    finally:
        await engine.dispose()


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(child(sys.argv[2], int(sys.argv[3])))
        return
    binary = os.environ.get("WARROOM_TEST_PROMETHEUS")
    if not binary:
        raise SystemExit("set WARROOM_TEST_PROMETHEUS to the prometheus binary")
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        started = time.perf_counter()
        server = RealPrometheus(binary, workdir, free_port(), extra_services=EXTRA)
        asyncio.run(server.ready())
        print(f"backfilled and started Prometheus ({2 + EXTRA} services' worth of series) in "
              f"{time.perf_counter() - started:.1f} s")
        try:
            for count in (3, 30):
                runs = [run_in_process(server.url, workdir, count) for _ in range(3)]
                seconds = [r[0] for r in runs]
                print(f"{count:>2} services: a month's report {min(seconds):.2f}–{max(seconds):.2f} s (3 runs, "
                      f"{runs[0][3]} windows judged), memory {min(r[1] for r in runs):.1f} MB before, peak "
                      f"{max(r[2] for r in runs):.1f} MB")
                cli = [run_cli(server.url, workdir, count) for _ in range(2)]
                print(f"{count:>2} services: `warroom sla report --format json` {min(c[0] for c in cli):.2f}–"
                      f"{max(c[0] for c in cli):.2f} s with the CLI's start, peak RSS {max(c[1] for c in cli):.1f} MB")
                first, again = asyncio.run(check_cost(server.url, workdir, count))
                print(f"{count:>2} services: five-minute check, month to 10-24: {first:.2f} s the first time, "
                      f"{again:.3f} s with the finished days cached")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
