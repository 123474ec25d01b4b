from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bot.config import settings_from_mapping
from bot.core.escalation import DEFAULT_CHAINS, chain_for, page_due
from bot.core.incident import Incident, Severity, Status

AT = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def incident(severity=Severity.SEV2, **changes) -> Incident:
    return replace(Incident("Checkout down", severity, "U0ALICE", AT, id=7), **changes)


def test_default_chains_follow_the_policy():
    sev2 = chain_for(DEFAULT_CHAINS, Severity.SEV2)
    assert [(s.after, s.notify) for s in sev2] == [
        (timedelta(0), ("primary",)), (timedelta(minutes=5), ("secondary",)),
        (timedelta(minutes=10), ("engineering_manager",)), (timedelta(minutes=15), ("vp_engineering", "seniors"))]
    sev1 = chain_for(DEFAULT_CHAINS, Severity.SEV1)
    assert [s.after.seconds // 60 for s in sev1] == [0, 5, 10, 30]
    assert sev1[0].notify == ("primary", "secondary")


def test_each_step_says_when_the_next_is_due_counted_from_the_declaration():
    chain = chain_for(DEFAULT_CHAINS, Severity.SEV2)
    first = page_due(incident(), chain, 0)
    assert first.notify == ("primary",) and first.next_due == AT + timedelta(minutes=5)
    last = page_due(incident(), chain, 3)
    assert last.next_due is None
    assert page_due(incident(), chain, 4) is None


@pytest.mark.parametrize("changes", [{"acknowledged_by": "U0BOB"}, {"commander": "U0CAROL"},
                                     {"status": Status.RESOLVED}])
def test_paging_stops_at_acknowledgement_a_commander_or_the_resolve(changes):
    assert page_due(incident(**changes), chain_for(DEFAULT_CHAINS, Severity.SEV2), 1) is None


def test_chains_are_configurable_and_checked():
    settings = settings_from_mapping({"oncall": {"primary": ["U0BOB"]}, "escalation": {"chains": {
        "sev3": [{"after_minutes": 0, "notify": ["primary"]}, {"after_minutes": 20, "notify": ["U0ERIN"]}]}}})
    chain = chain_for(settings.file.escalation.resolved_chains(), Severity.SEV3)
    assert [s.notify for s in chain] == [("primary",), ("U0ERIN",)]
    with pytest.raises(ValidationError, match="neither an on-call slot"):
        settings_from_mapping({"escalation": {"chains": {"sev2": [{"after_minutes": 0, "notify": ["oncall-typo"]}]}}})
    with pytest.raises(ValidationError, match="in order"):
        settings_from_mapping({"oncall": {"primary": ["U0BOB"]}, "escalation": {"chains": {"sev2": [
            {"after_minutes": 10, "notify": ["primary"]}, {"after_minutes": 5, "notify": ["primary"]}]}}})


def test_a_severity_that_pages_nobody_runs_no_chain_unless_one_is_named_for_it():
    from bot.core.escalation import DEFAULT_CHAINS, chain_for
    from bot.core.incident import Severity

    assert chain_for(DEFAULT_CHAINS, Severity.SEV3, pages=False) == ()
    assert chain_for(DEFAULT_CHAINS, Severity.SEV2, pages=True) == DEFAULT_CHAINS["default"]
    named = {**DEFAULT_CHAINS, "sev3": DEFAULT_CHAINS["default"][:1]}
    assert chain_for(named, Severity.SEV3, pages=False, named=frozenset({"sev3"})) == named["sev3"]
