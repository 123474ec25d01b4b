"""Tables. Every change to them goes with a migration in bot/storage/migrations/versions."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Stores UTC and always hands back aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _at(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default_factory=list) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incidents"
    # The last few resolved (`/incident status` outside a war room) without sorting every resolved one.
    __table_args__ = (Index("ix_incidents_resolved", "status", "resolved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str
    title_key: str = Field(index=True)  # naming.title_key of the title: same-title declarations join
    severity: int
    status: str = Field(index=True)
    description: str = ""
    service: str = ""
    declared_by: str
    declared_at: datetime = _at(nullable=False)
    commander: str | None = None
    communicator: str | None = None
    responders: list = _json()
    paged: list = _json()
    acknowledged_at: datetime | None = _at()
    identified_at: datetime | None = _at()
    mitigated_at: datetime | None = _at()
    resolved_at: datetime | None = _at()
    summary: str = ""
    channel_name: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    channel_id: str | None = Field(default=None, index=True)
    card_ts: str | None = None
    announce_ts: str | None = None
    is_drill: bool = False
    last_update_at: datetime | None = _at()
    acknowledged_by: str | None = None
    pagerduty_id: str | None = Field(default=None, index=True)
    pagerduty_url: str | None = None
    impact_started_at: datetime | None = _at()
    postmortem_mandatory: bool = False
    # "unreachable" while PagerDuty effects wait for a retry, so the room is told once per outage
    pagerduty_state: str = ""
    request_key: str | None = Field(default=None, sa_column=Column(String(200), unique=True, nullable=True))


class TimelineRow(SQLModel, table=True):
    __tablename__ = "timeline"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    at: datetime = _at(nullable=False)
    actor: str
    kind: str
    text: str
    data: dict = _json(dict)
    dedup_key: str | None = Field(default=None, sa_column=Column(String(200), unique=True, nullable=True))


class OutboxRow(SQLModel, table=True):
    """One effect leaving the process (a Slack call, a page, a status-page update).

    Effects of one incident run wave by wave: nothing in wave n+1 starts before wave n is done, and
    everything within a wave runs in parallel.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_ready", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incidents.id", index=True)
    wave: int = 0
    # Effects wait only for earlier waves of their own lane: PagerDuty being down must not hold up Slack.
    lane: str = "main"
    target: str
    kind: str
    payload: dict = _json(dict)
    status: str = "pending"
    attempts: int = 0
    due_at: datetime = _at(nullable=False)
    lease_until: datetime | None = _at()
    lease_owner: str | None = None
    last_error: str | None = None
    created_at: datetime = _at(nullable=False)
    done_at: datetime | None = _at()


class ProcessedRequestRow(SQLModel, table=True):
    """Keys of requests already handled (Slack trigger ids, event ids): redeliveries are ignored."""

    __tablename__ = "processed_requests"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    at: datetime = _at(nullable=False)


class RunbookRunRow(SQLModel, table=True):
    """A runbook being walked in an incident; `snapshot` is the runbook as it was when the run started."""

    __tablename__ = "runbook_runs"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    runbook_id: str
    snapshot: dict = _json(dict)
    started_by: str
    started_at: datetime = _at(nullable=False)
    finished_at: datetime | None = _at()
    header_ts: str | None = None
    summary_ts: str | None = None
    # one entry per step: state, actor, at, notes, checked, branch, message_ts. One row, not a hundred,
    # because every click reads and writes the whole run.
    progress: list = _json()


class CommandExecutionRow(SQLModel, table=True):
    """The audit log of runbook commands run from Slack: who asked, who approved, what came back."""

    __tablename__ = "command_executions"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runbook_runs.id", index=True)
    position: int
    command_id: str
    argv: list = _json()
    category: str
    status: str
    requested_by: str
    approved_by: str | None = None
    requested_at: datetime = _at(nullable=False)
    started_at: datetime | None = _at()
    finished_at: datetime | None = _at()
    exit_code: int | None = None
    output: str = ""
    reason: str | None = None  # why a refused attempt was refused
    runner: str | None = None  # host:pid of the process that ran it, to tell an interrupted run after a crash


class TimerRow(SQLModel, table=True):
    """A moment something must happen (a status reminder, a nudge). One row per key, moved rather than
    duplicated, and claimed under a lease so that two processes never fire it twice."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    incident_id: int | None = Field(default=None, foreign_key="incidents.id", index=True)
    kind: str
    due_at: datetime = _at(nullable=False)
    status: str = "pending"
    payload: dict = _json(dict)
    lease_until: datetime | None = _at()
    lease_owner: str | None = None
    fired: int = 0


class PostmortemRow(SQLModel, table=True):
    """The incident's post-mortem draft: one per incident, updated in place when it is drafted again."""

    __tablename__ = "postmortems"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", unique=True)
    state: str = "draft"
    version: int = 1  # a redraft of a published post-mortem is a new version with a canvas of its own
    content: str = ""
    flags: list = _json()
    canvas_id: str | None = None
    file_id: str | None = None
    due_at: datetime | None = _at()
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)


class ActionItemRow(SQLModel, table=True):
    __tablename__ = "action_items"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    text: str
    owner: str | None = Field(default=None, index=True)
    due: date | None = None
    priority: str = "P1"
    created_by: str
    created_at: datetime = _at(nullable=False)
    done_by: str | None = None
    done_at: datetime | None = _at()


class InboxRow(SQLModel, table=True):
    """A Slack envelope, written before it is acknowledged and deleted once handled: what Slack was told we
    have is never only in memory. Leased like outbox rows, so a dead replica's envelopes are taken over."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_due", "status", "due_at"),)

    envelope_id: str = Field(sa_column=Column(String(100), primary_key=True))
    type: str  # slash_commands, interactive, events_api
    payload: dict = _json(dict)
    retry_attempt: int = 0
    retry_reason: str = ""
    received_at: datetime = _at(nullable=False)
    status: str = "pending"  # or "failed", kept for an operator after the last attempt
    attempts: int = 0
    due_at: datetime = _at(nullable=False)
    lease_until: datetime | None = _at()
    lease_owner: str | None = None
    last_error: str | None = None


class AlertStormRow(SQLModel, table=True):
    """Groups that would have opened incidents past alerts.max_new_incidents per window: collected in one
    message in the alerts channel instead of fifty war rooms."""

    __tablename__ = "alert_storms"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _at(nullable=False, index=True)
    channel: str
    ts: str | None = None


class AlertGroupRow(SQLModel, table=True):
    """One Alertmanager group (its groupKey, by hash: Alertmanager's keys can be long), with the incident it
    opened or joined and where its messages are."""

    __tablename__ = "alert_groups"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    group_key: str
    labels: dict = _json(dict)
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("incidents.id"), index=True))
    opened_incident: bool = False
    truncated: int = 0
    ask_channel: str | None = None
    ask_ts: str | None = None
    room_ts: str | None = None
    silence_id: str | None = None
    silenced_until: datetime | None = _at()
    silenced_by: str | None = None
    acknowledged_by: str | None = None
    acted_at: datetime | None = _at()  # when a person first acted on it: declared, acknowledged, silenced, ...
    storm_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("alert_storms.id"), index=True))
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)


class AlertRow(SQLModel, table=True):
    """One firing of one alert: its fingerprint and startsAt (a new firing of the same alert is a new row)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("group_id", "fingerprint", "starts_at", name="uq_alerts_firing"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(sa_column=Column(Integer, ForeignKey("alert_groups.id"), index=True, nullable=False))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    starts_at: datetime = _at(nullable=False)
    ends_at: datetime | None = _at()
    status: str
    alertname: str = Field(sa_column=Column(String(200), index=True, nullable=False))
    labels: dict = _json(dict)
    annotations: dict = _json(dict)
    generator_url: str = ""
    received_at: datetime = _at(nullable=False)


class SlaMaintenanceRow(SQLModel, table=True):
    """Maintenance announced from Slack (`/sla maintenance`); config.yaml's list is read from the file."""

    __tablename__ = "sla_maintenance"

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(sa_column=Column(String(80), nullable=False))
    start_at: datetime = _at(nullable=False)
    end_at: datetime = _at(nullable=False)
    announced_at: datetime = _at(nullable=False)
    announced_by: str
    request_key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))


class SlaNoticeRow(SQLModel, table=True):
    """A breach or burn notice given: each is given once (per service, month and kind)."""

    __tablename__ = "sla_notices"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    at: datetime = _at(nullable=False)


class RemediationRunRow(SQLModel, table=True):
    """The audit of automated remediation: one row per alert firing a policy answered, whatever became of it
    (run, refused, covered by another run, held by a limit, paused, dry run), with what ran and what it said."""

    __tablename__ = "remediation_runs"
    __table_args__ = (UniqueConstraint("policy", "fingerprint", "starts_at", name="uq_remediation_firing"),
                      Index("ix_remediation_policy_decided", "policy", "decided_at"))

    id: int | None = Field(default=None, primary_key=True)
    policy: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = ""
    fingerprint: str = Field(sa_column=Column(String(200), nullable=False))
    starts_at: datetime = _at(nullable=False)
    labels: dict = _json(dict)
    target: str = Field(sa_column=Column(String(300), nullable=False))
    group_id: int | None = Field(default=None, foreign_key="alert_groups.id")
    incident_id: int | None = Field(default=None, foreign_key="incidents.id", index=True)
    covered_by: int | None = Field(default=None, index=True)
    request: dict = _json(dict)  # {"argv": [...]} or {"method", "url", "headers" (names only), "body"}
    exit_code: int | None = None
    http_status: int | None = None
    output: str = ""
    decided_at: datetime = _at(nullable=False)
    started_at: datetime | None = _at()
    finished_at: datetime | None = _at()
    runner: str | None = None
    verify_at: datetime | None = _at()
    watch_until: datetime | None = _at(index=True)  # a follow-up alert about the target pages until then
    verification: str | None = None
    escalated_at: datetime | None = _at()
    escalation: str = ""


class RemediationSwitchRow(SQLModel, table=True):
    """Automation paused or resumed, by whom and why (/incident automation): the last row is the state."""

    __tablename__ = "remediation_switches"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at(nullable=False)
    actor: str
    paused: bool
    why: str = ""
    request_key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))


# The status page's tables: bot/storage/tables_public.py.
