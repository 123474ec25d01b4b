from datetime import date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError

from bot.config import settings_from_mapping
from bot.core.oncall import Override, Rotation, next_handoff, on_call, upcoming_handoff

BERLIN = "Europe/Berlin"
UTC = timezone.utc


def rotation(**changes) -> Rotation:
    base = dict(name="primary", members=("U0BOB", "U0CAROL", "U0DAVE"), zone=BERLIN, weekday=0, at=time(10, 0),
                start=date(2026, 10, 5))
    return Rotation(**{**base, **changes})


def test_members_take_weekly_turns_from_the_start_date():
    r = rotation()
    assert on_call(r, datetime(2026, 10, 5, 8, 0, tzinfo=UTC)).user == "U0BOB"  # 10:00 CEST is 08:00 UTC
    assert on_call(r, datetime(2026, 10, 12, 7, 59, tzinfo=UTC)).user == "U0BOB"
    assert on_call(r, datetime(2026, 10, 12, 8, 0, tzinfo=UTC)).user == "U0CAROL"
    assert on_call(r, datetime(2026, 10, 19, 8, 0, tzinfo=UTC)).user == "U0DAVE"
    assert on_call(r, datetime(2026, 10, 26, 9, 0, tzinfo=UTC)).user == "U0BOB"  # wraps around


def test_handoff_keeps_local_wall_time_across_the_autumn_daylight_saving_change():
    r = rotation()
    # Clocks go back on Sunday 2026-10-25: Monday 10:00 is 08:00 UTC before and 09:00 UTC after.
    before = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    assert next_handoff(r, before) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert on_call(r, datetime(2026, 10, 26, 8, 30, tzinfo=UTC)).user == "U0DAVE"  # 09:30 local: not yet
    shift = on_call(r, datetime(2026, 10, 26, 9, 0, tzinfo=UTC))
    assert shift.user == "U0BOB"
    assert shift.since == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    # The week across the change lasts 169 hours, not 168.
    assert on_call(r, datetime(2026, 10, 20, 12, 0, tzinfo=UTC)).until - datetime(2026, 10, 19, 8, 0, tzinfo=UTC) \
        == timedelta(hours=169)


def test_handoff_across_the_spring_change_and_a_hand_off_inside_the_skipped_hour():
    r = rotation(start=date(2026, 3, 23))
    assert next_handoff(r, datetime(2026, 3, 24, tzinfo=UTC)) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    sunday = rotation(weekday=6, at=time(2, 30), start=date(2026, 3, 22))  # 02:30 does not exist on 29 March
    due = next_handoff(sunday, datetime(2026, 3, 23, tzinfo=UTC))
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # read with the offset before the change
    assert on_call(sunday, due).user == "U0CAROL"


def test_an_override_wins_and_the_handoff_names_who_hands_to_whom():
    r = rotation(overrides=(Override("U0ERIN", datetime(2026, 10, 14, 0, 0, tzinfo=UTC),
                                     datetime(2026, 10, 19, 8, 0, tzinfo=UTC)),))
    shift = on_call(r, datetime(2026, 10, 15, tzinfo=UTC))
    assert (shift.user, shift.override) == ("U0ERIN", True)
    handoff = upcoming_handoff(r, datetime(2026, 10, 15, tzinfo=UTC))
    assert (handoff.outgoing, handoff.incoming, handoff.at) == ("U0ERIN", "U0DAVE",
                                                                datetime(2026, 10, 19, 8, 0, tzinfo=UTC))


def test_a_secondary_is_the_same_rotation_shifted():
    r = rotation(name="secondary", offset=1)
    assert on_call(r, datetime(2026, 10, 5, 9, 0, tzinfo=UTC)).user == "U0CAROL"


@pytest.mark.parametrize("members, message", [
    (["U0BOB"], "at least two different engineers"),
    (["U0BOB", "U0BOB", "U0CAROL"], "two weeks in a row"),
    (["U0BOB", "U0CAROL", "U0BOB"], "two weeks in a row"),  # the wrap-around: last week, then the first
])
def test_config_refuses_rotations_that_burn_people_out(members, message):
    with pytest.raises(ValidationError) as error:
        settings_from_mapping({"oncall": {"rotations": {"primary": {"members": members}}}})
    assert message in str(error.value)


def test_config_refuses_an_unknown_time_zone_and_a_start_off_the_handoff_day():
    with pytest.raises(ValidationError, match="unknown time zone"):
        settings_from_mapping({"oncall": {"rotations": {"p": {"members": ["U1A", "U2B"], "timezone": "Mars/Olympus"}}}})
    with pytest.raises(ValidationError, match="not the hand-off day"):
        settings_from_mapping({"oncall": {"rotations": {"p": {"members": ["U1A", "U2B"], "start": "2026-10-06"}}}})


def test_config_reads_the_handoff_day_time_and_zone():
    settings = settings_from_mapping({"oncall": {"rotations": {"p": {
        "members": ["U1A", "U2B"], "handoff": "Friday 16:30", "timezone": "America/New_York", "start": "2026-01-02"}}}})
    r = settings.file.oncall.rotations["p"].rotation("p")
    assert (r.weekday, r.at, r.zone) == (4, time(16, 30), "America/New_York")
