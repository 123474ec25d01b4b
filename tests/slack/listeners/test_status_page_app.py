"""The customers' view, through the real app, the sandbox and warroom's own HTTP server: a SEV-1 goes on the page
from its template, the war room's words never do, the Communicator publishes (from the command, the update
form, the SEV-1 reminder's button), components change from the card, resolving says "Resolved", drills never
publish; /status, /status.json, /status/history and the Atom feed show it."""

import asyncio
import json
import xml.etree.ElementTree as ElementTree

import aiohttp
from multidict import CIMultiDict

from bot.config import settings_from_mapping
from bot.core.incident import Severity
from bot.slack.ids import ActionId
from tests.conftest import ALICE, BOB, CAROL, TEST_CONFIG, ShiftedClock
from tests.slack.helpers import bot_texts, card, declare, join, settle, submit_modal

COMPONENTS = [{"name": "Payments API", "description": "Card payments and refunds", "services": ["payments"],
               "group": "API"},
              {"name": "Checkout", "services": ["checkout", "payments"], "group": "Web"},
              {"name": "Search", "services": ["search"], "group": "Web"}]


def config(**status_page) -> dict:
    return {**TEST_CONFIG, "status_page": {"title": "Acme status", "public_url": "https://status.acme.test",
                                           "components": COMPONENTS, **status_page}}


async def get(port: int, path: str, **headers) -> tuple[int, str, CIMultiDict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as answer:
            return answer.status, await answer.text(), CIMultiDict(answer.headers)


async def page_json(bot) -> dict:
    await asyncio.sleep(bot.status_view.recheck_seconds + 0.05)  # the snapshot is rechecked once a second
    status, body, _ = await get(bot.port, "/status.json")
    assert status == 200
    return json.loads(body)


def states(summary: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in summary["components"]}


async def test_a_sev1_on_the_page_from_declaration_to_resolved(sandbox, alerts_bot_factory):
    clock = ShiftedClock()
    bot = await alerts_bot_factory(settings_from_mapping(config()), None, clock)
    summary = await page_json(bot)
    assert summary["status"] == {"indicator": "operational", "description": "All systems operational"}
    assert set(states(summary).values()) == {"operational"}

    await sandbox.slash(ALICE, "general", "/incident", "declare sev1 Payments API returning 503")
    await settle(bot)
    room = next(c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-"))
    incident = await bot.incidents.find_in(room.id)
    # Declared without a service: nothing guessed; the IC picks the components from the card.
    summary = await page_json(bot)
    assert summary["status"]["indicator"] == "outage" and set(states(summary).values()) == {"operational"}
    [shown] = summary["incidents"]
    assert shown["name"] == "Service disruption" and shown["impact"] == "major_outage"
    assert shown["updates"][0]["body"].startswith("Users may be unable to use some of our services.")
    # The card says what customers read: no message of its own, so a declaration stays within its Slack calls.
    assert "*Status page:* Major outage (Investigating) · no component yet · “Users may be unable to use some" \
        in json.dumps(card(room).blocks, ensure_ascii=False)
    assert "status.acme.test" in sandbox.workspace.channel("incidents").messages[0].text
    assert ActionId.STATUS_PAGE.value in json.dumps(card(room).blocks)  # the card's *Status page* button

    # Components from the card: only the IC or the Communicator.
    await join(sandbox, bot, room, BOB, CAROL)
    await sandbox.click(BOB, room.id, card(room).ts, ActionId.STATUS_PAGE)
    await settle(bot)
    assert "Only the Communicator or the Incident Commander" in sandbox.ephemerals_for(BOB)[-1].text
    await sandbox.slash(ALICE, room.id, "/incident", "role ic <@U0ALICE>")
    await sandbox.slash(ALICE, room.id, "/incident", "role communicator <@U0CAROL>")
    await settle(bot)
    await sandbox.click(CAROL, room.id, card(room).ts, ActionId.STATUS_PAGE)
    await settle(bot)
    await submit_modal(sandbox, bot, CAROL, {ActionId.COMPONENTS_INPUT: ["Payments API", "Checkout"]})
    summary = await page_json(bot)
    assert states(summary) == {"Payments API": "major_outage", "Checkout": "major_outage", "Search": "operational"}

    # The war room's update stays in the war room; the Communicator's public text goes out.
    await sandbox.slash(BOB, room.id, "/incident", "update identified pgbouncer pool at 100% on db-7")
    await sandbox.slash(BOB, room.id, "/incident", "statuspage We found the cause")
    await settle(bot)
    assert "Only the Communicator or the Incident Commander" in sandbox.ephemerals_for(BOB)[-1].text
    await sandbox.slash(CAROL, room.id, "/incident", "statuspage We found the cause <b>and</b> are fixing it.")
    await settle(bot)
    [shown] = (await page_json(bot))["incidents"]
    assert shown["status"] == "identified" and shown["updates"][0]["body"] == \
        "We found the cause <b>and</b> are fixing it."
    assert all("pgbouncer" not in u["body"] and "db-7" not in u["body"] for u in shown["updates"])
    assert any("<@U0CAROL> published to the status page (*Identified*): We found the cause &lt;b&gt;" in t
               for t in bot_texts(room))
    html = (await get(bot.port, "/status"))[1]
    assert "We found the cause &lt;b&gt;and&lt;/b&gt; are fixing it." in html and "pgbouncer" not in html

    # The update form's "Also publish", pre-filled from the template.
    await sandbox.click(CAROL, room.id, card(room).ts, ActionId.POST_UPDATE)
    await settle(bot)
    form = json.dumps(sandbox.last_view(CAROL))
    assert "Also publish to the status page" in form and "still working on the problem with Payments API, Checkout" in form
    await submit_modal(sandbox, bot, CAROL, {ActionId.STATUS_INPUT: "monitoring",
                                             ActionId.UPDATE_TEXT_INPUT: "Pool raised to 400 on db-7",
                                             ActionId.PUBLISH_INPUT: ["publish"],
                                             ActionId.PUBLIC_TEXT_INPUT: "A fix is in place; we are watching it."})
    [shown] = (await page_json(bot))["incidents"]
    assert shown["status"] == "monitoring" and shown["updates"][0]["body"] == "A fix is in place; we are watching it."

    # 15 quiet minutes in a SEV-1: the Communicator is reminded, with a one-click update.
    clock.advance(minutes=16)
    bot.timers.wake()
    reminder = await sandbox.wait_for(lambda: next((m for m in room.messages if "no update for" in m.text), None))
    assert "<@U0CAROL>" in reminder.text and "every 15 minutes" in reminder.text
    await sandbox.click(CAROL, room.id, reminder.ts, ActionId.STILL_INVESTIGATING)
    await settle(bot)
    [shown] = (await page_json(bot))["incidents"]
    assert shown["updates"][0]["body"].startswith("We are still working on the problem with Payments API, Checkout")

    # Resolved: the page says so, its components are operational, and the history and feed have it.
    await sandbox.slash(ALICE, room.id, "/incident", "resolve")
    await settle(bot)
    await submit_modal(sandbox, bot, ALICE, {ActionId.SUMMARY_INPUT: "Raised pgbouncer pool size on db-7"})
    summary = await page_json(bot)
    assert summary["incidents"] == [] and set(states(summary).values()) == {"operational"}
    assert "*Status page:* Resolved · Payments API, Checkout · “This incident is resolved" in \
        json.dumps(card(room).blocks, ensure_ascii=False)
    status, history, _ = await get(bot.port, "/status/history")
    assert status == 200 and "Resolved" in history and "Payments API, Checkout: service disruption" in history
    assert "db-7" not in history and "pgbouncer" not in history
    status, feed, headers = await get(bot.port, "/status/history.atom")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    entry = ElementTree.fromstring(feed).find("{http://www.w3.org/2005/Atom}entry")
    content = entry.find("{http://www.w3.org/2005/Atom}content").text
    assert "Resolved" in content and "&lt;b&gt;and&lt;/b&gt;" in content  # the update's text, escaped as HTML
    async with bot.store.reading() as tx:
        public = await tx.public.get(incident.id, with_updates=True)
    assert [u.status.value for u in public.updates] == ["resolved", "monitoring", "monitoring", "identified",
                                                        "investigating"]
    assert (await get(bot.port, "/status/history?page=9"))[0] == 404
    assert (await get(bot.port, "/status/history?page=x"))[0] == 400


async def test_the_service_picks_the_components_and_drills_and_minor_incidents_stay_off_the_page(
        sandbox, alerts_bot_factory):
    bot = await alerts_bot_factory(settings_from_mapping(config()), None, ShiftedClock())
    await bot.incidents.declare(title="Checkout slow", severity=Severity.SEV2, actor=ALICE, request_key="k1",
                                service="checkout")
    await bot.incidents.declare(title="Game day", severity=Severity.SEV1, actor=ALICE, request_key="k2",
                                service="payments", is_drill=True)
    await bot.incidents.declare(title="Admin page typo", severity=Severity.SEV4, actor=ALICE, request_key="k3",
                                service="search")
    await settle(bot)
    summary = await page_json(bot)
    assert states(summary) == {"Payments API": "operational", "Checkout": "degraded_performance",
                               "Search": "operational"}
    assert [i["name"] for i in summary["incidents"]] == ["Checkout: service disruption"]
    drill = next(c for c in sandbox.workspace.channels.values() if "game-day" in c.name)
    await sandbox.slash(ALICE, drill.id, "/incident", "statuspage Should never show")
    await settle(bot)
    assert "A drill never publishes" in sandbox.ephemerals_for(ALICE)[-1].text
    status, _, headers = await get(bot.port, "/status")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert (await get(bot.port, "/status", **{"If-None-Match": headers["ETag"]}))[0] == 304


async def test_declared_in_a_room_the_card_links_the_page(sandbox, alerts_bot_factory):
    bot = await alerts_bot_factory(settings_from_mapping(config()), None, ShiftedClock())
    room = await declare(sandbox, bot, ALICE, "sev2 Search results empty")
    assert "Customers see: <https://status.acme.test|the status page>" in json.dumps(card(room).blocks)
