"""Effects as types: every model survives the outbox's round trip, and a typo fails where it is written."""

import pytest
from pydantic import ValidationError

from bot.core import effects as fx


def example(model: type[fx.Effect]) -> fx.Effect:
    """An instance with every required field filled."""
    values = {"users": ("U1",), "channel": "C1", "template": fx.Template.UPDATE, "reminder": "status", "user": "U1",
              "step": 1, "steps": 3, "item": 7, "month": "November 2026", "rotation": "primary",
              "at": "2026-11-27T09:00:00+00:00", "outgoing": "U1", "incoming": "U2", "text": "hello",
              "state": "investigating", "run_id": 3, "position": 0, "execution_id": 9, "group_id": 4,
              "matchers": {"alertname": "HighErrorRate"}, "starts_at": "2026-11-27T09:00:00+00:00",
              "ends_at": "2026-11-27T10:00:00+00:00", "actor": "U1", "silence_id": "abc", "storm_id": 2,
              "slo": "1999/2000", "verdicts": {"api": "ggbnx"}, "title": "API: service disruption",
              "impact": "major_outage", "status": "investigating", "subscriber": 0, "body": "{}"}
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    return model(**{name: values[name] for name in required})


@pytest.mark.parametrize("model", fx.EFFECT_TYPES, ids=lambda model: model.__name__)
def test_every_effect_comes_back_from_the_outbox_as_it_went_in(model):
    effect = example(model)
    assert effect.target in fx.TARGETS
    assert fx.parse(effect.target, effect.kind, effect.fields()) == effect


def test_every_effect_type_is_its_own():
    types = [model.model_fields["type"].default for model in fx.EFFECT_TYPES]
    assert len(types) == len(set(types))


def test_a_misspelt_field_or_kind_fails_where_it_is_written():
    with pytest.raises(ValidationError):
        fx.PostMessage(template=fx.Template.UPDATE, txt="typo")
    with pytest.raises(ValidationError):
        fx.PostMessage(template="updte")
    with pytest.raises(ValidationError):
        fx.parse("slack", "post_mesage", {})


def test_a_message_keeps_its_template_and_fields():
    message = fx.PostMessage(template=fx.Template.SEVERITY_CHANGED, text="SEV-3 → SEV-1", actor="U1", paged=("U2",))
    stored = message.fields()
    assert stored == {"template": "severity_changed", "text": "SEV-3 → SEV-1", "actor": "U1", "paged": ["U2"]}
    assert fx.parse("slack", "post_message", stored).paged == ("U2",)


def test_a_reminder_stored_before_effects_were_types_still_reads():
    assert fx.parse("slack", "post_reminder", {"kind": "status", "silent_for": "30 min"}).reminder == "status"
