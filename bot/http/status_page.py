"""The public status page's routes: /status (HTML, no JavaScript), /status/history (paginated), /status.json (for
widgets) and /status/history.atom. Each answers from the snapshot (bot/services/status_view.py), with an ETag."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.services.status_view import StatusPageView

log = structlog.get_logger("warroom.http")
CACHE = "no-cache"  # a status page must never show a stale outage: browsers revalidate (ETag, 304)


def add_routes(app: web.Application, view: StatusPageView) -> None:
    async def snapshot():
        try:
            return await view.current()
        except Exception:
            log.exception("status_page_failed")
            raise web.HTTPServiceUnavailable(text="The status page is briefly unavailable; try again in a minute.")

    def answer(request: web.Request, body: bytes, content_type: str, etag: str) -> web.Response:
        headers = {"ETag": etag, "Cache-Control": CACHE}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)

    async def page(request: web.Request) -> web.Response:
        shot = await snapshot()
        return answer(request, shot.html, "text/html", shot.etag)

    async def summary(request: web.Request) -> web.Response:
        shot = await snapshot()
        response = answer(request, shot.json, "application/json", shot.etag)
        response.headers["Access-Control-Allow-Origin"] = "*"  # widgets on other sites read it
        return response

    async def feed(request: web.Request) -> web.Response:
        shot = await snapshot()
        return answer(request, shot.atom, "application/atom+xml", shot.etag)

    async def history(request: web.Request) -> web.Response:
        raw = request.query.get("page", "1")
        if not raw.isdigit() or not 1 <= int(raw) <= 100000:
            raise web.HTTPBadRequest(text="page must be a number from 1")
        try:
            body, found = await view.history(int(raw))
        except Exception:
            log.exception("status_history_failed")
            raise web.HTTPServiceUnavailable(text="The status page is briefly unavailable; try again in a minute.")
        if not found:
            raise web.HTTPNotFound(text=f"There is no page {raw} of the incident history.")
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers={"Cache-Control": CACHE})

    app.router.add_get("/status", page)
    app.router.add_get("/status.json", summary)
    app.router.add_get("/status/history", history)
    app.router.add_get("/status/history.atom", feed)
