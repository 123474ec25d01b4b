"""PagerDuty Webhooks v3: signatures and the parts of a delivery warroom reads. Pure.

A delivery is signed with HMAC-SHA256 of the raw body under the subscription's secret, sent as
`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]` (several while a secret is being rotated).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secrets: list[str], body: bytes, header: str | None) -> None:
    """Raises WebhookRejected(401) unless one of the header's v1 signatures matches one of the secrets."""
    if not header:
        raise WebhookRejected(401, "missing X-PagerDuty-Signature header")
    offered = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not offered:
        raise WebhookRejected(401, "X-PagerDuty-Signature has no v1= signature")
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # compare_digest for every candidate: the time taken says nothing about how close a guess was
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return
    raise WebhookRejected(401, "X-PagerDuty-Signature does not match the body")


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    event_type: str
    occurred_at: str
    agent_id: str | None
    agent_name: str | None
    incident: dict  # the PagerDuty incident (or its reference, for note events)
    data: dict

    @property
    def incident_id(self) -> str | None:
        return self.incident.get("id")


def parse(body: bytes) -> WebhookEvent:
    """Raises WebhookRejected(400) with the reason for a body that is not a v3 event."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(400, f"body is not JSON: {exc}") from None
    event = document.get("event") if isinstance(document, dict) else None
    if not isinstance(event, dict):
        raise WebhookRejected(400, "body has no `event` object (is this a v3 webhook?)")
    event_type, data = event.get("event_type"), event.get("data")
    if not isinstance(event_type, str) or not isinstance(data, dict):
        raise WebhookRejected(400, "event needs a string `event_type` and a `data` object")
    agent = event.get("agent") if isinstance(event.get("agent"), dict) else {}
    incident = data if data.get("type") == "incident" else data.get("incident")
    return WebhookEvent(str(event.get("id") or ""), event_type, str(event.get("occurred_at") or ""),
                        agent.get("id"), agent.get("summary"), incident if isinstance(incident, dict) else {}, data)
