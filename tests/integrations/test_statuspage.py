"""Atlassian Statuspage and the webhook subscribers, driven by the real bot against a local HTTPS stand-in of
Statuspage's API that checks every request as its documentation describes it (bot/sandbox/statuspage.py): the
incident created with its impact and components, each public update, the resolve; one request a second; 429
and 500 retried without holding up the war room; webhooks signed with HMAC-SHA256 and retried."""

import asyncio
import hashlib
import hmac
import json

import pytest
from aiohttp import web

from bot.config import settings_from_mapping
from bot.core.incident import Severity
from bot.integrations.statuspage import SIGNATURE_HEADER
from bot.sandbox.statuspage import StatuspageSandbox
from tests.conftest import ALICE, CAROL, TEST_CONFIG, ShiftedClock, local_server
from tests.slack.helpers import bot_texts, settle, war_rooms

COMPONENTS = [{"name": "Payments API", "services": ["payments"]}, {"name": "Checkout", "services": ["checkout"]}]


@pytest.fixture
async def statuspage(tmp_path, monkeypatch):
    server = await StatuspageSandbox(components={"cmppay": "operational", "cmpcheckout": "operational"}).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle(tmp_path / "ca-bundle.pem")))
    yield server
    await server.stop()
    assert not server.problems, server.problems


@pytest.fixture
async def subscriber(monkeypatch):
    """A webhook subscriber that refuses its first delivery with a 500, then keeps what it gets."""
    received, answers = [], [500]

    async def hook(request):
        received.append((request.headers.get(SIGNATURE_HEADER), await request.text()))
        return web.Response(status=answers.pop(0) if answers else 204)
    monkeypatch.setenv("STATUS_HOOK_SECRET", "hook-secret-123")
    async with local_server({"/hook": hook}) as url:
        yield f"{url}/hook", received


async def eventually(condition, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_statuspage_follows_the_incident_and_subscribers_get_signed_webhooks(
        sandbox, alerts_bot_factory, statuspage, subscriber):
    url, received = subscriber
    settings = settings_from_mapping({**TEST_CONFIG, "status_page": {
        "provider": "both", "components": COMPONENTS,
        "statuspage": {"page_id": "pg1", "components": {"Payments API": "cmppay", "Checkout": "cmpcheckout"}},
        "subscribers": [{"url": url, "secret_env": "STATUS_HOOK_SECRET"}]}})
    bot = await alerts_bot_factory(settings, None, ShiftedClock(), statuspage_api_key=statuspage.api_key,
                                   statuspage_api_url=statuspage.url)
    await bot.incidents.declare(title="Payments failing", severity=Severity.SEV1, actor=ALICE, request_key="k1", service="payments")
    await eventually(lambda: statuspage.incidents)
    [created] = statuspage.incidents.values()
    assert created["impact"] == "critical" and created["component_ids"] == ["cmppay"]
    assert created["status"] == "investigating" and created["incident_updates"][0].startswith("Users may be unable to use Payments API.")
    assert statuspage.components == {"cmppay": "major_outage", "cmpcheckout": "operational"}

    # Statuspage rate-limits, then fails: the update still arrives, and the war room never waits for it.
    await settle(bot)  # the war room is set up (alice invited) before anyone acts in it
    room = war_rooms(sandbox)[0]
    statuspage.fail_next = [429, 500]
    await sandbox.slash(ALICE, room.id, "/incident", "role communicator <@U0CAROL>")
    await sandbox.join(CAROL, room.id)
    await settle(bot)
    await sandbox.slash(CAROL, room.id, "/incident", "statuspage We are rolling back a faulty release.")
    await settle(bot)
    assert any("published to the status page" in t for t in bot_texts(room))  # at once, whatever Statuspage does
    await eventually(lambda: created["incident_updates"][-1] == "We are rolling back a faulty release.", 30)

    await sandbox.slash(ALICE, room.id, "/incident", "role ic <@U0ALICE>")
    await settle(bot)
    await bot.incidents.resolve(room.id, "Rolled back", ALICE, "resolve-1")
    await eventually(lambda: created["status"] == "resolved", 30)
    assert statuspage.components == {"cmppay": "operational", "cmpcheckout": "operational"}
    assert created["incident_updates"][-1].startswith("This incident is resolved: Payments API work normally")
    assert statuspage.rate_limited == 0  # warroom kept to one request a second
    times = [t for _, _, t in statuspage.requests]
    assert all(later - earlier >= 0.9 for earlier, later in zip(times, times[1:]))

    # Every public change reached the subscriber, signed; the first, refused with a 500, came again.
    await eventually(lambda: len(received) >= 4, 30)  # opened, published, resolved, and one retry
    bodies = [json.loads(body) for _, body in received]
    assert bodies[0] == bodies[1]  # the retry of the refused delivery
    for signature, body in received:
        expected = "sha256=" + hmac.new(b"hook-secret-123", body.encode(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(signature, expected)
    assert bodies[-1]["incident"]["status"] == "resolved" and bodies[-1]["update"]["text"].startswith("This incident is resolved")
    assert all("Rolled back" not in body for _, body in received)  # the internal summary stays internal
