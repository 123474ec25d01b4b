"""config.yaml + environment -> frozen, validated settings.

config.yaml holds policy (severities, channels, permissions, on-call people); secrets and endpoints come
only from the environment. `${NAME}` anywhere in config.yaml is replaced by that environment variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config_alerts import AlertsSection
from bot.config_base import ChannelName
from bot.config_base import Strict as _Strict
from bot.config_remediation import RemediationSection
from bot.config_sla import SlaSection
from bot.config_status_page import StatusPageSection
from bot.core.escalation import DEFAULT_CHAINS, Step
from bot.core.incident import Severity
from bot.core.oncall import Override, Rotation
from bot.core.permissions import Rule
from bot.core.severity import DEFAULT_POLICIES, SeverityPolicy, StatusPageState
from bot.core.text import USER_ID, is_user_id
from bot.environment import WARROOM_SECRETS, Environment  # noqa: F401  (Environment: where callers find it)
from bot.yamlsource import SourceError, SourceInvalid, load_yaml

_QUALIFIED_COMMAND = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}/[a-z0-9][a-z0-9-]{1,63}$")




class SlackSection(_Strict):
    announce_channel: ChannelName = "incidents"
    channel_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,19}$")] = "incident"
    leadership_channel: ChannelName | None = None
    leadership_usergroup: str | None = Field(default=None, description="user group ID (S...) mentioned for SEV-1")


class PermissionsSection(_Strict):
    resolve: str = "anyone"
    change_severity: str = "anyone"
    postmortem_publish: str = "ic"
    incident_managers: str | None = Field(default=None, description="user group handle whose members may take "
                                          "over roles, approve commands, acknowledge and close anything")
    sla_maintenance: str | None = Field(default=None, description="user group handle whose members may announce "
                                        "maintenance with /sla maintenance (besides the incident managers)")
    sla_finance: str | None = Field(default=None, description="user group handle whose members see customers' "
                                    "credits in /sla (besides the incident managers)")

    @field_validator("resolve", "change_severity", "postmortem_publish")
    @classmethod
    def _valid_rule(cls, value: str) -> str:
        Rule.parse(value)
        return value

    @field_validator("incident_managers", "sla_maintenance", "sla_finance")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^@?[A-Za-z0-9][A-Za-z0-9._-]{0,79}$", value):
            raise ValueError("must be a user group handle, e.g. incident-managers")
        return value.lstrip("@") if value else None

    def rule(self, action: str) -> Rule:
        return Rule.parse(getattr(self, action))


UserId = Annotated[str, Field(pattern=USER_ID.pattern)]
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class OverrideSection(_Strict):
    user: UserId
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-12-01T10:00:00+01:00")
        return value


class RotationSection(_Strict):
    """A weekly rotation kept here, or one read from PagerDuty (a schedule or an escalation policy)."""

    members: list[UserId] = Field(default_factory=list)
    handoff: Annotated[str, Field(pattern=r"^(?i:(mon|tues|wednes|thurs|fri|satur|sun)day) ([01]?\d|2[0-3]):[0-5]\d$")] = "monday 10:00"
    timezone: str = "UTC"
    start: date | None = None
    offset: Annotated[int, Field(ge=0)] = 0
    overrides: list[OverrideSection] = Field(default_factory=list)
    pagerduty_schedule: str | None = None
    pagerduty_escalation_policy: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _usable(self):
        if self.pagerduty_schedule or self.pagerduty_escalation_policy:
            return self
        problems = self.rotation("check").problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def rotation(self, name: str) -> Rotation:
        day, at = self.handoff.lower().split()
        weekday = WEEKDAY_NAMES.index(day)
        hour, minute = (int(part) for part in at.split(":"))
        start = self.start or _first_weekday_of_2026(weekday)
        overrides = tuple(Override(o.user, o.start, o.end) for o in self.overrides)
        return Rotation(name, tuple(self.members), self.timezone, weekday, time(hour, minute), start, self.offset,
                        overrides)


def _first_weekday_of_2026(weekday: int) -> date:
    first = date(2026, 1, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


class OncallSection(_Strict):
    """Who is on call. Fixed slots (`primary: [U...]`), weekly `rotations`, and where hand-offs are posted."""

    slots: dict[str, list[UserId]] = Field(default_factory=dict)
    rotations: dict[str, RotationSection] = Field(default_factory=dict)
    team_channel: ChannelName | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value):
        reserved = {"slots", "rotations", "team_channel"}
        if isinstance(value, dict):
            slots = dict(value.get("slots") or {})
            slots.update({k: ([v] if isinstance(v, str) else v) for k, v in value.items() if k not in reserved})
            return {**{k: v for k, v in value.items() if k in reserved}, "slots": slots}
        return value

    @model_validator(mode="after")
    def _distinct(self):
        both = set(self.slots) & set(self.rotations)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} is both a fixed slot and a rotation: keep one")
        return self

    @property
    def names(self) -> set[str]:
        return set(self.slots) | set(self.rotations)


class PagerDutySection(_Strict):
    """The PagerDuty mirror. It is on when PAGERDUTY_API_TOKEN (or a routing key) is set and a service is named."""

    service_id: str | None = None
    escalation_policy_id: str | None = None
    routing_key: str | None = Field(default=None, description="an Events API v2 integration key: trigger "
                                                              "through the Events API instead of REST")
    priorities: dict[Annotated[str, Field(pattern=r"^sev[1-4]$")], str] = Field(default_factory=dict)
    users: dict[UserId, str] = Field(default_factory=dict, description="Slack user -> PagerDuty user ID")
    requester_id: str | None = Field(default=None, description="PagerDuty user who requests responders when "
                                                               "the Slack user asking has no mapping")
    on_resolve: Literal["resolve", "prompt"] = "resolve"
    open_war_rooms_for: list[str] = Field(default_factory=list, description="PagerDuty service IDs whose "
                                                                            "incidents open a war room")


class ChainStepSection(_Strict):
    after_minutes: Annotated[int, Field(ge=0, le=1440)]
    notify: list[str] = Field(min_length=1)


class EscalationSection(_Strict):
    enabled: bool = True
    chains: dict[Annotated[str, Field(pattern=r"^(default|sev[1-4])$")], list[ChainStepSection]] = \
        Field(default_factory=dict)
    drill_audience: list[UserId] = Field(default_factory=list)

    @field_validator("chains")
    @classmethod
    def _ordered(cls, value):
        for name, steps in value.items():
            minutes = [step.after_minutes for step in steps]
            if minutes != sorted(minutes):
                raise ValueError(f"{name}: steps must be in order of after_minutes")
        return value

    def resolved_chains(self) -> dict[str, tuple[Step, ...]]:
        chains = dict(DEFAULT_CHAINS)
        for name, steps in self.chains.items():
            chains[name] = tuple(Step(timedelta(minutes=s.after_minutes), tuple(s.notify)) for s in steps)
        return chains


class SeveritySection(_Strict):
    name: str | None = None
    description: str | None = None
    response_time: str | None = None
    page: list[str] | None = None
    status_page: StatusPageState | None = None
    update_every_minutes: Annotated[int, Field(ge=1, le=1440)] | None | str = None
    postmortem_required: bool | None = None
    notify_leadership: bool | None = None

    @field_validator("update_every_minutes")
    @classmethod
    def _never(cls, value):
        if isinstance(value, str) and value != "never":
            raise ValueError("must be a number of minutes or `never`")
        return value


class DeclareSection(_Strict):
    dedup_window_seconds: Annotated[int, Field(ge=0, le=3600)] = 120


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


class ExecutionSection(_Strict):
    enabled: bool = False
    # runbook-id/command-id: a bare command id could be borrowed by another runbook that reuses it.
    allow: list[str] = Field(default_factory=list)
    runners: str = "ic"
    output_limit: Annotated[int, Field(ge=200, le=2800)] = 2000
    env: list[EnvName] = Field(default_factory=list, description="environment variables passed to commands, by "
                                                                 "name; nothing else of warroom's reaches them")

    @field_validator("allow")
    @classmethod
    def _qualified(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _QUALIFIED_COMMAND.match(entry):
                raise ValueError(f"`{entry[:80]}` must be `runbook-id/command-id` (e.g. "
                                 f"database-connection-pool-exhausted/pgbouncer-pools): a bare command id could "
                                 f"be borrowed by another runbook")
        return value

    @field_validator("env")
    @classmethod
    def _no_secrets(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in WARROOM_SECRETS:
                raise ValueError(f"{name} is warroom's own secret and never reaches a command")
        return value

    @field_validator("runners")
    @classmethod
    def _valid_runners(cls, value: str) -> str:
        rule = Rule.parse(value)
        if rule.audience.value == "anyone":
            raise ValueError("must be `ic` or `usergroup:<handle>`: running commands is never open to anyone")
        return value


class RunbooksSection(_Strict):
    directory: str = "runbooks"
    execution: ExecutionSection = ExecutionSection()


class RemindersSection(_Strict):
    ic_nudge_minutes: Annotated[int, Field(ge=0, le=240)] = 10
    snooze_minutes: Annotated[int, Field(ge=1, le=240)] = 15


class PostmortemSection(_Strict):
    reviewers: list[Annotated[str, Field(pattern=r"^(?:U[A-Z0-9]{2,}|@[A-Za-z0-9][A-Za-z0-9._-]{0,79})$")]] = Field(
        default_factory=list, description="who reviews post-mortems: user IDs, or @handle of a user group")


class ActionItemsSection(_Strict):
    digest_channel: ChannelName | None = None
    digest_day: Annotated[int, Field(ge=1, le=28)] = 1


class ConfigFile(_Strict):
    slack: SlackSection = SlackSection()
    permissions: PermissionsSection = PermissionsSection()
    oncall: OncallSection = OncallSection()
    declare: DeclareSection = DeclareSection()
    runbooks: RunbooksSection = RunbooksSection()
    reminders: RemindersSection = RemindersSection()
    action_items: ActionItemsSection = ActionItemsSection()
    postmortem: PostmortemSection = PostmortemSection()
    pagerduty: PagerDutySection = PagerDutySection()
    escalation: EscalationSection = EscalationSection()
    alerts: AlertsSection = AlertsSection()
    sla: SlaSection = SlaSection()
    remediation: RemediationSection = RemediationSection()
    status_page: StatusPageSection = StatusPageSection()
    severities: dict[Annotated[str, Field(pattern=r"^sev[1-4]$")], SeveritySection] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _paged_slots_exist(self):
        for key, section in self.severities.items():
            for slot in section.page or []:
                if slot not in self.oncall.names:
                    raise ValueError(f"severities.{key}.page names on-call slot `{slot}`, "
                                     f"which oncall does not define")
        for key, steps in self.escalation.chains.items():
            for index, step in enumerate(steps):
                for name in step.notify:
                    if name not in self.oncall.names and not is_user_id(name):
                        raise ValueError(f"escalation.chains.{key}[{index}].notify names `{name}`, which is "
                                         f"neither an on-call slot, a rotation nor a user ID")
        for index, policy in enumerate(self.remediation.policies):
            for slot in policy.escalate.page or []:
                if slot not in self.oncall.names:
                    raise ValueError(f"remediation.policies[{index}].escalate.page names on-call slot `{slot}`, "
                                     f"which oncall does not define")
        return self


@dataclass(frozen=True)
class Settings:
    file: ConfigFile
    policies: dict[Severity, SeverityPolicy]

    @property
    def slack(self) -> SlackSection:
        return self.file.slack

    def policy(self, severity: Severity) -> SeverityPolicy:
        return self.policies[severity]

    @property
    def dedup_window(self) -> timedelta:
        return timedelta(seconds=self.file.declare.dedup_window_seconds)


def _policies(file: ConfigFile) -> dict[Severity, SeverityPolicy]:
    policies = dict(DEFAULT_POLICIES)
    for key, section in file.severities.items():
        base = policies[Severity(int(key[-1]))]
        changes = section.model_dump(exclude_none=True)
        minutes = changes.pop("update_every_minutes", None)
        if minutes is not None:
            changes["update_every"] = None if minutes == "never" else timedelta(minutes=minutes)
        if "page" in changes:
            changes["page"] = tuple(changes["page"])
        policies[base.severity] = SeverityPolicy(**{**base.__dict__, **changes})
    return policies


def load_settings(path: Path) -> Settings:
    """Raises SourceInvalid whose errors name file, line and field."""
    if not path.exists():
        raise SourceInvalid([SourceError(str(path), None, "", "file not found (set WARROOM_CONFIG or create it)")])
    loaded = load_yaml(path)
    if not isinstance(loaded.data, dict):
        raise SourceInvalid([SourceError(str(path), 1, "", "must be a mapping of sections (slack, severities, ...)")])
    try:
        file = ConfigFile.model_validate(loaded.data)
    except ValidationError as exc:
        raise SourceInvalid(loaded.errors_from(exc)) from None
    return Settings(file, _policies(file))


def settings_from_mapping(data: dict) -> Settings:
    file = ConfigFile.model_validate(data)
    return Settings(file, _policies(file))
