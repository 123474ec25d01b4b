from aiohttp.test_utils import TestClient, TestServer

from bot.http.server import build_app


async def test_readyz_reports_each_check_and_503_when_one_fails():
    state = {"database": True, "slack": False}

    async def readiness():
        return dict(state)

    async with TestClient(TestServer(build_app(readiness))) as client:
        assert (await client.get("/healthz")).status == 200
        response = await client.get("/readyz")
        assert response.status == 503 and (await response.json())["checks"] == {"database": True, "slack": False}
        state["slack"] = True
        assert (await client.get("/readyz")).status == 200
