"""Effects as types: what may leave the process after a commit, and what a performed effect yields.

Each effect is a small frozen model whose `type` names its target and kind ("slack.post_card"). The outbox
stores the target, the kind and the other fields as JSON, and reads them back through `parse`, so a typo
in a field or a kind fails where the effect is built (or in the test that checks every stored effect),
not as a failed outbox row at three in the morning. A performer per target keeps a `{model: handler}`
registry (bot/services/performing.py); `tests/services/test_effect_registry.py` checks that every model
has a handler.

Adding an effect: one model here (every subclass of `Effect` with a fixed `type` is one), one handler, one
line in its target's registry, and a test.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter

# What a performed effect yields lives beside the effects; imported here, where performers look for it.
from bot.core.effect_results import (  # noqa: F401
    AlertRefs,
    IncidentRefs,
    PostmortemRefs,
    PublicRefs,
    Result,
    RunRefs,
    StormRefs,
)

SLACK, PAGERDUTY, STATUS_PAGE, RUNBOOK, POSTMORTEM = "slack", "pagerduty", "statuspage", "runbook", "postmortem"
ALERTMANAGER, SLA, REMEDIATION = "alertmanager", "sla", "remediation"
TARGETS = (SLACK, PAGERDUTY, STATUS_PAGE, RUNBOOK, POSTMORTEM, ALERTMANAGER, SLA, REMEDIATION)


class Effect(BaseModel):
    """Something to do outside the process, in order, after the transaction commits."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: str

    @property
    def target(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def kind(self) -> str:
        return self.type.split(".", 1)[1]

    def fields(self) -> dict[str, Any]:
        """What the outbox stores beside the target and the kind."""
        return self.model_dump(mode="json", exclude={"type"}, exclude_defaults=True)


class Template(StrEnum):
    """The messages warroom writes to a war room or the announcement channel (bot/slack/effects/messages.py)."""

    ACKNOWLEDGED = "acknowledged"
    ASSESSMENT = "assessment"
    DECLARED = "declared"
    SEVERITY_CHANGED = "severity_changed"
    ROLE = "role"
    UPDATE = "update"
    RESOLVED = "resolved"
    PAGERDUTY_UNREACHABLE = "pagerduty_unreachable"
    PAGERDUTY_REFUSED = "pagerduty_refused"
    PAGERDUTY_BACK = "pagerduty_back"
    PAGERDUTY_RESOLVED_PROMPT = "pagerduty_resolved_prompt"
    POSTMORTEM_STATE = "postmortem_state"
    POSTMORTEM_REMINDER = "postmortem_reminder"
    SLA_NOTICE = "sla_notice"
    STATUS_PAGE = "status_page"  # who published what to the status page


class Message(Effect):
    """A templated message; each template reads the fields it needs (the others keep their defaults)."""

    template: Template
    text: str = ""
    actor: str = ""
    status: str = ""
    summary: str = ""
    reason: str = ""
    state: str = ""
    step: str = ""
    paged: tuple[str, ...] = ()
    postmortem_required: bool = False


# -- Slack: the war room ---------------------------------------------------------------------------
class CreateChannel(Effect):
    type: Literal["slack.create_channel"] = "slack.create_channel"


class SetTopic(Effect):
    type: Literal["slack.set_topic"] = "slack.set_topic"


class SetPurpose(Effect):
    type: Literal["slack.set_purpose"] = "slack.set_purpose"


class Invite(Effect):
    type: Literal["slack.invite"] = "slack.invite"
    users: tuple[str, ...]


class PostCard(Effect):
    type: Literal["slack.post_card"] = "slack.post_card"


class PinCard(Effect):
    type: Literal["slack.pin_card"] = "slack.pin_card"


class UpdateCard(Effect):
    type: Literal["slack.update_card"] = "slack.update_card"


class PostMessage(Message):
    """A message in the war room."""

    type: Literal["slack.post_message"] = "slack.post_message"


class Announce(Message):
    """A message in the announcement channel: the declaration starts a thread, later ones reply and broadcast."""

    type: Literal["slack.announce"] = "slack.announce"


class AnnounceThread(Message):
    """A reply in the announcement thread only."""

    type: Literal["slack.announce_thread"] = "slack.announce_thread"


class NotifyLeadership(Effect):
    type: Literal["slack.notify_leadership"] = "slack.notify_leadership"
    channel: str


class PostReminder(Effect):
    type: Literal["slack.post_reminder"] = "slack.post_reminder"
    # Stored as "kind" before effects were types; `kind` now names the effect's own kind.
    reminder: str = Field(validation_alias=AliasChoices("reminder", "kind"))
    silent_for: str = ""


class LinkPagerDuty(Effect):
    """The card and the bookmarks link the PagerDuty twin, once it exists."""

    type: Literal["slack.link_pagerduty"] = "slack.link_pagerduty"


class PostAlerts(Effect):
    """The war room's message for one alert group: posted once, then updated in place."""

    type: Literal["slack.post_alerts"] = "slack.post_alerts"
    group_id: int


class PublicUpdateReminder(Effect):
    """During a SEV-1, the page has been quiet too long: a nudge with a one-click *Still investigating*."""

    type: Literal["slack.public_update_reminder"] = "slack.public_update_reminder"
    text: str
    template: str


class PromptResolve(Effect):
    """Asks the IC in the war room whether to resolve, with a Resolve button (every alert has resolved)."""

    type: Literal["slack.prompt_resolve"] = "slack.prompt_resolve"
    text: str


# -- Slack: people and other channels --------------------------------------------------------------
class Page(Effect):
    """An escalation DM to one person."""

    type: Literal["slack.page"] = "slack.page"
    user: str
    step: int
    steps: int
    reason: str = ""  # why, when it is no escalation step (automation could not fix an alert)


class PostActionItem(Effect):
    type: Literal["slack.post_action_item"] = "slack.post_action_item"
    item: int


class RemindActionItem(Effect):
    """A DM to the owner of an action item that is due or overdue."""

    type: Literal["slack.dm"] = "slack.dm"
    user: str
    item: int
    late: bool = False


class ActionItemDigest(Effect):
    type: Literal["slack.digest"] = "slack.digest"
    channel: str
    month: str
    items: tuple[int, ...] = ()


class HandoffIncident(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    severity: int
    reference: str
    title: str
    status: str
    channel_id: str | None = None


class AskAboutAlerts(Effect):
    """An alert group a person decides about, in the alerts channel: posted once, then updated in place."""

    type: Literal["slack.ask_alerts"] = "slack.ask_alerts"
    group_id: int
    channel: str


class StormSummary(Effect):
    """The one message that collects an alert storm's groups, in the alerts channel: posted, then updated."""

    type: Literal["slack.storm_summary"] = "slack.storm_summary"
    storm_id: int


class NoiseDigest(Effect):
    """The weekly alert-noise report: the alerts that fired three or more times without anyone acting."""

    type: Literal["slack.noise_digest"] = "slack.noise_digest"
    channel: str
    lines: tuple[str, ...] = ()


class SlaNotice(Effect):
    """To a channel config.yaml names (finance, alerts): a potential credit, an error budget burning."""

    type: Literal["sla.notice"] = "sla.notice"
    channel: str
    text: str


class RemediationNotice(Effect):
    """What automation did about an alert: in the war room of the alerts' incident, else in `channel`."""

    type: Literal["remediation.notice"] = "remediation.notice"
    channel: str = ""
    text: str


class SlaMonthlyReport(Effect):
    """The month's report and its chart. `verdicts`: per service, one letter per window (bot/core/sla.py)."""

    type: Literal["sla.report"] = "sla.report"
    channel: str
    month: str
    text: str
    slo: str
    verdicts: dict[str, str]


class Handoff(Effect):
    """The on-call hand-off summary in the team channel."""

    type: Literal["slack.handoff"] = "slack.handoff"
    channel: str
    rotation: str
    at: str
    outgoing: str
    incoming: str
    zone: str = "UTC"
    incidents: tuple[HandoffIncident, ...] = ()
    resolved: tuple[HandoffIncident, ...] | None = None


# -- PagerDuty -------------------------------------------------------------------------------------
class PagerDutyCreate(Effect):
    type: Literal["pagerduty.create"] = "pagerduty.create"


class PagerDutyUpdate(Effect):
    type: Literal["pagerduty.update"] = "pagerduty.update"


class PagerDutyNote(Effect):
    type: Literal["pagerduty.note"] = "pagerduty.note"
    text: str
    actor: str = ""


class PagerDutyResponders(Effect):
    type: Literal["pagerduty.responders"] = "pagerduty.responders"
    users: tuple[str, ...]
    actor: str = ""
    role_label: str = "Responder"


class PagerDutyAcknowledge(Effect):
    type: Literal["pagerduty.acknowledge"] = "pagerduty.acknowledge"


class PagerDutyResolve(Effect):
    type: Literal["pagerduty.resolve"] = "pagerduty.resolve"


# -- the status page -------------------------------------------------------------------------------
class StatusPageSync(Effect):
    """The public incident as it is now, to Atlassian Statuspage: created the first time, then updated."""

    type: Literal["statuspage.sync"] = "statuspage.sync"
    title: str
    impact: str  # a component state: degraded_performance, partial_outage, major_outage
    status: str  # investigating, identified, monitoring, resolved
    components: tuple[str, ...] = ()
    text: str = ""  # the public update that goes with it, if any


class StatusWebhook(Effect):
    """A public change, signed, to one of status_page.subscribers."""

    type: Literal["statuspage.webhook"] = "statuspage.webhook"
    subscriber: int
    body: str


class CreateSilence(Effect):
    type: Literal["alertmanager.create_silence"] = "alertmanager.create_silence"
    group_id: int
    matchers: dict[str, str]
    starts_at: str
    ends_at: str
    actor: str
    comment: str = ""


class ExpireSilence(Effect):
    type: Literal["alertmanager.expire_silence"] = "alertmanager.expire_silence"
    group_id: int
    silence_id: str


# -- runbooks and post-mortems ---------------------------------------------------------------------
class RunbookHeader(Effect):
    type: Literal["runbook.runbook_header"] = "runbook.runbook_header"
    run_id: int


class RunbookStep(Effect):
    type: Literal["runbook.runbook_step"] = "runbook.runbook_step"
    run_id: int
    position: int


class RunbookSummary(Effect):
    type: Literal["runbook.runbook_summary"] = "runbook.runbook_summary"
    run_id: int


class RunbookExecution(Effect):
    type: Literal["runbook.runbook_execution"] = "runbook.runbook_execution"
    run_id: int
    execution_id: int


class PublishPostmortem(Effect):
    type: Literal["postmortem.publish"] = "postmortem.publish"
    actor: str = ""


def _concrete(base: type[Effect]) -> list[type[Effect]]:
    """Every effect model: each subclass whose `type` is fixed (a Literal with its default), in definition order."""
    found = []
    for model in base.__subclasses__():
        if isinstance(model.model_fields["type"].default, str):
            found.append(model)
        found += _concrete(model)
    return found


EFFECT_TYPES: tuple[type[Effect], ...] = tuple(_concrete(Effect))
AnyEffect = Annotated[Union[EFFECT_TYPES], Field(discriminator="type")]  # noqa: UP007 (a runtime union)
_EFFECTS: TypeAdapter[Effect] = TypeAdapter(AnyEffect)


def parse(target: str, kind: str, fields: dict[str, Any]) -> Effect:
    """An effect as the outbox stored it; raises pydantic's ValidationError for one no model describes."""
    return _EFFECTS.validate_python({**fields, "type": f"{target}.{kind}"})
