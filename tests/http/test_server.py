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


# The server in a process of its own with few file descriptors, as under a service manager's default limit:
# without the connection cap, half-sent requests use them all up and new connections (/healthz) are refused.
SERVER = """
import asyncio, resource, sys
from bot.http import server
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
async def main():
    async def ready():
        return {"database": True}
    app = server.build_app(ready)
    await server.start(app, int(sys.argv[1]), "127.0.0.1", header_timeout=float(sys.argv[2]),
                       max_connections=int(sys.argv[3]))
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def start_server(port: int, header_timeout: float, max_connections: int):
    import asyncio
    import sys

    process = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVER, str(port), str(header_timeout),
                                                   str(max_connections), stdout=asyncio.subprocess.PIPE)
    assert (await asyncio.wait_for(process.stdout.readline(), 15)).strip() == b"ready"
    return process


async def healthz(port: int) -> int:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status


async def test_600_half_sent_requests_do_not_stop_healthz_and_are_closed_after_the_header_timeout():
    import asyncio

    from tests.conftest import free_port

    port = free_port()
    server = await start_server(port, header_timeout=2, max_connections=128)
    streams = []
    try:
        for _ in range(600):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /webhooks/pagerduty HTTP/1.1\r\nHost: warroom\r\nX-Slow: ")
            streams.append((reader, writer))
        await asyncio.sleep(0.3)
        assert await healthz(port) == 200
        await asyncio.sleep(2.5)  # the header timeout closes whatever the cap left open

        async def closed(reader) -> bool:
            try:
                return await asyncio.wait_for(reader.read(), 2) == b""
            except ConnectionError:
                return True
            except asyncio.TimeoutError:
                return False
        assert all(await asyncio.gather(*(closed(reader) for reader, _ in streams)))
        assert await healthz(port) == 200
    finally:
        for _, writer in streams:
            writer.close()
        server.kill()
        await server.wait()


async def test_a_webhook_body_that_stops_arriving_is_408():
    import asyncio

    from bot.http.server import start

    async def readiness():
        return {}

    async def handler(webhook_id, event):
        return "noted"

    from tests.conftest import free_port

    port = free_port()
    runner = await start(build_app(readiness, pagerduty=handler, pagerduty_secrets=["s"], body_timeout=0.5), port,
                         "127.0.0.1")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /webhooks/pagerduty HTTP/1.1\r\nHost: warroom\r\nContent-Length: 100\r\n\r\n{\"ev")
        status_line = await asyncio.wait_for(reader.readline(), 5)
        assert status_line.split()[1] == b"408"
        writer.close()
    finally:
        await runner.cleanup()
