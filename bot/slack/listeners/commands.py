"""/incident, /postmortem and /oncall."""

from __future__ import annotations

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.alerts import noise_line
from bot.core.incident import DomainError, Severity
from bot.core.postmortem import PostmortemState
from bot.slack.blocks import alerts as alert_blocks
from bot.slack.blocks import incidents as blocks
from bot.slack.blocks import paging as paging_blocks
from bot.slack.blocks import runbooks as runbook_blocks
from bot.slack.blocks.incidents import sections
from bot.slack.listeners.handling import (
    SlackDeps,
    deps_of,
    guarded,
    open_view,
    request_key,
    responder,
)
from bot.slack.parsing import Parsed, parse
from bot.slack.text import parse_user, safe, slack_date

log = structlog.get_logger("warroom.slack")
TITLE_SHOWN = 250
DEFAULT_SEVERITY = Severity.SEV3


async def incident(ack: AsyncAck, command: dict, respond: AsyncRespond, client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
    await ack()
    try:
        parsed = parse(command.get("text", ""))
    except DomainError as exc:
        await responder(respond)(f":warning: {exc}")
        return
    structlog.contextvars.bind_contextvars(channel=command["channel_id"], user=command["user_id"])
    await guarded(responder(respond), _run(parsed, command, respond, client, deps_of(context)))


async def postmortem(ack: AsyncAck, command: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    deps = deps_of(context)
    # Drafting reads the whole war room: a job of its own, so nobody else's request waits behind it.
    deps.jobs.spawn(guarded(responder(respond), _postmortem(command, respond, deps)), "postmortem")


async def oncall(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    deps = deps_of(context)
    # Rotations from PagerDuty ask its /oncalls: a job of its own, like every slow answer.
    deps.jobs.spawn(guarded(responder(respond), _oncall(respond, deps)), "oncall")


async def _oncall(respond, deps: SlackDeps) -> None:
    holders, upcoming = await deps.oncall.overview()
    if not any(holder.users for holder in holders):
        await responder(respond)("No on-call people are configured (config.yaml, section `oncall`).")
        return
    text, rendered = paging_blocks.oncall_overview(holders, upcoming)
    await respond(text=text, blocks=rendered, response_type="ephemeral")


async def _run(parsed: Parsed, command: dict, respond, client, deps: SlackDeps) -> None:
    reply = responder(respond)
    channel, user = command["channel_id"], command["user_id"]
    key = request_key(command)
    service = deps.incidents
    if parsed.name == "help":
        await respond(text=blocks.HELP, blocks=blocks.help_blocks(), response_type="ephemeral")
    elif parsed.name == "declare":
        if not parsed.text:
            await open_view(client, command["trigger_id"],
                            blocks.declare_modal(deps.settings.policies, channel))
            return
        severity = parsed.severity or DEFAULT_SEVERITY

        async def declare() -> None:  # the on-call lookup may wait on PagerDuty: a job of its own
            result = await service.declare(title=parsed.text, severity=severity, actor=user, request_key=key,
                                           is_drill=parsed.drill)
            await reply(declared_reply(result, parsed.severity is None, len(parsed.text) > TITLE_SHOWN))
        deps.jobs.spawn(guarded(reply, declare()), "declare")
    elif parsed.name == "sev":
        incident = await service.change_severity(channel, parsed.severity, user, key)
        await reply(f"Severity is now {incident.severity.label}.")
    elif parsed.name == "role":
        incident = await service.assign_role(channel, parsed.role, parsed.user, user, key)
        await reply(f"<@{parsed.user}> is {parsed.role.label} on {incident.reference}.")
    elif parsed.name == "update":
        if not parsed.text:
            incident = await service.incident_in(channel)
            public_text = await deps.public.draft(incident) if deps.public is not None else None
            await open_view(client, command["trigger_id"],
                            blocks.update_modal(channel, incident.status, public_text=public_text))
            return
        await service.post_update(channel, parsed.text, parsed.status, user, key)
    elif parsed.name == "timeline":
        incident = await service.add_note(channel, parsed.text, user, key)
        await reply(f":pushpin: Added to the {incident.reference} timeline.")
    elif parsed.name == "resolve":
        incident = await service.check_may(channel, "resolve", user)
        await open_view(client, command["trigger_id"],
                        blocks.resolve_modal(channel, incident, parsed.text))
    elif parsed.name == "runbook" and deps.runbooks is not None:
        await _runbook(parsed.text, channel, user, key, respond, deps)
    elif parsed.name == "action" and deps.action_items is not None:
        item = await deps.action_items.add(channel, parsed.text, user, key)
        await reply(f":pushpin: Added action item #{item.id} ({item.priority}) to {incident_ref(item)}.")
    elif parsed.name == "actions" and deps.action_items is not None:
        await _actions(parsed.text, channel, user, respond, deps)
    elif parsed.name == "alerts" and deps.alerts is not None:
        await _alerts(parsed.text, channel, respond, deps)
    elif parsed.name == "statuspage" and deps.public is not None:
        public = await deps.public.publish(channel, parsed.text, user, key)
        await reply(f":satellite_antenna: Published to the status page ({public.status.label}).")
    elif parsed.name == "automation" and deps.remediation is not None:
        await _automation(parsed.text, channel, user, key, respond, deps)
    elif parsed.name == "status":
        await _status(channel, respond, deps)
    elif parsed.name == "list":
        await _list(respond, deps)
    else:
        raise DomainError(f"`/incident {parsed.name}` is not available in this version of warroom yet.")


async def _runbook(name: str, channel: str, user: str, key: str, respond, deps: SlackDeps) -> None:
    if name:
        run = await deps.runbooks.start(channel, name.split()[0].lower(), user, key)
        await responder(respond)(f":blue_book: Started *{safe(run.runbook.title, 200)}* in this war room.")
        return
    _, suggested, everything = await deps.runbooks.choices(channel)
    await respond(text="Pick a runbook", blocks=runbook_blocks.picker(suggested, everything),
                  response_type="ephemeral")


def incident_ref(item) -> str:
    return f"INC-{item.incident_id}"


async def _actions(which: str, channel: str, user: str, respond, deps: SlackDeps) -> None:
    person = parse_user(which.strip()) if which.strip() else None
    which = which.strip().lower()
    today = deps.clock.now().date()
    if person:
        title, items = f"Open action items of <@{person}>", await deps.action_items.open_for(person)
    elif which == "overdue":
        title, items = "Overdue action items", await deps.action_items.overdue()
    elif which in ("mine", "my") or (not which and (await deps.incidents.find_in(channel)) is None):
        title, items = "Your open action items", await deps.action_items.open_for(user)
    elif which:
        raise DomainError("Usage: `/incident actions` (this incident's, or yours outside a war room), "
                          "`/incident actions mine`, `/incident actions @person`, `/incident actions overdue`.")
    else:
        incident = await deps.incidents.find_in(channel)
        title, items = f"Action items of {incident.reference}", await deps.action_items.of_incident(incident.id)
    await respond(text=title, blocks=blocks.action_items(title, items, today), response_type="ephemeral")


async def _postmortem(command: dict, respond, deps: SlackDeps) -> None:
    text = command.get("text", "").strip()
    if text.lower().startswith("action "):  # follow-ups found while writing the post-mortem
        item = await deps.action_items.add(command["channel_id"], text[len("action "):], command["user_id"],
                                           request_key(command))
        await responder(respond)(f":pushpin: Added action item #{item.id} ({item.priority}); drafting again "
                                 "with `/postmortem` puts it in the action-item table.")
        return
    words = text.split()
    action = words[0].lower() if words and words[0].lower() in {"review", "publish"} else None
    reference = (words[1] if action and len(words) > 1 else (words[0] if words and not action else ""))
    service = deps.postmortems
    incident = await service.find_incident(command["channel_id"], reference)
    if action:
        state = {"review": PostmortemState.IN_REVIEW, "publish": PostmortemState.PUBLISHED}[action]
        await service.advance(incident, state, command["user_id"])
        await responder(respond)(f":memo: The post-mortem of {incident.reference} is now {state.label}.")
        return
    draft = await service.draft(incident, command["user_id"])
    text = f":memo: Drafting the post-mortem of {incident.reference}; it will appear in #{incident.channel_name}."
    if draft.due_at:
        text += f" Due {slack_date(draft.due_at)}."
    if draft.flags:
        text += f"\n*Blameless check:* {len(draft.flags)} sentence(s) name a person as the cause:"
        for flag in draft.flags[:5]:
            text += f"\n• “{safe(flag['sentence'], 200)}” → {safe(flag['suggestion'], 200)}"
    await responder(respond)(text)


async def _alerts(which: str, channel: str, respond, deps: SlackDeps) -> None:
    if which.strip().lower() == "noise":
        rows = await deps.alerts.noise()
        title = "Alert noise, last 7 days (least acted on first)"
        await respond(text=title, response_type="ephemeral",
                      blocks=alert_blocks.noise_report(title, [noise_line(row) for row in rows]))
        return
    if which.strip():
        raise DomainError("Usage: `/incident alerts` (this war room's alerts) or `/incident alerts noise`.")
    incident = await deps.incidents.incident_in(channel)
    groups = await deps.alerts.of_incident(incident.id)
    if not groups:
        await responder(respond)(f"No alerts are attached to {incident.reference}.")
        return
    rendered = []
    for group in groups[:5]:
        seen = await deps.alerts.view(group.id)
        rendered += alert_blocks.group_message(group, seen.severity, ask=False, runbook=seen.runbook,
                                               flapping=seen.flapping)
    await respond(text=f"Alerts of {incident.reference}", blocks=rendered[:50], response_type="ephemeral")


async def _automation(text: str, channel: str, user: str, key: str, respond, deps: SlackDeps) -> None:
    verb, _, why = text.strip().partition(" ")
    verb = verb.lower()
    if not verb:
        status = await deps.remediation.status()
        await respond(text=status.splitlines()[0], blocks=sections(status), response_type="ephemeral")
        return
    if verb not in ("pause", "resume"):
        raise DomainError("Usage: `/incident automation` (its state), `/incident automation pause <why>` or "
                          "`/incident automation resume [why]`.")
    if verb == "pause" and not why.strip():
        raise DomainError("Say why, so the room knows: `/incident automation pause <why>`.")
    await responder(respond)(await deps.remediation.set_paused(verb == "pause", channel, user, why.strip(), key))


async def _status(channel: str, respond, deps: SlackDeps) -> None:
    incident = await deps.incidents.find_in(channel)
    if incident is None:
        await _list(respond, deps)
        return
    suggested = deps.runbooks.suggested_for(incident) if deps.runbooks else []
    await respond(text=blocks.card_fallback(incident), response_type="ephemeral",
                  blocks=blocks.status_reply(incident, deps.settings.policies, deps.clock.now(), suggested))


async def _list(respond, deps: SlackDeps) -> None:
    overview = await deps.incidents.overview()
    await respond(text=f"{len(overview.open)} open incidents", response_type="ephemeral",
                  blocks=blocks.incident_list(overview.open, overview.recently_resolved, deps.clock.now()))


def declared_reply(result, defaulted: bool, long_title: bool) -> str:
    incident = result.incident
    if not result.created:
        return (f":information_source: {incident.reference} “{safe(incident.title, 200)}” is already open "
                f"(declared by <@{incident.declared_by}>); I've added you to #{incident.channel_name}.")
    text = (f":rotating_light: Declared {incident.reference} ({incident.severity.label}). Opening "
            f"#{incident.channel_name}; you'll be invited in a moment.")
    if defaulted:
        text += f" No severity given: {incident.severity.label} by default; change it with `/incident sev <1-4>`."
    if long_title:
        text += f" The title is long: Slack shows its first {TITLE_SHOWN} characters; all of it is kept."
    return text
