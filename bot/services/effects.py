"""Which effects leave the process after each kind of change, in which order.

Slack effects are rendered when they run, from the incident as it is then, so a card updated after a
delay shows the latest state; the payload carries only what the current state no longer says.
"""

from __future__ import annotations

from bot.core import effects as fx
from bot.core.effects import Effect, Template
from bot.core.incident import Event, Incident
from bot.core.severity import SeverityPolicy

# PagerDuty's effects keep their own order in their own lane: an outage there never holds up the war room.
PAGERDUTY_LANE = "pagerduty"


def after_declare(incident: Incident, policy: SeverityPolicy, invitees: list[str], paged: list[str],
                  leadership_channel: str | None) -> list[list[Effect]]:
    follow_up: list[Effect] = [
        fx.PostCard(),
        fx.Invite(users=tuple(invitees)),
        fx.Announce(template=Template.DECLARED),
        fx.SetTopic(),
        fx.SetPurpose(),
    ]
    if policy.notify_leadership and leadership_channel and not incident.is_drill:
        follow_up.append(fx.NotifyLeadership(channel=leadership_channel))
    # The channel must exist before anything can be posted in it.
    # The card comes first in the room; the assessment follows it, and the pin needs the card's ts.
    after_card = [fx.PinCard(), fx.PostMessage(template=Template.ASSESSMENT, paged=tuple(paged))]
    return [[fx.CreateChannel()], follow_up, after_card]


def after_join(user: str) -> list[list[Effect]]:
    return [[fx.Invite(users=(user,))]]


def after_severity_change(incident: Incident, event: Event, policy: SeverityPolicy, newly_paged: list[str],
                          leadership_channel: str | None) -> list[list[Effect]]:
    wave: list[Effect] = [
        fx.UpdateCard(),
        fx.PostMessage(template=Template.SEVERITY_CHANGED, text=event.text, actor=event.actor,
                       paged=tuple(newly_paged)),
        fx.Announce(template=Template.SEVERITY_CHANGED, text=event.text, actor=event.actor),
        fx.SetTopic(),
    ]
    if newly_paged:
        wave.append(fx.Invite(users=tuple(newly_paged)))
    escalated_to_leadership = policy.notify_leadership and event.data.get("from", 9) > incident.severity
    if escalated_to_leadership and leadership_channel and not incident.is_drill:
        wave.append(fx.NotifyLeadership(channel=leadership_channel))
    return [wave]


def after_role(event: Event) -> list[list[Effect]]:
    user = event.data["user"]
    wave: list[Effect] = [
        fx.UpdateCard(),
        fx.Invite(users=(user,)),
        fx.PostMessage(template=Template.ROLE, text=event.text, actor=event.actor),
    ]
    if event.data["role"] == "ic":  # the topic names the commander
        wave.append(fx.SetTopic())
    return [wave]


def after_update(incident: Incident, events: list[Event]) -> list[list[Effect]]:
    update = events[-1]
    said = {"text": update.text, "actor": update.actor, "status": incident.status.value}
    wave: list[Effect] = [
        fx.PostMessage(template=Template.UPDATE, **said),
        fx.AnnounceThread(template=Template.UPDATE, **said),
    ]
    if len(events) > 1:  # the status changed too: the card shows it (the topic does not, see blocks.topic)
        wave.append(fx.UpdateCard())
    return [wave]


def after_resolve(incident: Incident, event: Event, policy: SeverityPolicy) -> list[list[Effect]]:
    said = {"summary": event.data.get("summary", ""), "actor": event.actor,
            "postmortem_required": policy.postmortem_required or incident.postmortem_mandatory}
    wave: list[Effect] = [
        fx.UpdateCard(),
        fx.PostMessage(template=Template.RESOLVED, **said),
        fx.Announce(template=Template.RESOLVED, **said),
        fx.SetTopic(),
    ]
    return [wave]


def mirrored(incident: Incident, policy: SeverityPolicy) -> bool:
    """Whether the incident has (or gets) a PagerDuty twin: it pages, or it was mirrored already. Drills never."""
    return not incident.is_drill and (bool(incident.pagerduty_id) or bool(policy.page))


def pagerduty_create() -> list[list[Effect]]:
    # Once the twin exists, the card and the channel's bookmarks link it.
    return [[fx.PagerDutyCreate()], [fx.LinkPagerDuty()]]


def pagerduty_after_severity_change(incident: Incident, policy: SeverityPolicy) -> list[list[Effect]]:
    if incident.pagerduty_id or not policy.page:
        return [[fx.PagerDutyUpdate()]]
    return pagerduty_create() + [[fx.PagerDutyUpdate()]]


def pagerduty_note(text: str, actor: str) -> list[list[Effect]]:
    return [[fx.PagerDutyNote(text=text, actor=actor)]]


def pagerduty_responders(users: list[str], actor: str, role_label: str) -> list[list[Effect]]:
    return [[fx.PagerDutyResponders(users=tuple(users), actor=actor, role_label=role_label)]]


def pagerduty_status(status: str) -> list[list[Effect]]:
    return [[fx.PagerDutyResolve() if status == "resolved" else fx.PagerDutyAcknowledge()]]


def paged_users(slots: tuple[str, ...], on_call: dict[str, list[str]]) -> list[str]:
    users: list[str] = []
    for slot in slots:
        for user in on_call.get(slot, []):
            if user not in users:
                users.append(user)
    return users


__all__ = ["Effect", "PAGERDUTY_LANE", "mirrored", "pagerduty_create",
           "pagerduty_after_severity_change", "pagerduty_note", "pagerduty_responders", "pagerduty_status", "after_declare", "after_join", "after_severity_change",
           "after_role", "after_update", "after_resolve", "paged_users"]
