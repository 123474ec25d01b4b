"""Automated remediation against a real Alertmanager and the real bot: an action that fixes pages nobody, one that
does not pages after its verification, one that fails pages at once, a follow-up alert pages, a storm runs once
per target and stops at the hourly limit, pause and resume, a dry run, a label that does not match its pattern,
a restart between the action and its verification, and the HTTP action against a local server.

Needs WARROOM_TEST_ALERTMANAGER (.ci/run sets it)."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.config import settings_from_mapping
from bot.core.remediation import Outcome
from bot.sandbox.workspace import BOT_USER_ID
from tests.conftest import ALICE, BOB, CAROL, ShiftedClock, free_port, local_server
from tests.e2e.alertmanager_harness import BINARY, SKIP_REASON, eventually
from tests.e2e.remediation_harness import (
    Host,
    alert_recorded,
    all_rows,
    config,
    later,
    policy,
    rows_at_least,
    runs,
    said,
    said_anywhere,
)
from tests.slack.helpers import bot_texts, settle, war_rooms

pytestmark = pytest.mark.skipif(not BINARY, reason=SKIP_REASON)


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(tmp_path)


@pytest.fixture
def alerts_channel(sandbox):
    sandbox.workspace.add_channel("alerts", creator=BOB, members={BOB, ALICE, BOT_USER_ID})
    return sandbox.workspace.channel("alerts")


@pytest.fixture
async def setup(alerts_bot_factory, alertmanager, alerts_channel):
    """Starts Alertmanager and the bot on a shifted clock; returns (manager, bot, clock, start again)."""
    async def start(settings_map: dict):
        port = free_port()
        manager = alertmanager(port)
        clock = ShiftedClock()
        settings = settings_from_mapping(settings_map)
        bot = await alerts_bot_factory(settings, port, clock)
        await manager.ready()

        async def restart():
            nonlocal bot
            await bot.halt()
            bot = await alerts_bot_factory(settings, port, clock)
            return bot
        return manager, bot, clock, restart
    return start


async def test_an_action_that_fixes_pages_nobody(setup, host, alerts_channel, sandbox):
    manager, bot, clock, _ = await setup(config(host))
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: said(alerts_channel, "Automation ran"), what="the action's announcement")
    assert host.calls == ["--host db-1"]
    [run] = await runs(bot)
    assert run.outcome is Outcome.SUCCEEDED and run.exit_code == 0 and "freed 3 GB on db-1" in run.output
    assert run.request["argv"][-2:] == ["--host", "db-1"] and run.labels["instance"] == "db-1"
    assert run.fingerprint and run.verify_at is not None
    [told] = said(alerts_channel, "Automation ran")
    assert "`fix-test/cleanup`" in told and "DiskUsage80" in told and "pages @primary if DiskUsage80 is still " \
                                                                          "firing" in told
    assert "DiskUsage90" in told
    await manager.fire("DiskUsage80", resolve=True, service="disk", instance="db-1")
    await eventually(lambda: said(alerts_channel, "nobody was paged"), timeout=30, what="the all-clear")
    await later(bot, clock, 20)  # past the verification: it was cancelled by the resolve
    await settle(bot)
    assert war_rooms(sandbox) == [] and len(said(alerts_channel, "nobody was paged")) == 1
    [run] = await runs(bot)
    assert run.verification == "fixed" and run.escalated_at is None


async def test_an_action_that_does_not_fix_pages_after_the_verification_even_across_a_restart(
        setup, host, alerts_channel, sandbox):
    manager, bot, clock, restart = await setup(config(host))
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: said(alerts_channel, "Automation ran"), what="the action's announcement")
    await settle(bot)
    bot = await restart()  # warroom restarts between the action and its verification
    await later(bot, clock, 10)
    await settle(bot)
    assert war_rooms(sandbox) == []  # not yet: 15 minutes
    await later(bot, clock, 6)
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], what="the escalation's war room")
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    assert incident.severity.label == "SEV-2" and incident.declared_by == "remediation"
    assert BOB in room.members  # primary, paged
    texts = [e.text for e in await bot.incidents.timeline(incident.id)]
    assert any("Automation: policy `disk-cleanup` succeeded for DiskUsage80" in t for t in texts)
    assert any("still firing 15 minutes after the action" in t for t in texts)
    [run] = await runs(bot)
    assert run.verification == "still_firing" and run.escalated_at is not None and run.incident_id == incident.id
    assert host.calls == ["--host db-1"]  # ran once, across the restart
    await later(bot, clock, 30)
    await settle(bot)
    assert len(war_rooms(sandbox)) == 1 and len(said(room, ":pager: Automation did not fix")) == 1


async def test_an_action_that_fails_pages_at_once(setup, host, alerts_channel, sandbox):
    host.fail_with(3)
    manager, bot, clock, _ = await setup(config(host))
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], what="a war room at once")
    await settle(bot)
    [run] = await runs(bot)
    assert run.outcome is Outcome.FAILED and run.exit_code == 3 and run.escalated_at is not None
    assert said(alerts_channel, "*failed* (exit code 3)") and said(alerts_channel, "Paging @primary now")
    assert said(room, "Automation did not fix") and BOB in room.members


async def test_warroom_stopping_while_the_action_runs_pages_a_human_and_never_runs_it_again(
        setup, host, alerts_channel, sandbox):
    host.take(4)
    manager, bot, clock, restart = await setup(config(host))
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: host.calls, what="the action started")
    bot = await restart()  # stops mid-action: the command is killed with it
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], timeout=30, what="the page")
    await settle(bot)
    [run] = await runs(bot)
    assert run.outcome is Outcome.INTERRUPTED and run.escalated_at is not None
    assert host.calls == ["--host db-1"]  # never run twice: nobody knows how far the first one got
    assert said_anywhere(sandbox, "*was interrupted*") and said(room, ":pager: Automation did not fix")


async def test_a_record_only_policy_writes_it_down_and_pages_on_its_follow_up(setup, host, alerts_channel,
                                                                              sandbox):
    record = {"name": "pod-crash-loop", "matchers": ['alertname="KubePodCrashLooping"'], "record": True,
              "labels": {"pod": "[a-z0-9-]+"},
              "escalate": {"follow_up": ['alertname="KubePodRestartsAbove10"'], "follow_up_minutes": 60}}
    manager, bot, clock, _ = await setup(config(host, record))
    await manager.fire("KubePodCrashLooping", service="shop", pod="cart-7f9")
    await eventually(lambda: said(alerts_channel, "records it and leaves it to heal"), what="the record")
    await manager.fire("KubePodCrashLooping", service="shop", pod="cart-7f9", container="sidecar")  # same pod
    await eventually(lambda: rows_at_least(bot, 2), timeout=30, what="the second alert decided")
    await settle(bot)
    assert len(said(alerts_channel, "records it")) == 1 and war_rooms(sandbox) == []
    await manager.fire("KubePodRestartsAbove10", service="shop", pod="cart-7f9")
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], timeout=30, what="the page above 10")
    await settle(bot)
    assert said(room, "KubePodRestartsAbove10 fired after it") and host.calls == []
    outcomes = sorted(run.outcome.value for run in await all_rows(bot))
    assert outcomes == ["covered", "recorded"]


async def test_nothing_acts_while_remediation_is_off(setup, host, alerts_channel, sandbox):
    manager, bot, clock, _ = await setup({**config(host), "remediation": {"enabled": False,
                                                                          "policies": [policy()]}})
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: alert_recorded(bot), what="the alert recorded")
    await later(bot, clock, 20)
    await settle(bot)
    assert host.calls == [] and await all_rows(bot) == [] and bot_texts(alerts_channel) == []


async def test_in_a_war_room_automation_speaks_there_and_a_failure_pages_only_who_was_not_paged(
        setup, host, alerts_channel, sandbox):
    host.fail_with(1)
    settings_map = config(host, policy(escalate={"page": ["primary", "secondary"]}))
    settings_map["alerts"] = {"routes": [{"matchers": ['alertname="DiskUsage80"'], "severity": "sev2"}]}
    manager, bot, clock, _ = await setup(settings_map)
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], what="the war room the route opens")
    await eventually(lambda: said(room, ":pager: Automation did not fix"), timeout=30, what="the page")
    await settle(bot)
    assert len(war_rooms(sandbox)) == 1 and said(room, "*failed* (exit code 1)") and not bot_texts(alerts_channel)
    [told] = said(room, ":pager: Automation did not fix")
    assert "Paged <@U0CAROL>" in told and "@primary had been paged for this incident already" in told
    assert CAROL in room.members
    assert any("automation did not fix DiskUsage80" in m.text for m in sandbox.workspace.dm(CAROL).messages)
    assert not any("automation did not fix" in m.text for m in sandbox.workspace.dm(BOB).messages)
    incident = await bot.incidents.find_in(room.id)
    assert incident.paged == ("primary", "secondary")


async def test_a_follow_up_alert_about_the_same_target_pages_at_once(setup, host, alerts_channel, sandbox):
    manager, bot, clock, _ = await setup(config(host, policy(verify_after_minutes=None)))
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: said(alerts_channel, "Automation ran"), what="the action's announcement")
    await manager.fire("DiskUsage90", service="disk", instance="db-2")  # another host: not this run's business
    await later(bot, clock, 1)
    await settle(bot)
    assert war_rooms(sandbox) == []
    await manager.fire("DiskUsage90", service="disk", instance="db-1")
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], timeout=30, what="the follow-up's page")
    await settle(bot)
    [run] = await runs(bot)
    assert run.verification == "follow_up" and "DiskUsage90 fired after it" in run.escalation
    assert said(room, "Automation did not fix")


async def test_a_storm_runs_once_per_target_and_stops_at_the_hourly_limit(setup, host, alerts_channel, sandbox):
    manager, bot, clock, _ = await setup(config(host, policy(
        target=["instance"], labels={"instance": "[a-z0-9.-]+", "mountpoint": "/[a-z/]*"}, max_runs_per_hour=2)))
    for instance, mount in [("db-1", "/var"), ("db-1", "/tmp"), ("db-1", "/srv"), ("db-2", "/var"),
                            ("db-3", "/var")]:
        await manager.fire("DiskUsage80", service="disk", instance=instance, mountpoint=mount)
    await eventually(lambda: len(said_anywhere(sandbox, "Automation ran")) == 2, timeout=30, what="two runs")
    await eventually(lambda: war_rooms(sandbox), timeout=30, what="the page for db-3")
    await settle(bot)
    rows = await all_rows(bot)
    assert sorted(host.calls) == ["--host db-1", "--host db-2"]
    by_outcome = {}
    for row in rows:
        by_outcome.setdefault(row.outcome, []).append(row.target)
    assert sorted(by_outcome[Outcome.SUCCEEDED]) == ["instance=db-1", "instance=db-2"]
    assert by_outcome[Outcome.COVERED] == ["instance=db-1", "instance=db-1"]
    assert by_outcome[Outcome.LIMITED] == ["instance=db-3"]
    limited = next(r for r in rows if r.outcome is Outcome.LIMITED)
    assert "2 times in the last hour" in limited.reason and limited.escalated_at is not None
    assert said(alerts_channel, "did not run") and len(said_anywhere(sandbox, "Automation ran")) == 2
    # Alertmanager re-sends the group: nothing is decided twice.
    await later(bot, clock, 1)
    await settle(bot)
    assert len(await all_rows(bot)) == 5 and len(war_rooms(sandbox)) == 1


async def test_pause_and_resume_stop_and_start_every_action(setup, host, alerts_channel, sandbox):
    sandbox.workspace.add_usergroup("incident-managers", [BOB])
    manager, bot, clock, _ = await setup(config(host))
    await sandbox.slash(ALICE, alerts_channel.id, "/incident", "automation pause investigating the disks by hand")
    await settle(bot)
    assert "Only the Incident Commander" in sandbox.ephemerals_for(ALICE)[-1].text
    await sandbox.slash(BOB, alerts_channel.id, "/incident", "automation pause investigating the disks by hand")
    await eventually(lambda: said(alerts_channel, "paused automated remediation"), what="the pause told")
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: said(alerts_channel, "Automation is paused"), what="the paused notice")
    assert host.calls == []
    await sandbox.slash(BOB, alerts_channel.id, "/incident", "automation")
    await settle(bot)
    status = sandbox.ephemerals_for(BOB)[-1].text
    assert "paused" in status
    await sandbox.slash(BOB, alerts_channel.id, "/incident", "automation resume disks are fine")
    await eventually(lambda: said(alerts_channel, "resumed automated remediation"), what="the resume told")
    await manager.fire("DiskUsage80", service="disk", instance="db-2")
    await eventually(lambda: said(alerts_channel, "Automation ran"), what="an action after the resume")
    assert host.calls == ["--host db-2"]
    async with bot.store.reading() as tx:
        switch = await tx.remediation.switch()
    assert not switch.paused and switch.actor == BOB and switch.why == "disks are fine"


async def test_a_dry_run_records_what_would_run_and_pages_nobody(setup, host, alerts_channel, sandbox):
    manager, bot, clock, _ = await setup(config(host, dry_run=True))
    await manager.fire("DiskUsage80", service="disk", instance="db-1")
    await eventually(lambda: said(alerts_channel, "Dry run"), what="the dry run's notice")
    await later(bot, clock, 16)
    await eventually(lambda: said(alerts_channel, "would page"), what="the would-page notice")
    await settle(bot)
    assert host.calls == [] and war_rooms(sandbox) == []
    [run] = await runs(bot)
    assert run.outcome is Outcome.DRY_RUN and run.request["argv"][-2:] == ["--host", "db-1"]


async def test_a_label_that_does_not_match_its_pattern_runs_nothing_and_pages(setup, host, alerts_channel,
                                                                              sandbox):
    manager, bot, clock, _ = await setup(config(host))
    await manager.fire("DiskUsage80", service="disk", instance="db-1;rm -rf /")
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], what="the page")
    await settle(bot)
    assert host.calls == []
    [run] = await runs(bot)
    assert run.outcome is Outcome.REFUSED and "does not match" in run.reason and run.request == {}
    assert said(alerts_channel, "refused to run") and said(room, "Automation did not fix")


async def test_the_http_action_posts_with_its_secret_header_and_records_the_answer(setup, host, alerts_channel,
                                                                                  sandbox, monkeypatch):
    received = []
    answers = [web.json_response({"id": 1, "echo": "token-for-the-gateway"}), web.Response(status=500, text="down")]

    async def backpressure(request):
        received.append((request.headers.get("Authorization"), await request.json()))
        return answers[len(received) - 1]
    monkeypatch.setenv("GATEWAY_TOKEN", "token-for-the-gateway")
    async with local_server({"/admin/backpressure": backpressure}) as url:
        http_policy = {"name": "provider-rate-limited", "matchers": ['alertname="ProviderRateLimited"'],
                       "http": {"url": f"{url}/admin/backpressure",
                                "headers": {"Authorization": "GATEWAY_TOKEN"},
                                "body": {"provider": "{provider}", "enabled": True}},
                       "labels": {"provider": "[a-z]+"}, "cooldown_minutes": 0}
        manager, bot, clock, _ = await setup(config(host, http_policy))
        await manager.fire("ProviderRateLimited", service="gateway", provider="openai")
        await eventually(lambda: said(alerts_channel, "Automation ran"), what="the POST announced")
        assert received == [("token-for-the-gateway", {"provider": "openai", "enabled": True})]
        [run] = await runs(bot)
        assert run.outcome is Outcome.SUCCEEDED and run.http_status == 200
        assert "token-for-the-gateway" not in run.output and "[redacted]" in run.output
        assert run.request["headers"] == ["Authorization"] and "token" not in str(run.request)
        await manager.fire("ProviderRateLimited", service="gateway", provider="anthropic")
        await eventually(lambda: war_rooms(sandbox), what="the page after a 500")
        await settle(bot)
        assert said(alerts_channel, "*failed* (HTTP 500)")
