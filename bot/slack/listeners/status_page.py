"""The status page from Slack: the card's *Status page* button and its form (affected components), the SEV-1
reminder's *Still investigating*, and `/incident statuspage <text>` (in commands.py)."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import DomainError
from bot.slack.blocks import status_page as blocks
from bot.slack.ids import ActionId
from bot.slack.listeners.handling import (
    FORGED,
    deps_of,
    guarded,
    open_view,
    request_key,
    responder,
    submit_modal,
)
from bot.slack.text import safe


async def status_page_clicked(ack: AsyncAck, body: dict, client: AsyncWebClient, respond: AsyncRespond,
                              context: AsyncBoltContext) -> None:
    await ack()
    channel, user = body["channel"]["id"], body["user"]["id"]
    public = deps_of(context).public

    async def open_modal():
        incident, shown = await public.public_of(channel)
        await public.check_may_publish(incident, user)
        names = [c.name for c in public.section.components]
        if not names:
            raise DomainError("No components are configured (config.yaml, `status_page.components`).")
        says = (f"*{shown.impact.label}* · {shown.status.label} · “{safe(shown.updates[0].text, 600)}”"
                if shown and shown.updates else "Not on the status page yet: `/incident statuspage <text>` "
                                                "publishes the first update.")
        await open_view(client, body["trigger_id"], blocks.status_page_modal(
            channel, names, shown.components if shown else (), says))
    await guarded(responder(respond), open_modal())


async def status_page_submitted(ack: AsyncAck, body: dict, view: dict, context: AsyncBoltContext) -> None:
    channel = view["private_metadata"]
    entry = view["state"]["values"].get("components", {}).get(ActionId.COMPONENTS_INPUT, {})
    chosen = [option.get("value", "") for option in entry.get("selected_options") or []
              if isinstance(option, dict)]

    async def work():
        if len(chosen) > 100:
            raise DomainError(FORGED)
        return await deps_of(context).public.set_components(channel, chosen, body["user"]["id"], request_key(body))
    await submit_modal(ack, work(), "components")


async def still_investigating(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond,
                              context: AsyncBoltContext) -> None:
    await ack()
    channel, user = body["channel"]["id"], body["user"]["id"]
    public = deps_of(context).public

    async def work():
        incident, shown = await public.public_of(channel)
        if shown is None or not shown.is_open:
            raise DomainError("This incident is not open on the status page.")
        text = public.section.message("still_investigating", list(shown.components))
        await public.publish(channel, text, user, request_key(body, action))
        return text
    text = await guarded(responder(respond), work())
    if text is not None:
        await respond(text=f":satellite_antenna: Published by <@{user}>: {safe(text, 2000)}", replace_original=True)
