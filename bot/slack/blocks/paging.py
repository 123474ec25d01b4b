"""Block Kit for paging and on-call: the page DM, the hand-off checklist and `/oncall`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.incident import Incident, Severity
from bot.core.oncall import Handoff
from bot.slack.blocks.incidents import SECTION_LIMIT, SEVERITY_EMOJI, Blocks, render
from bot.slack.ids import ActionId
from bot.slack.text import mention, safe, slack_date, truncate


def page(incident: Incident, step: int, steps: int, reason: str = "") -> tuple[str, Blocks]:
    """`reason`: why this page, when it is no step of an escalation chain (automation could not fix an alert)."""
    drill = " (drill)" if incident.is_drill else ""
    why = (f"{safe(reason, 1000)}. Acknowledge to tell the room you are on it." if reason else
           f"escalation step {step} of {steps}. Acknowledge to stop the escalation.")
    text = (f"{SEVERITY_EMOJI[incident.severity]} *You are paged{drill}: {incident.severity.label} "
            f"{incident.reference}* · {safe(incident.title, 500)}\nWar room: <#{incident.channel_id}> · {why}")
    blocks = [SectionBlock(text=truncate(text, SECTION_LIMIT)),
              ActionsBlock(block_id=f"page_{incident.id}", elements=[
                  ButtonElement(text="Acknowledge", action_id=ActionId.PAGE_ACK, value=str(incident.id),
                                style="primary")])]
    step_text = safe(reason, 200) if reason else f"escalation step {step} of {steps}"
    return (f"You are paged: {incident.severity.label} {incident.reference} {safe(incident.title, 200)} "
            f"({step_text})", render(blocks))


def handoff(rotation: str, at: datetime, outgoing: str, incoming: str, incidents: list[dict],
            zone: str, resolved: list[dict] | None = None) -> tuple[str, Blocks]:
    """`incidents`: the open incidents as they were at the hand-off (severity, reference, title, status, channel);
    `resolved`: those resolved in the week before it."""
    local = at.astimezone(ZoneInfo(zone))
    lines = [f":arrows_counterclockwise: *On-call hand-off, {safe(rotation, 60)}*: {mention(outgoing)} → "
             f"{mention(incoming)} ({local:%a %d %b %H:%M} {zone})"]
    if incidents:
        lines.append("*Active incidents*")
        lines += [f"• {SEVERITY_EMOJI[Severity(i['severity'])]} {i['reference']} {safe(i['title'], 150)} "
                  f"({i['status']})" + (f" <#{i['channel_id']}>" if i.get("channel_id") else "")
                  for i in incidents[:15]]
        if len(incidents) > 15:
            lines.append(f"…and {len(incidents) - 15} more (`/incident list`)")
    else:
        lines.append("*Active incidents*: none :tada:")
    if resolved:
        lines.append("*Resolved this past week* (watch for recurrences; follow-ups in `/incident actions`)")
        lines += [f"• {i['reference']} {safe(i['title'], 150)}" for i in resolved[:10]]
    lines += [
        "*Checklist*",
        f"• {mention(outgoing)}: known issues: flaky alerts, workarounds in place, anything half-done (reply in thread)",
        f"• {mention(outgoing)}: upcoming changes: deploys, migrations, maintenance windows this week",
        f"• {mention(incoming)}: confirm you can be paged (phone, PagerDuty app, VPN) and reply :white_check_mark:",
    ]
    text = "\n".join(lines)
    return f"On-call hand-off: {rotation}", render([SectionBlock(text=truncate(text, SECTION_LIMIT))])


def oncall_overview(holders, upcoming: Handoff | None) -> tuple[str, Blocks]:
    lines = ["*On call now*"]
    for holder in holders:
        who = ", ".join(mention(u) for u in holder.users) or "_nobody_"
        label = holder.name.replace("_", " ").capitalize()
        until = f" until {slack_date(holder.until)}" if holder.until else ""
        source = " (from PagerDuty)" if holder.source == "PagerDuty" else ""
        lines.append(f"• *{safe(label, 60)}*: {who}{until}{source}")
    blocks: list = [SectionBlock(text=truncate("\n".join(lines), SECTION_LIMIT))]
    if upcoming:
        local = upcoming.at.astimezone(ZoneInfo(upcoming.zone))
        line = (f"Next hand-off: {safe(upcoming.rotation, 60)} {mention(upcoming.outgoing)} → "
                f"{mention(upcoming.incoming)} on {local:%a %d %b %H:%M} {upcoming.zone}")
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)]))
        lines.append(line)
    return "\n".join(lines), render(blocks)
