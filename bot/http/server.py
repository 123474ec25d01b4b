"""The HTTP server: /healthz (the process is alive), /readyz (database and Slack connection are up) and
POST /webhooks/pagerduty (PagerDuty Webhooks v3)."""

from __future__ import annotations

from typing import Awaitable, Callable

import structlog
from aiohttp import web

from bot.integrations.pagerduty_webhooks import WebhookEvent, WebhookRejected, parse, verify

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
WebhookHandler = Callable[[str, WebhookEvent], Awaitable[str]]
MAX_WEBHOOK_BYTES = 1024 * 1024

log = structlog.get_logger("warroom.http")


def build_app(readiness: ReadinessCheck, *, pagerduty: WebhookHandler | None = None,
              pagerduty_secrets: list[str] | None = None) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await readiness()
        ready = all(checks.values())
        return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                                 status=200 if ready else 503)

    async def pagerduty_webhook(request: web.Request) -> web.Response:
        if pagerduty is None or not pagerduty_secrets:
            return _refuse(404, "PagerDuty webhooks are off: set PAGERDUTY_WEBHOOK_SECRET and a pagerduty "
                                "service in config.yaml")
        body = await request.read()
        try:
            # The signature first: nothing about an unsigned body is worth reading.
            verify(pagerduty_secrets, body, request.headers.get("X-PagerDuty-Signature"))
            event = parse(body)
        except WebhookRejected as exc:
            log.warning("pagerduty_webhook_rejected", status=exc.status, reason=exc.reason)
            return _refuse(exc.status, exc.reason)
        outcome = await pagerduty(request.headers.get("X-Webhook-Id", ""), event)
        log.info("pagerduty_webhook", event_type=event.event_type, outcome=outcome)
        return web.json_response({"outcome": outcome}, status=200 if outcome != "ignored" else 202)

    app = web.Application(client_max_size=MAX_WEBHOOK_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_post("/webhooks/pagerduty", pagerduty_webhook)
    return app


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def start(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
