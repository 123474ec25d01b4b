"""/sla maintenance through the real app over Socket Mode: who may announce it, what is kept out of the SLA, a
redelivery recorded once, and bad input answered with what to type. (/sla reports need a Prometheus:
tests/e2e/test_sla.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import settings_from_mapping
from tests.conftest import ALICE, BOB, ERIN, TEST_CONFIG, FakeClock
from tests.slack.helpers import replies_to, settle

SLA = {"prometheus_url": "http://127.0.0.1:9", "services": {
    "api": {"total": 'http_requests_total{service="api"}', "errors": 'http_requests_total{service="api",code=~"5.."}'}}}
CONFIG = {**TEST_CONFIG, "sla": SLA, "permissions": {"sla_maintenance": "sre-leads",
                                                     "incident_managers": "incident-managers"}}


async def test_only_the_named_groups_may_announce_maintenance_and_early_notice_is_excluded(sandbox, bot_factory):
    sandbox.workspace.add_usergroup("sre-leads", [ALICE])
    sandbox.workspace.add_usergroup("incident-managers", [ERIN])
    bot = await bot_factory(settings_from_mapping(CONFIG), FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC)))
    await sandbox.slash(BOB, "general", "/sla", "maintenance api 2026-12-05T02:00 2026-12-05T03:00")
    await settle(bot)
    assert "Only members of @sre-leads or @incident-managers may announce SLA maintenance" in replies_to(sandbox, BOB)[-1]
    payload = sandbox.slash_payload(ALICE, "general", "/sla", "maintenance api 2026-12-05T02:00 2h")
    await sandbox.deliver("slash_commands", payload)
    await sandbox.deliver("slash_commands", payload, retry_attempt=1)  # Slack redelivers: recorded once
    await sandbox.slash(ERIN, "general", "/sla", "maintenance * 2026-11-28T01:00 30m")
    await settle(bot)
    assert "from <!date^" in replies_to(sandbox, ALICE)[-1] and "kept out of the SLA" in replies_to(sandbox, ALICE)[-1]
    assert "*counts against the SLA*" in replies_to(sandbox, ERIN)[-1]  # 16 hours' notice
    listed = await bot.sla.upcoming_maintenance()
    assert [(m.service, m.by, m.excluded) for m in listed] == [("*", ERIN, False), ("api", ALICE, True)]
    assert (listed[1].end - listed[1].start).total_seconds() == 7200
    await sandbox.slash(BOB, "general", "/sla", "maintenance")
    await settle(bot)
    listing = str(sandbox.ephemerals_for(BOB)[-1].blocks)
    assert "excluded from the SLA" in listing and "counts against the SLA" in listing and f"<@{ALICE}>" in listing


async def test_bad_maintenance_input_says_what_to_type(sandbox, bot_factory):
    sandbox.workspace.add_usergroup("sre-leads", [ALICE])
    bot = await bot_factory(settings_from_mapping(CONFIG), FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC)))
    cases = {"maintenance api tomorrow 2h": "The start `tomorrow` is not a time: use YYYY-MM-DDTHH:MM in UTC",
             "maintenance api 2026-02-30T01:00 2h": "is not a date that exists",
             "maintenance web 2026-12-05T02:00 2h": "`web` is no SLA service (known: api)",
             "maintenance api 2026-12-05T02:00 2026-12-05T01:00": "must end after it starts",
             "maintenance api 2026-11-01T02:00 2h": "is over already",
             "maintenance api 2026-12-05T02:00 999h": "at most 7 days",
             "maintenance api": "Usage: `/sla`",
             "2026-13": "YYYY-MM", "nosuch": "`nosuch` is neither a service (api) nor a month"}
    for text in cases:
        await sandbox.slash(ALICE, "general", "/sla", text)
    await settle(bot)
    replies = replies_to(sandbox, ALICE)
    assert len(replies) == len(cases)
    for expected in cases.values():
        assert any(expected in reply for reply in replies), (expected, replies)
    assert await bot.sla.upcoming_maintenance() == []


async def test_without_an_sla_section_sla_says_how_to_set_it_up(sandbox, bot):
    await sandbox.slash(ALICE, "general", "/sla", "")
    await settle(bot)
    assert "No SLA is measured here: list the services in config.yaml" in replies_to(sandbox, ALICE)[-1]
