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


async def test_pagerduty_webhooks_are_404_with_the_reason_until_configured():
    async def readiness():
        return {}

    async with TestClient(TestServer(build_app(readiness))) as client:
        response = await client.post("/webhooks/pagerduty", data=b"{}")
        assert response.status == 404
        assert "PAGERDUTY_WEBHOOK_SECRET" in (await response.json())["error"]


async def test_a_webhook_body_over_a_megabyte_is_refused_before_it_is_read_whole():
    from bot.integrations.pagerduty_webhooks import sign

    handled = []

    async def handler(webhook_id, event):
        handled.append(event)
        return "noted"

    async def readiness():
        return {}

    body = b'{"event": {"event_type": "incident.annotated", "data": {"pad": "' + b"x" * (1024 * 1024) + b'"}}}'
    app = build_app(readiness, pagerduty=handler, pagerduty_secrets=["s"])
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/webhooks/pagerduty", data=body,
                                     headers={"X-PagerDuty-Signature": sign("s", body)})
        assert response.status == 413 and not handled
