"""Gathers the facts the core's permission rules need (war-room membership, user groups, who was paged)
and turns a refusal into a DomainError with a log line. Every use case that changes something asks here."""

from __future__ import annotations

import structlog

from bot.config import Settings
from bot.core import permissions
from bot.core.incident import DomainError, Incident
from bot.core.permissions import Decision, Rule
from bot.core.ports import Directory

log = structlog.get_logger("warroom.permissions")


class Refused(DomainError):
    """A permission rule said no; the message says why and what would change it."""


class Authorizer:
    def __init__(self, settings: Settings, directory: Directory):
        self.settings, self.directory = settings, directory
        self.managers = settings.file.permissions.incident_managers

    def enforce(self, decision: Decision, action: str, actor: str, incident: Incident | None = None) -> None:
        if not decision.allowed:
            log.warning("permission_refused", action=action, user=actor,
                        incident_id=incident.id if incident else None, reason=decision.reason)
            raise Refused(decision.reason)

    async def in_room(self, incident: Incident, actor: str, action: str) -> None:
        """Refuses someone outside the incident's war room (a public channel's buttons are clickable by anyone
        who opens it)."""
        member = bool(incident.channel_id) and await self.directory.is_member(incident.channel_id, actor)
        self.enforce(permissions.room_membership(incident, member, action), action, actor, incident)

    async def is_manager(self, actor: str) -> bool:
        return bool(self.managers) and await self.directory.in_usergroup(actor, self.managers)

    async def in_group(self, actor: str, handle: str | None) -> bool:
        return bool(handle) and await self.directory.in_usergroup(actor, handle)

    async def rule(self, rule: Rule, key: str, verb: str, incident: Incident, actor: str) -> None:
        """A configurable rule (permissions.<key>): anyone in the war room, the IC, or a user group."""
        in_group = await self.in_group(actor, rule.usergroup) if rule.usergroup else None
        decision = permissions.decide(rule, verb, actor, incident, in_usergroup=in_group)
        if not decision.allowed and await self.is_manager(actor):
            decision = permissions.ALLOWED
        if not decision.allowed:
            decision = Decision(False, f"{decision.reason} (config: permissions.{key} = {rule.describe()})")
        self.enforce(decision, key, actor, incident)

    async def may_announce_maintenance(self, actor: str) -> None:
        """Maintenance keeps windows out of the SLA, and so out of customers' credits: only the user group
        permissions.sla_maintenance names, and the incident managers, may announce it."""
        group = self.settings.file.permissions.sla_maintenance
        if await self.in_group(actor, group) or await self.is_manager(actor):
            return
        who = " or ".join(f"@{handle}" for handle in (group, self.managers) if handle)
        reason = (f"Only members of {who} may announce SLA maintenance." if who else
                  "Nobody may announce SLA maintenance from Slack yet: name a user group in config.yaml, "
                  "permissions.sla_maintenance (or permissions.incident_managers).")
        self.enforce(Decision(False, reason), "sla_maintenance", actor)

    async def sees_customer_credits(self, actor: str) -> bool:
        """What each customer is owed is finance's business: permissions.sla_finance and the incident managers."""
        return await self.in_group(actor, self.settings.file.permissions.sla_finance) or await self.is_manager(actor)
