from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bot.core import reminders
from bot.core.incident import Incident, Severity, Status
from bot.core.severity import DEFAULT_POLICIES

T0 = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
SEV1 = Incident("db down", Severity.SEV1, "U1", T0, id=1, last_update_at=T0)


def test_the_cadence_counts_from_the_last_update():
    assert reminders.next_status_reminder(SEV1, DEFAULT_POLICIES[Severity.SEV1], T0) == T0 + timedelta(minutes=15)
    assert reminders.next_status_reminder(SEV1, DEFAULT_POLICIES[Severity.SEV4], T0) is None
    assert reminders.next_status_reminder(replace(SEV1, status=Status.RESOLVED),
                                          DEFAULT_POLICIES[Severity.SEV1], T0) is None


def test_a_due_reminder_posts_and_repeats_and_a_stale_one_follows_the_new_cadence():
    policy = DEFAULT_POLICIES[Severity.SEV1]
    due = reminders.status_reminder(SEV1, policy, T0, T0 + timedelta(minutes=15))
    assert due.post and due.next_due == T0 + timedelta(minutes=30) and due.silent_for == "15m 0s"
    stale = reminders.status_reminder(SEV1, policy, T0 + timedelta(minutes=10), T0 + timedelta(minutes=15))
    assert not stale.post and stale.next_due == T0 + timedelta(minutes=25)


def test_the_ic_nudge_stops_once_someone_leads():
    nudge = reminders.ic_nudge(SEV1, T0 + timedelta(minutes=10), timedelta(minutes=10))
    assert nudge.post and nudge.next_due == T0 + timedelta(minutes=20)
    assert not reminders.ic_nudge(replace(SEV1, commander="U2"), T0 + timedelta(minutes=10), timedelta(minutes=10)).post
