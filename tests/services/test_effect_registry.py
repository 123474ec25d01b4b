"""Every effect model has a handler in the performer of its target, and only there."""

from bot.core import effects as fx
from bot.integrations.alertmanager import AlertmanagerSilences
from bot.integrations.pagerduty import PagerDutyEffects
from bot.integrations.statuspage import StatusPageEffects
from bot.slack.effects import messages
from bot.slack.effects.postmortems import PostmortemEffects
from bot.slack.effects.remediation import RemediationEffects
from bot.slack.effects.runbooks import RunbookEffects
from bot.slack.effects.sla import SlaEffects
from bot.slack.effects.war_room import SlackEffects

PERFORMERS = {fx.SLACK: SlackEffects, fx.PAGERDUTY: PagerDutyEffects, fx.STATUS_PAGE: StatusPageEffects,
              fx.RUNBOOK: RunbookEffects, fx.POSTMORTEM: PostmortemEffects, fx.ALERTMANAGER: AlertmanagerSilences,
              fx.SLA: SlaEffects, fx.REMEDIATION: RemediationEffects}


def test_every_effect_has_a_handler_for_its_target():
    for model in fx.EFFECT_TYPES:
        target = model.model_fields["type"].default.split(".", 1)[0]
        assert model in PERFORMERS[target].handlers, f"{model.__name__} has no handler in {PERFORMERS[target]}"


def test_performers_handle_only_their_own_target():
    for target, performer in PERFORMERS.items():
        for model in performer.handlers:
            assert model.model_fields["type"].default.startswith(f"{target}."), (performer, model)


def test_every_template_renders():
    assert set(messages.RENDER) == set(fx.Template)
