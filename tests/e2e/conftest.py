import asyncio

import pytest

from tests.conftest import free_port
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
