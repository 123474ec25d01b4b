"""Logs through the real app: each request, outbox job and timer starts with a clean structlog context, so one
request's lines never carry the previous request's incident, user or channel."""

from __future__ import annotations

import structlog
from structlog.contextvars import merge_contextvars

from bot.slack.ids import ActionId
from tests.conftest import ALICE, DAVE
from tests.slack.helpers import declare, settle


async def test_a_request_never_logs_with_the_previous_requests_context(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Logging")
    await sandbox.slash(ALICE, room.id, "/incident", "action Keep the logs clean")
    await settle(bot)
    [item] = sandbox.messages_with_action(room.id, ActionId.ACTION_ITEM_DONE)
    with structlog.testing.capture_logs(processors=[merge_contextvars]) as captured:
        # More requests than the Socket Mode handler has workers: every worker serves a war-room request,
        # which binds its channel, user and incident, before serving the forged clicks.
        for n in range(10):
            await sandbox.slash(ALICE, room.id, "/incident", f"sev {1 + n % 2}")
            await settle(bot)
        for _ in range(10):
            forged = sandbox.click_payload(DAVE, room.id, item.ts, ActionId.ACTION_ITEM_DONE)
            forged["actions"][0]["value"] = "not-a-number"
            del forged["channel"]
            await sandbox.deliver("interactive", forged)
            await settle(bot)
    bound = [e for e in captured if e.get("channel") == room.id and e.get("user") == ALICE]
    assert bound, "the war-room requests bind their context (the test would prove nothing otherwise)"
    malformed = [e for e in captured if e["event"] == "malformed_payload_value"]
    assert len(malformed) == 10
    assert [(e.get("channel"), e.get("user"), e.get("incident_id")) for e in malformed] == [(None, None, None)] * 10
    # Outbox jobs the war-room requests handed over log with their effect and incident, never the request's user.
    effects = [e for e in captured if e["event"] == "effect_done"]
    assert effects and all(e.get("user") is None and e.get("incident_id") == 1 for e in effects)
