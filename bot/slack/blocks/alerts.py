"""Block Kit for an alert group: the message in the war room, or in the alerts channel when a person decides."""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.core.alerts import Alert, AlertGroup
from bot.core.incident import Severity
from bot.slack.blocks.incidents import SECTION_LIMIT, SEVERITY_EMOJI, Blocks, render
from bot.slack.ids import ActionId
from bot.slack.text import mention, safe, slack_date, truncate

SHOWN = 15  # alerts listed; the rest are counted
LINKED = 3  # alerts whose runbook / dashboard / source get buttons (five per actions block, three blocks)
SILENCE_HOURS = (1, 4, 24)


def _line(alert: Alert, flapping: bool = False) -> str:
    mark = (":repeat: _flapping_ " if flapping else "") + (":fire:" if alert.firing else ":white_check_mark:")
    about = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in ("alertname", "severity"))[:200]
    when = f"since {slack_date(alert.starts_at)}" if alert.firing else (
        f"resolved {slack_date(alert.ends_at)}" if alert.ends_at else "resolved")
    return (f"{mark} *{safe(alert.name, 100)}*" + (f" ({safe(about, 200)})" if about else "")
            + f": {safe(alert.summary(), 300)} · {when}")


def group_text(group: AlertGroup) -> str:
    firing = group.firing
    return f"{firing} firing, {len(group.alerts) - firing} resolved: {group.title}"


def group_message(group: AlertGroup, severity: Severity, *, ask: bool, runbook: tuple[str, str] | None = None,
                  flapping: frozenset[str] = frozenset()) -> Blocks:
    """`ask`: in the alerts channel, with Declare and Acknowledge; else the war room's alerts message.
    `runbook`: (id, title) of the runbook suggested first, offered with one click. `flapping`: fingerprints of
    alerts that are flapping (they are marked; their firings stop producing messages until they settle)."""
    firing = group.firing
    head = (f"{SEVERITY_EMOJI[severity]} *{safe(group.title, 200)}* · {firing} firing, "
            f"{len(group.alerts) - firing} resolved")
    ordered = sorted(group.alerts, key=lambda a: (not a.firing, a.starts_at))
    # One line per alert: its latest firing (the earlier ones of a flapping alert are on the timeline).
    latest: dict[str, Alert] = {}
    for alert in ordered:
        if alert.fingerprint not in latest or alert.starts_at > latest[alert.fingerprint].starts_at:
            latest[alert.fingerprint] = alert
    ordered = sorted(latest.values(), key=lambda a: (not a.firing, a.starts_at))
    lines = [_line(alert, alert.fingerprint in flapping) for alert in ordered[:SHOWN]]
    hidden = max(0, len(ordered) - SHOWN) + group.truncated
    if hidden > 0:
        lines.append(f"…and {hidden} more" + (" (Alertmanager left them out of its message)" if group.truncated
                                                else ""))
    blocks = [SectionBlock(text=MarkdownTextObject(text=truncate(head + "\n" + "\n".join(lines), SECTION_LIMIT)))]
    # Slack refuses a button URL over 3,000 characters; a cut one would lead nowhere, so it is left out.
    targets = [(label, alert.name, url) for alert in ordered[:LINKED] for label, url in alert.links()
               if len(url) <= 3000]
    links = [ButtonElement(text=truncate(f"{label}: {name}", 75), url=url,
                           action_id=f"{ActionId.ALERT_LINK_PREFIX}{index}")  # ids unique within the message
             for index, (label, name, url) in enumerate(targets)]
    for start in range(0, len(links), 5):
        blocks.append(ActionsBlock(elements=links[start:start + 5]))
    value = json.dumps({"group": group.id})
    buttons = []
    if ask and group.incident_id is None:
        buttons.append(ButtonElement(text="Declare", action_id=ActionId.ALERT_DECLARE, value=value, style="danger"))
        if not group.acknowledged_by:
            buttons.append(ButtonElement(text="Acknowledge", action_id=ActionId.ALERT_ACKNOWLEDGE, value=value))
    if runbook and not ask:
        buttons.append(ButtonElement(text=truncate(f"Start runbook: {runbook[1]}", 75),
                                     action_id=ActionId.ALERT_RUNBOOK,
                                     value=json.dumps({"group": group.id, "runbook": runbook[0][:200]})))
    if group.silence_id:
        buttons.append(ButtonElement(text="Expire silence", action_id=ActionId.ALERT_EXPIRE_SILENCE, value=value))
    else:
        buttons.append(StaticSelectElement(
            placeholder="Silence for…", action_id=ActionId.ALERT_SILENCE,
            options=[Option(value=json.dumps({"group": group.id, "hours": hours}), text=f"{hours} h")
                     for hours in SILENCE_HOURS]))
    blocks.append(ActionsBlock(elements=buttons))
    notes = []
    if group.silence_id and group.silenced_until:
        notes.append(f":mute: Silenced by {mention(group.silenced_by) if group.silenced_by else 'someone'} until "
                     f"{slack_date(group.silenced_until)}")
    if group.acknowledged_by:
        notes.append(f":eyes: Acknowledged by {mention(group.acknowledged_by)}")
    if ask and severity >= Severity.SEV3:
        notes.append("Not paged: SEV-3 and SEV-4 alerts wait here for business hours.")
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(notes), 3000))]))
    return render(blocks)


def storm_message(groups: list[AlertGroup], started_at: datetime, window_minutes: int, most: int) -> tuple[str, Blocks]:
    """An alert storm, collected: every group that would have opened an incident past the limit, with counts."""
    firing = sum(group.firing for group in groups)
    text = f"Alert storm: {len(groups)} more groups, {firing} alerts firing"
    lines = [f":cyclone: *Alert storm* since {slack_date(started_at)}: more than {most} incidents opened by alerts "
             f"within {window_minutes} minutes, so these {len(groups)} groups ({firing} alerts firing) are collected "
             f"here instead of opening war rooms. Declare one with `/incident declare` if it needs its own."]
    ordered = sorted(groups, key=lambda g: (-g.firing, g.id))
    lines += [f"• {':fire:' if g.firing else ':white_check_mark:'} *{safe(g.title, 150)}*: {g.firing} firing, "
              f"{len(g.alerts) - g.firing} resolved" for g in ordered[:25]]
    if len(ordered) > 25:
        lines.append(f"…and {len(ordered) - 25} more groups")
    return text, render([SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))])


def noise_report(title: str, lines: list[str]) -> Blocks:
    body = "\n".join(f"• {safe(line, 300)}" for line in lines[:40]) or "Nothing fired three or more times unanswered."
    return render([SectionBlock(text=MarkdownTextObject(text=truncate(f"*{title}*\n{body}", SECTION_LIMIT)))])
