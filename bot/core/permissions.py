"""Who may do what to an incident: every rule in one place, decided from facts the caller gathers.

The core cannot ask Slack, so the services look up what a rule needs (is the actor in the war room, in a
user group, was the actor paged) and pass the answers in. Every refusal says why and which config key
changes it. README's "Who may do what" table is this module in prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.incident import Incident, Role


class Audience(StrEnum):
    ANYONE = "anyone"
    COMMANDER = "ic"
    USERGROUP = "usergroup"


@dataclass(frozen=True)
class Rule:
    audience: Audience = Audience.ANYONE
    usergroup: str = ""

    @classmethod
    def parse(cls, text: str) -> "Rule":
        text = text.strip()
        if text.startswith("usergroup:"):
            group = text.removeprefix("usergroup:").strip().lstrip("@")
            if not group:
                raise ValueError("usergroup: needs a user group handle, e.g. usergroup:sre-leads")
            return cls(Audience.USERGROUP, group)
        try:
            return cls(Audience(text))
        except ValueError:
            raise ValueError("must be `anyone`, `ic` or `usergroup:<handle>`") from None

    def describe(self) -> str:
        return {Audience.ANYONE: "anyone in the war room", Audience.COMMANDER: "the Incident Commander",
                Audience.USERGROUP: f"members of @{self.usergroup}"}[self.audience]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


def decide(rule: Rule, action: str, actor: str, incident: Incident, *, in_usergroup: bool | None = None) -> Decision:
    """`in_usergroup` is the caller's answer to "is the actor in rule.usergroup?" (the core cannot ask Slack)."""
    if rule.audience is Audience.ANYONE:
        return ALLOWED
    if rule.audience is Audience.COMMANDER:
        if incident.commander is None or incident.commander == actor:
            # With no commander yet, refusing everyone would leave the incident stuck.
            return ALLOWED
        return Decision(False, f"Only the Incident Commander (<@{incident.commander}>) may {action} this incident.")
    if in_usergroup:
        return ALLOWED
    return Decision(False, f"Only members of @{rule.usergroup} may {action} incidents.")


def room_membership(incident: Incident, in_room: bool, action: str) -> Decision:
    """Restricted war-room actions (everything that changes an incident) need membership of its war room."""
    if in_room:
        return ALLOWED
    return Decision(False, f"Only people in #{incident.channel_name} may {action} {incident.reference}: "
                           f"join the channel first.")


def role_change(incident: Incident, role: Role, user: str, actor: str, *, is_manager: bool,
                managers: str | None) -> Decision:
    """One Incident Commander and one Communicator at a time: taking either from someone who holds it is a
    handover, which the holder gives (or the Incident Commander, for the Communicator), or an incident
    manager takes. Responders are open to anyone in the war room."""
    holder = incident.commander if role is Role.COMMANDER else (
        incident.communicator if role is Role.COMMUNICATOR else None)
    if holder is None or holder == user or actor == holder or is_manager:
        return ALLOWED
    if role is Role.COMMUNICATOR and actor == incident.commander:
        return ALLOWED
    who = "they or the Incident Commander" if role is Role.COMMUNICATOR else "they"
    override = (f"members of @{managers} (permissions.incident_managers) can take over"
                if managers else "set permissions.incident_managers to let a group take over")
    return Decision(False, f"<@{holder}> is {role.label} of {incident.reference}: {who} must hand it over "
                           f"with `/incident role {role.value} @person` ({override}).")


def approval(incident: Incident, requested_by: str, actor: str, *, in_runners: bool, is_manager: bool,
             runners: str | None, managers: str | None) -> Decision:
    """A two-person command: approved by the Incident Commander, a member of the runners group or an incident
    manager, and never by the person who asked for it."""
    if actor == requested_by:
        return Decision(False, "A second person must approve: you asked for this run yourself.")
    if actor == incident.commander or in_runners or is_manager:
        return ALLOWED
    groups = [f"@{g}" for g in (runners, managers) if g]
    who = f"the Incident Commander ({_person(incident.commander)})" + (f" or members of {' or '.join(groups)}"
                                                                        if groups else "")
    return Decision(False, f"Only {who} may approve runbook commands.")


def page_acknowledgement(incident: Incident, actor: str, paged: set[str], *, is_manager: bool) -> Decision:
    """A page is acknowledged by someone it reached (or the Incident Commander): a forged click from anyone
    else must not stop the escalation."""
    if actor in paged or actor == incident.commander or is_manager:
        return ALLOWED
    return Decision(False, f"You were not paged for {incident.reference}, so you cannot acknowledge its page. "
                           f"Join #{incident.channel_name} and take a role instead.")


def action_item_close(incident: Incident | None, owner: str | None, created_by: str, actor: str, *,
                      is_manager: bool) -> Decision:
    commander = incident.commander if incident else None
    if actor in {owner, created_by, commander} or is_manager:
        return ALLOWED
    whose = f"its owner (<@{owner}>), " if owner else ""
    return Decision(False, f"Only {whose}the person who added it (<@{created_by}>) or the Incident Commander "
                           f"may close this action item.")


def _person(user: str | None) -> str:
    return f"<@{user}>" if user else "nobody yet"
