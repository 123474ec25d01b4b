"""Block Kit for the card, the war-room messages and the modals, built with slack_sdk.models so that
Slack's limits are checked when a message is built, not when Slack rejects it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.core.incident import Incident, Role, Severity, Status, format_duration, person
from bot.core.severity import SeverityPolicy
from bot.slack.ids import ActionId, CallbackId
from bot.slack.text import mention, safe, slack_date, truncate

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
OPTION_LIMIT = 75
SEVERITY_EMOJI = {Severity.SEV1: ":red_circle:", Severity.SEV2: ":large_orange_circle:",
                  Severity.SEV3: ":large_yellow_circle:", Severity.SEV4: ":white_circle:"}
STATUS_EMOJI = {Status.INVESTIGATING: ":mag:", Status.IDENTIFIED: ":bulb:", Status.MONITORING: ":eyes:",
                Status.RESOLVED: ":white_check_mark:"}

Blocks = list[dict[str, Any]]


def render(blocks) -> Blocks:
    return [block.to_dict() for block in blocks]


def severity_option(policy: SeverityPolicy) -> Option:
    return Option(value=str(policy.severity.value),
                  text=truncate(f"{policy.severity.label} · {policy.name}", OPTION_LIMIT),
                  description=truncate(policy.description, OPTION_LIMIT))


def incident_card(incident: Incident, policies: dict[Severity, SeverityPolicy], now: datetime,
                  suggested_runbooks: list | None = None, alerts: tuple[int, int] | None = None,
                  status_page: str | None = None, public=None) -> Blocks:
    """`alerts`: (firing, resolved) of the alerts that opened it; `status_page`: the public page's address ("" when
    it has none), when warroom keeps one: the card links it and has a *Status page* button."""
    policy = policies[incident.severity]
    drill = " [DRILL]" if incident.is_drill else ""
    header = truncate(f"{incident.reference}{drill} · {incident.severity.label} · {incident.title}", HEADER_LIMIT)
    responders = ", ".join(mention(u) for u in incident.responders[:20]) or "_none yet_"
    if len(incident.responders) > 20:
        responders += f" and {len(incident.responders) - 20} more"
    fields = [
        MarkdownTextObject(text=f"*Severity*\n{SEVERITY_EMOJI[incident.severity]} {incident.severity.label} · {policy.name}"),
        MarkdownTextObject(text=f"*Status*\n{STATUS_EMOJI[incident.status]} {incident.status.label}"),
        MarkdownTextObject(text=f"*Incident Commander*\n{mention(incident.commander)}"),
        MarkdownTextObject(text=f"*Communicator*\n{mention(incident.communicator)}"),
        MarkdownTextObject(text=truncate(f"*Responders*\n{responders}", FIELD_LIMIT)),
        MarkdownTextObject(text=f"*Started*\n{slack_date(incident.declared_at)} by {person(incident.declared_by)}"),
    ]
    if incident.impact_started_at is not None:
        fields.append(MarkdownTextObject(text=f"*Impact began*\n{slack_date(incident.impact_started_at)}, detected "
                                              f"after {format_duration(incident.time_to_detect)}"))
    if incident.acknowledged_by:
        took = format_duration(incident.acknowledged_at - incident.declared_at) if incident.acknowledged_at else "—"
        fields.append(MarkdownTextObject(text=f"*Acknowledged*\n{person(incident.acknowledged_by)} after {took}"))
    if incident.is_open:
        fields.append(MarkdownTextObject(
            text=f"*Elapsed*\n{format_duration(now - incident.declared_at)} (since {slack_date(incident.declared_at, '{ago}')})"))
        fields.append(MarkdownTextObject(text=f"*Respond within*\n{policy.response_time}"))
    else:
        durations = incident.durations()
        fields.append(MarkdownTextObject(text="*Time to acknowledge / mitigate / resolve*\n" + " / ".join(
            format_duration(durations[key]) for key in ("acknowledge", "mitigate", "resolve"))))
        fields.append(MarkdownTextObject(text=f"*Resolved*\n{slack_date(incident.resolved_at)}"))
    blocks: list = [HeaderBlock(text=header), SectionBlock(fields=fields)]
    details = []
    if incident.description:
        details.append(f"*Impact:* {safe(incident.description, 1500)}")
    if incident.service:
        details.append(f"*Service:* {safe(incident.service, 200)}")
    if incident.summary:
        details.append(f"*Resolution:* {safe(incident.summary, 1000)}")
    if public is not None:  # what customers read now (bot/core/status_page.py PublicIncident)
        said = f" · “{safe(public.updates[0].text, 300)}”" if public.updates else ""
        shows = safe(", ".join(public.components), 300) or "no component yet"
        state = "Resolved" if not public.is_open else f"{public.impact.label} ({public.status.label})"
        details.append(f"*Status page:* {state} · {shows}{said}")
    if alerts is not None:  # at most 10 fields in a section: the alerts go with the details
        details.append(f"*Alerts:* :fire: {alerts[0]} firing · :white_check_mark: {alerts[1]} resolved")
    if details:
        blocks.append(SectionBlock(text=truncate("\n".join(details), SECTION_LIMIT)))
    links = [f"War room: <#{incident.channel_id}>" if incident.channel_id else f"War room: #{incident.channel_name}"]
    if incident.pagerduty_id:
        target = incident.pagerduty_url or ""
        links.append(f":pager: PagerDuty: <{target}|{safe(incident.pagerduty_id, 40)}>" if target.startswith("https://")
                     else f":pager: PagerDuty: {safe(incident.pagerduty_id, 40)}")
    if status_page and not incident.is_drill:
        links.append(f":satellite_antenna: Customers see: <{status_page}|the status page>")
    for runbook in (suggested_runbooks or [])[:2]:
        links.append(f":blue_book: Suggested runbook: *{safe(runbook.title, 100)}* (`/incident runbook {runbook.id}`)")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(links))]))
    if incident.is_open:
        blocks.append(ActionsBlock(block_id="incident_card_actions", elements=[
            StaticSelectElement(action_id=ActionId.SEVERITY_SELECT, placeholder="Change severity",
                                options=[severity_option(p) for p in policies.values()],
                                initial_option=severity_option(policy)),
            ButtonElement(text="Assign role", action_id=ActionId.ASSIGN_ROLE, value="role"),
            ButtonElement(text="Post update", action_id=ActionId.POST_UPDATE, value="update", style="primary"),
            ButtonElement(text="Resolve", action_id=ActionId.RESOLVE, value="resolve", style="danger"),
            *([ButtonElement(text="Status page", action_id=ActionId.STATUS_PAGE, value="status_page")]
              if status_page is not None and not incident.is_drill else []),
        ]))
    return render(blocks)


def card_fallback(incident: Incident) -> str:
    return f"{incident.reference} {incident.severity.label} ({incident.status.label}): {safe(incident.title, 2900)}"


def resolve_prompt(text: str, channel_id: str) -> Blocks:
    """A question to the IC with the card's own Resolve button (it opens the resolve form, checked as usual)."""
    return render([SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))),
                   ActionsBlock(elements=[ButtonElement(text="Resolve", action_id=ActionId.RESOLVE,
                                                        value=channel_id, style="primary")])])


def section(text: str) -> Blocks:
    return render([SectionBlock(text=truncate(text, SECTION_LIMIT))])


def assessment(incident: Incident, policy: SeverityPolicy, paged: list[str]) -> str:
    impact = safe(incident.description, 1200) if incident.description else "being assessed"
    lines = [f":rotating_light: *INCIDENT:* {safe(incident.title, 500)}",
             f"*Severity:* {incident.severity.label} ({policy.name}). *Impact:* {impact}. *Investigating.*"]
    if incident.service:
        lines.append(f"*Service:* {safe(incident.service, 200)}")
    lines.append(f"Response expected within {policy.response_time}.")
    if paged:
        lines.append("Paging " + ", ".join(mention(u) for u in paged) + ".")
    elif policy.page and not incident.is_drill:
        lines.append(f":warning: No one is configured for {', '.join(policy.page)} on-call; page people by hand.")
    lines.append("Take a role with `/incident role ic @you`; post updates with `/incident update`.")
    return "\n".join(lines)


def declared_announcement(incident: Incident, policy: SeverityPolicy, leadership_group: str | None,
                          public_url: str | None = None) -> str:
    room = f"<#{incident.channel_id}>" if incident.channel_id else f"#{incident.channel_name}"
    drill = " (drill)" if incident.is_drill else ""
    text = (f"{SEVERITY_EMOJI[incident.severity]} *{incident.severity.label} incident declared{drill}:* "
            f"{safe(incident.title, 500)}\nDeclared by {mention(incident.declared_by)} · join {room}")
    if public_url and policy.status_page.value != "none" and not incident.is_drill:
        text += f" · customers see <{public_url}|the status page>"
    if leadership_group and policy.notify_leadership and not incident.is_drill:
        text += f"\n<!subteam^{leadership_group}> for your awareness"
    return text


def update_message(incident: Incident, text: str, actor: str, status: str) -> str:
    return (f"{STATUS_EMOJI[Status(status)]} *Update* ({Status(status).label}) from {mention(actor)} on "
            f"{incident.reference}:\n{safe(text, 2700)}")


def resolved_message(incident: Incident, summary: str, actor: str, postmortem_required: bool,
                     where: str = "room") -> str:
    durations = incident.durations()
    head = ":white_check_mark: *All clear:* " if where == "room" else ":white_check_mark: *Resolved:* "
    text = (f"{head}{incident.reference} {safe(incident.title, 300)} was resolved by {person(actor)}.\n"
            f"Time to acknowledge {format_duration(durations['acknowledge'])} · mitigate "
            f"{format_duration(durations['mitigate'])} · resolve {format_duration(durations['resolve'])}")
    if summary:
        text += f"\n*Summary:* {safe(summary, 1500)}"
    if postmortem_required:
        text += f"\n:memo: A post-mortem is required for {incident.severity.label}: due within 48 hours."
    return text


def reminder(incident: Incident, policy: SeverityPolicy, kind: str, silent_for: str,
             snooze_minutes: int) -> tuple[str, Blocks]:
    if kind == "ic_nudge":
        text = (f":warning: *{incident.reference} has had no Incident Commander for {silent_for}.* Someone take it: "
                f"`/incident role ic @you` ({mention(incident.declared_by)}, this needs an owner).")
        return text, section(text)
    owner = incident.communicator or incident.commander
    who = mention(owner) if owner else "Whoever is leading"
    cadence = format_duration(policy.update_every) if policy.update_every else "—"
    text = (f":alarm_clock: *Status update due* on {incident.reference} ({incident.severity.label}): nothing posted "
            f"for {silent_for}. {who}, please post one for stakeholders (every {cadence} for "
            f"{incident.severity.label}).")
    return text, render([SectionBlock(text=text), ActionsBlock(block_id="reminder_actions", elements=[
        ButtonElement(text="Post update", action_id=ActionId.POST_UPDATE, value="update", style="primary"),
        ButtonElement(text=f"Snooze {snooze_minutes} min", action_id=ActionId.SNOOZE_REMINDER, value="snooze")])])


def action_item_line(item) -> str:
    parts = [f"#{item.id} ({item.priority})", safe(item.text, 2000)]
    if item.owner:
        parts.append(f"owner {mention(item.owner)}")
    if item.due:
        parts.append(f"due {item.due.isoformat()}")
    return " · ".join(parts) + f" · INC-{item.incident_id}"


def action_items(title: str, items: list, today) -> Blocks:
    blocks: list = [SectionBlock(text=truncate(f"*{title}*", SECTION_LIMIT))]
    if not items:
        blocks.append(SectionBlock(text="Nothing here. :tada:"))
    for item in items[:45]:
        mark = ":white_check_mark:" if not item.is_open else (":warning:" if item.overdue(today) else ":pushpin:")
        text = truncate(f"{mark} {action_item_line(item)}", SECTION_LIMIT)
        accessory = (ButtonElement(text="Done", action_id=ActionId.ACTION_ITEM_DONE, value=str(item.id))
                     if item.is_open else None)
        blocks.append(SectionBlock(text=text, accessory=accessory))
    if len(items) > 45:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(items) - 45} more")]))
    return render(blocks)


def topic(incident: Incident) -> str:
    """Severity, commander and title: what changes seldom. Every topic change leaves a line in the channel, so
    the status (investigating, identified, ...) lives on the pinned card, and only the resolve shows here."""
    owner = f"IC <@{incident.commander}>" if incident.commander else "no IC yet"
    state = "Resolved · " if not incident.is_open else ""
    return truncate(f"{state}{incident.severity.label} · {owner} · "
                    f"{incident.title.replace('<', '‹').replace('>', '›')}", 250)


def purpose(incident: Incident) -> str:
    return truncate(f"War room for {incident.reference}: {incident.title.replace('<', '‹').replace('>', '›')}", 250)


# -- modals -------------------------------------------------------------------------------------------

def declare_modal(policies: dict[Severity, SeverityPolicy], channel_id: str) -> dict:
    default = policies[Severity.SEV2]
    return View(type="modal", callback_id=CallbackId.DECLARE_MODAL, title="Declare an incident",
                submit="Declare", close="Cancel", private_metadata=channel_id, blocks=[
                    InputBlock(block_id="title", label="Title", element=PlainTextInputElement(
                        action_id=ActionId.TITLE_INPUT, max_length=250,
                        placeholder="e.g. Payments API returning 503")),
                    InputBlock(block_id="severity", label="Severity", element=StaticSelectElement(
                        action_id=ActionId.SEVERITY_INPUT, options=[severity_option(p) for p in policies.values()],
                        initial_option=severity_option(default))),
                    InputBlock(block_id="description", label="Impact", optional=True, element=PlainTextInputElement(
                        action_id=ActionId.DESCRIPTION_INPUT, multiline=True, max_length=2500,
                        placeholder="Who is affected and how?")),
                    InputBlock(block_id="service", label="Affected service", optional=True,
                               element=PlainTextInputElement(action_id=ActionId.SERVICE_INPUT, max_length=100)),
                ]).to_dict()


def role_modal(channel_id: str) -> dict:
    return View(type="modal", callback_id=CallbackId.ROLE_MODAL, title="Assign a role", submit="Assign",
                close="Cancel", private_metadata=channel_id, blocks=[
                    InputBlock(block_id="role", label="Role", element=StaticSelectElement(
                        action_id=ActionId.ROLE_INPUT,
                        options=[Option(value=r.value, text=r.label) for r in Role])),
                    InputBlock(block_id="user", label="Person", element=UserSelectElement(
                        action_id=ActionId.USER_INPUT, placeholder="Choose someone")),
                ]).to_dict()


def update_modal(channel_id: str, current: Status, text: str = "", public_text: str | None = None) -> dict:
    """`public_text`: what customers would read, pre-filled from the template, when the update may also go to the
    status page (never the text above it: the war room's words stay in the war room)."""
    options = [Option(value=s.value, text=s.label) for s in Status if s is not Status.RESOLVED]
    inputs = [
        InputBlock(block_id="status", label="Status", element=StaticSelectElement(
            action_id=ActionId.STATUS_INPUT, options=options,
            initial_option=[o for o in options if o.value == current.value][0])),
        InputBlock(block_id="text", label="What is happening?", element=PlainTextInputElement(
            action_id=ActionId.UPDATE_TEXT_INPUT, multiline=True, max_length=2900,
            initial_value=text[:2900] or None)),
    ]
    if public_text is not None:
        publish = Option(value="publish", text="Also publish to the status page")
        inputs += [
            InputBlock(block_id="publish", label="Status page", optional=True, element=CheckboxesElement(
                action_id=ActionId.PUBLISH_INPUT, options=[publish])),
            InputBlock(block_id="public_text", label="What customers read", optional=True,
                       hint="Published only with the box above ticked; keep internal details out.",
                       element=PlainTextInputElement(action_id=ActionId.PUBLIC_TEXT_INPUT, multiline=True,
                                                     max_length=2000, initial_value=public_text[:2000] or None)),
        ]
    return View(type="modal", callback_id=CallbackId.UPDATE_MODAL, title="Post an update", submit="Post",
                close="Cancel", private_metadata=channel_id, blocks=inputs).to_dict()


def resolve_modal(channel_id: str, incident: Incident, summary: str = "") -> dict:
    return View(type="modal", callback_id=CallbackId.RESOLVE_MODAL, title="Resolve the incident", submit="Resolve",
                close="Cancel", private_metadata=channel_id, blocks=[
                    SectionBlock(text=truncate(f"Resolve *{incident.reference}* · {safe(incident.title, 400)}? "
                                               "The war room, the announcement channel and the status page will "
                                               "be told it is over.", SECTION_LIMIT)),
                    InputBlock(block_id="summary", label="Summary", optional=True, element=PlainTextInputElement(
                        action_id=ActionId.SUMMARY_INPUT, multiline=True, max_length=3000,
                        initial_value=summary[:3000] or None, placeholder="What fixed it?")),
                ]).to_dict()


# -- replies to commands ------------------------------------------------------------------------------

def status_reply(incident: Incident, policies, now: datetime, suggested_runbooks: list | None = None) -> Blocks:
    card = incident_card(incident, policies, now, suggested_runbooks)
    return card[:-1] if incident.is_open else card


def incident_list(open_incidents: Sequence[Incident], resolved: Sequence[Incident], now: datetime) -> Blocks:
    blocks: list = [HeaderBlock(text=f"Open incidents ({len(open_incidents)})")]
    if not open_incidents:
        blocks.append(SectionBlock(text=":sunny: No open incidents."))
    for incident in open_incidents[:40]:
        room = f"<#{incident.channel_id}>" if incident.channel_id else f"#{incident.channel_name}"
        blocks.append(SectionBlock(text=truncate(
            f"{SEVERITY_EMOJI[incident.severity]} *{incident.reference}* {incident.severity.label} · "
            f"{incident.status.label} · {safe(incident.title, 300)}\n{room} · IC {mention(incident.commander)} · "
            f"open {format_duration(now - incident.declared_at)}", SECTION_LIMIT)))
    if len(open_incidents) > 40:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(open_incidents) - 40} more")]))
    if resolved:
        blocks.append(DividerBlock())
        lines = [f"• {i.reference} {i.severity.label} · {safe(i.title, 150)} (resolved {slack_date(i.resolved_at)})"
                 for i in resolved]
        blocks.append(SectionBlock(text=truncate("*Recently resolved*\n" + "\n".join(lines), SECTION_LIMIT)))
    return render(blocks)


HELP = """*warroom — incident commands*
`/incident declare [sev1|sev2|sev3|sev4] <title>` declare an incident (no title: a form)
`/incident declare --drill [sevN] <title>` a practice incident that pages only the drill audience
`/incident sev <1-4>` change the severity
`/incident role <ic|responder|communicator> @person` hand out a role
`/incident update [investigating|identified|monitoring] <text>` post a status update (no text: a form)
`/incident action <what> [@owner] [due:YYYY-MM-DD] [P0|P1|P2]` add an action item · `/incident actions [mine|overdue]`
`/incident timeline <text>` add a note to the timeline (a :pushpin: reaction or a pin adds a message)
`/incident runbook [id]` walk a runbook step by step (no id: suggestions first)
`/incident resolve [summary]` resolve, after a confirmation
`/incident alerts` the alerts of this war room, with their state and links
`/incident statuspage <text>` publish what customers read (the Communicator or the IC)
`/incident automation [pause|resume <why>]` automated remediation: its policies and last runs, or stop it all
`/incident status` · `/incident list` · `/incident help` · `/oncall` who is on call, and the next hand-off
Severities: SEV-1 critical (respond in 5 min) · SEV-2 major (15 min) · SEV-3 minor (1 h) · SEV-4 low (next business day)"""


def sections(text: str) -> list:
    """Text in sections of at most 3,000 characters, cut between lines."""
    blocks, part = [], ""
    for line in text.splitlines():
        if part and len(part) + len(line) + 1 > SECTION_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=part)))
            part = ""
        part = f"{part}\n{line}" if part else line[:SECTION_LIMIT]
    if part:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=part)))
    return render(blocks[:50])


def help_blocks() -> Blocks:
    return section(HELP)


__all__ = ["incident_card", "card_fallback", "assessment", "declared_announcement", "update_message",
           "resolved_message", "topic", "purpose", "declare_modal", "role_modal", "update_modal", "resolve_modal",
           "status_reply", "incident_list", "help_blocks", "section"]
