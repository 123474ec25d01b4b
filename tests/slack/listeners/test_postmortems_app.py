"""Post-mortems through the real app: history with threads, canvas, file fallback, states, reminders."""

import asyncio

from sqlalchemy import select

from bot.slack.history import SlackHistory
from bot.slack.ids import ActionId
from bot.storage.tables import PostmortemRow
from tests.conftest import ALICE, BOB, CAROL, DAVE, FakeClock
from tests.slack.helpers import declare, replies_to, settle, submit_modal


async def resolve(sandbox, bot, room, user=ALICE, summary="Rolled back"):
    await sandbox.slash(user, room.id, "/incident", f"resolve {summary}")
    await settle(bot)
    await submit_modal(sandbox, bot, user, {ActionId.SUMMARY_INPUT: summary})


async def test_history_is_read_page_by_page_with_threads_and_without_bots(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Busy channel")
    for n in range(250):
        message = sandbox.say(BOB if n % 2 else CAROL, room.id, f"message {n}")
        if n % 50 == 0:
            for r in range(3):
                sandbox.say(ALICE, room.id, f"reply {r} to {n}", thread_ts=message.ts)
    edited = sandbox.say(BOB, room.id, "typo fixed")
    edited.edited = True
    history = SlackHistory(bot.app.client, page_size=40)
    messages = await history.messages(room.id)
    texts = [m.text for m in messages]
    assert sum(t.startswith("message ") for t in texts) == 250
    assert sum(t.startswith("reply ") for t in texts) == 15
    assert not any("has joined" in t or "INCIDENT" in t for t in texts)  # joins and bot posts left out
    assert [m.edited for m in messages if m.text == "typo fixed"] == [True]
    pages = [c for c in sandbox.calls_to("conversations.history") if c.params.get("channel") == room.id]
    assert len(pages) >= 7
    assert (await history.names({BOB}))[BOB] == "bob"


async def test_postmortem_canvas_then_update_in_place(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Payments slow")
    clue = sandbox.say(BOB, room.id, "Alice deployed the bad config at 09:10")
    sandbox.say(CAROL, room.id, "confirmed in the logs", thread_ts=clue.ts)
    await resolve(sandbox, bot, room)
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    [canvas] = sandbox.workspace.canvases.values()
    assert canvas["channel_id"] == room.id
    text = canvas["markdown"]
    assert "## Timeline (UTC)" in text and "Rolled back" in text and "**" in text
    assert "bob**: Alice deployed the bad config" in text and "↳ **" in text and "confirmed in the logs" in text
    assert "## Blameless check" in text
    reply = replies_to(sandbox, ALICE)[-1]
    assert "Blameless check:* 1 sentence(s)" in reply and "Due " in reply
    sandbox.say(BOB, room.id, "one more finding")
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    assert len(sandbox.workspace.canvases) == 1 and canvas["edits"] == 1 and "one more finding" in canvas["markdown"]
    async with bot.store.reading() as tx:
        rows = (await tx.session.execute(select(PostmortemRow))).scalars().all()
    assert len(rows) == 1 and rows[0].canvas_id


async def test_without_canvases_the_draft_is_uploaded_as_a_file(sandbox, bot):
    sandbox.workspace.canvases_disabled = True
    room = await declare(sandbox, bot, ALICE, "sev3 Slow search")
    await sandbox.slash(ALICE, "general", "/postmortem", "INC-1")
    await settle(bot)
    [upload] = sandbox.workspace.files.values()
    assert upload["channel"] == room.id and upload["content"].startswith("# Post-mortem: INC-1")
    assert upload["filename"] == "INC-1-postmortem.md"


async def test_a_refused_announcement_never_makes_a_second_canvas(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Canvas retry")
    sandbox.fail("chat.postMessage", status=429, error="ratelimited", retry_after=0,
                 when=lambda params: "is ready as a canvas" in params.get("text", ""))
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    assert len(sandbox.workspace.canvases) == 1 and len(sandbox.calls_to("canvases.create")) == 1
    assert any("post-mortem canvas of INC-1" in m.text or "is ready as a canvas" in m.text for m in room.messages)


async def test_a_workspace_that_restricts_canvases_gets_the_file_and_a_failed_upload_is_retried(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev3 Canvas restricted")
    sandbox.fail("canvases.create", status=200, error="restricted_action", times=10)  # every time, as a workspace would
    sandbox.upload_failures = 1
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    await asyncio.sleep(1.2)  # the upload's retry back-off
    await settle(bot)
    assert not sandbox.workspace.canvases
    uploaded = [f for f in sandbox.workspace.files.values() if f.get("channel") == room.id]
    assert len(uploaded) == 1 and uploaded[0]["content"].startswith("# Post-mortem: INC-1")


async def test_states_move_forward_once(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Queue stuck")
    await sandbox.slash(ALICE, room.id, "/postmortem", "publish")
    await settle(bot)
    assert any("has no post-mortem yet" in r for r in replies_to(sandbox, ALICE))
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    await sandbox.slash(ALICE, room.id, "/postmortem", "review")
    await settle(bot)
    await sandbox.slash(ALICE, room.id, "/postmortem", "publish")
    await settle(bot)
    await sandbox.slash(ALICE, room.id, "/postmortem", "review")
    await settle(bot)
    assert any("already published" in r for r in replies_to(sandbox, ALICE))
    incident = await bot.incidents.find_in(room.id)
    texts = [e.text for e in await bot.incidents.timeline(incident.id) if e.kind == "postmortem"]
    assert texts == ["Post-mortem drafted", "Post-mortem in review", "Post-mortem published"]
    await sandbox.slash(ALICE, "general", "/postmortem", "INC-99")
    await sandbox.slash(ALICE, "general", "/postmortem", "banana")
    await settle(bot)
    assert any("No such incident" in r for r in replies_to(sandbox, ALICE))
    assert any("`banana` is not an incident" in r for r in replies_to(sandbox, ALICE))


async def test_a_broken_team_template_is_reported_with_file_and_line(sandbox, bot, tmp_path):
    (tmp_path / "postmortem.md.j2").write_text("# {{ incident.title }}\n\n{% for x in %}\n")
    bot.postmortems.template_dir = tmp_path
    room = await declare(sandbox, bot, ALICE, "sev3 Template test")
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    assert any(f"Post-mortem template error: {tmp_path}/postmortem.md.j2:3: Expected an expression" in r
               for r in replies_to(sandbox, ALICE))
    assert sandbox.workspace.canvases == {}


async def test_the_ic_is_reminded_on_days_one_two_and_three(sandbox, bot_factory):
    clock = FakeClock()
    bot = await bot_factory(clock=clock)
    room = await declare(sandbox, bot, ALICE, "sev2 Login errors")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await settle(bot)
    await resolve(sandbox, bot, room)

    async def reminders_after(**delta):
        clock.advance(**delta)
        bot.timers.wake()
        await settle(bot)
        await settle(bot)
        return [m.text for m in room.messages if "post-mortem of INC-1 is due" in m.text]

    day1 = await reminders_after(days=1, minutes=1)
    assert len(day1) == 1 and "draft it" in day1[0] and "<@U0ALICE>" in day1[0]
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    await sandbox.slash(ALICE, room.id, "/postmortem", "review")
    await settle(bot)
    day2 = await reminders_after(days=1)
    assert len(day2) == 1  # in review already: no day-2 reminder
    day3 = await reminders_after(days=1)
    assert len(day3) == 2 and "publish it" in day3[-1]


async def test_a_draft_edited_by_hand_is_never_overwritten_a_new_version_is_drafted_beside_it(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Search slow")
    await resolve(sandbox, bot, room)
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    [first_id] = sandbox.workspace.canvases
    sandbox.workspace.edit_canvas(CAROL, first_id, "Carol's root-cause analysis, two hours of work.")
    sandbox.say(BOB, room.id, "one more finding")
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    first = sandbox.workspace.canvases[first_id]
    assert first["markdown"] == "Carol's root-cause analysis, two hours of work." and first["edits"] == 0
    [second_id] = [c for c in sandbox.workspace.canvases if c != first_id]
    second = sandbox.workspace.canvases[second_id]
    assert "Post-mortem (version 2)" in second["title"] and "one more finding" in second["markdown"]
    incident = await bot.incidents.find_in(room.id)
    assert any("version 2 drafted beside version 1, which was edited by hand and stays as it is" in e.text
               for e in await bot.incidents.timeline(incident.id))
    await sandbox.slash(ALICE, room.id, "/postmortem")  # version 2 untouched by hand: updated in place
    await settle(bot)
    assert len(sandbox.workspace.canvases) == 2 and second["edits"] == 1


async def test_the_draft_reports_slack_trouble_during_the_incident(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 Search slow")
    sandbox.fail("chat.postMessage", status=500, times=2)  # the all-clear's two posts fail once each
    await resolve(sandbox, bot, room)
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    [canvas] = sandbox.workspace.canvases.values()
    went_wrong = canvas["markdown"].split("## What went wrong")[1].split("##")[0]
    assert "Tooling: Slack failed 2 of warroom's calls at first (an outage or its rate limits)" in went_wrong


async def test_who_may_draft_and_publish_and_a_published_version_is_never_replaced(sandbox, bot):
    room = await declare(sandbox, bot, ALICE, "sev2 [click](https://evil.example) ## not a heading")
    await sandbox.slash(ALICE, room.id, "/incident", f"role ic <@{ALICE}>")
    await resolve(sandbox, bot, room, summary="![pixel](https://evil.example/p.png) <b>bold</b>")
    sandbox.say(BOB, room.id, "graph: <https://grafana.example/d/x|pool dashboard> <!channel>")
    await sandbox.slash(DAVE, "general", "/postmortem", "INC-1")  # not in the war room
    await settle(bot)
    assert any("Only people in #incident-" in r for r in replies_to(sandbox, DAVE))
    assert not sandbox.workspace.canvases
    await sandbox.slash(ALICE, room.id, "/postmortem")
    await settle(bot)
    [first] = sandbox.workspace.canvases.values()
    text = first["markdown"]
    assert "Post-mortem: INC-1 · \\[click\\](https://evil.example) ## not a heading" in text
    assert "[click](https://evil" not in text and "![pixel]" not in text and "<b>" not in text
    assert "graph: pool dashboard (https://grafana.example/d/x) @channel" in text  # Slack markup, readable
    assert "\\!\\[pixel\\](https://evil.example/p.png) \\<b\\>bold\\</b\\>" in text

    await sandbox.slash(BOB, room.id, "/postmortem", "publish")  # in the room, but not the IC
    await settle(bot)
    assert any("Only the Incident Commander (<@U0ALICE>) may review or publish" in r
               for r in replies_to(sandbox, BOB))
    await sandbox.slash(ALICE, room.id, "/postmortem", "publish")
    await settle(bot)
    first["markdown"] = "The team's edited, published post-mortem."
    await sandbox.slash(ALICE, room.id, "/postmortem")  # drafting again after publishing: version 2
    await settle(bot)
    assert len(sandbox.workspace.canvases) == 2 and first["markdown"] == "The team's edited, published post-mortem."
    second = [c for c in sandbox.workspace.canvases.values() if c is not first][0]
    assert "Post-mortem (version 2)" in second["title"] and "## Timeline (UTC)" in second["markdown"]
    postmortem = await bot.postmortems.get(1)
    assert (postmortem.version, postmortem.state) == (2, "draft")
    incident = await bot.incidents.find_in(room.id)
    assert any("published version 1 stays as it is" in e.text for e in await bot.incidents.timeline(incident.id))
