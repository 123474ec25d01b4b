"""What customers see, decided: component states, the banner, uptime from incidents or from the SLA."""

from datetime import UTC, date, datetime, timedelta

from bot.core.status_page import (
    ComponentState,
    PublicIncident,
    PublicStatus,
    Window,
    banner,
    component_states,
    uptime,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def incident(impact=ComponentState.MAJOR_OUTAGE, components=("API",), began=NOW - timedelta(hours=1),
             resolved=None, title="API: service disruption") -> PublicIncident:
    return PublicIncident(1, title, impact, components, PublicStatus.INVESTIGATING, began, resolved)


def test_each_component_takes_its_worst_state_and_the_banner_the_worst_of_all():
    maintenance = [Window(("Search",), NOW - timedelta(minutes=5), NOW + timedelta(hours=1)),
                   Window(("API",), NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))]  # not yet
    found = component_states(["API", "Web", "Search"], [incident(ComponentState.DEGRADED_PERFORMANCE),
                                                        incident(components=("API", "Web"))], maintenance, NOW)
    assert found == {"API": ComponentState.MAJOR_OUTAGE, "Web": ComponentState.MAJOR_OUTAGE,
                     "Search": ComponentState.UNDER_MAINTENANCE}
    assert banner(found, []).text == "Major outage"
    assert banner({"Search": ComponentState.UNDER_MAINTENANCE}, []).level == "maintenance"
    assert banner({"API": ComponentState.OPERATIONAL}, []).text == "All systems operational"
    # an open incident with no component yet still shows in the banner
    assert banner({"API": ComponentState.OPERATIONAL}, [incident(components=())]).level == "outage"
    resolved = incident(resolved=NOW - timedelta(minutes=1))
    assert component_states(["API"], [resolved], [], NOW) == {"API": ComponentState.OPERATIONAL}


def test_uptime_from_incident_durations_weighs_the_impact():
    outage = incident(began=NOW - timedelta(days=1, hours=2), resolved=NOW - timedelta(days=1, hours=1))
    partial = incident(ComponentState.PARTIAL_OUTAGE, began=NOW - timedelta(hours=2), resolved=NOW - timedelta(hours=1))
    days, percent = uptime("API", [outage, partial], NOW.date(), NOW)
    assert len(days) == 90 and days[-1].day == NOW.date()
    assert days[-2].downtime_minutes == 60 and days[-2].level == "outage" and days[-2].incidents == (outage.title,)
    assert days[-1].downtime_minutes == 30 and days[-1].level == "outage"
    assert days[0].level == "none" and days[0].incidents == ()
    assert round(percent, 3) == round(100 * (1 - 90 / (89 * 1440 + 720)), 3)
    assert uptime("Web", [outage], NOW.date(), NOW)[1] == 100.0


def test_measured_days_come_from_the_sla_and_the_rest_from_incidents():
    outage = incident(began=NOW - timedelta(days=40, hours=2), resolved=NOW - timedelta(days=40, hours=1))
    measured = {NOW.date() - timedelta(days=3): 25, NOW.date() - timedelta(days=2): 0}
    days, percent = uptime("API", [outage], NOW.date(), NOW, measured=measured)
    by_day = {d.day: d for d in days}
    assert by_day[date(2026, 11, 25)].downtime_minutes == 25 and by_day[date(2026, 11, 25)].level == "minor"
    assert by_day[date(2026, 11, 26)].level == "none"
    assert by_day[NOW.date() - timedelta(days=40)].downtime_minutes == 60  # before the measurement: incidents
    assert round(percent, 3) == round(100 * (1 - 85 / (89 * 1440 + 720)), 3)
