"""The remediation core: guardrails in the order an SRE expects, and arguments only from allowed labels."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.remediation import (
    ArgumentRefused,
    Guardrails,
    Outcome,
    Past,
    Verification,
    decide,
    placeholders,
    render_arguments,
    target_of,
    verify,
)

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
GUARD = Guardrails(cooldown=timedelta(minutes=30), max_per_hour=2, max_per_alert=3)


def past(n: int, outcome: Outcome, target: str = "instance=db-1", fingerprint: str = "f1", minutes: int = 5):
    return Past(n, outcome, target, fingerprint, NOW - timedelta(minutes=minutes))


def verdict(history, *, target="instance=db-1", fingerprint="f1", paused=False, dry_run=False, record=False):
    return decide(record_only=record, guard=GUARD, target=target, fingerprint=fingerprint, history=history, now=NOW,
                  paused=paused, dry_run=dry_run)


def test_a_first_alert_runs_and_the_same_target_within_the_cooldown_rides_on_that_run():
    assert verdict([]).outcome is Outcome.PENDING
    covered = verdict([past(7, Outcome.SUCCEEDED)], fingerprint="f2")
    assert covered.outcome is Outcome.COVERED and covered.covered_by == 7 and not covered.announce
    assert "14:00" not in covered.reason and "13:55" in covered.reason
    assert verdict([past(7, Outcome.SUCCEEDED, minutes=31)]).outcome is Outcome.PENDING  # the cooldown is over
    assert verdict([past(7, Outcome.SUCCEEDED)], target="instance=db-2").outcome is Outcome.PENDING


def test_what_was_only_held_does_not_start_a_cooldown():
    for held in (Outcome.COVERED, Outcome.LIMITED, Outcome.REFUSED, Outcome.PAUSED):
        assert verdict([past(1, held)]).outcome is Outcome.PENDING, held


def test_the_hourly_limit_counts_runs_of_every_target_and_pages():
    history = [past(1, Outcome.SUCCEEDED, "instance=a", "fa"), past(2, Outcome.FAILED, "instance=b", "fb")]
    limited = verdict(history, target="instance=c", fingerprint="fc")
    assert limited.outcome is Outcome.LIMITED and limited.escalate and "2 times in the last hour" in limited.reason
    older = [past(1, Outcome.SUCCEEDED, "instance=a", "fa", minutes=61), past(2, Outcome.FAILED, "instance=b", "fb")]
    assert verdict(older, target="instance=c", fingerprint="fc").outcome is Outcome.PENDING


def test_an_alert_the_action_does_not_fix_stops_being_retried_after_its_limit():
    history = [past(n, Outcome.SUCCEEDED, minutes=60 * n + 1) for n in (1, 2, 3)]  # one an hour, same alert
    limited = verdict(history)
    assert limited.outcome is Outcome.LIMITED and "3 times for this alert in 24 hours" in limited.reason
    assert verdict(history, fingerprint="other").outcome is Outcome.PENDING


def test_paused_runs_nothing_and_says_so_once_per_target():
    first = verdict([], paused=True)
    assert first.outcome is Outcome.PAUSED and first.announce and not first.escalate
    assert not verdict([past(1, Outcome.PAUSED)], paused=True, fingerprint="f2").announce


def test_record_only_and_dry_run_never_run_and_a_dry_run_never_pages():
    assert verdict([], record=True).outcome is Outcome.RECORDED
    assert verdict([past(1, Outcome.RECORDED)], record=True, fingerprint="f2").outcome is Outcome.COVERED
    assert verdict([], dry_run=True).outcome is Outcome.DRY_RUN
    history = [past(1, Outcome.SUCCEEDED, "instance=a", "fa"), past(2, Outcome.SUCCEEDED, "instance=b", "fb")]
    limited = verdict(history, dry_run=True)
    assert limited.outcome is Outcome.LIMITED and not limited.escalate


def test_arguments_take_only_allowed_labels_that_match_in_full_and_stay_one_argument_each():
    allowed = {"instance": re.compile(r"[a-z0-9.-]+(:[0-9]+)?"), "mount": re.compile(r"/[a-z/ ]*")}
    labels = {"instance": "db-1:9100", "mount": "/var/lib data", "summary": "disk; rm -rf /"}
    assert render_arguments(("--host={instance}", "{mount}"), labels, allowed) == ["--host=db-1:9100",
                                                                                   "/var/lib data"]
    with pytest.raises(ArgumentRefused, match="does not match"):
        render_arguments(("{instance}",), {"instance": "db-1; rm -rf /"}, allowed)
    with pytest.raises(ArgumentRefused, match="does not match"):
        render_arguments(("{instance}",), {"instance": "db-1\n--force"}, allowed)  # fullmatch: no trailing line
    with pytest.raises(ArgumentRefused, match="not in the policy's `labels` allowlist"):
        render_arguments(("{summary}",), labels, allowed)
    with pytest.raises(ArgumentRefused, match="has no label `instance`"):
        render_arguments(("{instance}",), {}, allowed)


def test_placeholders_are_bare_label_names():
    assert placeholders("--host={instance} --port {port}") == ["instance", "port"]
    for reaching in ("{instance.__class__}", "{instance[0]}", "{instance!r}", "{instance:>99}", "{}"):
        with pytest.raises(ValueError, match="bare label name"):
            placeholders(reaching)


def test_targets_and_verification():
    assert target_of(("instance", "mount"), {"instance": "db-1", "mount": "/var", "x": "y"}) == \
        "instance=db-1,mount=/var"
    assert target_of((), {"instance": "db-1"}) == "*"
    assert verify(still_firing=True, follow_up_firing=False) is Verification.STILL_FIRING
    assert verify(still_firing=False, follow_up_firing=True) is Verification.FOLLOW_UP
    assert verify(still_firing=False, follow_up_firing=False) is Verification.FIXED
