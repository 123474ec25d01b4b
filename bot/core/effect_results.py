"""What a performed effect yields (bot/core/effects.py): the ids a performer learned that the outbox records on
the incident, the run, the post-mortem or the alert group, so that a retry carries on instead of starting over."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IncidentRefs:
    """Slack and PagerDuty ids to remember on the incident."""

    channel_id: str | None = None
    channel_name: str | None = None
    card_ts: str | None = None
    announce_ts: str | None = None
    pagerduty_id: str | None = None
    pagerduty_url: str | None = None

    def values(self) -> dict[str, str]:
        return {name: value for name, value in self.__dict__.items() if value is not None}


@dataclass(frozen=True)
class RunRefs:
    """Where a runbook run's messages are: its header, a step's message and how many of its text pages are
    posted, its summary."""

    run_id: int
    header_ts: str | None = None
    summary_ts: str | None = None
    position: int | None = None
    step_ts: str | None = None
    text_pages: int | None = None


@dataclass(frozen=True)
class PostmortemRefs:
    """Where the post-mortem draft was published: a canvas, or a file where canvases are unavailable."""

    canvas_id: str | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class AlertRefs:
    """An alert group's messages and silence: where its war-room and alerts-channel messages are, the silence
    Alertmanager made (or that it has none any more)."""

    group_id: int
    room_ts: str | None = None
    ask_channel: str | None = None
    ask_ts: str | None = None
    silence_id: str | None = None
    silence_cleared: bool = False


@dataclass(frozen=True)
class StormRefs:
    storm_id: int
    ts: str


@dataclass(frozen=True)
class PublicRefs:
    """The incident's id on Atlassian Statuspage, once created there."""

    incident_id: int
    statuspage_id: str


Result = IncidentRefs | RunRefs | PostmortemRefs | AlertRefs | StormRefs | PublicRefs | None
