"""The one composition root: builds adapters, services, the Bolt app, the dispatcher and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SystemClock
from bot.config import Environment, Settings
from bot.core.escalation import ESCALATION
from bot.core.ports import Clock
from bot.core.reminders import IC_NUDGE, STATUS_REMINDER
from bot.environment import secret
from bot.heartbeat import Heartbeat
from bot.http import server as http_server
from bot.integrations.alertmanager import AlertmanagerSilences
from bot.integrations.executor import SubprocessRunner, secret_values
from bot.integrations.http_action import HttpActions
from bot.integrations.pagerduty import PagerDutyClients, PagerDutyEffects
from bot.integrations.prometheus import Prometheus
from bot.integrations.statuspage import StatusPageEffects
from bot.log import logged
from bot.runbooks import Catalog
from bot.scheduler import Dispatcher, TimerHandler, TimerLoop
from bot.services.action_items import DIGEST as ACTION_DIGEST
from bot.services.action_items import DUE as ACTION_DUE
from bot.services.action_items import ActionItemService
from bot.services.alerts import AUTO_RESOLVE as ALERT_AUTO_RESOLVE
from bot.services.alerts import NOISE_DIGEST, AlertService
from bot.services.escalation import EscalationService
from bot.services.incidents import IncidentService
from bot.services.oncall import HANDOFF, OnCallService
from bot.services.pagerduty import PagerDutyMirror
from bot.services.postmortems import REMINDER as POSTMORTEM_REMINDER
from bot.services.postmortems import PostmortemService
from bot.services.remediation import ACT as REMEDIATION_ACT
from bot.services.remediation import ESCALATE as REMEDIATION_ESCALATE
from bot.services.remediation import VERIFY as REMEDIATION_VERIFY
from bot.services.remediation import RemediationService
from bot.services.remediation_timers import RemediationTimers
from bot.services.reminders import ReminderService
from bot.services.runbooks import RunbookService
from bot.services.sla import SlaService
from bot.services.sla_watch import SLA_CHECK, SLA_REPORT, SlaWatch
from bot.services.status_page import REMINDER as PUBLIC_REMINDER
from bot.services.status_page import PublicStatusService
from bot.services.status_view import StatusPageView
from bot.services.unit_of_work import UnitOfWork
from bot.slack import listeners
from bot.slack.directory import SlackDirectory
from bot.slack.effects.postmortems import PostmortemEffects
from bot.slack.effects.remediation import RemediationEffects
from bot.slack.effects.runbooks import RunbookEffects
from bot.slack.effects.sla import SlaEffects
from bot.slack.effects.war_room import SlackEffects
from bot.slack.history import SlackHistory
from bot.slack.identity import BotIdentity
from bot.slack.jobs import Jobs
from bot.slack.listeners.handling import SlackDeps
from bot.slack.rate_budget import RateBudget
from bot.slack.respond import pooled_replies
from bot.slack.socket import InboxSocketModeHandler
from bot.slack.tagged_posts import TaggedPostsClient
from bot.storage import database
from bot.storage.inbox import InboxStore
from bot.storage.repository import Store

log = structlog.get_logger("warroom")


@dataclass
class Runtime:
    env: Environment
    settings: Settings
    engine: AsyncEngine
    store: Store
    dispatcher: Dispatcher
    incidents: IncidentService
    app: AsyncApp
    socket: InboxSocketModeHandler
    http: aiohttp.ClientSession
    runbooks: RunbookService
    reminders: ReminderService
    timers: TimerLoop
    postmortems: PostmortemService
    action_items: ActionItemService
    oncall: OnCallService
    escalation: EscalationService
    pagerduty: PagerDutyMirror | None
    jobs: Jobs
    identity: BotIdentity
    heartbeat: Heartbeat
    alerts: AlertService
    sla: SlaService
    sla_watch: SlaWatch
    remediation: RemediationService
    public: PublicStatusService
    status_view: StatusPageView | None


def postmortems_offline(env: Environment, settings: Settings, engine) -> tuple[PostmortemService, object | None]:
    """The post-mortem service for `warroom postmortem`, without the running bot: it drafts from the war room's
    history when a bot token is at hand (the running bot publishes the draft), else renders the stored one.
    Returns the service and the Slack client it reads with (None without a token)."""
    client = AsyncWebClient(token=secret(env.slack_bot_token), base_url=env.slack_api_url) if env.slack_bot_token else None
    history = SlackHistory(client) if client is not None else None
    return PostmortemService(Store(engine), settings, SystemClock(), history), client


@contextlib.asynccontextmanager
async def sla_offline(env: Environment, settings: Settings, clock: Clock | None = None):
    """The SLA service for `warroom sla report`, without the running bot: Prometheus, and the database for the
    maintenance announced from Slack."""
    engine = database.create_engine(env.database_url)
    try:
        await database.upgrade(engine)
        async with aiohttp.ClientSession() as http:
            yield SlaService(Store(engine), settings, clock or SystemClock(), prometheus_of(env, settings, http))
    finally:
        await engine.dispose()


def prometheus_of(env: Environment, settings: Settings, http: aiohttp.ClientSession) -> Prometheus | None:
    url = env.prometheus_url or settings.file.sla.prometheus_url
    return Prometheus(url, http) if url else None


def _statuspage_id(store: Store):
    async def lookup(incident_id: int) -> str | None:
        async with store.reading() as tx:
            return await tx.public.statuspage_id(incident_id)
    return lookup


def build(env: Environment, settings: Settings, clock: Clock | None = None, *,
          budget: RateBudget | None = None, receiver_process: bool = False) -> Runtime:
    """`receiver_process`: Slack's envelopes are received and acknowledged by a process of their own
    (bot/slack/receiver.py), as `warroom run` does; the demo and the in-process tests receive them here."""
    if not env.slack_bot_token or not env.slack_app_token:
        raise SystemExit("SLACK_BOT_TOKEN and SLACK_APP_TOKEN must be set (or try `warroom demo`).")
    clock = clock or SystemClock()
    engine = database.create_engine(env.database_url)
    store = Store(engine)
    # Bolt's client keeps slack_sdk's default connection retry; the outbox client retries nothing itself,
    # because the outbox reschedules instead of blocking.
    # One HTTP session for all Web API calls: slack_sdk otherwise opens a new one for every call.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    bolt_client = AsyncWebClient(token=secret(env.slack_bot_token), base_url=env.slack_api_url, timeout=10, session=http)
    # The outbox's client asks one shared rate budget before every call (bot/slack/rate_budget.py), and tags
    # every post so that a retry finds it instead of posting again (bot/slack/tagged_posts.py).
    effects_client = TaggedPostsClient(token=secret(env.slack_bot_token), base_url=env.slack_api_url, timeout=10,
                                       retry_handlers=[], session=http, budget=budget or RateBudget())
    directory = SlackDirectory(bolt_client)
    performers: dict = {}
    dispatcher = Dispatcher(store, performers, clock)
    pagerduty_clients = PagerDutyClients.from_env(env, settings)
    oncall = OnCallService(settings, clock, store=store, dispatch=dispatcher,
                           pagerduty=pagerduty_clients.rest if pagerduty_clients else None)
    incidents = IncidentService(store, settings, clock, directory, dispatcher, oncall=oncall,
                                pagerduty=pagerduty_clients is not None)
    mirror = None
    if pagerduty_clients:
        mirror = PagerDutyMirror(store, settings, clock, incidents, dispatcher)
        performers["pagerduty"] = PagerDutyEffects(pagerduty_clients, settings, mirror.reachability,
                                                   directory.display_name, mirror.refused)
    escalation = EscalationService(store, settings, clock, oncall, dispatcher)
    catalog = Catalog(Path(settings.file.runbooks.directory))
    catalog.refresh()
    # Secrets are scrubbed from command output whether they came from the process environment or elsewhere.
    secrets = secret_values({**os.environ, **{f"WARROOM_SECRET_{n}": v for n, v in enumerate(env.secrets())}})
    runner = SubprocessRunner(allowed_env=settings.file.runbooks.execution.env, secrets=secrets)
    runbooks = RunbookService(store, catalog, settings, clock, directory, incidents, runner, dispatcher)
    identity = BotIdentity(bolt_client)
    performers["slack"] = SlackEffects(effects_client, settings, clock, runbooks.suggested_for, identity=identity)
    reminders = ReminderService(store, settings, clock, dispatcher)
    # Reading a long channel for a post-mortem waits out 429s instead of failing.
    history_client = AsyncWebClient(token=secret(env.slack_bot_token), base_url=env.slack_api_url, timeout=30, session=http,
                                    retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=10)])
    sla = SlaService(store, settings, clock, prometheus_of(env, settings, http), auth=incidents.auth)
    postmortems = PostmortemService(store, settings, clock, SlackHistory(history_client), dispatcher,
                                    auth=incidents.auth, slo_impact=sla.incident_impact,
                                    suggest=runbooks.suggested_for)
    performers["postmortem"] = PostmortemEffects(effects_client, postmortems)
    action_items = ActionItemService(store, settings, clock, directory, dispatcher)
    performers["slack"].action_item = action_items.get
    alertmanager_url = settings.file.alerts.alertmanager_url
    if alertmanager_url:
        performers["alertmanager"] = AlertmanagerSilences(alertmanager_url, http, directory.display_name)
    alerts = AlertService(store, settings, clock, directory, incidents, dispatcher, silences=bool(alertmanager_url),
                          catalog=catalog)
    performers["slack"].alerts = alerts
    public = PublicStatusService(store, settings, clock, incidents.auth, dispatcher)
    incidents.public = public
    performers["slack"].public = public
    performers["statuspage"] = StatusPageEffects(settings.file.status_page, http, secret(env.statuspage_api_key),
                                                 env.statuspage_api_url, os.environ, _statuspage_id(store))
    page = settings.file.status_page
    status_view = StatusPageView(store, settings, clock, sla.maintenance, sla=sla) \
        if page.embedded and page.configured else None
    remediation = RemediationService(store, settings, clock, incidents.auth, catalog, dispatcher)
    alerts.remediation = remediation
    performers["remediation"] = RemediationEffects(effects_client)
    remediation_timers = RemediationTimers(remediation, incidents, runner, HttpActions(http, os.environ, secrets),
                                           UnitOfWork(store, dispatcher))
    sla_watch = SlaWatch(sla, incidents, store, settings, clock, UnitOfWork(store, dispatcher))
    performers["sla"] = SlaEffects(effects_client)
    timers = TimerLoop(store, {
        STATUS_REMINDER: TimerHandler(reminders.fire), IC_NUDGE: TimerHandler(reminders.fire),
        POSTMORTEM_REMINDER: TimerHandler(postmortems.fire), ACTION_DUE: TimerHandler(action_items.fire),
        ACTION_DIGEST: TimerHandler(action_items.fire), HANDOFF: TimerHandler(oncall.fire),
        ESCALATION: TimerHandler(escalation.fire, prepare=escalation.prepare),
        NOISE_DIGEST: TimerHandler(alerts.fire_digest), ALERT_AUTO_RESOLVE: TimerHandler(alerts.fire_auto_resolve),
        SLA_CHECK: TimerHandler(sla_watch.fire_check, prepare=sla_watch.prepare_check, background=True),
        SLA_REPORT: TimerHandler(sla_watch.fire_report, prepare=sla_watch.prepare_report, background=True),
        # An action may run for minutes: beside the loop, so that pages due meanwhile are not held up.
        REMEDIATION_ACT: TimerHandler(remediation_timers.fire_act, prepare=remediation_timers.prepare_act,
                                      background=True),
        REMEDIATION_VERIFY: TimerHandler(remediation_timers.fire_verify),
        PUBLIC_REMINDER: TimerHandler(public.fire_reminder),
        REMEDIATION_ESCALATE: TimerHandler(remediation_timers.fire_escalate,
                                           prepare=remediation_timers.prepare_escalate),
    }, clock, UnitOfWork(store, dispatcher))
    store.timer_listeners.append(timers.wake)
    performers["runbook"] = RunbookEffects(effects_client, runbooks, clock)
    # Requests are acked on arrival (bot/slack/socket.py), so Bolt may run each listener to its end; who the
    # bot is was asked once at start-up (bot/slack/identity.py), so authorizing a request calls nobody.
    app = AsyncApp(client=bolt_client, authorize=identity.authorize, raise_error_for_unhandled_request=False,
                   logger=None, process_before_response=True)
    app.middleware(pooled_replies(http))
    jobs = Jobs()
    deps = SlackDeps(incidents, settings, clock, runbooks, reminders, postmortems, action_items, oncall, directory,
                     jobs, alerts, sla, remediation, public)
    listeners.register(app, deps)
    receiver = {"SLACK_APP_TOKEN": secret(env.slack_app_token), "SLACK_API_URL": env.slack_api_url,
                "DATABASE_URL": env.database_url} if receiver_process else None
    socket = InboxSocketModeHandler(app, secret(env.slack_app_token), ping_interval=10, inbox=InboxStore(store), clock=clock,
                                    receiver=receiver)
    heartbeat = Heartbeat([dispatcher.renew_leases, timers.renew_leases, socket.renew_leases])
    return Runtime(env, settings, engine, store, dispatcher, incidents, app, socket, http, runbooks, reminders, timers,
                   postmortems, action_items, oncall, escalation, mirror, jobs, identity, heartbeat, alerts,
                   sla, sla_watch, remediation, public, status_view)


async def serve(runtime: Runtime, stop: asyncio.Event, *, on_ready=None, http: bool = True) -> None:
    """`warroom run` and `warroom demo` both come through here."""
    await runtime.socket.prepare()  # a receiver process starts while the database is migrated
    await database.upgrade(runtime.engine)
    await runtime.action_items.ensure_digest()
    await runtime.alerts.ensure_digest()
    await runtime.sla_watch.ensure_timers()
    await runtime.oncall.ensure_handoffs()
    await runtime.runbooks.recover_interrupted()
    tasks = [asyncio.create_task(runtime.dispatcher.run(), name="dispatcher"),
             asyncio.create_task(runtime.timers.run(), name="timers"),
             asyncio.create_task(runtime.heartbeat.run(), name="heartbeat")]
    runner = None
    if http:
        secrets = [s.strip() for s in (secret(runtime.env.pagerduty_webhook_secret) or "").split(",") if s.strip()]
        app = http_server.build_app(lambda: _readiness(runtime), pagerduty_secrets=secrets,
                                    pagerduty=runtime.pagerduty.handle if runtime.pagerduty else None,
                                    outbox=runtime.dispatcher.outbox.counts, alerts=runtime.alerts.receive,
                                    alert_tokens=[t.strip() for t in (secret(runtime.env.alertmanager_webhook_token)
                                                                      or "").split(",") if t.strip()],
                                    status_page=runtime.status_view)
        runner = await http_server.start(app, runtime.env.http_port, runtime.env.http_host)
    await runtime.identity.resolve()  # before any request can need it
    tasks.append(asyncio.create_task(runtime.socket.take_over(), name="inbox"))
    await runtime.socket.connect_async()
    # Everything built so far lives as long as the process: keep it out of the collector's full passes,
    # which otherwise walk all of it and stall a click now and then for tens of milliseconds.
    gc.collect()
    gc.freeze()
    log.info("warroom_ready", http_port=runtime.env.http_port if http else None)
    if on_ready:
        on_ready()
    try:
        await stop.wait()
    finally:
        log.info("warroom_stopping")
        await _close_socket(runtime.socket, runtime.jobs)
        await runtime.timers.stop()
        await runtime.dispatcher.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if runner:
            await runner.cleanup()
        if runtime.status_view is not None:
            await runtime.status_view.stop()
        await runtime.http.close()
        await runtime.engine.dispose()


async def _close_socket(handler: InboxSocketModeHandler, jobs: Jobs) -> None:
    await handler.stop_receiving()
    # What was received is finished (people get their replies); what is not by then stays in the inbox.
    await jobs.drain(timeout=10)
    with contextlib.suppress(TimeoutError):
        await handler.drain(timeout=5)
    with logged("socket_close_failed"):
        await asyncio.wait_for(handler.close_async(), timeout=5)


async def _readiness(runtime: Runtime) -> dict[str, bool]:
    checks = {"database": True, "slack": False}
    try:
        await database.ping(runtime.engine)
    except Exception as exc:
        log.warning("readiness_database_check_failed", error=type(exc).__name__)
        checks["database"] = False
    with logged("readiness_slack_check_failed"):
        checks["slack"] = await runtime.socket.is_connected()
    return checks
