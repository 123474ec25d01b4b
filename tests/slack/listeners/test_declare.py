"""Declaring, over real Socket Mode frames to the real Bolt app, on both databases."""

import json

import pytest

from bot.sandbox.workspace import BOT_USER_ID
from bot.slack.ids import ActionId, CallbackId
from tests.conftest import ALICE, BOB, CAROL, DAVE
from tests.slack.helpers import (
    bot_texts,
    card,
    declare,
    replies_to,
    settle,
    submit_modal,
    war_rooms,
)


async def test_declare_opens_the_war_room_and_announces_it(sandbox, bot):
    ack = await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Payments API returning 503")
    assert ack == {}  # acked at once, empty; the work follows
    await settle(bot)
    [room] = war_rooms(sandbox)
    assert room.name == f"incident-{bot.dispatcher.clock.now():%Y%m%d}-payments-api-returning-503"
    assert room.members >= {BOT_USER_ID, ALICE, BOB} and CAROL not in room.members
    assert room.topic.startswith("SEV-2 · no IC yet · Payments API returning 503")
    assert "INC-1" in room.purpose
    pinned = card(room)
    bot_posts = [m for m in room.messages if m.bot]
    assert bot_posts[0] is pinned and "INCIDENT:" in bot_posts[1].text  # the card first, then the assessment
    assert pinned.blocks[0]["text"]["text"] == "INC-1 · SEV-2 · Payments API returning 503"
    buttons = [e.get("action_id") for b in pinned.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ActionId.SEVERITY_SELECT, ActionId.ASSIGN_ROLE, ActionId.POST_UPDATE, ActionId.RESOLVE]
    assessment = [t for t in bot_texts(room) if "INCIDENT:" in t][0]
    assert "Severity:* SEV-2 (Major)" in assessment and "Paging <@U0BOB>" in assessment
    [announcement] = sandbox.workspace.channel("incidents").messages
    assert f"<#{room.id}>" in announcement.text and "SEV-2 incident declared" in announcement.text
    assert sandbox.workspace.channel("leadership").messages == []
    assert any("Declared INC-1 (SEV-2)" in r for r in replies_to(sandbox, ALICE))


async def test_sev1_pages_primary_and_secondary_and_tells_leadership(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev1 Checkout down")
    assert {BOB, CAROL} <= room.members
    [note] = sandbox.workspace.channel("leadership").messages
    assert "SEV-1" in note.text and f"<#{room.id}>" in note.text


async def test_declare_without_title_opens_a_modal_that_declares(sandbox, bot):
    await sandbox.slash(ALICE, "general", "/incident", "declare")
    await settle(bot)
    assert war_rooms(sandbox) == []
    view = sandbox.last_view(ALICE)
    severity = [b for b in view["blocks"] if b["block_id"] == "severity"][0]["element"]
    assert "Complete outage" in severity["options"][0]["description"]["text"]
    await submit_modal(sandbox, bot, ALICE, {ActionId.TITLE_INPUT: "Search results empty",
                                             ActionId.SEVERITY_INPUT: "1",
                                             ActionId.DESCRIPTION_INPUT: "All searches return nothing",
                                             ActionId.SERVICE_INPUT: "search-api"})
    [room] = war_rooms(sandbox)
    text = json.dumps(card(room).blocks)
    assert "All searches return nothing" in text and "search-api" in text and "SEV-1" in text


async def test_a_redelivered_envelope_makes_one_incident(sandbox, bot):
    payload = sandbox.slash_payload(ALICE, "general", "/incident", "declare sev2 Cache stampede")
    await sandbox.deliver("slash_commands", payload)
    await sandbox.deliver("slash_commands", payload, retry_attempt=1)
    await settle(bot)
    assert len(war_rooms(sandbox)) == 1
    assert len(sandbox.workspace.channel("incidents").messages) == 1


async def test_two_people_declaring_the_same_thing_get_one_war_room(sandbox, bot):
    import asyncio
    await asyncio.gather(sandbox.slash(ALICE, "general", "/incident", "declare sev1 Login broken"),
                         sandbox.slash(CAROL, "general", "/incident", "declare sev1 Login broken"))
    await settle(bot)
    [room] = war_rooms(sandbox)
    assert {ALICE, CAROL} <= room.members
    assert any("already open" in r for r in replies_to(sandbox, ALICE) + replies_to(sandbox, CAROL))


async def test_declare_calls_slack_at_most_eight_times(sandbox, bot):
    before = len(sandbox.calls)
    await declare(sandbox, bot, ALICE, "sev2 Latency spike")
    methods = [c.method for c in sandbox.calls[before:] if c.method not in ("auth.test", "conversations.list")]
    assert len(methods) <= 8, methods


async def test_titles_in_any_script_get_their_own_war_rooms(sandbox, bot):
    payments = await declare(sandbox, bot, ALICE, "sev2 Ошибка 503 в платежах")
    search = await declare(sandbox, bot, BOB, "sev2 Ошибка 503 в поиске")  # within the dedup window
    fire = await declare(sandbox, bot, CAROL, "sev3 🔥🔥🔥")
    nothing = await declare(sandbox, bot, CAROL, "sev3 ???")
    names = [room.name.split("-", 2)[2] for room in (payments, search, fire, nothing)]
    assert names == ["oshibka-503-v-platezhakh", "oshibka-503-v-poiske", "fire-fire-fire", "1"]
    assert len({(await bot.incidents.find_in(room.id)).id for room in (payments, search, fire, nothing)}) == 4
    # The same title typed differently within the window is the same incident.
    await sandbox.slash(DAVE, "general", "/incident", "declare sev2   ошибка 503 В ПЛАТЕЖАХ")
    await settle(bot)
    assert any("is already open" in r for r in replies_to(sandbox, DAVE))
    assert len(war_rooms(sandbox)) == 4


async def test_one_user_slack_will_not_add_keeps_nobody_else_out(sandbox, bot):
    sandbox.workspace.uninvitable[BOB] = "user_is_deactivated"  # BOB is primary on call: paged and invited
    room = await declare(sandbox, bot, ALICE, "sev2 Invites partly fail")
    assert ALICE in room.members and BOB not in room.members
    [notice] = [m for m in room.messages if "Slack would not add" in m.text]
    assert "<@U0BOB> (user_is_deactivated)" in notice.text
    [invite] = [c for c in sandbox.calls_to("conversations.invite") if c.params.get("channel") == room.id]
    assert str(invite.params.get("force")).lower() in ("true", "1")


async def test_the_sandbox_refuses_a_whole_invite_for_one_bad_user_without_force(sandbox):
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.sandbox.server import BOT_TOKEN

    sandbox.workspace.uninvitable[BOB] = "ura_max_channels"
    channel = sandbox.workspace.add_channel("strict-invites", creator="U0WARROOM", members={"U0WARROOM"})
    client = AsyncWebClient(token=BOT_TOKEN, base_url=sandbox.api_url)
    try:
        await client.conversations_invite(channel=channel.id, users=f"{ALICE},{BOB}")
        raise AssertionError("expected ura_max_channels")
    except SlackApiError as exc:
        assert exc.response["error"] == "ura_max_channels" and exc.response["errors"][0]["user"] == BOB
    assert ALICE not in channel.members
    answer = await client.conversations_invite(channel=channel.id, users=f"{ALICE},{BOB}", force=True)
    assert ALICE in channel.members and answer["errors"] == [{"user": BOB, "ok": False, "error": "ura_max_channels"}]


@pytest.mark.failed_effects
async def test_a_war_room_slack_refuses_to_create_tells_the_declarer_once(sandbox, bot):
    sandbox.fail("conversations.create", status=200, error="restricted_action", times=50)
    await sandbox.slash(ALICE, "general", "/incident", "declare sev2 Channels are restricted here")
    await settle(bot)
    assert not war_rooms(sandbox)
    notices = [m.text for m in sandbox.workspace.dm(ALICE).messages if "could not" in m.text]
    assert len(notices) == 1
    assert "could not open the war room for INC-1" in notices[0] and "`restricted_action`" in notices[0]
    assert "ask a Slack admin" in notices[0]


@pytest.mark.failed_effects
async def test_an_announcement_slack_refuses_is_told_in_the_war_room(sandbox, bot):
    announce = sandbox.workspace.channel("incidents").id
    sandbox.fail("chat.postMessage", status=200, error="is_archived", times=50,
                 when=lambda params: params.get("channel") == announce)
    room = await declare(sandbox, bot, ALICE, "sev3 Announcements archived")
    [notice] = [m.text for m in room.messages if "could not" in m.text]
    assert "could not announce the incident" in notice and "The channel is archived" in notice
    assert len([m for m in sandbox.workspace.dm(ALICE).messages if "could not" in m.text]) == 1


@pytest.mark.failed_effects
async def test_configured_channels_by_id_or_name_private_included_and_renames_picked_up(sandbox, bot_factory):
    from bot.config import settings_from_mapping
    from bot.sandbox.workspace import BOT_USER_ID
    from tests.conftest import TEST_CONFIG

    private = sandbox.workspace.add_channel("sre-private", creator=ALICE, members={ALICE})
    private.is_private = True
    leadership = sandbox.workspace.channel("leadership")
    settings = settings_from_mapping({**TEST_CONFIG, "slack": {"announce_channel": "sre-private",
                                                               "leadership_channel": leadership.id}})
    bot = await bot_factory(settings)
    await sandbox.slash(ALICE, "general", "/incident", "declare sev1 Private announcements")
    await settle(bot)
    assert not private.messages  # warroom is not in the private channel: it cannot see it
    assert any("could not announce" in m.text and "channel #sre-private not found" in m.text
               for m in sandbox.workspace.dm(ALICE).messages)
    assert any("SEV-1" in m.text for m in leadership.messages)  # named by ID: no lookup at all
    private.members.add(BOT_USER_ID)  # someone invites warroom
    await declare(sandbox, bot, ALICE, "sev2 After the invite")
    assert any("After the invite" in m.text for m in private.messages)
    private.name = "sre-renamed"  # a rename: the remembered ID still works
    await declare(sandbox, bot, ALICE, "sev2 After the rename")
    assert any("After the rename" in m.text for m in private.messages)


async def test_the_declare_form_is_answered_within_three_seconds_however_slow_the_on_call_lookup(sandbox, bot):
    import asyncio

    lookup = bot.incidents.oncall.users

    async def slow(slots, at):  # PagerDuty's /oncalls taking its time
        await asyncio.sleep(4)
        return await lookup(slots, at)
    bot.incidents.oncall.users = slow
    await sandbox.slash(ALICE, "general", "/incident", "declare")
    await settle(bot)
    view = sandbox.last_view(ALICE)
    # The sandbox, as Slack, gives up on an ack later than 3 s: this raises TimeoutError if it is late.
    await sandbox.submit_view(ALICE, view["id"], {ActionId.TITLE_INPUT: "Slow pager", ActionId.SEVERITY_INPUT: "2"})
    await settle(bot)
    [room] = war_rooms(sandbox)
    assert room.name.endswith("slow-pager")
    assert any("Declared INC-1" in r for r in replies_to(sandbox, ALICE))


async def test_slow_post_mortems_never_leave_a_form_to_expire_behind_them(sandbox, bot):
    import asyncio

    rooms = [await declare(sandbox, bot, ALICE, f"sev3 Busy {n}") for n in range(8)]
    # Every history read waits out a 4 s rate limit: eight drafts at once would hold every worker.
    sandbox.fail("conversations.history", status=429, error="ratelimited", retry_after=4, times=8)
    for room in rooms:
        await sandbox.slash(ALICE, room.id, "/postmortem")
    await sandbox.slash(ALICE, rooms[0].id, "/incident", "update")  # no text: a form, whose trigger lives 3 s
    await asyncio.sleep(0.5)
    assert sandbox.last_view(ALICE)["callback_id"] == CallbackId.UPDATE_MODAL
    await settle(bot)
    assert len(sandbox.workspace.canvases) == 8


async def test_a_burst_of_declarations_drains_at_slacks_rate_without_collecting_429s(sandbox, bot_factory):
    import time

    from bot.slack.rate_budget import RateBudget

    sandbox.limits.enabled = True  # Tier 2 methods 20 a minute, posts one a second per channel, as Slack
    await bot_factory(budget=RateBudget())
    started = time.monotonic()
    for n in range(24):
        await sandbox.slash(ALICE, "general", "/incident", f"declare sev3 Burst {n}")
    await sandbox.wait_for(lambda: len([c for c in war_rooms(sandbox) if c.pins]) == 24, timeout=60)
    await sandbox.wait_for(lambda: len(sandbox.workspace.channel("incidents").messages) == 24, timeout=60)
    drained = time.monotonic() - started
    rooms = war_rooms(sandbox)
    assert len(rooms) == 24 and len(sandbox.calls_to("conversations.create")) - sandbox.limits.refused <= 24
    assert all(len(room.pins) == 1 and len(bot_texts(room)) >= 2 for room in rooms)  # card and assessment, once
    # 20 creations go at once, the other 4 one every 3 s: the tier's bound, without a wall of 429s.
    assert drained >= 4 * 3 - 1
    assert sandbox.limits.refused <= 2, sandbox.limits.refused  # without the shared budget: about 200


async def test_the_declare_forms_confirmation_reaches_someone_who_opened_it_in_a_dm(sandbox, bot):
    # /incident in a DM between two people: warroom cannot post there, ephemeral or not.
    payload = sandbox.slash_payload(ALICE, "general", "/incident", "declare")
    payload["channel_id"], payload["channel_name"] = "D0SOMEDM", "directmessage"
    await sandbox.deliver("slash_commands", payload)
    await settle(bot)
    view = sandbox.last_view(ALICE)
    await sandbox.submit_view(ALICE, view["id"], {ActionId.TITLE_INPUT: "From a DM", ActionId.SEVERITY_INPUT: "3"})
    await settle(bot)
    assert len(war_rooms(sandbox)) == 1
    assert any("Declared INC-1" in m.text for m in sandbox.workspace.dm(ALICE).messages)
