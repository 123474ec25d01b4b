"""Modal submissions: declare, assign a role, post an update, resolve.

Work that can be refused runs before the ack, so that a refusal shows inside the modal itself.
"""

from __future__ import annotations

import structlog
from slack_bolt.async_app import AsyncApp

from bot.core.incident import DomainError, Role, Severity, Status
from bot.services.incidents import Duplicate
from bot.slack.commands import declared_reply
from bot.slack.handling import FORGED, SlackDeps, submit_modal
from bot.slack.ids import ActionId, CallbackId

log = structlog.get_logger("warroom.slack")


def _values(view: dict) -> dict:
    flat = {}
    for block in view["state"]["values"].values():
        for action_id, entry in block.items():
            if "selected_option" in entry:
                flat[action_id] = (entry["selected_option"] or {}).get("value")
            elif "selected_user" in entry:
                flat[action_id] = entry["selected_user"]
            else:
                flat[action_id] = entry.get("value")
    return flat


def register(app: AsyncApp, deps: SlackDeps) -> None:
    service = deps.incidents

    @app.view(CallbackId.DECLARE_MODAL)
    async def declare_submitted(ack, body, view, client):
        values = _values(view)
        user = body["user"]["id"]
        title = (values.get(ActionId.TITLE_INPUT) or "").strip()

        async def check():  # what can be wrong with the form shows in the form; the rest comes after the ack
            if not title:
                raise DomainError("An incident needs a title.")
            return _choice(Severity, values.get(ActionId.SEVERITY_INPUT), int)
        severity = await submit_modal(ack, check(), "title")
        if severity is None:
            return

        async def declare():  # the on-call lookup may wait on PagerDuty: after the ack, as a job of its own
            try:
                result = await service.declare(
                    title=title, severity=severity, actor=user, request_key=f"view:{view['id']}",
                    description=values.get(ActionId.DESCRIPTION_INPUT) or "",
                    service=values.get(ActionId.SERVICE_INPUT) or "")
            except Duplicate:
                return
            except DomainError as exc:
                await _tell(client, view.get("private_metadata") or user, user, f":warning: {exc}")
                return
            except Exception:
                log.exception("declare_failed")
                await _tell(client, view.get("private_metadata") or user, user, ":x: Something went wrong on "
                            "warroom's side and has been logged. Check `/incident list` before declaring again.")
                return
            await _tell(client, view.get("private_metadata") or user, user, declared_reply(result, False, False))
        deps.jobs.spawn(declare(), "declare")

    @app.view(CallbackId.ROLE_MODAL)
    async def role_submitted(ack, body, view):
        values = _values(view)
        channel = view["private_metadata"]

        async def work():
            return await service.assign_role(channel, _choice(Role, values.get(ActionId.ROLE_INPUT)),
                                             str(values.get(ActionId.USER_INPUT) or ""), body["user"]["id"],
                                             f"view:{view['id']}")
        await submit_modal(ack, work(), "user")

    @app.view(CallbackId.UPDATE_MODAL)
    async def update_submitted(ack, body, view):
        values = _values(view)
        channel = view["private_metadata"]

        async def work():
            status = _choice(Status, values[ActionId.STATUS_INPUT]) if values.get(ActionId.STATUS_INPUT) else None
            return await service.post_update(channel, values.get(ActionId.UPDATE_TEXT_INPUT) or "", status,
                                             body["user"]["id"], f"view:{view['id']}")
        await submit_modal(ack, work(), "text")

    @app.view(CallbackId.RESOLVE_MODAL)
    async def resolve_submitted(ack, body, view):
        values = _values(view)
        channel = view["private_metadata"]
        await submit_modal(ack, service.resolve(channel, values.get(ActionId.SUMMARY_INPUT) or "", body["user"]["id"],
                                           f"view:{view['id']}"), "summary")


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
