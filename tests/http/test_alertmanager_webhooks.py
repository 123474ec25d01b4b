"""POST /webhooks/alertmanager on the real bot: the bearer token, bad payloads, re-sends, and what alert groups do
in Slack (one war room per group, an alerts message updated in place, asking about SEV-3s, the resolve prompt)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from bot.config import settings_from_mapping
from bot.sandbox.workspace import BOT_USER_ID
from bot.slack.ids import ActionId
from tests.conftest import ALERTMANAGER_TOKEN, ALICE, BOB, CAROL, TEST_CONFIG
from tests.slack.helpers import bot_texts, card, replies_to, settle, war_rooms

TOKEN = ALERTMANAGER_TOKEN
STARTED = datetime(2026, 11, 27, 8, 57, tzinfo=timezone.utc)
CONFIG = {**TEST_CONFIG, "alerts": {"routes": [
    {"matchers": ['alertname="Watchdog"'], "declare": "never"},
    {"matchers": ['service=~"checkout|payments"', 'env!="staging"'], "severity": "sev1", "runbook": "api-5xx"},
]}}


def alert(name="HighErrorRate", status="firing", fingerprint="a1b2c3", starts=STARTED, **labels) -> dict:
    return {"status": status, "labels": {"alertname": name, **labels},
            "annotations": {"summary": f"{name} above threshold", "runbook_url": "https://runbooks.example.com/x"},
            "startsAt": starts.isoformat(), "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
            "endsAt": (starts + timedelta(minutes=9)).isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
            "fingerprint": fingerprint}


def payload(alerts: list[dict], group="{}:{alertname=\"HighErrorRate\"}", truncated=0, **common) -> dict:
    firing = any(a["status"] == "firing" for a in alerts)
    return {"version": "4", "groupKey": group, "truncatedAlerts": truncated, "status": "firing" if firing else
            "resolved", "receiver": "warroom", "groupLabels": {}, "commonLabels": common, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": alerts}


@pytest.fixture
async def alerts_bot(sandbox, alerts_bot_factory):
    sandbox.workspace.add_channel("alerts", creator=ALICE, members={ALICE, BOB, BOT_USER_ID})
    return await alerts_bot_factory(settings_from_mapping(CONFIG))


def alert_messages(channel) -> list:
    return [m for m in channel.messages if m.user == BOT_USER_ID and re.match(r"^\d+ firing, \d+ resolved: ", m.text)]


async def send(bot, body, token=TOKEN, raw: bytes | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(bot.url, data=raw if raw is not None else json.dumps(body), headers=headers) as answer:
            text = await answer.text()
            return answer.status, json.loads(text) if text.startswith("{") else {"text": text}


async def test_the_token_is_checked_before_anything_else_and_bad_payloads_get_the_reason(alerts_bot):
    assert (await send(alerts_bot, payload([alert()]), token=None))[0] == 401
    assert (await send(alerts_bot, payload([alert()]), token="wrong"))[0] == 401
    status, answer = await send(alerts_bot, {**payload([alert()]), "version": "3"})
    assert status == 400 and "version 4" in answer["error"]
    status, answer = await send(alerts_bot, None, raw=b"{not json")
    assert status == 400
    status, answer = await send(alerts_bot, payload([{**alert(), "startsAt": "yesterday"}]))
    assert status == 400 and "alerts.0.startsAt" in answer["error"]
    status, _ = await send(alerts_bot, None, raw=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert status == 413
    assert (await send(alerts_bot, payload([alert()]), token="old-token"))[0] == 200  # rotating: both work


async def test_without_a_token_configured_the_route_is_off():
    from aiohttp.test_utils import TestClient, TestServer

    from bot.http.server import build_app

    async def ready():
        return {}
    async with TestClient(TestServer(build_app(ready))) as client:
        answer = await client.post("/webhooks/alertmanager", json=payload([alert()]),
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status == 404


async def test_a_critical_group_opens_one_war_room_that_follows_it_and_asks_to_resolve(alerts_bot, sandbox):
    bot = alerts_bot
    first = payload([alert(service="checkout", env="prod", severity="warning")], service="checkout", env="prod")
    assert await send(bot, first) == (200, {"outcome": "declared"})
    assert await send(bot, first) == (200, {"outcome": "unchanged"})  # the group_interval re-send
    await settle(bot)
    [room] = war_rooms(sandbox)
    incident = await bot.incidents.find_in(room.id)
    # The route made it a SEV-1 (its severity label said warning), and the impact began at the alert's start.
    assert incident.severity.label == "SEV-1" and incident.impact_started_at == STARTED
    assert incident.declared_by == "alertmanager" and incident.paged  # a SEV-1 pages
    assert "Impact began" in json.dumps(card(room).blocks)
    timeline = await bot.incidents.timeline(incident.id)
    assert timeline[0].text.startswith("Alert fired: HighErrorRate") and timeline[0].at == STARTED
    messages = alert_messages(room)
    assert len(messages) == 1
    blocks = json.dumps(messages[0].blocks)
    assert "https://runbooks.example.com/x" in blocks and "http://prometheus:9090/graph" in blocks

    # A second alert of the same group joins: the same message, updated in place; nothing new opens.
    second = payload([alert(service="checkout", env="prod"),
                      alert("LatencyHigh", fingerprint="d4e5", service="checkout", env="prod")],
                     truncated=140, service="checkout", env="prod")
    assert await send(bot, second) == (200, {"outcome": "joined"})
    await settle(bot)
    assert len(war_rooms(sandbox)) == 1
    [message] = alert_messages(room)
    assert "LatencyHigh" in json.dumps(message.blocks) and "and 140 more" in json.dumps(message.blocks)
    assert "2 firing" in json.dumps(card(room).blocks)

    # Everything resolves: the IC is asked, with one click to resolve; the incident is not resolved by alerts.
    resolved = payload([alert(status="resolved", service="checkout", env="prod"),
                        alert("LatencyHigh", status="resolved", fingerprint="d4e5", service="checkout", env="prod")],
                       service="checkout", env="prod")
    assert await send(bot, resolved) == (200, {"outcome": "joined"})
    await settle(bot)
    prompt = [m for m in room.messages if "Every alert of this incident has resolved" in m.text]
    assert len(prompt) == 1 and ActionId.RESOLVE in json.dumps(prompt[0].blocks)
    assert (await bot.incidents.find_in(room.id)).is_open
    texts = [e.text for e in await bot.incidents.timeline(incident.id)]
    assert texts.count("Alert resolved: HighErrorRate") == 1 and "Alert fired: LatencyHigh: LatencyHigh above " \
                                                                  "threshold" in texts


async def test_a_warning_waits_in_the_alerts_channel_until_someone_declares_and_never_pages(alerts_bot, sandbox):
    bot = alerts_bot
    body = payload([alert("DiskFillingUp", severity="warning", instance="db-3")], group="g-disk",
                   severity="warning", instance="db-3")
    assert await send(bot, body) == (200, {"outcome": "asked"})
    await settle(bot)
    channel = sandbox.workspace.channel("alerts")
    [asked] = [m for m in channel.messages if m.user == BOT_USER_ID]
    assert war_rooms(sandbox) == [] and "Not paged" in json.dumps(asked.blocks)
    # Carol is not in #alerts; a click forged from elsewhere names a group it does not show.
    await sandbox.click(CAROL, "alerts", asked.ts, ActionId.ALERT_DECLARE)
    await settle(bot)
    assert war_rooms(sandbox) == [] and any("Only people in this channel" in r for r in replies_to(sandbox, CAROL))
    await sandbox.click(ALICE, "alerts", asked.ts, ActionId.ALERT_DECLARE)
    await settle(bot)
    [room] = war_rooms(sandbox)
    incident = await bot.incidents.find_in(room.id)
    assert incident.severity.label == "SEV-3" and incident.paged == () and incident.declared_by == ALICE
    assert ActionId.ALERT_DECLARE not in json.dumps(channel.find(asked.ts).blocks)  # the ask shows it is handled
    assert any("DiskFillingUp" in t for t in bot_texts(room))


async def test_record_only_routes_and_silences_without_alertmanager(alerts_bot, sandbox):
    bot = alerts_bot
    assert await send(bot, payload([alert("Watchdog", severity="none")], group="g-watchdog")) == \
        (200, {"outcome": "recorded"})
    await send(bot, payload([alert("CPUHigh", severity="info", instance="x")], group="g-cpu", instance="x"))
    await settle(bot)
    channel = sandbox.workspace.channel("alerts")
    [asked] = [m for m in channel.messages if m.user == BOT_USER_ID]
    await sandbox.click(ALICE, "alerts", asked.ts, ActionId.ALERT_SILENCE, value=json.dumps({"group": 2, "hours": 1}))
    await settle(bot)
    assert any("alerts.alertmanager_url" in r for r in replies_to(sandbox, ALICE))


async def test_an_alert_storm_opens_at_most_the_limit_and_collects_the_rest_in_one_message(sandbox,
                                                                                        alerts_bot_factory):
    sandbox.workspace.add_channel("alerts", creator=ALICE, members={ALICE, BOT_USER_ID})
    bot = await alerts_bot_factory(settings_from_mapping({**TEST_CONFIG, "alerts": {
        "max_new_incidents": 3, "storm_window_minutes": 10}}))
    groups = [payload([alert(f"Down{n}", fingerprint=f"f{n}", severity="critical", service=f"svc{n}")],
                      group=f"g{n}", service=f"svc{n}") for n in range(8)]
    answers = [await send(bot, body) for body in groups]  # one after another: which ones open is deterministic
    assert [a[1]["outcome"] for a in answers] == ["declared"] * 3 + ["storm"] * 5
    assert await send(bot, groups[5]) == (200, {"outcome": "unchanged"})
    grown = payload([alert("Down5", fingerprint="f5", severity="critical", service="svc5"),
                     alert("Down5", fingerprint="f5b", severity="critical", service="svc5")], group="g5",
                    service="svc5")
    assert await send(bot, grown) == (200, {"outcome": "storm"})
    await settle(bot)
    assert len(war_rooms(sandbox)) == 3
    [storm] = [m for m in sandbox.workspace.channel("alerts").messages if m.user == BOT_USER_ID]
    assert storm.text == "Alert storm: 5 more groups, 6 alerts firing"
    assert all(f"Down{n} on svc{n}" in json.dumps(storm.blocks) for n in range(3, 8))


async def test_a_flapping_alert_stops_producing_messages_until_it_settles(alerts_bot, sandbox):
    bot = alerts_bot
    starts = [STARTED + timedelta(minutes=10 * n) for n in range(4)]

    def delivery(n: int, status: str) -> dict:
        return payload([alert(status=status, starts=starts[n], severity="critical", service="checkout")],
                       group="g-flap", service="checkout")
    outcomes = []
    for n in range(4):
        outcomes.append((await send(bot, delivery(n, "firing")))[1]["outcome"])
        outcomes.append((await send(bot, delivery(n, "resolved")))[1]["outcome"])
    # The default: four firings within an hour is flapping; the fourth one and its resolve make no message.
    assert outcomes == ["declared", "joined", "joined", "joined", "joined", "joined", "flapping", "flapping"]
    await settle(bot)
    [room] = war_rooms(sandbox)
    incident = await bot.incidents.find_in(room.id)
    texts = [e.text for e in await bot.incidents.timeline(incident.id)]
    assert sum(t.startswith("Alert fired: HighErrorRate") for t in texts) == 3
    [message] = alert_messages(room)  # still one message, edited in place, and it says so
    assert "_flapping_" in json.dumps(message.blocks)
    assert sum("Every alert of this incident has resolved" in m.text for m in room.messages) == 3


async def test_the_noise_report_and_the_weekly_digest_name_what_fires_without_anyone_acting(sandbox,
                                                                                          alerts_bot_factory):
    from bot.services.alerts import NOISE_DIGEST_KEY
    from bot.storage.timers import Timer

    sandbox.workspace.add_channel("alerts", creator=ALICE, members={ALICE, BOT_USER_ID})
    sandbox.workspace.add_channel("alert-review", creator=ALICE, members={ALICE, BOT_USER_ID})
    bot = await alerts_bot_factory(settings_from_mapping({**TEST_CONFIG, "alerts": {"noise_channel": "alert-review"}}))
    now = datetime.now(timezone.utc)
    for n in range(3):  # fires three times, nobody does anything
        await send(bot, payload([alert("CPUHigh", starts=now - timedelta(hours=n * 3), fingerprint="cpu",
                                       severity="info", status="resolved")], group="g-cpu"))
    for n in range(3):  # fires three times, acknowledged
        await send(bot, payload([alert("QueueBacklog", starts=now - timedelta(hours=n * 3), fingerprint="q",
                                       severity="warning")], group=f"g-queue{n}"))
    await settle(bot)
    asked = [m for m in sandbox.workspace.channel("alerts").messages if "QueueBacklog" in m.text]
    await sandbox.click(ALICE, "alerts", asked[0].ts, ActionId.ALERT_ACKNOWLEDGE)
    await settle(bot)
    # An incident alerts opened, where someone then did something, counts as acted on too.
    for n in range(3):
        await send(bot, payload([alert("Outage", starts=now - timedelta(hours=n * 3), fingerprint="o",
                                       severity="critical", status="firing" if n == 0 else "resolved")],
                                group=f"g-outage{n}", service="web"))
    await settle(bot)
    outage_room = next(r for r in war_rooms(sandbox) if "outage" in r.name)
    await sandbox.join(ALICE, outage_room.id)
    await sandbox.slash(ALICE, outage_room.id, "/incident", "update identified The load balancer is out")
    await settle(bot)
    rows = {row.name: row for row in await bot.alerts.noise()}
    assert rows["Outage"].acted >= 1 and not rows["Outage"].ignored
    assert rows["CPUHigh"].fires == 3 and rows["CPUHigh"].ignored and rows["CPUHigh"].median_minutes == 9
    assert rows["QueueBacklog"].acted == 1 and not rows["QueueBacklog"].ignored
    await sandbox.slash(ALICE, "general", "/incident", "alerts noise")
    await settle(bot)
    report = sandbox.ephemerals_for(ALICE)[-1].blocks[0]["text"]["text"]
    assert "CPUHigh: fired 3×, acted on 0%" in report and "QueueBacklog: fired 3×, acted on 33%" in report
    async with bot.store.transaction() as tx:
        timer = await tx.timers.get(NOISE_DIGEST_KEY)
        assert isinstance(timer, Timer) and timer.due_at.weekday() == 0 and timer.due_at.hour == 9
        fired = await bot.alerts.fire_digest(tx, timer, now)
    assert fired.next_due > now
    bot.dispatcher.wake()
    await settle(bot)
    [digest] = [m for m in sandbox.workspace.channel("alert-review").messages if m.user == BOT_USER_ID]
    assert "1 alerts fired 3 or more times" in digest.text and "CPUHigh" in json.dumps(digest.blocks)
    assert "QueueBacklog" not in json.dumps(digest.blocks)


async def test_auto_resolve_only_what_alerts_opened_only_when_set_and_only_without_people(sandbox,
                                                                                         alerts_bot_factory):
    from bot.services.alerts import _auto_resolve_key
    from tests.slack.helpers import declare

    sandbox.workspace.add_channel("alerts", creator=ALICE, members={ALICE, BOT_USER_ID})
    bot = await alerts_bot_factory(settings_from_mapping({**TEST_CONFIG, "alerts": {"auto_resolve_minutes": 5}}))

    async def timer_of(incident):
        async with bot.store.reading() as tx:
            return await tx.timers.get(_auto_resolve_key(incident.id))

    async def fire(timer):
        async with bot.store.transaction() as tx:
            return await bot.alerts.fire_auto_resolve(tx, timer, timer.due_at)

    def body(name: str, status: str) -> dict:
        return payload([alert(name, status=status, fingerprint=name, severity="critical", service=name.lower())],
                       group=f"g-{name}", service=name.lower())
    # Opened by alerts, all clear, nobody acted: resolved when the timer fires.
    await send(bot, body("Quiet", "firing"))
    await send(bot, body("Quiet", "resolved"))
    await settle(bot)
    quiet = await bot.incidents.find_in(war_rooms(sandbox)[0].id)
    assert any("warroom resolves it in 5 minutes" in m.text for m in war_rooms(sandbox)[0].messages)
    await fire(await timer_of(quiet))
    assert not (await bot.incidents.find_in(quiet.channel_id)).is_open

    # Someone posted an update after the all-clear: left to them.
    await send(bot, body("Busy", "firing"))
    await settle(bot)
    busy_room = next(r for r in war_rooms(sandbox) if "busy" in r.name)
    await send(bot, body("Busy", "resolved"))
    await sandbox.join(BOB, busy_room.id)
    await sandbox.slash(BOB, busy_room.id, "/incident", "update monitoring Still seeing errors in the logs")
    await settle(bot)
    busy = await bot.incidents.find_in(busy_room.id)
    await fire(await timer_of(busy))
    assert (await bot.incidents.find_in(busy_room.id)).is_open

    # A person declared it first; the alerts joined it: alerts never resolve it, and no timer is set.
    room = await declare(sandbox, bot, ALICE, "sev2 Manual on manual")
    await send(bot, body("Manual", "firing"))
    await send(bot, body("Manual", "resolved"))
    await settle(bot)
    manual = await bot.incidents.find_in(room.id)
    assert manual.declared_by == ALICE and await timer_of(manual) is None
    assert len([r for r in war_rooms(sandbox) if "manual" in r.name]) == 1


async def test_the_same_new_group_delivered_twice_at_once_opens_one_war_room(alerts_bot, sandbox):
    import asyncio

    body = payload([alert(severity="critical", service="search")], group="g-twice", service="search")
    answers = await asyncio.gather(*(send(alerts_bot, body) for _ in range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(a["outcome"] for _, a in answers) == ["declared", "unchanged", "unchanged", "unchanged"]
    await settle(alerts_bot)
    assert len(war_rooms(sandbox)) == 1


async def test_the_offered_runbook_starts_with_one_click_and_counts_as_acting_only_in_its_own_room(
        sandbox, alerts_bot_factory):
    sandbox.workspace.add_channel("alerts", creator=ALICE, members={ALICE, BOT_USER_ID})
    bot = await alerts_bot_factory(settings_from_mapping({**TEST_CONFIG, "alerts": {"routes": [
        {"matchers": ['service="checkout"'], "severity": "sev2", "runbook": "bad-deploy-rollback"}]}}))
    for name, service in (("Errors", "checkout"), ("Latency", "search")):
        await send(bot, payload([alert(name, fingerprint=name, service=service, severity="critical")],
                                group=f"g-{name}", service=service))
    await settle(bot)
    checkout = next(r for r in war_rooms(sandbox) if "checkout" in r.name)
    search = next(r for r in war_rooms(sandbox) if "search" in r.name)
    await sandbox.join(BOB, search.id)
    # A click forged in the search room naming checkout's group: the runbook starts there (Bob may), but the
    # checkout alerts do not count as acted on.
    [search_message] = alert_messages(search)
    checkout_group = (await bot.alerts.of_incident((await bot.incidents.find_in(checkout.id)).id))[0].id
    option = next(o["value"] for b in search_message.blocks if b["type"] == "actions" for e in b["elements"]
                  if e.get("action_id") == ActionId.ALERT_SILENCE for o in e["options"])
    forged = sandbox.click_payload(BOB, search.id, search_message.ts, ActionId.ALERT_SILENCE, value=option)
    forged["actions"] = [{"type": "button", "action_id": ActionId.ALERT_RUNBOOK, "block_id": "x",
                          "action_ts": "1.2", "value": json.dumps({"group": checkout_group,
                                                                   "runbook": "bad-deploy-rollback"})}]
    await sandbox.deliver("interactive", forged)
    await settle(bot)
    assert {row.name: row.acted for row in await bot.alerts.noise()}["Errors"] == 0
    # The real button, in the checkout room.
    await sandbox.join(BOB, checkout.id)
    [message] = alert_messages(checkout)
    assert "Start runbook: Bad deploy, roll back" in json.dumps(message.blocks)
    await sandbox.click(BOB, checkout.id, message.ts, ActionId.ALERT_RUNBOOK)
    await settle(bot)
    assert any(m.text.startswith("Runbook: Bad deploy") for m in checkout.messages)
    assert {row.name: row.acted for row in await bot.alerts.noise()}["Errors"] == 1


async def test_only_a_delivery_that_opens_an_incident_asks_who_is_on_call(alerts_bot):
    asked = []
    lookup = alerts_bot.alerts.incidents.on_call_for

    async def counted(severity):
        asked.append(severity)
        return await lookup(severity)
    alerts_bot.alerts.incidents.on_call_for = counted
    body = payload([alert(severity="critical", service="cart")], group="g-cart", service="cart")
    assert (await send(alerts_bot, body))[1]["outcome"] == "declared"
    for _ in range(3):  # the group_interval re-sends
        assert (await send(alerts_bot, body))[1]["outcome"] == "unchanged"
    assert len(asked) == 1
