import asyncio

import pytest

from tests.conftest import ALERTMANAGER_TOKEN, free_port
from tests.e2e.alertmanager_harness import Alertmanager
from tests.sla_month import RealPrometheus, binary


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    """A real Prometheus serving the generated month (tests/sla_month.py), shared by the SLA tests."""
    if not binary():
        pytest.skip("needs WARROOM_TEST_PROMETHEUS, the path of the prometheus binary (.ci/run installs the "
                    "prometheus package and sets it)")
    server = RealPrometheus(binary(), tmp_path_factory.mktemp("prometheus"), free_port())
    asyncio.run(server.ready())
    yield server
    server.stop()


@pytest.fixture
async def alertmanager(tmp_path):
    managers = []

    def start(webhook_port: int, token: str = ALERTMANAGER_TOKEN, repeat: str = "1h") -> Alertmanager:
        workdir = tmp_path / f"am{len(managers)}"
        workdir.mkdir()
        manager = Alertmanager(workdir, webhook_port, token, repeat)
        managers.append(manager)
        return manager

    yield start
    for manager in managers:
        manager.stop()
