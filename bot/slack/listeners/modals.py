"""Modal submissions: declare, assign a role, post an update, resolve.

Work that can be refused runs before the ack, so that a refusal shows inside the modal itself.
"""

from __future__ import annotations

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import DomainError, Role, Severity, Status
from bot.services.incidents import Duplicate
from bot.slack.ids import ActionId
from bot.slack.listeners.commands import declared_reply
from bot.slack.listeners.handling import FORGED, deps_of, request_key, submit_modal

log = structlog.get_logger("warroom.slack")


def _values(view: dict) -> dict:
    flat = {}
    for block in view["state"]["values"].values():
        for action_id, entry in block.items():
            if "selected_option" in entry:
                flat[action_id] = (entry["selected_option"] or {}).get("value")
            elif "selected_options" in entry:
                flat[action_id] = [o.get("value") for o in entry["selected_options"] or [] if isinstance(o, dict)]
            elif "selected_user" in entry:
                flat[action_id] = entry["selected_user"]
            else:
                flat[action_id] = entry.get("value")
    return flat


async def declare_submitted(ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient,
                            context: AsyncBoltContext) -> None:
    deps, values, user = deps_of(context), _values(view), body["user"]["id"]
    title = (values.get(ActionId.TITLE_INPUT) or "").strip()
    where = view.get("private_metadata") or user

    async def check():  # what can be wrong with the form shows in the form; the rest comes after the ack
        if not title:
            raise DomainError("An incident needs a title.")
        return _choice(Severity, values.get(ActionId.SEVERITY_INPUT), int)
    severity = await submit_modal(ack, check(), "title")
    if severity is None:
        return

    async def declare():  # the on-call lookup may wait on PagerDuty: after the ack, as a job of its own
        try:
            result = await deps.incidents.declare(
                title=title, severity=severity, actor=user, request_key=request_key(body),
                description=values.get(ActionId.DESCRIPTION_INPUT) or "",
                service=values.get(ActionId.SERVICE_INPUT) or "")
        except Duplicate:
            return
        except DomainError as exc:
            await _tell(client, where, user, f":warning: {exc}")
            return
        except Exception:
            log.exception("declare_failed")
            await _tell(client, where, user, ":x: Something went wrong on warroom's side and has been logged. "
                                             "Check `/incident list` before declaring again.")
            return
        await _tell(client, where, user, declared_reply(result, False, False))
    deps.jobs.spawn(declare(), "declare")


async def role_submitted(ack: AsyncAck, body: dict, view: dict, context: AsyncBoltContext) -> None:
    values, channel = _values(view), view["private_metadata"]

    async def work():
        return await deps_of(context).incidents.assign_role(
            channel, _choice(Role, values.get(ActionId.ROLE_INPUT)), str(values.get(ActionId.USER_INPUT) or ""),
            body["user"]["id"], request_key(body))
    await submit_modal(ack, work(), "user")


async def update_submitted(ack: AsyncAck, body: dict, view: dict, context: AsyncBoltContext) -> None:
    values, channel = _values(view), view["private_metadata"]

    async def work():
        status = _choice(Status, values[ActionId.STATUS_INPUT]) if values.get(ActionId.STATUS_INPUT) else None
        publish = "publish" in (values.get(ActionId.PUBLISH_INPUT) or [])
        public_text = (values.get(ActionId.PUBLIC_TEXT_INPUT) or "").strip() if publish else None
        if publish and not public_text:
            raise DomainError("Write what customers should read, or untick the box.")
        return await deps_of(context).incidents.post_update(channel, values.get(ActionId.UPDATE_TEXT_INPUT) or "",
                                                            status, body["user"]["id"], request_key(body),
                                                            public_text=public_text)
    await submit_modal(ack, work(), "text")


async def resolve_submitted(ack: AsyncAck, body: dict, view: dict, context: AsyncBoltContext) -> None:
    values, channel = _values(view), view["private_metadata"]
    await submit_modal(ack, deps_of(context).incidents.resolve(channel, values.get(ActionId.SUMMARY_INPUT) or "",
                                                               body["user"]["id"], request_key(body)), "summary")


def _choice(enum, value, convert=str):
    """One of the modal's own options; a forged value is refused inside the modal, never an exception."""
    try:
        return enum(convert(value))
    except (TypeError, ValueError):
        log.warning("malformed_payload_value", field=enum.__name__)
        raise DomainError(FORGED) from None


async def _tell(client, channel: str, user: str, text: str) -> None:
    """Only for them, where they were; where warroom cannot post (a DM, a private channel it is not in), as a DM."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
        return
    except Exception:
        log.info("ephemeral_reply_failed", channel=channel)
    try:
        await client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.warning("reply_not_delivered", user=user)
