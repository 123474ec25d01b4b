"""Prometheus Alertmanager: its webhook (payload version 4) and its API v2 for silences.

The webhook has no signature and no delivery id: it is authenticated by the bearer token Alertmanager sends
(`http_config.authorization`), and a re-send is recognised by what it says, not by an id.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timezone
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core import effects as fx
from bot.core.alerts import Alert
from bot.core.effects import AlertRefs
from bot.core.incident import Incident
from bot.core.ports import Performer, RetryLater

# Alertmanager writes endsAt 0001-01-01T00:00:00Z for an alert with no end yet.
_NO_END = datetime(1, 1, 1, tzinfo=timezone.utc)


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = Field(pattern="^(firing|resolved)$")
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone")
        return value

    def alert(self) -> Alert:
        ends = self.endsAt if self.endsAt and self.endsAt > _NO_END else None
        return Alert(self.fingerprint, self.startsAt, self.status, dict(self.labels), dict(self.annotations), ends,
                     self.generatorURL)


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    version: str
    groupKey: str = Field(min_length=1, max_length=2000)
    truncatedAlerts: int = Field(0, ge=0)
    status: str = Field(pattern="^(firing|resolved)$")
    receiver: str = ""
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    alerts: list[WebhookAlert] = Field(max_length=1000)

    @field_validator("version")
    @classmethod
    def _version_4(cls, value: str) -> str:
        if value != "4":
            raise ValueError(f"payload version {value!r}: warroom reads version 4 (Alertmanager 0.16 and later)")
        return value


class BadPayload(Exception):
    """Not an Alertmanager webhook warroom can read; the message says why (for the 400)."""


def parse_payload(body: bytes) -> WebhookPayload:
    try:
        return WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadPayload(f"{where}: {first['msg']}" + (f" (and {exc.error_count() - 1} more)"
                                                        if exc.error_count() > 1 else "")) from None


def token_matches(header: str | None, tokens: list[str]) -> bool:
    """`Authorization: Bearer <token>` against every configured token (several while rotating), in constant time."""
    if not header or not header.startswith("Bearer "):
        return False
    given = header.removeprefix("Bearer ").strip().encode()
    return any(hmac.compare_digest(given, token.encode()) for token in tokens)  # no short-circuit on content


class AlertmanagerSilences(Performer):
    """Creates and expires silences through Alertmanager's API v2 (`alerts.alertmanager_url`)."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, display_name=None):
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.display_name = display_name  # Slack user id -> the name Alertmanager shows as createdBy

    async def _create(self, effect: fx.CreateSilence, incident: Incident | None) -> fx.Result:
        who = await self.display_name(effect.actor) if self.display_name else effect.actor
        body = {"matchers": [{"name": name, "value": value, "isRegex": False, "isEqual": True}
                             for name, value in sorted(effect.matchers.items())],
                "startsAt": effect.starts_at, "endsAt": effect.ends_at,
                "createdBy": f"{who} (via warroom)", "comment": effect.comment or "Silenced from Slack"}
        answer = await self._send("POST", "/api/v2/silences", body)
        return AlertRefs(effect.group_id, silence_id=answer["silenceID"])

    async def _expire(self, effect: fx.ExpireSilence, incident: Incident | None) -> fx.Result:
        await self._send("DELETE", f"/api/v2/silence/{effect.silence_id}", None, missing_ok=True)
        return AlertRefs(effect.group_id, silence_cleared=True)

    async def _send(self, method: str, path: str, body: Any, *, missing_ok: bool = False) -> Any:
        try:
            async with self.session.request(method, self.base_url + path, json=body,
                                            timeout=aiohttp.ClientTimeout(total=10)) as response:
                if response.status == 404 and missing_ok:
                    return None
                if response.status == 429 or response.status >= 500:
                    raise RetryLater(f"Alertmanager answered {response.status}")
                if response.status >= 400:
                    raise AlertmanagerRefused(f"Alertmanager refused ({response.status}): "
                                              f"{(await response.text())[:300]}")
                return await response.json(content_type=None) if response.status != 204 else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"Alertmanager unreachable: {type(exc).__name__}") from None

    handlers = {fx.CreateSilence: _create, fx.ExpireSilence: _expire}


class AlertmanagerRefused(Exception):
    pass
