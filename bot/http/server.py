"""The HTTP server: /healthz (the process is alive) and /readyz (database and Slack connection are up)."""

from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]


def build_app(readiness: ReadinessCheck) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await readiness()
        ready = all(checks.values())
        return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                                 status=200 if ready else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def start(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
