"""The text of each templated message (`Template`), for the war room or the announcement channel."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.core.effects import Message, Template
from bot.core.incident import Incident
from bot.slack.blocks import incidents as blocks

Render = Callable[[Message, Incident, Settings, str], str]


def _commander(incident: Incident) -> str:
    return f"<@{incident.commander}>" if incident.commander else "Incident Commander"


def _severity_changed(message: Message, incident: Incident, settings: Settings, where: str) -> str:
    text = f":rotating_light: {message.text} by <@{message.actor}> on {incident.reference}."
    if message.paged:
        text += " Paging " + ", ".join(f"<@{u}>" for u in message.paged) + "."
    if where != "room":
        text += f" War room: <#{incident.channel_id}>"
    return text


def _postmortem_reminder(message: Message, incident: Incident, settings: Settings, where: str) -> str:
    todo = {"draft": "draft it with `/postmortem`", "review": "get it reviewed (`/postmortem review`)",
            "publish": "publish it (`/postmortem publish`)"}[message.step]
    return f":memo: {_commander(incident)}, the post-mortem of {incident.reference} is due: please {todo}."


RENDER: dict[Template, Render] = {
    Template.ACKNOWLEDGED: lambda m, incident, settings, where: f":white_check_mark: {m.text}.",
    Template.PAGERDUTY_UNREACHABLE: lambda m, incident, settings, where: (
        f":warning: PagerDuty is unreachable ({m.reason}). The war room carries on; warroom keeps retrying and "
        f"will deliver every PagerDuty change in order once it answers again."),
    Template.PAGERDUTY_REFUSED: lambda m, incident, settings, where: (
        f":x: PagerDuty refused to create this incident ({blocks.safe(m.reason, 500)}). Nobody is paged through "
        f"PagerDuty: page the on-call people by hand, and check `pagerduty.service_id` and the API token."),
    Template.PAGERDUTY_BACK: lambda m, incident, settings, where: (
        ":white_check_mark: PagerDuty answers again; queued changes are being delivered in order."),
    Template.PAGERDUTY_RESOLVED_PROMPT: lambda m, incident, settings, where: (
        f":pager: {blocks.safe(m.text, 500)}. {_commander(incident)}, resolve here with `/incident resolve "
        f"<summary>` if the incident is over, or keep working."),
    Template.ASSESSMENT: lambda m, incident, settings, where: blocks.assessment(
        incident, settings.policy(incident.severity), list(m.paged)),
    Template.DECLARED: lambda m, incident, settings, where: blocks.declared_announcement(
        incident, settings.policy(incident.severity), settings.slack.leadership_usergroup,
        settings.file.status_page.public_url),
    Template.SEVERITY_CHANGED: _severity_changed,
    Template.POSTMORTEM_STATE: lambda m, incident, settings, where: (
        f":memo: The post-mortem of {incident.reference} is now *{m.state}* (by <@{m.actor}>)."),
    Template.POSTMORTEM_REMINDER: _postmortem_reminder,
    Template.SLA_NOTICE: lambda m, incident, settings, where: m.text,
    Template.STATUS_PAGE: lambda m, incident, settings, where: m.text,
    Template.ROLE: lambda m, incident, settings, where: f":bust_in_silhouette: {m.text}.",
    Template.UPDATE: lambda m, incident, settings, where: blocks.update_message(incident, m.text, m.actor, m.status),
    Template.RESOLVED: lambda m, incident, settings, where: blocks.resolved_message(
        incident, m.summary, m.actor, m.postmortem_required, where),
}


def render(message: Message, incident: Incident, settings: Settings, where: str = "room") -> str:
    """`where`: "room" for the war room, "announce" for the announcement channel (which links the room)."""
    return RENDER[message.template](message, incident, settings, where)
