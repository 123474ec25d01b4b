"""The status page's outside half: Atlassian Statuspage (`status_page.provider: statuspage` or `both`) and the
signed webhooks to `status_page.subscribers`. warroom's own /status reads the database and needs nothing here.

Statuspage allows one request a second per API key and answers 420 or 429 beyond it: requests are spaced a
second apart here, and a refusal is retried after what Statuspage asks. Its effects run in a lane of their own,
so an outage of Statuspage never holds up the war room.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
import structlog

from bot.config_status_page import StatusPageSection
from bot.core import effects as fx
from bot.core.effect_results import PublicRefs
from bot.core.incident import Incident
from bot.core.ports import Performer, RetryLater

log = structlog.get_logger("warroom.statuspage")
DEFAULT_API_URL = "https://api.statuspage.io/v1"
# A component state, as the incident's impact (Statuspage's impact_override).
IMPACT = {"degraded_performance": "minor", "partial_outage": "major", "major_outage": "critical",
          "under_maintenance": "maintenance", "operational": "none"}
SIGNATURE_HEADER = "X-Warroom-Signature"


class StatuspageRefused(Exception):
    """Statuspage refused the request for good (a wrong key, page or component): retrying cannot help."""


def signature(secret: str, body: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


class Spacing:
    """At most one request a second (Statuspage's limit per key)."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last = 0.0

    async def wait(self) -> None:
        async with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = time.monotonic()


class StatusPageEffects(Performer):
    def __init__(self, section: StatusPageSection, http: aiohttp.ClientSession, api_key: str | None,
                 api_url: str | None, environ: Mapping[str, str],
                 statuspage_id: Callable[[int], Awaitable[str | None]], *, spacing: float = 1.0,
                 ssl_context: ssl.SSLContext | None = None):
        """`environ`: where the subscribers' secrets are (by the names config.yaml gives). `ssl_context`: made at
        the first request, so that SSL_CERT_FILE counts (aiohttp's own is made when it is imported) and a start
        that never calls out does not load the trust store."""
        self._ssl_context = ssl_context
        self.section = section
        self.http = http
        self.environ = environ
        self.api_key = api_key
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.statuspage_id = statuspage_id  # the Statuspage incident already made for an incident, if any
        self.spacing = Spacing(spacing)

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    # -- Atlassian Statuspage ----------------------------------------------------------------------
    async def _sync(self, effect: fx.StatusPageSync, incident: Incident | None) -> PublicRefs | None:
        if not self.api_key:
            raise StatuspageRefused("STATUSPAGE_API_KEY is not set")
        ids = self.section.statuspage.components
        resolved = effect.status == "resolved"
        state = "operational" if resolved else effect.impact
        payload = {"name": effect.title, "status": effect.status, "impact_override": IMPACT[effect.impact],
                   "component_ids": [ids[name] for name in effect.components if name in ids],
                   "components": {ids[name]: state for name in effect.components if name in ids}}
        if effect.text:
            payload["body"] = effect.text
        page = self.section.statuspage.page_id
        existing = await self.statuspage_id(incident.id)
        if existing is None:
            answer = await self._call("POST", f"/pages/{page}/incidents", {"incident": payload})
            log.info("statuspage_incident_created", incident_id=incident.id, statuspage_id=answer["id"])
            return PublicRefs(incident.id, answer["id"])
        await self._call("PATCH", f"/pages/{page}/incidents/{existing}", {"incident": payload})
        return None

    async def _call(self, method: str, path: str, body: dict) -> dict:
        await self.spacing.wait()
        try:
            async with self.http.request(method, self.api_url + path, json=body, allow_redirects=False,
                                         ssl=self.ssl_context,
                                         headers={"Authorization": f"OAuth {self.api_key}"},
                                         timeout=aiohttp.ClientTimeout(total=15)) as answer:
                if answer.status in (420, 429):
                    after = float(answer.headers.get("Retry-After") or 1.0)
                    raise RetryLater(f"Statuspage rate limited ({answer.status})", after_seconds=max(1.0, after))
                if answer.status >= 500:
                    raise RetryLater(f"Statuspage answered {answer.status}")
                if answer.status >= 300:
                    raise StatuspageRefused(f"Statuspage refused {method} {path}: {answer.status} "
                                            f"{(await answer.text())[:300]}")
                return await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RetryLater(f"Statuspage unreachable: {exc.__class__.__name__}") from None

    # -- subscribers -------------------------------------------------------------------------------
    async def _webhook(self, effect: fx.StatusWebhook, incident: Incident | None) -> None:
        if effect.subscriber >= len(self.section.subscribers):
            log.warning("status_webhook_subscriber_gone", subscriber=effect.subscriber)
            return  # config.yaml lost that subscriber since
        subscriber = self.section.subscribers[effect.subscriber]
        secret = self.environ.get(subscriber.secret_env)
        if not secret:
            raise StatuspageRefused(f"{subscriber.secret_env} is not set: the webhook cannot be signed")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, effect.body),
                   "User-Agent": "warroom-status"}
        try:
            async with self.http.post(subscriber.url, data=effect.body, headers=headers, allow_redirects=False,
                                      ssl=self.ssl_context,
                                      timeout=aiohttp.ClientTimeout(total=10)) as answer:
                if answer.status == 429 or answer.status >= 500:
                    raise RetryLater(f"subscriber answered {answer.status}")
                if answer.status >= 300:
                    raise StatuspageRefused(f"subscriber refused the webhook: {answer.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RetryLater(f"subscriber unreachable: {exc.__class__.__name__}") from None

    handlers = {fx.StatusPageSync: _sync, fx.StatusWebhook: _webhook}
