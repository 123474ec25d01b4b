from datetime import datetime, timezone

import pytest

from bot.core.incident import Incident, Severity
from bot.core.permissions import Audience, Rule, decide

INCIDENT = Incident("db down", Severity.SEV1, "U1", datetime(2026, 1, 1, tzinfo=timezone.utc), commander="UIC")


def test_anyone_may():
    assert decide(Rule(), "resolve", "UX", INCIDENT).allowed


def test_only_the_commander_when_the_rule_says_ic():
    rule = Rule.parse("ic")
    assert decide(rule, "resolve", "UIC", INCIDENT).allowed
    refusal = decide(rule, "resolve", "UX", INCIDENT)
    assert not refusal.allowed and "<@UIC>" in refusal.reason


def test_ic_rule_with_no_commander_yet_lets_people_act():
    no_ic = Incident("db down", Severity.SEV1, "U1", datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert decide(Rule.parse("ic"), "resolve", "UX", no_ic).allowed


def test_usergroup_rule_needs_membership():
    rule = Rule.parse("usergroup:@sre-leads")
    assert rule == Rule(Audience.USERGROUP, "sre-leads")
    assert decide(rule, "resolve", "UX", INCIDENT, in_usergroup=True).allowed
    refusal = decide(rule, "resolve", "UX", INCIDENT, in_usergroup=False)
    assert "@sre-leads" in refusal.reason


@pytest.mark.parametrize("text", ["everyone", "usergroup:", "IC-only"])
def test_bad_rules_are_rejected(text):
    with pytest.raises(ValueError):
        Rule.parse(text)
