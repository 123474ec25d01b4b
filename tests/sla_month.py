"""A generated month of metrics (October 2026) whose SLA answers are known by construction, as OpenMetrics text for
`promtool tsdb create-blocks-from openmetrics`; and a real Prometheus serving it (tests/e2e/test_sla.py,
bench/sla.py).

Service `api` (request counters, a sample every minute on the minute, so samples fall exactly on window
boundaries), at 100 requests a minute:
- 10-03 10:00–10:30  500s at 10 % of the traffic (a new series: its first value counts): 6 bad windows
- 10-05 12:00–13:00  404s at 50 a minute: client errors, no bad window
- 10-07 08:00–08:10  500s at exactly 5 %: 2 bad windows; 09:00–09:05 at 4 %: good
- 10-10 15:02        every counter resets (a restart); 500s at 10 a minute until 15:05: 1 bad window
- 10-12 00:00–00:20  no samples at all (down): 4 bad windows without data
- 10-15 02:00–03:00  no samples, maintenance announced 14 days ahead: 12 windows excluded
- 10-20 02:00–02:30  no samples, maintenance announced 14 hours ahead: 6 bad windows without data
- 10-25 04:00–04:10  samples, no traffic: good
So api: 8928 windows, 9 bad, 10 bad without data, 12 excluded, 8897 good.

Service `web` (two synthetic probes, on the half minute): eu fails 10-22 14:00:30–14:09:30 (2 bad windows), us
fails once at 16:02:30 (1 bad window of ten results): 3 bad, 8925 good."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import wait_ready

OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
DATA_FROM = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
DATA_UNTIL = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

API = {"windows": 8928, "bad": 9, "bad_no_data": 10, "excluded": 12, "good": 8897}
WEB = {"windows": 8928, "bad": 3, "bad_no_data": 0, "excluded": 0, "good": 8925}
MAINTENANCE = [  # for config.yaml's sla.maintenance
    {"service": "api", "start": "2026-10-15T02:00:00Z", "end": "2026-10-15T03:00:00Z",
     "announced": "2026-10-01T02:00:00Z"},
    {"service": "api", "start": "2026-10-20T02:00:00Z", "end": "2026-10-20T02:30:00Z",
     "announced": "2026-10-19T12:00:00Z"}]
SERVICES = {"api": {"total": 'http_requests_total{service="api"}',
                    "errors": 'http_requests_total{service="api",code=~"5.."}'},
            "web": {"probe": 'probe_success{job="blackbox",instance="https://web.example.com"}'}}


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def _within(t: datetime, day: int, start: tuple[int, int], end: tuple[int, int]) -> bool:
    """t in (start, end] of that day: the samples that close the windows from start to end."""
    return _at(day, *start) < t <= _at(day, *end)


def _down(t: datetime) -> bool:
    return (_within(t, 12, (0, 0), (0, 20)) or _within(t, 15, (2, 0), (3, 0))
            or _within(t, 20, (2, 0), (2, 30)))


def _rates(t: datetime) -> dict[str, int]:
    """Requests per minute by status code, counted at the sample taken at t."""
    if _down(t) or _within(t, 25, (4, 0), (4, 10)):
        return {"200": 0}
    if _within(t, 3, (10, 0), (10, 30)):
        return {"200": 90, "500": 10}
    if _within(t, 5, (12, 0), (13, 0)):
        return {"200": 100, "404": 50}
    if _within(t, 7, (8, 0), (8, 10)):
        return {"200": 95, "500": 5}
    if _within(t, 7, (9, 0), (9, 5)):
        return {"200": 96, "500": 4}
    if _within(t, 10, (15, 1), (15, 5)):
        return {"200": 100, "500": 10}
    return {"200": 100}


def _api_samples() -> dict[str, list[tuple[int, int]]]:
    values: dict[str, int] = {}
    samples: dict[str, list[tuple[int, int]]] = {}
    t = DATA_FROM
    while t <= DATA_UNTIL:
        if t == _at(10, 15, 2):
            values = {code: 0 for code in values}  # the process restarted: every counter starts again
        for code, rate in _rates(t).items():
            values[code] = values.get(code, 0) + rate
        if not _down(t):
            for code, value in values.items():
                samples.setdefault(code, []).append((int(t.timestamp()), value))
        t += MINUTE
    return samples


def _probe_samples() -> dict[str, list[tuple[float, int]]]:
    samples: dict[str, list[tuple[float, int]]] = {"eu": [], "us": []}
    t = DATA_FROM + timedelta(seconds=30)
    while t <= DATA_UNTIL:
        eu = 0 if _at(22, 14, 0) < t < _at(22, 14, 10) else 1
        us = 0 if t == _at(22, 16, 2) + timedelta(seconds=30) else 1
        samples["eu"].append((t.timestamp(), eu))
        samples["us"].append((t.timestamp(), us))
        t += MINUTE
    return samples


def openmetrics(extra_services: int = 0) -> str:
    """The month as OpenMetrics; `extra_services` more copies of api (api2, api3, ...) for the bench."""
    lines = ["# HELP http_requests Requests served.", "# TYPE http_requests counter"]
    api = _api_samples()
    for service in ["api"] + [f"api{n}" for n in range(2, extra_services + 2)]:
        for code, series in api.items():
            labels = f'service="{service}",code="{code}"'
            lines += [f"http_requests_total{{{labels}}} {value} {ts}" for ts, value in series]
    lines += ["# HELP probe_success Whether the probe succeeded.", "# TYPE probe_success gauge"]
    for region, series in _probe_samples().items():
        labels = f'job="blackbox",instance="https://web.example.com",region="{region}"'
        lines += [f"probe_success{{{labels}}} {value} {ts:.1f}" for ts, value in series]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


class RealPrometheus:
    """Debian's prometheus, serving a TSDB backfilled with the generated month."""

    def __init__(self, binary: str, workdir: Path, port: int, extra_services: int = 0):
        self.binary = binary
        self.url = f"http://127.0.0.1:{port}"
        data = workdir / "data"
        source = workdir / "month.om"
        source.write_text(openmetrics(extra_services))
        promtool = shutil.which("promtool", path=str(Path(binary).parent)) or "promtool"
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=768h", str(source),
                        str(data)],
                       check=True, capture_output=True)
        source.unlink()
        config = workdir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 1m}\nscrape_configs: []\n")
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    async def ready(self) -> None:
        await wait_ready(self.url, self.process, "prometheus")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def binary() -> str | None:
    return os.environ.get("WARROOM_TEST_PROMETHEUS")
