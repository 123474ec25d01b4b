"""`warroom demo`: the real bot, started through the same code as `warroom run`, against the sandbox,
driven through a scripted SEV-1 from declaration to all-clear."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console

from bot import log as logging_setup
from bot import wiring
from bot.config import Environment, load_settings
from bot.sandbox.pagerduty import API_TOKEN as PAGERDUTY_TOKEN
from bot.sandbox.pagerduty import PagerDutySandbox
from bot.sandbox.server import APP_TOKEN, BOT_TOKEN, SlackSandbox
from bot.sandbox.transcript import plain, render_channel
from bot.sandbox.workspace import Workspace
from bot.slack.ids import ActionId
from bot.slack.rate_budget import RateBudget

DEMO_CONFIG = Path(__file__).with_name("demo_config.yaml")
SHIPPED_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
ALICE, BOB, CAROL, DAVE = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"


class DemoClock:
    """Real time plus a offset the script moves forward, so the story spans minutes, not milliseconds."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)


class Script:
    def __init__(self, sandbox: SlackSandbox, runtime: wiring.Runtime, console: Console, clock: DemoClock):
        self.clock = clock
        self.sandbox = sandbox
        self.runtime = runtime
        self.console = console
        self._seen_ephemerals = 0

    def narrate(self, text: str, minutes: float = 1) -> None:
        self.clock.advance(minutes)
        # The timer loop sleeps until the next due time by the real clock: told of the jump, it fires what
        # fell due within it (the status reminders the card promises), as the wall clock would have.
        self.runtime.timers.wake()
        self.console.print(f"\n[bold cyan]▶ {text}[/bold cyan]")

    async def settle(self) -> None:
        await asyncio.sleep(0.05)  # timers woken by the clock's jump are claimed and fired
        for _ in range(2):
            while not (self.runtime.socket.idle and self.runtime.jobs.idle):  # early-acked listeners and jobs finish
                await asyncio.sleep(0.01)
            await self.runtime.dispatcher.drain(timeout=15)
            await asyncio.sleep(0.02)
        for ephemeral in self.sandbox.workspace.ephemerals[self._seen_ephemerals:]:
            who = self.sandbox.workspace.users[ephemeral.user]
            self.console.print(f"  [dim](only visible to {who})[/dim] {plain(ephemeral.text, self.sandbox.workspace)}",
                               markup=True, highlight=False)
        self._seen_ephemerals = len(self.sandbox.workspace.ephemerals)

    async def command(self, user: str, channel: str, text: str, command: str = "/incident",
                      minutes: float = 2) -> None:
        who = self.sandbox.workspace.users[user]
        self.narrate(minutes=minutes, text=f"{who} in #{self.sandbox.workspace.channel(channel).name}: {command} {plain(text, self.sandbox.workspace)}")
        await self.sandbox.slash(user, channel, command, text)
        await self.settle()

    async def say(self, user: str, channel: str, text: str, minutes: float = 2):
        self.narrate(f"{self.sandbox.workspace.users[user]} says: {text}", minutes)
        message = self.sandbox.say(user, channel, text)
        return message


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run_demo(out_dir: Path) -> int:
    logging_setup.configure("ERROR")
    console = Console(highlight=False, soft_wrap=True)
    clock = DemoClock()
    sandbox = await SlackSandbox(workspace=Workspace(now=lambda: clock.now().timestamp())).start()
    workdir = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    pagerduty = await PagerDutySandbox(webhook_secret="demo-webhook-secret").start()
    # The PagerDuty client only speaks https://; this process trusts the stand-in's throwaway CA.
    os.environ["SSL_CERT_FILE"] = str(pagerduty.ca_bundle(workdir / "pagerduty-ca.pem"))
    port = _free_port()
    pagerduty.webhook_url = f"http://127.0.0.1:{port}/webhooks/pagerduty"
    env = Environment(slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=sandbox.api_url,
                      database_url=f"sqlite+aiosqlite:///{workdir / 'demo.db'}", http_port=port,
                      config_path=DEMO_CONFIG, pagerduty_api_token=PAGERDUTY_TOKEN, pagerduty_api_url=pagerduty.url,
                      pagerduty_events_url=pagerduty.url, pagerduty_from_email="warroom-demo@example.com",
                      pagerduty_webhook_secret=pagerduty.webhook_secret, alertmanager_webhook_token=ALERTMANAGER_TOKEN)
    settings = load_settings(DEMO_CONFIG)
    runbooks = settings.file.runbooks.model_copy(update={"directory": str(SHIPPED_RUNBOOKS)})
    settings = replace(settings, file=settings.file.model_copy(update={"runbooks": runbooks}))
    # The demo presses an hour into seconds: pacing its posts to Slack's per-channel rate would only slow it.
    runtime = wiring.build(env, settings, clock, budget=RateBudget.unlimited())
    stop, ready = asyncio.Event(), asyncio.Event()
    bot = asyncio.create_task(wiring.serve(runtime, stop, on_ready=ready.set))
    try:
        await asyncio.wait_for(ready.wait(), 15)
        console.print(f"[bold]warroom demo[/bold]: the bot is connected to the Slack sandbox at {sandbox.base_url} "
                      f"over Socket Mode (database {workdir / 'demo.db'}).")
        script = Script(sandbox, runtime, console, clock)
        report = await _play(script, sandbox, runtime, out_dir, pagerduty)
        alerted = await _alerts(script, sandbox, runtime, f"http://127.0.0.1:{port}/webhooks/alertmanager")
        console.print("\n[bold]The war room, as responders saw it[/bold]")
        war_room = [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")][0]
        console.print(render_channel(sandbox.workspace, war_room.name), markup=False)
        console.print("\n[bold]The war room the alerts opened[/bold]")
        console.print(render_channel(sandbox.workspace, alerted.name), markup=False)
        for name in ("alerts", "incidents", "leadership"):
            console.print(f"\n[bold]#{name}[/bold]")
            console.print(render_channel(sandbox.workspace, name), markup=False)
        console.print("\n[bold]The PagerDuty twin, as the stand-in holds it[/bold]")
        for twin in pagerduty.incidents.values():
            console.print(f"{twin['id']} · {twin['title']} · urgency {twin['urgency']} · {twin['status']} · "
                          f"key {twin['incident_key']}", markup=False)
            for note in twin["notes"]:
                console.print(f"  note: {note['content']}", markup=False)
            for request in twin["responder_requests"]:
                console.print(f"  responder request: {request['message']}", markup=False)
        page = await _status_page(port, report.parent)
        console.print("\n[bold]The status page customers saw[/bold] (warroom's own /status)")
        console.print(page, markup=False)
        calls = len(sandbox.calls)
        console.print(f"\n[bold green]Done.[/bold green] {calls} Slack API calls, {len(pagerduty.requests)} PagerDuty "
                      f"API calls; incident report written to {report}")
        return 0
    finally:
        stop.set()
        await asyncio.gather(bot, return_exceptions=True)
        await sandbox.stop()
        await pagerduty.stop()
        logging.shutdown()


ALERTMANAGER_TOKEN = "demo-alertmanager-token"


async def _status_page(port: int, out_dir: Path) -> str:
    """The embedded status page as the demo left it, beside the post-mortem: its HTML, and a screenshot when a
    Chromium is installed (WARROOM_CHROMIUM, or `chromium` on the PATH)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/status") as answer:
            html = await answer.read()
    page = out_dir / "status.html"
    page.write_bytes(html)
    written = [str(page)]
    browser = os.environ.get("WARROOM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        shot = out_dir / "status.png"
        process = await asyncio.create_subprocess_exec(
            browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", f"--user-data-dir={tempfile.mkdtemp(prefix='warroom-chromium-')}",
            "--window-size=1280,1100", f"--screenshot={shot}", f"http://127.0.0.1:{port}/status",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.wait_for(process.wait(), 90)
        if shot.exists():
            written.append(str(shot))
    else:
        written.append("no Chromium found for a screenshot")
    return ", ".join(written)


def _alertmanager_payload(group: str, alerts: list[dict], **common) -> dict:
    firing = any(a["status"] == "firing" for a in alerts)
    return {"version": "4", "groupKey": group, "truncatedAlerts": 0, "status": "firing" if firing else "resolved",
            "receiver": "warroom", "groupLabels": common, "commonLabels": common, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": alerts}


def _alert(name: str, status: str, starts: datetime, summary: str, **labels) -> dict:
    return {"status": status, "labels": {"alertname": name, **labels}, "fingerprint": f"{name}-{labels}"[:60],
            "annotations": {"summary": summary, "runbook_url": "https://runbooks.example.com/" + name.lower()},
            "startsAt": starts.isoformat(), "generatorURL": f"http://prometheus:9090/graph?g0.expr={name}",
            "endsAt": (starts + timedelta(minutes=20)).isoformat() if status == "resolved" else
            "0001-01-01T00:00:00Z"}


async def _alerts(s: Script, sandbox: SlackSandbox, runtime: wiring.Runtime, url: str):
    """Alertmanager's side of the story: a warning waits in #alerts; a critical alert opens its own war room."""
    import aiohttp

    ws = sandbox.workspace
    ws.add_channel("alerts", creator=ALICE, members={ALICE, BOB, CAROL, DAVE, "U0WARROOM"})
    async def deliver(body: dict) -> str:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=body, headers={"Authorization": f"Bearer {ALERTMANAGER_TOKEN}"}) as answer:
                return (await answer.json())["outcome"]

    s.narrate("Alertmanager sends a warning: a disk is filling up on db-3", minutes=20)
    began = s.clock.now() - timedelta(minutes=4)  # Prometheus's `for: 4m` before the alert fired
    disk = _alertmanager_payload("{}:{alertname=\"DiskFillingUp\"}", [_alert(
        "DiskFillingUp", "firing", began, "db-3 /var/lib/postgresql 85% full", severity="warning",
        instance="db-3")], alertname="DiskFillingUp")
    s.console.print(f"  warroom answers {await deliver(disk)!r}: SEV-3, posted to #alerts, nobody paged; the "
                    f"disk-cleanup policy, in dry run, says what it would run", markup=False)
    s.narrate("Alertmanager sends a critical alert: checkout's error rate", minutes=1)
    errors = [_alert("HighErrorRate", "firing", began, "checkout 5xx above 5% for 5 minutes", severity="critical",
                     service="checkout")]
    group = "{}:{alertname=\"HighErrorRate\", service=\"checkout\"}"
    first = _alertmanager_payload(group, errors, alertname="HighErrorRate", service="checkout")
    s.console.print(f"  warroom answers {await deliver(first)!r}; the same group again, as Alertmanager re-sends "
                    f"it every group_interval: {await deliver(first)!r}", markup=False)
    room = await sandbox.wait_for(lambda: next((c for c in ws.channels.values() if c.name.startswith("incident-")
                                                and "higherrorrate" in c.name and c.messages), None))
    await s.settle()
    s.narrate("the error rate recovers; Alertmanager sends the resolve", minutes=18)
    resolved = _alertmanager_payload(group, [{**errors[0], "status": "resolved",
                                              "endsAt": (s.clock.now()).isoformat()}],
                                     alertname="HighErrorRate", service="checkout")
    s.console.print(f"  warroom answers {await deliver(resolved)!r}; the IC is asked whether to resolve",
                    markup=False)
    await s.settle()
    return room


async def walk_runbook(s: Script, sandbox: SlackSandbox, room: str) -> None:
    """bob ticks the checklist and finishes the first two steps (the second takes option B); alice verifies."""
    def current_step():
        return sandbox.messages_with_action(room, ActionId.RUNBOOK_DONE)[-1]

    s.narrate("bob ticks both checks of step 1 and clicks [Done]", minutes=2)
    await sandbox.click(BOB, room, current_step().ts, f"{ActionId.RUNBOOK_CHECK_PREFIX}0", value=["0", "1"])
    await sandbox.click(BOB, room, current_step().ts, ActionId.RUNBOOK_DONE)
    await s.settle()
    s.narrate("bob picks option B (a deploy changed the pool size) and clicks [Done]", minutes=2)
    await sandbox.click(BOB, room, current_step().ts, f"{ActionId.RUNBOOK_BRANCH_PREFIX}1")
    await s.settle()
    await sandbox.click(BOB, room, current_step().ts, ActionId.RUNBOOK_DONE)
    await s.settle()
    s.narrate("after the rollback, alice ticks both recovery criteria and clicks [Done]", minutes=12)
    await sandbox.click(ALICE, room, current_step().ts, f"{ActionId.RUNBOOK_CHECK_PREFIX}0", value=["0", "1"])
    await sandbox.click(ALICE, room, current_step().ts, ActionId.RUNBOOK_DONE)
    await s.settle()


async def _play(s: Script, sandbox: SlackSandbox, runtime: wiring.Runtime, out_dir: Path,
                pagerduty: PagerDutySandbox) -> Path:
    ws = sandbox.workspace
    await s.command(DAVE, "general", "", command="/oncall", minutes=0)
    await s.command(ALICE, "general", "declare sev2 Payments API returning 503")
    room = await sandbox.wait_for(lambda: next((c for c in ws.channels.values() if c.name.startswith("incident-")
                                                and c.messages), None))
    await s.settle()
    twin = next(iter(pagerduty.incidents.values()))
    s.console.print(f"  PagerDuty: warroom opened {twin['id']} ({twin['title']}, urgency {twin['urgency']}, "
                    f"key {twin['incident_key']}); the card and a bookmark link it.", markup=False)
    for message in ws.dm(BOB).messages:
        s.console.print(f"  DM to bob: {plain(message.text, ws)} [Acknowledge]", markup=False)
    s.narrate("bob acknowledges in the PagerDuty app; PagerDuty sends a signed webhook")
    await pagerduty.act(twin["id"], "incident.acknowledged", {"id": "PBOB001", "type": "user_reference",
                                                              "summary": "Bob"})
    await s.settle()
    await s.command(ALICE, room.id, f"role ic <@{ALICE}>")
    await s.say(BOB, room.id, "Seeing 503s from payments-api since 09:12, error rate 40%. Checkout is failing.")
    await s.command(ALICE, room.id, "sev 1")

    s.narrate("alice clicks [Assign role] on the pinned card and makes carol Communicator")
    card_ts = sorted(room.pins)[0]
    await sandbox.click(ALICE, room.id, card_ts, ActionId.ASSIGN_ROLE)
    view = await sandbox.wait_for(lambda: [v for v in ws.views.values() if v.get("user") == ALICE])
    await sandbox.submit_view(ALICE, view[-1]["id"], {ActionId.ROLE_INPUT: "communicator", ActionId.USER_INPUT: CAROL})
    await s.settle()
    s.narrate("carol clicks [Status page] on the card: customers should see Payments API and Checkout affected", 0)
    await sandbox.click(CAROL, room.id, card_ts, ActionId.STATUS_PAGE)
    view = await sandbox.wait_for(lambda: [v for v in ws.views.values() if v.get("user") == CAROL])
    await sandbox.submit_view(CAROL, view[-1]["id"], {ActionId.COMPONENTS_INPUT: ["Payments API", "Checkout"]})
    await s.settle()

    await s.command(ALICE, room.id, f"role responder <@{DAVE}>")  # PagerDuty gets a responder request
    await s.command(DAVE, room.id, f"role ic <@{DAVE}>")  # taking command needs a handover from alice
    clue = await s.say(BOB, room.id, "Deploy 4f2a at 09:10 changed the DB pool size from 50 to 5 <!channel>")
    s.narrate("alice reacts with :pushpin: to bob's message")
    await sandbox.react(ALICE, room.id, clue.ts)
    await s.settle()
    s.narrate("PagerDuty has an outage: its API stops answering", minutes=1)
    await pagerduty.go_down()
    await sandbox.slash(CAROL, room.id, "/incident",
                        "update identified Bad config in deploy 4f2a shrank the DB pool; rolling back.")
    await sandbox.wait_for(lambda: any("PagerDuty is unreachable" in m.text for m in room.messages), timeout=15)
    s.console.print("  carol's update is in the war room and #incidents; the room is told once that PagerDuty "
                    "is unreachable.", markup=False)
    s.narrate("PagerDuty is back; the queued note goes out", minutes=5)
    await pagerduty.come_back()
    await runtime.dispatcher.recover()
    runtime.dispatcher.wake()
    await s.settle()
    await s.command(CAROL, room.id, "statuspage We found the cause: a recent change. We are rolling it back and will "
                                    "post an update within 15 minutes.", minutes=1)
    await s.command(ALICE, room.id, "runbook database-connection-pool-exhausted", minutes=1)
    await walk_runbook(s, sandbox, room.id)
    await s.command(BOB, room.id, "timeline Rollback of 4f2a started")

    s.narrate("carol clicks [Post update] on the card: monitoring", minutes=9)
    await sandbox.click(CAROL, room.id, card_ts, ActionId.POST_UPDATE)
    view = await sandbox.wait_for(lambda: [v for v in ws.views.values() if v.get("user") == CAROL])
    await sandbox.submit_view(CAROL, view[-1]["id"], {
        ActionId.STATUS_INPUT: "monitoring",
        ActionId.UPDATE_TEXT_INPUT: "Rollback done; error rate back to 0.1%. Watching for 15 minutes.",
        ActionId.PUBLISH_INPUT: ["publish"],
        ActionId.PUBLIC_TEXT_INPUT: "A fix is in place and payments are succeeding again. We are monitoring."})
    await s.settle()

    await s.command(BOB, room.id, "resolve")
    await s.command(ALICE, room.id, minutes=15, text="resolve Rolled back deploy 4f2a; DB pool restored to 50.")
    s.narrate("alice confirms in the Resolve dialog")
    view = await sandbox.wait_for(lambda: [v for v in ws.views.values() if v.get("user") == ALICE])
    await sandbox.submit_view(ALICE, view[-1]["id"], {ActionId.SUMMARY_INPUT: "Rolled back deploy 4f2a; DB pool restored to 50."})
    await s.settle()

    await s.command(ALICE, room.id, f"action Alert when the DB pool is over 80% <@{BOB}> due:2026-12-04 P0")
    await s.say(CAROL, room.id, "Dave deployed 4f2a without the usual canary, which let the pool change through.")
    await s.command(ALICE, room.id, "", command="/postmortem", minutes=30)
    incident = await runtime.incidents.find_in(room.id)
    text = await runtime.postmortems.text(incident.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{incident.reference}-{room.name}.md"
    path.write_text(text, encoding="utf-8")
    return path
