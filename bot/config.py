"""config.yaml + environment -> frozen, validated settings.

config.yaml holds policy (severities, channels, permissions, on-call people); secrets and endpoints come
only from the environment. `${NAME}` anywhere in config.yaml is replaced by that environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.incident import Severity
from bot.core.permissions import Rule
from bot.core.severity import DEFAULT_POLICIES, SeverityPolicy, StatusPageState
from bot.yamlsource import SourceError, SourceInvalid, load_yaml

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./warroom.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ChannelName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]


class SlackSection(_Strict):
    announce_channel: ChannelName = "incidents"
    channel_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,19}$")] = "incident"
    leadership_channel: ChannelName | None = None
    leadership_usergroup: str | None = Field(default=None, description="user group ID (S...) mentioned for SEV-1")


class PermissionsSection(_Strict):
    resolve: str = "anyone"
    change_severity: str = "anyone"

    @field_validator("resolve", "change_severity")
    @classmethod
    def _valid_rule(cls, value: str) -> str:
        Rule.parse(value)
        return value

    def rule(self, action: str) -> Rule:
        return Rule.parse(getattr(self, action))


class OncallSection(_Strict):
    """On-call slots by name (primary, secondary, ...) -> Slack user IDs; paged by mention until PagerDuty."""

    slots: dict[str, list[Annotated[str, Field(pattern=r"^[UW][A-Z0-9]+$")]]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value):
        if isinstance(value, dict) and "slots" not in value:
            return {"slots": {k: ([v] if isinstance(v, str) else v) for k, v in value.items()}}
        return value


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


class ExecutionSection(_Strict):
    enabled: bool = False
    allow: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]] = Field(default_factory=list)
    runners: str = "ic"
    output_limit: Annotated[int, Field(ge=200, le=2800)] = 2000

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
    severities: dict[Annotated[str, Field(pattern=r"^sev[1-4]$")], SeveritySection] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _paged_slots_exist(self):
        for key, section in self.severities.items():
            for slot in section.page or []:
                if slot not in self.oncall.slots:
                    raise ValueError(f"severities.{key}.page names on-call slot `{slot}`, "
                                     f"which oncall does not define")
        return self


@dataclass(frozen=True)
class Environment:
    slack_bot_token: str | None
    slack_app_token: str | None
    slack_api_url: str
    database_url: str
    http_port: int
    config_path: Path

    @classmethod
    def from_os(cls) -> "Environment":
        port = os.environ.get("WARROOM_HTTP_PORT", "8080")
        if not port.isdigit():
            raise SourceInvalid([SourceError("environment", None, "WARROOM_HTTP_PORT", f"not a port number: {port!r}")])
        api_url = os.environ.get("SLACK_API_URL", DEFAULT_SLACK_API_URL)
        return cls(
            slack_bot_token=os.environ.get("SLACK_BOT_TOKEN"),
            slack_app_token=os.environ.get("SLACK_APP_TOKEN"),
            slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            http_port=int(port),
            config_path=Path(os.environ.get("WARROOM_CONFIG", "./config.yaml")),
        )

    def __repr__(self) -> str:  # never show tokens in logs or tracebacks
        return f"Environment(slack_api_url={self.slack_api_url!r}, http_port={self.http_port}, tokens=<hidden>)"


@dataclass(frozen=True)
class Settings:
    file: ConfigFile
    policies: dict[Severity, SeverityPolicy]

    @property
    def slack(self) -> SlackSection:
        return self.file.slack

    def policy(self, severity: Severity) -> SeverityPolicy:
        return self.policies[severity]

    def oncall(self, slot: str) -> list[str]:
        return list(self.file.oncall.slots.get(slot, []))

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
