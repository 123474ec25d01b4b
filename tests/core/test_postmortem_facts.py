"""The post-mortem's facts from the record: key moments, and each went-well / went-wrong line on incidents built
to hit and to miss its target."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core import postmortem_facts as pm
from bot.core.incident import Event, Incident, Severity
from bot.core.severity import DEFAULT_POLICIES

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SEV1, SEV3 = DEFAULT_POLICIES[Severity.SEV1], DEFAULT_POLICIES[Severity.SEV3]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def event(kind: str, minutes: float, text: str = "", **data) -> Event:
    return Event(kind, "U0ALICE", at(minutes), text, data)


def incident(**changes) -> Incident:
    base = Incident("Payments API returning 503", Severity.SEV1, "U0ALICE", at(0), service="payments",
                    resolved_at=at(60), summary="Rolled back deploy 4f2a")
    return replace(base, **changes)


def lines(found: list[pm.Measured], went_well: bool) -> list[str]:
    return [m.text for m in found if m.went_well is went_well]


def test_key_moments_from_an_alert_to_the_all_clear():
    timeline = [event("alert", -6, "Alert fired: HighErrorRate"), event("declared", 0),
                event("acknowledged", 3), event("update", 9, "Looking"),
                event("status_changed", 20, to="identified"), event("status_changed", 35, to="monitoring"),
                event("alert", 41, "Alert resolved: HighErrorRate"), event("alert", 44, "Alert resolved: Latency"),
                event("resolved", 60)]
    moments = pm.key_moments(incident(impact_started_at=at(-6)), timeline, first_message_at=at(5))
    assert [(m.name, m.at) for m in moments] == [
        ("Alert fired", at(-6)), ("Incident declared", at(0)), ("On-call acknowledged", at(3)),
        ("Investigation began", at(5)), ("Root cause identified", at(20)), ("Mitigation applied", at(35)),
        ("Service restored", at(44)), ("All-clear declared", at(60))]
    assert pm.marked(moments, timeline)[:2] == ["Alert fired", "Incident declared"]
    assert pm.start_phrase(moments) == "the first alert" and pm.duration(incident(), moments, at(99)) == timedelta(
        minutes=66)


def test_a_runbooks_mitigation_and_verification_steps_are_moments_too():
    timeline = [event("declared", 0), event("status_changed", 10, to="identified"),
                event("runbook_step", 14, state="done", role="mitigation"), event("status_changed", 25, to="monitoring"),
                event("runbook_step", 30, state="skipped", role="verification"),
                event("runbook_step", 33, state="done", role="verification"), event("resolved", 60)]
    named = {m.name: (m.at, m.how) for m in pm.key_moments(incident(), timeline)}
    assert named["Mitigation applied"] == (at(14), "a runbook's mitigation step done")
    assert named["Service restored"] == (at(33), "the runbook's verification step done")


def test_moments_not_reached_say_so_and_a_report_starts_the_story():
    moments = pm.key_moments(incident(resolved_at=None, summary=""), [event("declared", 0)])
    named = {m.name: m.at for m in moments}
    assert moments[0].name == "Reported" and named["On-call acknowledged"] is None
    assert named["Root cause identified"] is None and named["All-clear declared"] is None
    # the resolve fills identified_at when nobody said it: that is not a moment anybody reached
    resolved = pm.key_moments(incident(identified_at=at(60)), [event("declared", 0)])
    assert {m.name: m.at for m in resolved}["Root cause identified"] is None


def test_a_well_run_incident_is_said_to_have_met_every_target():
    timeline = [event("escalated", 0, step=1), event("acknowledged", 4), event("update", 10), event("update", 24),
                event("update", 38), event("update", 52), event("public_update", 11),
                event("runbook_started", 12, "Runbook started: Bad deploy"),
                event("runbook_finished", 30, "Runbook finished")]
    found = pm.measured(incident(impact_started_at=at(-3)), timeline, SEV1, at(60))
    assert lines(found, False) == []
    assert lines(found, True) == [
        "Detection: declared 3m 0s after the impact began (the first alert's start)",
        "Response: acknowledged 4m 0s after the declaration (target: within 5 minutes)",
        "Escalation: the first page was answered",
        "First update: 10m 0s after the declaration (target: within 15m 0s)",
        "Update cadence: kept, the longest gap 14m 0s (target: every 15m 0s)",
        "Status page: first public update 11m 0s after the declaration (target: within 15m 0s)",
        "Runbook: Bad deploy followed to the end"]


def test_a_badly_run_incident_is_told_each_miss_with_its_figure_and_target():
    timeline = [event("escalated", 0, step=1), event("escalated", 5, step=2), event("escalated", 10, step=3),
                event("acknowledged", 12), event("update", 17), event("update", 50), event("public_update", 17),
                event("runbook_started", 20, "Runbook started: Pool exhausted"),
                event("pagerduty", 25, "PagerDuty unreachable (timeout); retrying"),
                event("pagerduty", 30, "PagerDuty reachable again")]
    found = pm.measured(incident(impact_started_at=at(-25)), timeline, SEV1, at(60))
    assert lines(found, True) == []
    assert lines(found, False) == [
        "Detection: declared 25m 0s after the impact began (the first alert's start)",
        "Response: acknowledged 12m 0s after the declaration (target: within 5 minutes)",
        "Escalation: 2 escalation steps before someone answered",
        "First update: 17m 0s after the declaration (target: within 15m 0s)",
        "Update cadence: the longest gap between updates was 33m 0s (target: every 15m 0s)",
        "Status page: first public update 17m 0s after the declaration (target: within 15m 0s)",
        "Runbook: Pool exhausted followed, not finished",
        "Tooling: PagerDuty was unreachable during the incident (1 time)"]


def test_silence_is_a_miss_and_a_severity_that_pages_nobody_is_not_judged_on_paging():
    found = pm.measured(incident(), [], SEV1, at(60))
    assert "Response: the page was never acknowledged (target: within 5 minutes)" in lines(found, False)
    assert "Updates: none was posted (target: every 15m 0s)" in lines(found, False)
    assert "Status page: nobody published an update after the opening message" in lines(found, False)
    assert "Runbook: none exists for this failure; write one and route its alert to it" in lines(found, False)
    unused = pm.measured(incident(), [], SEV1, at(60), suggested=["Bad deploy, roll back"], slack_retried=3)
    assert ("Tooling: Slack failed 3 of warroom's calls at first (an outage or its rate limits); they went out "
            "late, in order") in lines(unused, False)
    assert "Runbook: Bad deploy, roll back matched this incident but was not followed" in lines(unused, False)
    quiet = pm.measured(incident(severity=Severity.SEV3), [event("update", 30)], SEV3, at(60))
    assert not any(text.startswith(("Response", "Escalation", "Status page")) for text in lines(quiet, False))
    assert "Update cadence: kept, the longest gap 30m 0s (target: every 1h 0m)" in lines(quiet, True)


def test_summary_sentences_and_root_cause_seeds():
    moments = pm.key_moments(incident(), [])
    broke, lasted, ended = pm.summary(incident(description="checkout for EU customers"), SEV1, moments, at(60))
    assert broke == "“Payments API returning 503” (payments) was a SEV-1 (critical) incident."
    assert lasted == "It lasted 1h 0m, from the report to the all-clear. It affected checkout for EU customers."
    assert ended == "It ended with: Rolled back deploy 4f2a."
    assert "fill in" in pm.summary(incident(summary=""), SEV1, moments, at(60))[2]
    seeds = pm.root_cause_seeds([event("message", 5, "Deploy 4f2a shrank the pool", permalink="https://x/p1"),
                                 event("update", 8, "Bad config; rolling back", status="identified"),
                                 event("root_cause", 9, "No canary for config", permalink="https://x/p2"),
                                 event("update", 9, "Still rolling", status="identified")])
    assert [(s.what, s.text, s.link) for s in seeds] == [
        ("marked as the root cause by U0ALICE", "No canary for config", "https://x/p2"),
        ("pinned by U0ALICE", "Deploy 4f2a shrank the pool", "https://x/p1"),
        ("the update that identified it, by U0ALICE", "Bad config; rolling back", "")]
    assert pm.due_windows(at(0)) == {"P0": "2026-12-04", "P1": "2026-12-18"}
