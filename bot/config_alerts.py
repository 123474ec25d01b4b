"""config.yaml's `alerts` section: routes in Alertmanager's matcher syntax, storms, flapping, noise."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from bot.config_base import ChannelName, Strict
from bot.core.alerts import Declare, Matcher, Route
from bot.core.incident import DomainError, Severity


def _matcher(text: str) -> str:
    try:
        Matcher.parse(text)
    except DomainError as exc:
        raise ValueError(str(exc)) from None
    return text


class AlertRouteSection(Strict):
    """One route of `alerts.routes`: the first whose matchers all hold decides."""

    matchers: list[Annotated[str, AfterValidator(_matcher)]] = Field(default_factory=list)
    severity: Annotated[str, Field(pattern=r"^sev[1-4]$")] | None = None
    declare: Literal["auto", "ask", "never"] | None = None
    service: str | None = None
    runbook: str | None = None
    channel: ChannelName | None = None


class FlappingSection(Strict):
    """An alert that fires this many times within this many minutes is flapping: it stops producing messages."""

    count: Annotated[int, Field(ge=2, le=100)] = 4
    minutes: Annotated[int, Field(ge=1, le=1440)] = 60


class AlertsSection(Strict):
    """Alerts from Alertmanager (POST /webhooks/alertmanager, on when ALERTMANAGER_WEBHOOK_TOKEN is set)."""

    channel: ChannelName = Field("alerts", description="where alerts a person decides about are posted")
    alertmanager_url: Annotated[str, Field(pattern=r"^https?://")] | None = Field(
        default=None, description="Alertmanager's address, for silences created from Slack")
    routes: list[AlertRouteSection] = Field(default_factory=list)
    max_new_incidents: Annotated[int, Field(ge=1, le=1000)] = Field(
        5, description="at most this many incidents opened by alerts per storm window; the rest are collected")
    storm_window_minutes: Annotated[int, Field(ge=1, le=1440)] = 10
    flapping: FlappingSection = Field(default_factory=lambda: FlappingSection())
    noise_channel: ChannelName | None = Field(None, description="where the weekly alert-noise digest goes")
    auto_resolve_minutes: Annotated[int, Field(ge=1, le=10080)] | None = Field(
        None, description="resolve an incident alerts opened after this long all clear with no human activity "
                          "(off unless set; an incident a person declared is never resolved by alerts)")

    def resolved_routes(self) -> tuple[Route, ...]:
        return tuple(Route(tuple(Matcher.parse(m) for m in r.matchers),
                           Severity(int(r.severity[-1])) if r.severity else None,
                           Declare(r.declare) if r.declare else None, r.service, r.runbook, r.channel)
                     for r in self.routes)
