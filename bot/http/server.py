"""The HTTP server: /healthz (the process is alive), /readyz (database and Slack connection are up),
POST /webhooks/pagerduty (PagerDuty Webhooks v3) and POST /webhooks/alertmanager (Alertmanager's webhook v4).

It faces the network, so it bounds what a client can hold: a connection that has not sent a whole request
within HEADER_TIMEOUT is closed (aiohttp arms its keep-alive timer at connect, and only a complete request
disarms it), a body must arrive within BODY_TIMEOUT, and past MAX_CONNECTIONS the oldest idle connections
make room for new ones, so that half-sent requests can never keep /healthz from answering.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import structlog
from aiohttp import web

from bot.integrations.alertmanager import (
    BadPayload,
    WebhookPayload,
    parse_payload,
    token_matches,
)
from bot.integrations.pagerduty_webhooks import (
    WebhookEvent,
    WebhookRejected,
    parse,
    verify,
)
from bot.log import logged

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
WebhookHandler = Callable[[str, WebhookEvent], Awaitable[str]]
AlertsHandler = Callable[[WebhookPayload], Awaitable[str]]
MAX_WEBHOOK_BYTES = 1024 * 1024
HEADER_TIMEOUT = 10.0  # seconds to send a whole request line and headers; also the idle keep-alive
BODY_TIMEOUT = 10.0
MAX_CONNECTIONS = 256
LINGER = 2.0

log = structlog.get_logger("warroom.http")


def build_app(readiness: ReadinessCheck, *, pagerduty: WebhookHandler | None = None,
              pagerduty_secrets: list[str] | None = None, body_timeout: float = BODY_TIMEOUT,
              outbox: Callable[[], Awaitable[dict[str, int]]] | None = None, alerts: AlertsHandler | None = None,
              alert_tokens: list[str] | None = None, status_page=None) -> web.Application:
    """`outbox`: effects by status, shown on /readyz (failed ones are what an operator looks at first)."""
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await readiness()
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        if outbox is not None:
            with logged("readiness_outbox_counts_failed", log):  # the database check says what is wrong
                counts = await outbox()
                body["effects"] = {"pending": counts.get("pending", 0), "failed": counts.get("failed", 0)}
        return web.json_response(body, status=200 if ready else 503)

    async def read_body(request: web.Request) -> bytes | web.Response:
        try:
            return await asyncio.wait_for(request.read(), body_timeout)
        except asyncio.TimeoutError:
            log.warning("webhook_body_timeout")
            refusal = _refuse(408, f"the body did not arrive within {body_timeout:g} s")
            refusal.force_close()  # the rest of the body is not waited for
            return refusal

    async def pagerduty_webhook(request: web.Request) -> web.Response:
        if pagerduty is None or not pagerduty_secrets:
            return _refuse(404, "PagerDuty webhooks are off: set PAGERDUTY_WEBHOOK_SECRET and a pagerduty "
                                "service in config.yaml")
        body = await read_body(request)
        if isinstance(body, web.Response):
            return body
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

    async def alertmanager_webhook(request: web.Request) -> web.Response:
        if alerts is None or not alert_tokens:
            return _refuse(404, "Alertmanager webhooks are off: set ALERTMANAGER_WEBHOOK_TOKEN")
        # The token first: nothing about an unauthenticated body is worth reading.
        if not token_matches(request.headers.get("Authorization"), alert_tokens):
            log.warning("alertmanager_webhook_rejected", reason="token")
            return _refuse(401, "missing or wrong bearer token (http_config.authorization in Alertmanager's "
                                "webhook_config)")
        body = await read_body(request)  # past MAX_WEBHOOK_BYTES aiohttp answers 413
        if isinstance(body, web.Response):
            return body
        try:
            payload = parse_payload(body)
        except BadPayload as exc:
            log.warning("alertmanager_webhook_rejected", reason=str(exc)[:200])
            return _refuse(400, str(exc))
        # Committed before it is answered: a crash before the 200 means Alertmanager sends it again.
        outcome = await alerts(payload)
        return web.json_response({"outcome": outcome})

    app = web.Application(client_max_size=MAX_WEBHOOK_BYTES, middlewares=[_clean_log_context])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_post("/webhooks/pagerduty", pagerduty_webhook)
    app.router.add_post("/webhooks/alertmanager", alertmanager_webhook)
    if status_page is not None:  # warroom's own status page (status_page.provider: embedded or both)
        from bot.http.status_page import add_routes

        add_routes(app, status_page)
    return app


@web.middleware
async def _clean_log_context(request: web.Request, handler):
    # Requests on one keep-alive connection share a task: each starts with a log context of its own.
    structlog.contextvars.clear_contextvars()
    return await handler(request)


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def start(app: web.Application, port: int, host: str = "0.0.0.0", *, header_timeout: float = HEADER_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS) -> web.AppRunner:
    # lingering_time: how long an unread rest of a body is read after the answer (aiohttp's 10 s would let a
    # client that stopped sending hold its handler, and warroom's shutdown, that long).
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=header_timeout, lingering_time=LINGER)
    await runner.setup()
    _cap_connections(runner.server, max_connections)
    await web.TCPSite(runner, host, port).start()
    return runner


def _cap_connections(server: web.Server, limit: int) -> None:
    """Past `limit` open connections, the oldest ones that are not in the middle of a request are closed."""
    opened = server.connection_made

    def connection_made(handler, transport) -> None:
        opened(handler, transport)
        connections = server.connections
        excess = len(connections) - limit
        if excess <= 0:
            return
        # A connection that is waiting for (the rest of) a request is idle; aiohttp keeps no public flag.
        idle = [h for h in connections if h is not handler and not getattr(h, "_request_in_progress", False)]
        for victim in idle[:excess]:
            victim.force_close()
        log.warning("http_connections_capped", limit=limit, closed=min(excess, len(idle)))

    server.connection_made = connection_made
