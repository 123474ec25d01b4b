"""/sla [service] [YYYY-MM], /sla maintenance [<service> <start> <end>]."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import DomainError
from bot.core.sla import Month
from bot.slack.blocks import sla as blocks
from bot.slack.listeners.handling import (
    SlackDeps,
    deps_of,
    guarded,
    request_key,
    responder,
)
from bot.slack.text import safe, slack_date

log = structlog.get_logger("warroom.slack")
USAGE = ("Usage: `/sla` (this month so far), `/sla <service>`, `/sla 2026-10`, `/sla <service> 2026-10`; "
         "`/sla maintenance` lists scheduled maintenance; `/sla maintenance <service|*> <start> <end>` announces "
         "some, in UTC: `/sla maintenance api 2026-12-05T02:00 2026-12-05T03:00` (the end may be a length: `90m`, "
         "`2h`). Maintenance announced 72 hours or more ahead is kept out of the SLA.")
MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T_](\d{2}:\d{2})(?::00)?Z?$")
LENGTH = re.compile(r"^(\d{1,3})([mh])$")


async def sla(ack: AsyncAck, command: dict, respond: AsyncRespond, client: AsyncWebClient,
              context: AsyncBoltContext) -> None:
    await ack()
    deps = deps_of(context)
    structlog.contextvars.bind_contextvars(channel=command["channel_id"], user=command["user_id"])
    # A report asks Prometheus for a month of samples: a job of its own, like every slow answer.
    deps.jobs.spawn(guarded(responder(respond), _sla(command, respond, client, deps)), "sla")


async def _sla(command: dict, respond, client: AsyncWebClient, deps: SlackDeps) -> None:
    words = command.get("text", "").split()
    if deps.sla is None or not deps.settings.file.sla.services:
        raise DomainError("No SLA is measured here: list the services in config.yaml, section `sla`, and set "
                          "`sla.prometheus_url` (or PROMETHEUS_URL).")
    if words[:1] == ["help"]:
        await responder(respond)(USAGE)
    elif words[:1] == ["maintenance"]:
        await _maintenance(words[1:], command, respond, deps)
    else:
        await _report(words, command, respond, client, deps)


def _parse_report(words: list[str], known: set[str]) -> tuple[str | None, Month | None]:
    service = month = None
    for word in words:
        if re.fullmatch(r"\d{4}-\d{2}", word):
            month = Month.parse(word)
        elif word in known and service is None:
            service = word
        else:
            raise DomainError(f"`{safe(word, 80)}` is neither a service ({', '.join(sorted(known))}) nor a month "
                              f"(YYYY-MM). {USAGE}")
    return service, month


async def _report(words: list[str], command: dict, respond, client: AsyncWebClient, deps: SlackDeps) -> None:
    service, month = _parse_report(words, set(deps.settings.file.sla.services))
    report = await deps.sla.report(month, service)
    if not await deps.sla.sees_customer_credits(command["user_id"]):
        report = dataclasses.replace(report, customers=())  # the tiers' credit percentages stay
    text, rendered = blocks.report_blocks(report)
    await respond(text=text, blocks=rendered, response_type="ephemeral")
    from bot.sla_chart import (
        render_png,  # matplotlib: loaded the first time someone asks for a chart
    )

    png = await asyncio.to_thread(render_png, report)
    # Files cannot be ephemeral: the chart goes to the person's DM with warroom (the post opens it).
    opened = await client.chat_postMessage(channel=command["user_id"], text=f":bar_chart: {text}")
    await client.files_upload_v2(channel=opened["channel"], file=png, filename=f"sla-{report.month}.png",
                                 title=f"SLA {report.month}" + (f" · {service}" if service else ""))


def _moment(text: str, field: str) -> datetime:
    found = MOMENT.match(text)
    if not found:
        raise DomainError(f"The {field} `{safe(text, 40)}` is not a time: use YYYY-MM-DDTHH:MM in UTC, e.g. "
                          f"2026-12-05T02:00.")
    try:
        return datetime.fromisoformat(f"{found[1]}T{found[2]}").replace(tzinfo=UTC)
    except ValueError:
        raise DomainError(f"The {field} `{safe(text, 40)}` is not a date that exists.") from None


def parse_maintenance(words: list[str]) -> tuple[str, datetime, datetime]:
    if len(words) != 3:
        raise DomainError(USAGE)
    service, start = words[0], _moment(words[1], "start")
    length = LENGTH.match(words[2])
    if length:
        end = start + timedelta(**{"minutes" if length[2] == "m" else "hours": int(length[1])})
    else:
        end = _moment(words[2], "end")
    return service, start, end


async def _maintenance(words: list[str], command: dict, respond, deps: SlackDeps) -> None:
    if not words:
        text, rendered = blocks.maintenance_blocks(await deps.sla.upcoming_maintenance())
        await respond(text=text, blocks=rendered, response_type="ephemeral")
        return
    service, start, end = parse_maintenance(words)
    announced = await deps.sla.announce_maintenance(service, start, end, command["user_id"], request_key(command))
    window = announced.window
    counted = ("It is kept out of the SLA." if window.excluded else
               ":warning: It starts less than 72 hours from now, so it *counts against the SLA*: announce "
               "maintenance 72 hours ahead to keep it out.")
    await responder(respond)(f":wrench: Maintenance of *{safe(service, 80)}* from {slack_date(start)} to "
                             f"{slack_date(end)} is announced. {counted}")
