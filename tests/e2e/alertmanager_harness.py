"""A real Alertmanager (Debian's prometheus-alertmanager) for the tests that need one: it sends its webhook to the
real bot, and alerts are fired and resolved through its API."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

from tests.conftest import ALERTMANAGER_TOKEN, free_port, wait_ready

BINARY = os.environ.get("WARROOM_TEST_ALERTMANAGER")
SKIP_REASON = ("needs WARROOM_TEST_ALERTMANAGER, the path of the alertmanager binary (.ci/run installs "
               "prometheus-alertmanager and sets it)")


class Alertmanager:
    def __init__(self, workdir: Path, webhook_port: int, token: str = ALERTMANAGER_TOKEN, repeat: str = "1h"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "alertmanager.yml"
        config.write_text(f"""
route:
  receiver: warroom
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: {repeat}
receivers:
  - name: warroom
    webhook_configs:
      - url: http://127.0.0.1:{webhook_port}/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
""")
        self.process = subprocess.Popen(
            [BINARY, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    async def ready(self) -> None:
        await wait_ready(self.url, self.process, "alertmanager")

    async def fire(self, name: str, *, resolve: bool = False, starts: datetime | None = None, **labels) -> None:
        now = datetime.now(timezone.utc)
        alert = {"labels": {"alertname": name, **labels}, "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                 "annotations": {"summary": f"{name} on {labels.get('service', '?')}",
                                 "runbook_url": "https://runbooks.example.com/high-error-rate"},
                 "startsAt": (starts or now - timedelta(minutes=3)).isoformat()}
        if resolve:
            alert["endsAt"] = now.isoformat()
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.url}/api/v2/alerts", json=[alert]) as answer:
                assert answer.status == 200, await answer.text()

    async def silences(self) -> list[dict]:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.url}/api/v2/silences") as answer:
                return await answer.json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def eventually(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = condition()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


