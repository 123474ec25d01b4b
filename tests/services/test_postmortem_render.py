"""The whole draft as rendered from facts: header, summary, key moments, measured lines, action items' windows."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.incident import Event, Incident, Severity
from bot.core.severity import DEFAULT_POLICIES
from bot.services.postmortems import render

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_the_draft_fills_every_section_from_the_record():
    incident = Incident("Checkout [click](https://evil.example) down", Severity.SEV2, "U0ALICE", T0,
                        commander="U0ALICE", service="checkout", resolved_at=T0 + timedelta(minutes=50),
                        summary="Restarted the # pool", channel_name="incident-20261120-checkout-down")
    incident = replace(incident, id=7)
    timeline = [Event("declared", "U0ALICE", T0, "Declared SEV-2"),
                Event("acknowledged", "U0BOB", T0 + timedelta(minutes=20), "Page acknowledged"),
                Event("resolved", "U0ALICE", T0 + timedelta(minutes=50), "Resolved")]
    items = [{"priority": "P0", "text": "Alert on the pool", "owner": "bob", "due": "2026-12-31", "done": False},
             {"priority": "P1", "text": "Load test", "owner": "", "due": "2026-12-01", "done": False}]
    text = render(incident, timeline, [], [], [], {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"},
                  action_items=items, slo_impact={"checkout": 25}, policy=DEFAULT_POLICIES[Severity.SEV2],
                  now=T0 + timedelta(hours=2), reviewers=["U0CAROL", "@sre-leads"])
    assert "| Date | 2026-11-20 |" in text and "| Author | alice |" in text
    assert "| Reviewers | carol, @sre-leads |" in text
    assert "| Duration | 50m 0s (from the report to the all-clear) |" in text
    assert ("“Checkout \\[click\\](https://evil.example) down” (checkout) was a SEV-2 (major) incident."
            in text)  # people's text cannot become a link
    assert "- SLO impact: 25 minutes of error budget consumed (checkout)." in text
    assert "| On-call acknowledged | 2026-11-20 09:20:00 | the page's acknowledgement |" in text
    assert "**[On-call acknowledged]** Page acknowledged" in text
    went_wrong = text.split("## What went wrong")[1].split("##")[0]
    assert "Response: acknowledged 20m 0s after the declaration (target: within 15 minutes)" in went_wrong
    assert "Updates: none was posted (target: every 30m 0s)" in went_wrong
    assert "P0 within 2 weeks (by 2026-12-04), P1 within 4 weeks (by 2026-12-18)" in text
    assert "⚠ P0 “Alert on the pool” is due 2026-12-31, after its window." in text
    assert "Load test” is due" not in text
