from datetime import datetime, timezone

import pytest

from bot.core import permissions
from bot.core.incident import Incident, Role, Severity
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


HELD = Incident("db down", Severity.SEV1, "U1", datetime(2026, 1, 1, tzinfo=timezone.utc), commander="UIC",
                communicator="UCOM", channel_name="incident-db-down")


@pytest.mark.parametrize("role,user,actor,manager,allowed", [
    (Role.COMMANDER, "UX", "UX", False, False),       # grabbing IC
    (Role.COMMANDER, "UY", "UX", False, False),       # giving someone else's IC away
    (Role.COMMANDER, "UX", "UIC", False, True),       # a handover
    (Role.COMMANDER, "UIC", "UX", False, True),       # naming the current IC again changes nothing
    (Role.COMMANDER, "UX", "UX", True, True),         # an incident manager takes over
    (Role.COMMUNICATOR, "UX", "UX", False, False),
    (Role.COMMUNICATOR, "UX", "UCOM", False, True),
    (Role.COMMUNICATOR, "UX", "UIC", False, True),    # the IC may change the Communicator
    (Role.RESPONDER, "UX", "UX", False, True),
])
def test_roles_held_by_someone_change_only_by_handover(role, user, actor, manager, allowed):
    decision = permissions.role_change(HELD, role, user, actor, is_manager=manager, managers="leads")
    assert decision.allowed is allowed
    if not allowed:
        assert "must hand it over" in decision.reason and "@leads" in decision.reason


def test_nobody_holding_a_role_lets_anyone_take_it():
    free = Incident("db down", Severity.SEV1, "U1", datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert permissions.role_change(free, Role.COMMANDER, "UX", "UX", is_manager=False, managers=None).allowed


@pytest.mark.parametrize("actor,runners,manager,allowed,reason", [
    ("UREQ", False, True, False, "you asked for this run yourself"),  # never the requester, whoever they are
    ("UIC", False, False, True, ""),
    ("UX", True, False, True, ""),
    ("UX", False, True, True, ""),
    ("UX", False, False, False, "Only the Incident Commander (<@UIC>) or members of @sre or @leads"),
])
def test_approvals_need_the_ic_a_runner_or_a_manager_and_never_the_requester(actor, runners, manager, allowed,
                                                                               reason):
    decision = permissions.approval(HELD, "UREQ", actor, in_runners=runners, is_manager=manager, runners="sre",
                                    managers="leads")
    assert decision.allowed is allowed and reason in decision.reason


def test_pages_membership_and_action_items():
    assert permissions.page_acknowledgement(HELD, "UP", {"UP"}, is_manager=False).allowed
    assert permissions.page_acknowledgement(HELD, "UIC", set(), is_manager=False).allowed
    refused = permissions.page_acknowledgement(HELD, "UX", {"UP"}, is_manager=False)
    assert not refused.allowed and "You were not paged" in refused.reason
    assert not permissions.room_membership(HELD, False, "resolve").allowed
    assert "#incident-db-down" in permissions.room_membership(HELD, False, "resolve").reason
    for actor in ("UOWN", "UADD", "UIC"):
        assert permissions.action_item_close(HELD, "UOWN", "UADD", actor, is_manager=False).allowed
    assert not permissions.action_item_close(HELD, "UOWN", "UADD", "UX", is_manager=False).allowed
    assert permissions.action_item_close(HELD, None, "UADD", "UX", is_manager=True).allowed
