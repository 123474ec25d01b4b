"""Who may resolve an incident or change its severity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.incident import Incident


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


def decide(rule: Rule, action: str, actor: str, incident: Incident, *, in_usergroup: bool | None = None) -> Decision:
    """`in_usergroup` is the caller's answer to "is the actor in rule.usergroup?" (the core cannot ask Slack)."""
    if rule.audience is Audience.ANYONE:
        return Decision(True)
    if rule.audience is Audience.COMMANDER:
        if incident.commander is None or incident.commander == actor:
            # With no commander yet, refusing everyone would leave the incident stuck.
            return Decision(True)
        return Decision(False, f"Only the Incident Commander (<@{incident.commander}>) may {action} this incident.")
    if in_usergroup:
        return Decision(True)
    return Decision(False, f"Only members of @{rule.usergroup} may {action} incidents.")
