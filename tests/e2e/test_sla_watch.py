"""The SLA watched, by the real bot against a real Prometheus serving the generated month (tests/sla_month.py):
breaches tell finance once with the money, draft the customers' notification for the Communicator and make
the overlapping incidents' post-mortems mandatory; a fast burn pages through an incident unless one is open;
the monthly report is posted once on its day, with its chart.

Needs WARROOM_TEST_PROMETHEUS (.ci/run sets it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.config import settings_from_mapping
from bot.core.incident import Severity
from bot.sandbox.workspace import BOT_USER_ID
from bot.services.sla_watch import (
    SLA_CHECK_KEY,
    SLA_REPORT_KEY,
    next_check,
    next_report,
)
from tests.conftest import ALICE, BOB, TEST_CONFIG, FakeClock
from tests.sla_month import MAINTENANCE, SERVICES
from tests.slack.helpers import bot_texts, settle, war_rooms

CUSTOMERS = [{"name": "Acme", "tier": "enterprise", "services": ["api"], "monthly_fee": 12345.5},
             {"name": "Globex", "tier": "pro", "services": ["api"], "monthly_fee": 500, "currency": "EUR"}]


def config(url: str, **sla) -> dict:
    return {**TEST_CONFIG, "sla": {"prometheus_url": url, "services": SERVICES, "maintenance": MAINTENANCE,
                                   "customers": CUSTOMERS, "finance_channel": "finance", **sla}}


async def tick(bot, clock: FakeClock, to: datetime) -> None:
    """Moves the clock and waits until the five-minute check has run (it asks Prometheus first)."""
    clock.current = to
    bot.timers.wake()
    for _ in range(3000):
        async with bot.store.reading() as tx:
            check = await tx.timers.get(SLA_CHECK_KEY)
        if check is not None and check.due_at > to:
            break
        await asyncio.sleep(0.01)
    await settle(bot)
    await settle(bot)  # a check may queue effects that queue more (a declared incident's war room)


def test_the_check_runs_a_minute_after_each_window_and_the_report_on_its_day():
    assert next_check(datetime(2026, 10, 3, 10, 3, tzinfo=UTC)) == datetime(2026, 10, 3, 10, 6, tzinfo=UTC)
    assert next_check(datetime(2026, 10, 3, 10, 6, tzinfo=UTC)) == datetime(2026, 10, 3, 10, 11, tzinfo=UTC)
    assert next_report(datetime(2026, 10, 31, 23, 0, tzinfo=UTC), 1) == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert next_report(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), 1) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert next_report(datetime(2026, 12, 3, tzinfo=UTC), 5) == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


async def test_a_breach_tells_finance_once_drafts_for_customers_and_makes_the_postmortem_mandatory(
        prometheus, sandbox, bot_factory):
    finance = sandbox.workspace.add_channel("finance", creator=ALICE, members={ALICE, BOB})
    clock = FakeClock(datetime(2026, 10, 3, 10, 3, tzinfo=UTC))  # the api outage began at 10:00
    bot = await bot_factory(settings_from_mapping(config(prometheus.url)), clock)
    declared = await bot.incidents.declare(title="API errors", severity=Severity.SEV3, actor=ALICE,
                                           request_key="declare-1", service="api")
    await settle(bot)
    room = war_rooms(sandbox)[0]
    await tick(bot, clock, datetime(2026, 10, 3, 10, 6, tzinfo=UTC))  # 10:00–10:05 closed: 696 of 697 good
    notices = bot_texts(finance)
    assert len(notices) == 1 and "below the Enterprise SLA of 99.9 %" in notices[0]
    assert "Acme: 10 % = 1234.55 USD" in notices[0] and "none if the rest of the month is clean" in notices[0]
    said = "\n".join(bot_texts(room))
    assert "api fell below the Enterprise SLA this month. A draft for the customers" in said
    assert "\n> Subject: api service levels in 2026-10\n> Between 03 Oct 10:00 and 03 Oct 10:05 UTC" in said
    assert "a post-mortem of INC-1 is mandatory" in said
    assert "spending its error budget 14.4× faster" in said  # people are on it: told, not paged again
    assert len(war_rooms(sandbox)) == 1
    async with bot.store.reading() as tx:
        incident = await tx.incidents.get(declared.incident.id)
    assert incident.postmortem_mandatory
    await bot.incidents.resolve(room.id, "Rolled back the bad deploy", ALICE, "resolve-1")
    await settle(bot)
    async with bot.store.reading() as tx:
        assert await tx.timers.status(f"incident:{incident.id}:postmortem:draft") == "pending"  # SEV-3, yet due
    await tick(bot, clock, datetime(2026, 10, 3, 10, 31, tzinfo=UTC))  # 6 bad of 702: below Pro too
    notices = bot_texts(finance)
    assert len(notices) == 2 and "below the Pro SLA of 99.5 %" in notices[1]
    assert "Globex: 80 % = 400.00 EUR" in notices[1]  # 30 min down, 17.55 allowed: 8 started tenths over
    await tick(bot, clock, datetime(2026, 10, 3, 11, 1, tzinfo=UTC))
    assert len(bot_texts(finance)) == 2  # each breach is told once a month
    assert "\n".join(bot_texts(room)).count("is mandatory") == 1
    async with bot.store.reading() as tx:
        resolved = await tx.incidents.get(incident.id)
    draft = await bot.postmortems.draft(resolved, ALICE)  # declared 10:03, resolved 10:06: windows 10:00 and 10:05
    assert "SLO impact: 10 minutes of error budget consumed (api)." in draft.content


async def test_a_fast_burn_with_nobody_on_it_pages_through_an_incident_once_an_hour(prometheus, sandbox, bot_factory):
    sandbox.workspace.add_channel("finance", creator=ALICE, members={ALICE})
    clock = FakeClock(datetime(2026, 10, 7, 7, 59, tzinfo=UTC))  # 08:00–08:10 at exactly 5 % errors
    # A selector that matches nothing would be a month without one sample: not a reason to page anybody.
    typo = {**SERVICES, "billing": {"probe": 'probe_sucess{job="blackbox"}'}}
    bot = await bot_factory(settings_from_mapping(config(prometheus.url, services=typo)), clock)
    await tick(bot, clock, datetime(2026, 10, 7, 8, 1, tzinfo=UTC))
    assert war_rooms(sandbox) == []  # nothing burns before 08:05
    await tick(bot, clock, datetime(2026, 10, 7, 8, 6, tzinfo=UTC))
    rooms = war_rooms(sandbox)
    assert len(rooms) == 1 and rooms[0].name.endswith("api-error-budget-burning-fast")
    incident = (await bot.incidents.open_incidents())[0]
    assert (incident.severity, incident.service, incident.declared_by) == (Severity.SEV2, "api", "warroom")
    assert BOB in rooms[0].members  # SEV-2 pages the primary on call
    await tick(bot, clock, datetime(2026, 10, 7, 8, 11, tzinfo=UTC))
    assert len(war_rooms(sandbox)) == 1
    assert "billing" not in "\n".join(bot_texts(sandbox.workspace.channel("finance")))


async def test_the_monthly_report_is_posted_once_with_its_chart(prometheus, sandbox, bot_factory):
    reports = sandbox.workspace.add_channel("sla-reports", creator=ALICE, members={ALICE, BOT_USER_ID})
    sandbox.workspace.add_channel("finance", creator=ALICE, members={ALICE})
    clock = FakeClock(datetime(2026, 11, 1, 8, 58, tzinfo=UTC))
    settings = settings_from_mapping(config(prometheus.url, report_channel="sla-reports"))
    bot = await bot_factory(settings, clock)
    await tick(bot, clock, datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    # The report asks Prometheus for four months before its timer settles: wait for its chart.
    await sandbox.wait_for(lambda: [m for m in reports.messages if m.subtype == "file_share"], timeout=60)
    posted = [m for m in reports.messages if m.user == BOT_USER_ID and m.subtype is None]
    assert len(posted) == 1
    report = str(posted[0].blocks)
    assert "*SLA report for 2026-10*" in report and "*Uptime*: api 99.787 %, web 99.966 %" in report
    assert "Acme 20 % = 2469.10 USD" in report and "Globex" not in report
    assert "• api: *misses the SLO*, meets Pro" in report
    assert "*Trend* (2026-07 → 2026-08 → 2026-09 → 2026-10)" in report
    # September had two hours of samples: monitoring began then, it was not a month-long outage
    assert "• api: no data → no data → no data → 99.787 %" in report
    shared = [m for m in reports.messages if m.subtype == "file_share"]
    assert len(shared) == 1 and sandbox.workspace.files[shared[0].files[0]]["bytes"][:4] == b"\x89PNG"
    async with bot.store.reading() as tx:
        assert (await tx.timers.get(SLA_REPORT_KEY)).due_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    await tick(bot, clock, datetime(2026, 11, 1, 9, 30, tzinfo=UTC))
    assert len([m for m in reports.messages if m.user == BOT_USER_ID]) == 2  # the report and its chart, once
