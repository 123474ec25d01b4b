from datetime import datetime, timedelta, timezone

import pytest

from bot.core import incident as core
from bot.core.incident import DomainError, Role, Severity, Status, format_duration

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def declared(severity=Severity.SEV2):
    incident, events = core.declare("  Payments   API 503 ", severity, "U1", T0)
    return incident


def test_declare_normalises_the_title_and_records_the_declaration():
    incident, events = core.declare("  Payments   API 503 ", Severity.SEV1, "U1", T0)
    assert incident.title == "Payments API 503"
    assert incident.status is Status.INVESTIGATING
    assert [e.kind for e in events] == ["declared"]
    assert events[0].text == "Declared SEV-1: Payments API 503"


def test_declare_without_a_title_is_refused():
    with pytest.raises(DomainError, match="needs a title"):
        core.declare("   ", Severity.SEV1, "U1", T0)


@pytest.mark.parametrize("text,expected", [("1", Severity.SEV1), ("sev2", Severity.SEV2), ("SEV-3", Severity.SEV3),
                                           (" 4 ", Severity.SEV4)])
def test_severity_parsing(text, expected):
    assert Severity.parse(text) is expected


@pytest.mark.parametrize("text", ["9", "0", "sev", "critical", ""])
def test_unknown_severity_is_refused_with_the_choices(text):
    with pytest.raises(DomainError, match="use 1, 2, 3 or 4"):
        Severity.parse(text)


def test_escalation_and_downgrade_are_named_and_a_repeat_is_a_no_op():
    incident = declared(Severity.SEV3)
    escalated, events = core.change_severity(incident, Severity.SEV1, "U2", minutes(1))
    assert escalated.severity is Severity.SEV1
    assert events[0].text == "Escalated from SEV-3 to SEV-1"
    same, none = core.change_severity(escalated, Severity.SEV1, "U2", minutes(2))
    assert same is escalated and none == []
    lowered, events = core.change_severity(escalated, Severity.SEV2, "U2", minutes(3))
    assert events[0].text == "Downgraded from SEV-1 to SEV-2"


def test_commander_handover_is_recorded_and_first_role_acknowledges():
    incident = declared()
    first, events = core.assign_role(incident, Role.COMMANDER, "U2", "U1", minutes(3))
    assert first.commander == "U2" and first.acknowledged_at == minutes(3)
    assert events[0].text == "<@U2> is now Incident Commander"
    second, events = core.assign_role(first, Role.COMMANDER, "U3", "U2", minutes(5))
    assert second.commander == "U3"
    assert events[0].text == "Incident Commander handed over from <@U2> to <@U3>"
    assert events[0].data["previous"] == "U2"
    assert second.acknowledged_at == minutes(3)


def test_responders_accumulate_without_duplicates():
    incident = declared()
    incident, _ = core.assign_role(incident, Role.RESPONDER, "U2", "U1", minutes(1))
    incident, _ = core.assign_role(incident, Role.RESPONDER, "U3", "U1", minutes(1))
    again, events = core.assign_role(incident, Role.RESPONDER, "U2", "U1", minutes(2))
    assert again.responders == ("U2", "U3") and events == []


def test_updates_move_the_status_and_stamp_identify_and_mitigate():
    incident = declared()
    identified, events = core.post_update(incident, "found it", Status.IDENTIFIED, "U1", minutes(10))
    assert [e.kind for e in events] == ["status_changed", "update"]
    assert identified.identified_at == minutes(10)
    monitoring, _ = core.post_update(identified, "fixed", Status.MONITORING, "U1", minutes(20))
    assert monitoring.mitigated_at == minutes(20) and monitoring.identified_at == minutes(10)
    plain, events = core.post_update(monitoring, "still fine", None, "U1", minutes(25))
    assert [e.kind for e in events] == ["update"] and plain.status is Status.MONITORING


def test_update_cannot_resolve_and_needs_text():
    with pytest.raises(DomainError, match="resolve"):
        core.post_update(declared(), "done", Status.RESOLVED, "U1", minutes(1))
    with pytest.raises(DomainError, match="needs some text"):
        core.post_update(declared(), "   ", None, "U1", minutes(1))


def test_resolve_sets_the_durations_and_closes_the_incident():
    incident, _ = core.assign_role(declared(), Role.COMMANDER, "U2", "U1", minutes(4))
    incident, _ = core.post_update(incident, "rolled back", Status.MONITORING, "U2", minutes(30))
    resolved, events = core.resolve(incident, "rolled back 4f2a", "U2", minutes(45))
    durations = resolved.durations()
    assert durations["acknowledge"] == timedelta(minutes=4)
    assert durations["mitigate"] == timedelta(minutes=30)
    assert durations["resolve"] == timedelta(minutes=45)
    assert events[0].text == "Resolved: rolled back 4f2a"
    with pytest.raises(DomainError, match="already resolved"):
        core.resolve(resolved, "", "U2", minutes(46))
    with pytest.raises(DomainError, match="already resolved"):
        core.change_severity(resolved, Severity.SEV1, "U2", minutes(46))


def test_roles_parse_from_aliases_and_refuse_unknown_ones():
    assert Role.parse("IC") is Role.COMMANDER
    assert Role.parse("comms") is Role.COMMUNICATOR
    with pytest.raises(DomainError, match="use ic, responder or communicator"):
        Role.parse("janitor")


@pytest.mark.parametrize("delta,text", [(timedelta(seconds=5), "5s"), (timedelta(minutes=3, seconds=2), "3m 2s"),
                                        (timedelta(hours=2, minutes=5), "2h 5m"), (timedelta(days=1, hours=3), "1d 3h"),
                                        (None, "—")])
def test_format_duration(delta, text):
    assert format_duration(delta) == text


def test_acknowledging_stops_paging_once_and_says_how_long_it_took():
    incident = declared()
    acked, events = core.acknowledge(incident, "U2", "U2", minutes(4))
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("U2", minutes(4))
    assert events[0].text == "Page acknowledged by <@U2> (4m 0s after the declaration)"
    assert events[0].data == {"by": "U2", "source": "slack"}
    with pytest.raises(DomainError, match="already acknowledged by <@U2>"):
        core.acknowledge(acked, "U3", "U3", minutes(5))
    _, from_pagerduty = core.acknowledge(incident, "pagerduty:Dana Ops", "pagerduty", minutes(2), source="pagerduty")
    assert from_pagerduty[0].text.startswith("Page acknowledged in PagerDuty by Dana Ops")
    resolved, _ = core.resolve(incident, "fixed", "U1", minutes(9))
    with pytest.raises(DomainError, match="already resolved"):
        core.acknowledge(resolved, "U2", "U2", minutes(10))
