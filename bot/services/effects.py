"""Which effects leave the process after each kind of change, in which order.

Slack effects are rendered when they run, from the incident as it is then, so a card updated after a
delay shows the latest state; the payload carries only what the current state no longer says.
"""

from __future__ import annotations

from bot.core.incident import Event, Incident
from bot.core.severity import SeverityPolicy
from bot.storage.repository import Effect

SLACK = "slack"
STATUS_PAGE = "statuspage"
PAGERDUTY = "pagerduty"
# PagerDuty's effects keep their own order in their own lane: an outage there never holds up the war room.
PAGERDUTY_LANE = "pagerduty"


def after_declare(incident: Incident, policy: SeverityPolicy, invitees: list[str], paged: list[str],
                  leadership_channel: str | None) -> list[list[Effect]]:
    follow_up = [
        Effect(SLACK, "post_card"),
        Effect(SLACK, "invite", {"users": invitees}),
        Effect(SLACK, "announce", {"template": "declared"}),
        Effect(SLACK, "set_topic"),
        Effect(SLACK, "set_purpose"),
    ]
    if policy.notify_leadership and leadership_channel and not incident.is_drill:
        follow_up.append(Effect(SLACK, "notify_leadership", {"channel": leadership_channel}))
    if policy.status_page.value != "none" and not incident.is_drill:
        follow_up.append(Effect(STATUS_PAGE, "publish", {"state": policy.status_page.value}))
    # The channel must exist before anything can be posted in it.
    # The card comes first in the room; the assessment follows it, and the pin needs the card's ts.
    after_card = [Effect(SLACK, "pin_card"), Effect(SLACK, "post_message", {"template": "assessment", "paged": paged})]
    return [[Effect(SLACK, "create_channel")], follow_up, after_card]


def after_join(user: str) -> list[list[Effect]]:
    return [[Effect(SLACK, "invite", {"users": [user]})]]


def after_severity_change(incident: Incident, event: Event, policy: SeverityPolicy, newly_paged: list[str],
                          leadership_channel: str | None) -> list[list[Effect]]:
    wave = [
        Effect(SLACK, "update_card"),
        Effect(SLACK, "post_message", {"template": "severity_changed", "text": event.text,
                                       "actor": event.actor, "paged": newly_paged}),
        Effect(SLACK, "announce", {"template": "severity_changed", "text": event.text, "actor": event.actor}),
        Effect(SLACK, "set_topic"),
    ]
    if newly_paged:
        wave.append(Effect(SLACK, "invite", {"users": newly_paged}))
    escalated_to_leadership = policy.notify_leadership and event.data.get("from", 9) > incident.severity
    if escalated_to_leadership and leadership_channel and not incident.is_drill:
        wave.append(Effect(SLACK, "notify_leadership", {"channel": leadership_channel}))
    if not incident.is_drill:
        wave.append(Effect(STATUS_PAGE, "publish", {"state": policy.status_page.value}))
    return [wave]


def after_role(event: Event) -> list[list[Effect]]:
    user = event.data["user"]
    wave = [
        Effect(SLACK, "update_card"),
        Effect(SLACK, "invite", {"users": [user]}),
        Effect(SLACK, "post_message", {"template": "role", "text": event.text, "actor": event.actor}),
    ]
    if event.data["role"] == "ic":  # the topic names the commander
        wave.append(Effect(SLACK, "set_topic"))
    return [wave]


def after_update(incident: Incident, events: list[Event]) -> list[list[Effect]]:
    update = events[-1]
    payload = {"text": update.text, "actor": update.actor, "status": incident.status.value}
    wave = [
        Effect(SLACK, "post_message", {"template": "update", **payload}),
        Effect(SLACK, "announce_thread", {"template": "update", **payload}),
    ]
    if len(events) > 1:  # the status changed too: the card shows it (the topic does not, see blocks.topic)
        wave.append(Effect(SLACK, "update_card"))
    if not incident.is_drill:
        wave.append(Effect(STATUS_PAGE, "update", payload))
    return [wave]


def after_resolve(incident: Incident, event: Event, policy: SeverityPolicy) -> list[list[Effect]]:
    payload = {"summary": event.data.get("summary", ""), "actor": event.actor,
               "postmortem_required": policy.postmortem_required}
    wave = [
        Effect(SLACK, "update_card"),
        Effect(SLACK, "post_message", {"template": "resolved", **payload}),
        Effect(SLACK, "announce", {"template": "resolved", **payload}),
        Effect(SLACK, "set_topic"),
    ]
    if not incident.is_drill:
        wave.append(Effect(STATUS_PAGE, "publish", {"state": "resolved"}))
    return [wave]


def mirrored(incident: Incident, policy: SeverityPolicy) -> bool:
    """Whether the incident has (or gets) a PagerDuty twin: it pages, or it was mirrored already. Drills never."""
    return not incident.is_drill and (bool(incident.pagerduty_id) or bool(policy.page))


def pagerduty_create() -> list[list[Effect]]:
    # Once the twin exists, the card and the channel's bookmarks link it.
    return [[Effect(PAGERDUTY, "create")], [Effect(SLACK, "link_pagerduty")]]


def pagerduty_after_severity_change(incident: Incident, policy: SeverityPolicy) -> list[list[Effect]]:
    if incident.pagerduty_id or not policy.page:
        return [[Effect(PAGERDUTY, "update")]]
    return pagerduty_create() + [[Effect(PAGERDUTY, "update")]]


def pagerduty_note(text: str, actor: str) -> list[list[Effect]]:
    return [[Effect(PAGERDUTY, "note", {"text": text, "actor": actor})]]


def pagerduty_responders(users: list[str], actor: str, role_label: str) -> list[list[Effect]]:
    return [[Effect(PAGERDUTY, "responders", {"users": users, "actor": actor, "role_label": role_label})]]


def pagerduty_status(status: str) -> list[list[Effect]]:
    return [[Effect(PAGERDUTY, "resolve" if status == "resolved" else "acknowledge")]]


def paged_users(slots: tuple[str, ...], on_call: dict[str, list[str]]) -> list[str]:
    users: list[str] = []
    for slot in slots:
        for user in on_call.get(slot, []):
            if user not in users:
                users.append(user)
    return users


__all__ = ["Effect", "SLACK", "STATUS_PAGE", "PAGERDUTY", "PAGERDUTY_LANE", "mirrored", "pagerduty_create",
           "pagerduty_after_severity_change", "pagerduty_note", "pagerduty_responders", "pagerduty_status", "after_declare", "after_join", "after_severity_change",
           "after_role", "after_update", "after_resolve", "paged_users"]
