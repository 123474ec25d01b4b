"""`warroom` / `python -m bot`: run, demo, check, db upgrade."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from bot.config import Environment, Settings, load_settings
from bot.core.permissions import Rule
from bot.yamlsource import SourceInvalid

app = typer.Typer(help="warroom: Slack-first incident response.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
sla_app = typer.Typer(help="SLA compliance from Prometheus.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _settings(env: Environment) -> Settings:
    try:
        return load_settings(env.config_path)
    except SourceInvalid as exc:
        for error in exc.errors:
            err.print(Text.assemble(("error ", "red"), str(error)))
        raise typer.Exit(2) from None


@app.command()
def run() -> None:
    """Run the bot: Socket Mode connection plus the HTTP server (health, readiness)."""
    from bot import log, wiring

    log.configure()
    env = _environment()
    settings = _settings(env)

    async def main() -> None:
        runtime = wiring.build(env, settings, receiver_process=True)  # inside the loop: the Socket Mode client needs one
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await wiring.serve(runtime, stop)

    asyncio.run(main())


@app.command()
def demo(postmortem_dir: Path = typer.Option(Path("postmortems"), help="Where the incident report is written."),
         ) -> None:
    """Run a whole scripted SEV-1 against the built-in Slack sandbox; no workspace or token needed."""
    from bot.sandbox.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo(postmortem_dir)))


@app.command()
def check(slack: bool = typer.Option(False, "--slack", help="Also check the live workspace: tokens, scopes and "
                                                           "the configured channels.")) -> None:
    """Validate config.yaml and every runbook; errors name file, line and field."""
    from bot.runbooks import lint

    env = _environment()
    settings = _settings(env)
    out = Console(highlight=False, soft_wrap=True)
    policies = ", ".join(f"{p.severity.label} pages {'+'.join(p.page) or 'nobody'}" for p in settings.policies.values())
    out.print(f"{env.config_path}: OK ({policies})")
    for name, rotation in settings.file.oncall.rotations.items():
        source = rotation.pagerduty_schedule or rotation.pagerduty_escalation_policy
        out.print(f"  rotation {name}: " + (f"from PagerDuty ({source})" if source else
                                           f"{len(rotation.members)} engineers, hand-off {rotation.handoff} "
                                           f"{rotation.timezone}"))
    mirror = settings.file.pagerduty
    if mirror.service_id:
        how = "Events API (routing key)" if mirror.routing_key else "REST API"
        token = "set" if env.pagerduty_api_token else "NOT set: the mirror stays off"
        out.print(f"  PagerDuty: service {mirror.service_id} via {how}; PAGERDUTY_API_TOKEN {token}")
    _describe_sla(env, settings, out)
    _describe_status_page(env, settings, out)
    directory = Path(settings.file.runbooks.directory)
    runbooks, errors = lint(directory)
    for error in errors:
        err.print(Text.assemble(("error ", "red"), str(error)))
    problems = f", {len(errors)} error{'s' if len(errors) != 1 else ''}" if errors else ""
    out.print(f"{directory}: {len(runbooks)} runbooks OK{problems}")
    unknown = set(settings.file.runbooks.execution.allow) - {f"{r.id}/{c.id}" for r in runbooks for s in r.steps
                                                             for c in s.commands if c.executable}
    for command_id in sorted(unknown):
        err.print(Text.assemble(("warning ", "yellow"), f"{env.config_path}: runbooks.execution.allow: "
                                f"`{command_id}` is no executable command of any runbook"))
    errors = errors + _unknown_route_runbooks(env, settings, {r.id for r in runbooks})
    errors = errors + _remediation_problems(env, settings, runbooks, out)
    execution = settings.file.runbooks.execution
    if not (Rule.parse(execution.runners).usergroup or settings.file.permissions.incident_managers):
        # Only the IC may run commands then, and an approval needs someone other than the one who asked.
        for entry in sorted(f"{r.id}/{c.id}" for r in runbooks for s in r.steps for c in s.commands
                            if c.needs_second_person and f"{r.id}/{c.id}" in execution.allow):
            err.print(Text.assemble(("warning ", "yellow"), f"{env.config_path}: runbooks.execution.allow: "
                                    f"`{entry}` needs a second person's approval, but with runners `ic` and no "
                                    f"permissions.incident_managers nobody but the IC may approve it"))
    if slack:
        errors = errors + _check_slack(env, settings, out, err)
    if errors:
        raise typer.Exit(2)


def _describe_sla(env: Environment, settings: Settings, out: Console) -> None:
    sla = settings.file.sla
    if not sla.services:
        return
    url = env.prometheus_url or sla.prometheus_url
    if url:
        import yarl

        url = str(yarl.URL(url).with_user(None))  # never print a password in the URL
    source = f"from Prometheus at {url}" if url else "NOT measured: set sla.prometheus_url or PROMETHEUS_URL"
    report = f"monthly report to #{sla.report_channel} on day {sla.report_day}" if sla.report_channel else \
        "no monthly report (sla.report_channel)"
    out.print(f"  SLA: {len(sla.services)} services ({', '.join(sla.services)}) {source}; SLO {sla.slo} %; "
              f"{len(sla.customers)} customers; {report}")


def _describe_status_page(env: Environment, settings: Settings, out: Console) -> None:
    page = settings.file.status_page
    if not page.configured:
        out.print("  status page: none set up (status_page.components in config.yaml)")
        return
    where = {"embedded": "warroom's own /status", "statuspage": "Atlassian Statuspage",
             "both": "warroom's own /status and Atlassian Statuspage"}[page.provider]
    out.print(f"  status page: {where}; {len(page.components)} components; {len(page.subscribers)} webhook "
              f"subscribers" + (f"; customers read it at {page.public_url}" if page.public_url else ""))
    if page.hosted and not env.statuspage_api_key:
        err.print(Text.assemble(("warning ", "yellow"), "status_page.provider names Statuspage, but "
                                                        "STATUSPAGE_API_KEY is not set: nothing will reach it"))
    for subscriber in page.subscribers:
        if not os.environ.get(subscriber.secret_env):
            err.print(Text.assemble(("warning ", "yellow"), f"status_page.subscribers: {subscriber.secret_env} is "
                                                            f"not set: webhooks to {subscriber.url} cannot be signed"))


def _unknown_route_runbooks(env: Environment, settings: Settings, known: set[str]) -> list:
    """An alert route naming a runbook that does not exist: an error at its file, line and field."""
    from bot.yamlsource import SourceError, load_yaml

    routes = settings.file.alerts.routes
    if not any(route.runbook and route.runbook not in known for route in routes):
        return []
    source = load_yaml(env.config_path)
    found = []
    for index, route in enumerate(routes):
        if route.runbook and route.runbook not in known:
            error = SourceError(str(env.config_path), source.line_of(("alerts", "routes", index, "runbook")),
                                f"alerts.routes[{index}].runbook", f"no runbook `{route.runbook}` in "
                                f"{settings.file.runbooks.directory} (known: {', '.join(sorted(known)) or 'none'})")
            err.print(Text.assemble(("error ", "red"), str(error)))
            found.append(error)
    return found


def _remediation_problems(env: Environment, settings: Settings, runbooks: list, out: Console) -> list:
    """Describes automated remediation; a policy whose command cannot run is an error at its file, line and field."""
    from bot.config_remediation import command_problems
    from bot.yamlsource import SourceError, load_yaml

    section = settings.file.remediation
    if not section.policies:
        return []
    state = ("on" + (", dry run" if section.dry_run else "")) if section.enabled else "off (remediation.enabled)"
    out.print(f"  remediation: {state}; {len(section.policies)} policies "
              f"({', '.join(f'{p.name}: {p.kind}' for p in section.policies)})")
    if not section.enabled:
        return []  # the shipped examples need allowlisting and secrets only once someone turns them on
    for policy in section.policies:
        for name in sorted(set(policy.http.headers.values()) if policy.http else ()):
            if not os.environ.get(name):
                err.print(Text.assemble(("warning ", "yellow"), f"{env.config_path}: remediation policy "
                                        f"`{policy.name}`: {name} is not set in the environment"))
    problems = command_problems(section, runbooks, settings.file.runbooks.execution.allow)
    if not problems:
        return []
    source = load_yaml(env.config_path)
    found = []
    for path, message in problems:
        field = f"remediation.policies[{path[2]}].run.command"
        error = SourceError(str(env.config_path), source.line_of(path), field, message)
        err.print(Text.assemble(("error ", "red"), str(error)))
        found.append(error)
    return found


def _check_slack(env: Environment, settings: Settings, out: Console, err: Console) -> list[str]:
    from bot.slack.workspace_check import check_workspace

    if not env.slack_bot_token or not env.slack_app_token:
        err.print(Text.assemble(("error ", "red"), "--slack needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN in the "
                                                    "environment"))
        return ["tokens"]
    fine, wrong = asyncio.run(check_workspace(env, settings))
    for line in fine:
        out.print(f"  {line}")
    for line in wrong:
        err.print(Text.assemble(("error ", "red"), line))
    return wrong


@app.command()
def postmortem(incident: str = typer.Argument(..., help="Incident number, e.g. 12 or INC-12"),
               output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file")) -> None:
    """Print (or write) an incident's post-mortem. With SLACK_BOT_TOKEN set it drafts from the war room's
    history too, stores the draft, and `warroom run` posts it; without, it prints the stored draft or one
    rendered from the timeline."""
    from bot.core.incident import DomainError
    from bot.storage import database
    from bot.wiring import postmortems_offline

    env = _environment()
    settings = _settings(env)
    number = incident.upper().removeprefix("INC-")
    if not number.isdigit():
        err.print(Text.assemble(("error ", "red"), f"`{incident}` is not an incident number"))
        raise typer.Exit(2)

    async def main() -> str:
        engine = database.create_engine(env.database_url)
        client = None
        try:
            await database.upgrade(engine)
            service, client = postmortems_offline(env, settings, engine)
            if client is not None:  # with Slack at hand, draft from the channel's history too
                found = await service.incident(int(number))
                if found is not None and found.channel_id:
                    return (await service.draft(found, "cli")).content  # the running bot publishes it
            return await service.text(int(number))
        finally:
            await engine.dispose()

    try:
        text = asyncio.run(main())
    except DomainError as exc:
        err.print(Text.assemble(("error ", "red"), str(exc)))
        raise typer.Exit(1) from None
    if output:
        output.write_text(text, encoding="utf-8")
        Console(highlight=False, soft_wrap=True).print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@sla_app.command("report")
def sla_report(month: str = typer.Option(None, "--month", help="YYYY-MM (UTC); default: last month. The current "
                                                                "month reports the windows closed so far."),
               service: str = typer.Option(None, "--service", help="One service of sla.services"),
               format: str = typer.Option("text", "--format", help="text, json or csv")) -> None:
    """Print a month's SLA report: availability per service, error budgets, credits per tier and customer."""
    from bot.core.incident import DomainError
    from bot.core.sla import Month
    from bot.sla_formats import FORMATS
    from bot.wiring import sla_offline

    env = _environment()
    settings = _settings(env)
    if format not in FORMATS:
        err.print(Text.assemble(("error ", "red"), f"--format must be one of {', '.join(FORMATS)}"))
        raise typer.Exit(2)

    async def main() -> str:
        # As `warroom run` does once started: what was loaded so far stays out of the collector's full passes,
        # which a month of samples would otherwise set off again and again over the whole heap.
        gc.collect()
        gc.freeze()
        async with sla_offline(env, settings) as service:
            wanted = Month.parse(month) if month else Month.of(service.clock.now()).previous()
            return FORMATS[format](await service.report(wanted, service=service_name))

    service_name = service
    try:
        sys.stdout.write(asyncio.run(main()))
    except DomainError as exc:
        err.print(Text.assemble(("error ", "red"), str(exc)))
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations to DATABASE_URL."""
    from bot.storage import database

    env = _environment()

    async def main() -> None:
        engine = database.create_engine(env.database_url)
        try:
            await database.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(main())
    Console(highlight=False, soft_wrap=True).print("database is up to date")


def _environment() -> Environment:
    try:
        return Environment.from_os()
    except SourceInvalid as exc:
        for error in exc.errors:
            err.print(Text.assemble(("error ", "red"), str(error)))
        raise typer.Exit(2) from None


def main() -> None:
    app(prog_name="warroom")


if __name__ == "__main__":
    sys.exit(main())
