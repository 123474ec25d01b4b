"""What every listener shares: the services it calls and how failures reach the user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

import structlog

from bot.config import Settings
from bot.core.incident import DomainError
from bot.core.ports import Clock
from bot.services.incidents import Duplicate, IncidentService
from bot.services.actions import ActionItemService
from bot.services.oncall import OnCallService
from bot.services.postmortems import PostmortemService
from bot.services.reminders import ReminderService
from bot.services.runbooks import RunbookService

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
    actions: "ActionItemService | None" = None
    oncall: "OnCallService | None" = None


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
