"""Alertmanager's matchers, the routes, and what a re-sent group changes."""

from datetime import datetime, timedelta, timezone

import pytest

from bot.core import alerts as core
from bot.core.alerts import Alert, Declare, Matcher, Route
from bot.core.incident import DomainError, Severity

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, labels, expected", [
    ('severity="critical"', {"severity": "critical"}, True),
    ('severity = "critical"', {"severity": "warning"}, False),
    ("env!=staging", {"env": "prod"}, True),
    ('env!="staging"', {"env": "staging"}, False),
    ('service=~"api|checkout"', {"service": "checkout"}, True),
    ('service=~"api|checkout"', {"service": "checkout-v2"}, False),  # anchored at both ends
    ('service!~"api.*"', {"service": "web"}, True),
    ('team=""', {}, True),  # a missing label is the empty string
    ('summary="say \\"hi\\""', {"summary": 'say "hi"'}, True),
    ('team="Zahlungsverkehr-Köln"', {"team": "Zahlungsverkehr-Köln"}, True),  # UTF-8 values stay as written
])
def test_matchers_follow_alertmanagers_syntax(text, labels, expected):
    assert Matcher.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["severity", "severity==critical", '1abc="x"', 'service=~"(unclosed"', ""])
def test_a_bad_matcher_is_refused_with_the_reason(text):
    with pytest.raises(DomainError):
        Matcher.parse(text)


def test_the_first_matching_route_decides_and_the_severity_label_is_the_fallback():
    routes = (Route((Matcher.parse('service=~"api|checkout"'), Matcher.parse('env!="staging"')), Severity.SEV1,
                    Declare.AUTO, runbook="api-5xx"),
              Route((Matcher.parse('alertname="Watchdog"'),), declare=Declare.NEVER))
    first = core.decide({"service": "checkout", "env": "prod", "severity": "warning"}, routes)
    assert (first.severity, first.declare, first.service, first.runbook) == (Severity.SEV1, Declare.AUTO, "checkout",
                                                                             "api-5xx")
    assert core.decide({"alertname": "Watchdog", "severity": "critical"}, routes).declare is Declare.NEVER
    staging = core.decide({"service": "api", "env": "staging", "severity": "warning", "job": "node"}, routes)
    assert (staging.severity, staging.declare, staging.service) == (Severity.SEV3, Declare.ASK, "api")
    assert core.decide({"severity": "critical", "job": "node"}, ()).declare is Declare.AUTO
    assert core.decide({"severity": "high"}, ()).severity is Severity.SEV2
    assert core.decide({"severity": "info"}, ()).severity is Severity.SEV4
    assert core.decide({}, ()).severity is Severity.SEV3  # no severity label at all: not a page
    assert not core.pages(core.decide({"severity": "warning"}, ()))
    assert not core.pages(core.decide({}, (Route(declare=Declare.AUTO, severity=Severity.SEV3),)))


def alert(status="firing", starts=T0, fingerprint="f1", **annotations) -> Alert:
    return Alert(fingerprint, starts, status, {"alertname": "HighErrorRate"}, annotations,
                 generator_url="http://prometheus:9090/graph?g0.expr=x")


def test_a_resent_group_changes_nothing_and_a_new_firing_of_the_same_alert_is_new():
    known = {("f1", T0): alert()}
    assert core.changes(known, [alert()]) == []
    assert [c.kind for c in core.changes(known, [alert("resolved")])] == ["resolved"]
    again = alert(starts=T0 + timedelta(minutes=30))
    assert [c.kind for c in core.changes({**known, ("f1", T0): alert("resolved")}, [again])] == ["fired"]
    assert core.changes({("f1", T0): alert("resolved")}, [alert()]) == []  # a late re-send never un-resolves


def test_links_and_time_to_detect():
    firing = alert(runbook_url="https://runbooks.example.com/high-error-rate", dashboardURL="javascript:alert(1)")
    assert firing.links() == [("Runbook", "https://runbooks.example.com/high-error-rate"),
                              ("Source", "http://prometheus:9090/graph?g0.expr=x")]
    assert core.impact_began([alert(starts=T0 + timedelta(minutes=2)), alert(starts=T0, fingerprint="f2")]) == T0
    assert core.counts([alert(), alert("resolved", fingerprint="f2")]) == (1, 1)


def test_a_group_is_as_severe_as_its_most_severe_firing_alert():
    warning = Alert("w", T0, "firing", {"alertname": "Disk", "severity": "warning"}, {})
    critical = Alert("c", T0, "firing", {"alertname": "Disk", "severity": "critical"}, {})
    over = Alert("c2", T0, "resolved", {"alertname": "Disk", "severity": "critical"}, {})
    assert core.decide_group({"alertname": "Disk"}, [warning, critical], ()).severity is Severity.SEV1
    assert core.decide_group({"alertname": "Disk"}, [warning, over], ()).severity is Severity.SEV3
    assert core.decide_group({"severity": "high"}, [], ()).severity is Severity.SEV2


def test_flapping_counts_firings_within_the_window_before_the_latest_and_settles():
    window = timedelta(minutes=60)
    starts = [T0 + timedelta(minutes=m) for m in (0, 15, 30, 45)]
    assert core.flapping(starts, 4, window)
    assert not core.flapping(starts[:3], 4, window)
    assert not core.flapping(starts + [T0 + timedelta(hours=3)], 4, window)  # quiet for an hour: settled
    assert not core.flapping([], 2, window)


def test_the_noise_report_puts_what_nobody_acts_on_first():
    later = T0 + timedelta(minutes=30)
    firings = [("CPUHigh", "c", T0, later, False), ("CPUHigh", "c", T0 + timedelta(hours=2), None, False),
               ("CPUHigh", "c", T0 + timedelta(hours=4), later + timedelta(hours=4), False),
               ("Disk", "d", T0, later, True)]
    cpu, disk = core.noise(firings, T0 + timedelta(hours=5), 4, timedelta(minutes=60))
    assert (cpu.name, cpu.fires, cpu.acted, cpu.median_minutes, cpu.flapping, cpu.ignored) == \
        ("CPUHigh", 3, 0, 30.0, False, True)
    assert (disk.name, disk.acted_ratio, disk.ignored) == ("Disk", 1.0, False)
