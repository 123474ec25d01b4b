"""config.yaml's `remediation` section: policies that answer alerts with an action, and call a human when the
action did not help. Everything a policy could get wrong is refused here, at load, with its field."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from bot.config_alerts import _matcher
from bot.config_base import ChannelName, Strict
from bot.core.alerts import Matcher
from bot.core.remediation import NEVER_AUTOMATED, Guardrails, placeholders
from bot.core.runbook import CATEGORIES
from bot.environment import WARROOM_SECRETS

MatcherText = Annotated[str, AfterValidator(_matcher)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]
_QUALIFIED = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}/[a-z0-9][a-z0-9-]{1,63}$")


def _templates(value: Any) -> list[str]:
    """Every string inside a body, where `{label}` placeholders may stand."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _templates(item)]
    if isinstance(value, list):
        return [t for item in value for t in _templates(item)]
    return []


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CommandAction(Strict):
    """An executable runbook command in runbooks.execution.allow, run as a Run click runs it."""

    command: str = Field(description="runbook-id/command-id")
    args: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, description="appended to the command's arguments; `{label}` takes an allowed label")

    @field_validator("command")
    @classmethod
    def _qualified(cls, value: str) -> str:
        if not _QUALIFIED.match(value):
            raise ValueError(f"`{value[:80]}` must be `runbook-id/command-id`, as in runbooks.execution.allow")
        return value


class HttpAction(Strict):
    """A POST (a Rundeck job, a GitHub Actions workflow_dispatch, an internal endpoint)."""

    url: Annotated[str, Field(max_length=2000)]
    headers: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,100}$")], EnvName] = Field(
        default_factory=dict, description="header name: the environment variable holding its value")
    body: dict[str, Any] = Field(default_factory=dict, description="JSON body; `{label}` takes an allowed label")
    timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 15

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
            return value
        raise ValueError("must be an https:// URL (http:// only to a loopback address)")

    @field_validator("headers")
    @classmethod
    def _no_warroom_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        for header, name in value.items():
            if name in WARROOM_SECRETS:
                raise ValueError(f"{header}: {name} is warroom's own secret and is never sent to an action")
        return value


class EscalateSection(Strict):
    """Who is paged, and how, when the action did not help."""

    severity: Annotated[str, Field(pattern=r"^sev[1-4]$")] = "sev2"
    page: list[str] | None = Field(None, description="on-call slots paged (default: the severity's)")
    follow_up: list[MatcherText] = Field(default_factory=list, description="an alert that pages at once when it "
                                                                          "fires about the same target")
    follow_up_minutes: Annotated[int, Field(ge=1, le=10080)] = 60

    def follow_up_matchers(self) -> tuple[Matcher, ...]:
        return tuple(Matcher.parse(m) for m in self.follow_up)


class PolicySection(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
    enabled: bool = True
    matchers: Annotated[list[MatcherText], Field(min_length=1)]
    category: str = Field("mitigation", description="what the action does; never-automated categories are refused")
    record: bool = Field(False, description="only write the firing down (Kubernetes heals it)")
    run: CommandAction | None = None
    http: HttpAction | None = None
    labels: dict[LabelName, Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=dict, description="the only labels an argument may use, each with the pattern its value "
                                          "must match in full")
    target: list[LabelName] | None = Field(None, description="labels naming what the action acts on (default: "
                                                             "the allowed labels); one run per target")
    verify_after_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    cooldown_minutes: Annotated[int, Field(ge=0, le=1440)] = 30
    max_runs_per_hour: Annotated[int, Field(ge=1, le=100)] = 5
    max_runs_per_alert: Annotated[int, Field(ge=1, le=100)] = 3
    escalate: EscalateSection = Field(default_factory=lambda: EscalateSection())

    @field_validator("category")
    @classmethod
    def _automatable(cls, value: str) -> str:
        if value in NEVER_AUTOMATED:
            raise ValueError(f"`{value}` is never automated: database failover, deployment rollback, GPU scale-up, "
                             f"security configuration and deleting user data stay runbook buttons that need two "
                             f"people")
        if value not in CATEGORIES:
            raise ValueError(f"must be one of {', '.join(sorted(CATEGORIES - NEVER_AUTOMATED))}")
        return value

    @field_validator("labels")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{label}: the pattern does not compile ({exc})") from None
            if pattern in (".*", ".+", "(.*)", "(.+)"):
                raise ValueError(f"{label}: `{pattern}` lets anything through; write what a value looks like")
        return value

    @model_validator(mode="after")
    def _one_action(self):
        actions = [name for name, set_ in (("record", self.record), ("run", self.run), ("http", self.http)) if set_]
        if len(actions) != 1:
            raise ValueError(f"policy `{self.name}` needs exactly one of `record: true`, `run` or `http` "
                             f"(has {', '.join(actions) or 'none'})")
        templates = (self.run.args if self.run else []) + (_templates(self.http.body) if self.http else [])
        for template in templates:
            try:
                names = placeholders(template)
            except ValueError as exc:
                raise ValueError(f"policy `{self.name}`: {exc}") from None
            for name in names:
                if name not in self.labels:
                    raise ValueError(f"policy `{self.name}` uses label `{name}`, which is not in its `labels` "
                                     f"allowlist (with the pattern its value must match)")
        return self

    @property
    def kind(self) -> str:
        return "record" if self.record else ("command" if self.run else "http")

    def matcher_list(self) -> tuple[Matcher, ...]:
        return tuple(Matcher.parse(m) for m in self.matchers)

    def patterns(self) -> dict[str, re.Pattern]:
        return {label: re.compile(pattern) for label, pattern in self.labels.items()}

    def target_labels(self) -> tuple[str, ...]:
        return tuple(self.target if self.target is not None else self.labels)

    def guardrails(self) -> Guardrails:
        return Guardrails(timedelta(minutes=self.cooldown_minutes), self.max_runs_per_hour, self.max_runs_per_alert)


class RemediationSection(Strict):
    """Off unless `enabled`; `dry_run` records what would run and runs nothing."""

    enabled: bool = False
    dry_run: bool = False
    channel: ChannelName | None = Field(None, description="where actions on alerts without a war room are told "
                                                          "(default: alerts.channel)")
    policies: list[PolicySection] = Field(default_factory=list)

    @field_validator("policies")
    @classmethod
    def _unique(cls, value: list[PolicySection]) -> list[PolicySection]:
        seen: set[str] = set()
        for policy in value:
            if policy.name in seen:
                raise ValueError(f"two policies are named `{policy.name}`")
            seen.add(policy.name)
        return value

    def policy(self, name: str) -> PolicySection | None:
        return next((p for p in self.policies if p.name == name), None)


def command_problems(section: RemediationSection, runbooks: list, allow: list[str]) -> list[tuple[tuple, str]]:
    """What `warroom check` reports about the commands policies run, each at its path in config.yaml: a runbook
    or command that does not exist, is not executable or allowlisted, or is never automated."""
    by_id = {runbook.id: runbook for runbook in runbooks}
    found = []
    for index, policy in enumerate(section.policies):
        if policy.run is None or not policy.enabled:
            continue
        path = ("remediation", "policies", index, "run", "command")
        runbook_id, command_id = policy.run.command.split("/")
        runbook = by_id.get(runbook_id)
        command = next((c for s in runbook.steps for c in s.commands if c.id == command_id), None) if runbook \
            else None
        if runbook is None:
            found.append((path, f"no runbook `{runbook_id}` (known: {', '.join(sorted(by_id)) or 'none'})"))
        elif command is None:
            found.append((path, f"runbook `{runbook_id}` has no command `{command_id}`"))
        elif command.category in NEVER_AUTOMATED:
            found.append((path, f"`{policy.run.command}` is a {command.category} command: never automated (it stays "
                                f"a runbook button that needs two people)"))
        elif not command.executable:
            found.append((path, f"`{policy.run.command}` is not marked `executable: true` in its runbook"))
        elif policy.run.command not in allow:
            found.append((path, f"`{policy.run.command}` is not in runbooks.execution.allow"))
    return found
