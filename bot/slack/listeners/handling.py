"""What every listener shares: the services it calls and how failures reach the user."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import structlog

from bot.config import Settings
from bot.core.incident import DomainError
from bot.core.ports import Clock, RetryLater
from bot.services.action_items import ActionItemService
from bot.services.alerts import AlertService
from bot.services.incidents import Duplicate, IncidentService
from bot.services.oncall import OnCallService
from bot.services.postmortems import PostmortemService
from bot.services.remediation import RemediationService
from bot.services.reminders import ReminderService
from bot.services.runbooks import RunbookService
from bot.services.sla import SlaService
from bot.services.status_page import PublicStatusService
from bot.slack.directory import SlackDirectory
from bot.slack.effects.calls import call
from bot.slack.jobs import Jobs

log = structlog.get_logger("warroom.slack")

Reply = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class SlackDeps:
    incidents: IncidentService
    settings: Settings
    clock: Clock
    runbooks: "RunbookService | None" = None
    reminders: "ReminderService | None" = None
    postmortems: "PostmortemService | None" = None
    action_items: "ActionItemService | None" = None
    oncall: "OnCallService | None" = None
    membership: "SlackDirectory | None" = None  # told about joins and leaves
    jobs: Jobs = field(default_factory=Jobs)  # slow work, after the ack
    alerts: "AlertService | None" = None
    sla: "SlaService | None" = None
    remediation: "RemediationService | None" = None
    public: "PublicStatusService | None" = None


def deps_of(context) -> SlackDeps:
    """The services, as `register` put them in every request's context (listeners are module-level functions)."""
    return context["deps"]


def request_key(body: dict, action: dict | None = None) -> str:
    """What makes a redelivered Slack request a no-op: a click's action_ts, a form's view id, a command's
    trigger_id. The one way a listener names its request to a service."""
    if action is not None:
        return f"act:{action.get('action_ts')}:{body['user']['id']}:{action.get('action_id')}"
    if body.get("type") == "view_submission":
        return f"view:{body['view']['id']}"
    return f"cmd:{body['trigger_id']}"


FORGED = "That button or form carries a value warroom did not make; nothing was changed."


def payload_value(text: Any, **fields: type) -> dict:
    """A button's or modal's JSON value with the fields it must have, each of its type; anything else (a forged
    or truncated value) is a DomainError the person sees, never an exception outside the guard."""
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or any(type(data.get(name)) is not kind for name, kind in fields.items()):
        log.warning("malformed_payload_value", fields=sorted(fields))
        raise DomainError(FORGED)
    return data


def payload_int(text: Any) -> int:
    if isinstance(text, str) and text.isdigit() and len(text) < 12:
        return int(text)
    log.warning("malformed_payload_value", fields=["int"])
    raise DomainError(FORGED)


VIEW_RETRY_WITHIN = 2.5  # seconds: a trigger_id lives 3


async def open_view(client, trigger_id: str, view: dict) -> None:
    """views.open, tried again on what Slack may answer differently a moment later (a 429, a 5xx, a lost
    connection: `call` sorts them as effects do) while its trigger_id still lives: without it the person would
    have to type the command again."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + VIEW_RETRY_WITHIN, 0.2
    while True:
        try:
            await call(client.views_open(trigger_id=trigger_id, view=view))
            return
        except RetryLater:
            if loop.time() + delay > deadline:
                raise
        log.info("views_open_retried")
        await asyncio.sleep(delay)
        delay *= 2


async def guarded(reply: Reply, work: Awaitable):
    """Runs a service call; a refusal is told to the user, a redelivery stays silent."""
    try:
        return await work
    except Duplicate:
        log.info("duplicate_request_ignored")
    except DomainError as exc:
        await reply(f":warning: {exc}")
    except Exception:
        log.exception("handler_failed")
        await reply(":x: Something went wrong on warroom's side and has been logged. "
                    "Check `/incident status` before retrying.")
    return None


def responder(respond) -> Reply:
    async def reply(text: str) -> None:
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("reply_failed")
    return reply


async def submit_modal(ack, work, block_id: str):
    """Runs a modal's work before the ack, so that a refusal shows in the modal itself."""
    try:
        result = await work
    except Duplicate:
        await ack()
        return None
    except DomainError as exc:
        await ack(response_action="errors", errors={block_id: str(exc)[:150]})
        return None
    except Exception:
        log.exception("modal_failed")
        await ack(response_action="errors", errors={block_id: "Something went wrong on warroom's side; it is logged."})
        return None
    await ack()
    return result
