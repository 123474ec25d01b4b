"""A real Alertmanager (Debian's prometheus-alertmanager) sends its webhook to the real bot: alerts fired and
resolved through its API open and follow a war room, a restart of warroom in the middle of a group loses
nothing, the bearer token is what it sends, and a silence made from Slack is a silence in Alertmanager.

Needs WARROOM_TEST_ALERTMANAGER, the alertmanager binary (.ci/run installs it and sets it)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest

from bot.config import settings_from_mapping
from bot.sandbox.workspace import BOT_USER_ID
from bot.slack.ids import ActionId
from tests.conftest import BOB, TEST_CONFIG, free_port
from tests.e2e.alertmanager_harness import BINARY, SKIP_REASON, Alertmanager, eventually
from tests.slack.helpers import card, settle, war_rooms

pytestmark = pytest.mark.skipif(not BINARY, reason=SKIP_REASON)


def alert_message(room):
    found = [m for m in room.messages if m.user == BOT_USER_ID and re.match(r"^\d+ firing, \d+ resolved: ", m.text)]
    return found[0] if found else None



async def test_alerts_from_a_real_alertmanager_open_follow_and_silence_a_war_room(alerts_bot_factory, alertmanager,
                                                                                  sandbox, tmp_path):
    port = free_port()
    manager = alertmanager(port)
    settings = settings_from_mapping({**TEST_CONFIG, "alerts": {"alertmanager_url": manager.url}})
    bot = await alerts_bot_factory(settings, port)
    await manager.ready()
    await manager.fire("HighErrorRate", service="checkout", severity="critical", instance="web-1")
    room = await eventually(lambda: (war_rooms(sandbox) or [None])[0], what="a war room")
    await settle(bot)
    incident = await bot.incidents.find_in(room.id)
    assert incident.severity.label == "SEV-1" and incident.title == "HighErrorRate on checkout"
    assert incident.time_to_detect is not None and incident.time_to_detect >= timedelta(minutes=2)
    await eventually(lambda: alert_message(room), what="the alerts message")

    # warroom restarts while the group grows: Alertmanager's retries deliver what it missed, to the same room.
    await bot.halt()
    await manager.fire("HighErrorRate", service="checkout", severity="critical", instance="web-2")
    await asyncio.sleep(3)  # a group_interval passes while warroom is down: that notification fails
    bot = await alerts_bot_factory(settings, port)
    await eventually(lambda: alert_message(room) and "2 firing" in alert_message(room).text, timeout=30,
                     what="the second alert after the restart")
    await settle(bot)
    assert len(war_rooms(sandbox)) == 1
    assert "2 firing" in json.dumps(card(room).blocks)

    # Bob (paged, so in the room) silences the group from Slack: a real silence, made by him.
    assert BOB in room.members
    message = alert_message(room)
    group = json.loads(next(o["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
                            if e.get("action_id") == ActionId.ALERT_SILENCE for o in e["options"]))["group"]
    await sandbox.click(BOB, room.id, message.ts, ActionId.ALERT_SILENCE, value=json.dumps({"group": group,
                                                                                             "hours": 1}))
    await settle(bot)
    silences = await eventually(lambda: _active(manager), what="an active silence")
    [silence] = silences
    assert silence["createdBy"].startswith("bob") and {"name": "alertname", "value": "HighErrorRate",
                                                       "isRegex": False, "isEqual": True} in silence["matchers"]
    await eventually(lambda: "Expire silence" in json.dumps(alert_message(room).blocks), what="the silence shown")
    await sandbox.click(BOB, room.id, alert_message(room).ts, ActionId.ALERT_EXPIRE_SILENCE)
    await settle(bot)
    await eventually(lambda: _none_active(manager), what="the silence expired")

    # Both alerts resolve in Alertmanager: the IC is asked to resolve.
    await manager.fire("HighErrorRate", resolve=True, service="checkout", severity="critical", instance="web-1")
    await manager.fire("HighErrorRate", resolve=True, service="checkout", severity="critical", instance="web-2")
    await eventually(lambda: any("Every alert of this incident has resolved" in m.text for m in room.messages),
                     timeout=30, what="the resolve prompt")
    texts = [e.text for e in await bot.incidents.timeline(incident.id)]
    assert sum(t.startswith("Alert fired: HighErrorRate") for t in texts) == 2
    assert sum(t == "Alert resolved: HighErrorRate" for t in texts) == 2
    assert any("silenced HighErrorRate on checkout for 1 h" in t for t in texts)


async def test_an_alertmanager_with_the_wrong_token_is_refused_and_opens_nothing(alerts_bot_factory, alertmanager,
                                                                                sandbox):
    port = free_port()
    manager = alertmanager(port, token="not-the-token")
    bot = await alerts_bot_factory(settings_from_mapping(TEST_CONFIG), port)
    await manager.ready()
    await manager.fire("HighErrorRate", service="checkout", severity="critical")
    await asyncio.sleep(4)  # group_wait and a retry or two
    await settle(bot)
    assert war_rooms(sandbox) == []


async def _active(manager: Alertmanager) -> list[dict]:
    return [s for s in await manager.silences() if s["status"]["state"] == "active"]


async def _none_active(manager: Alertmanager) -> bool:
    silences = await manager.silences()
    return bool(silences) and not [s for s in silences if s["status"]["state"] == "active"]


async def test_a_storm_from_a_real_alertmanager_and_its_resends_change_nothing(alerts_bot_factory, alertmanager,
                                                                              sandbox):
    port = free_port()
    manager = alertmanager(port, repeat="1s")  # Alertmanager re-sends every group at every group_interval
    sandbox.workspace.add_channel("alerts", creator=BOB, members={BOB, BOT_USER_ID})
    bot = await alerts_bot_factory(settings_from_mapping({**TEST_CONFIG, "alerts": {"max_new_incidents": 2}}), port)
    await manager.ready()
    for n in range(6):
        await manager.fire(f"Down{n}", service=f"svc{n}", severity="critical")
    channel = sandbox.workspace.channel("alerts")

    def storm():
        found = [m for m in channel.messages if m.user == BOT_USER_ID and m.text.startswith("Alert storm")]
        return found and found[0].text == "Alert storm: 4 more groups, 4 alerts firing" and found
    await eventually(storm, timeout=30, what="the storm message with four groups")
    await asyncio.sleep(5)  # a few group_intervals of re-sends
    await settle(bot)
    assert len(war_rooms(sandbox)) == 2
    assert len([m for m in channel.messages if m.user == BOT_USER_ID]) == 1
    for room in war_rooms(sandbox):
        incident = await bot.incidents.find_in(room.id)
        fired = [e for e in await bot.incidents.timeline(incident.id) if e.text.startswith("Alert fired")]
        assert len(fired) == 1
        assert len([m for m in room.messages if m.user == BOT_USER_ID and re.match(r"^\d+ firing", m.text)]) == 1
