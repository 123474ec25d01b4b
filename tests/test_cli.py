"""The `warroom` command line, run as a user runs it."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def warroom(*args, env=None, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd or ROOT)


def test_check_accepts_the_shipped_config():
    result = warroom("check", env={"WARROOM_CONFIG": str(ROOT / "config.yaml")})
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "SEV-1 pages primary+secondary" in result.stdout


def test_check_names_file_line_and_field(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("slack:\n  announce_channel: ok\npermissions:\n  change_severity: whoever\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(bad)})
    assert result.returncode == 2
    assert f"{bad}:4: permissions.change_severity: must be" in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path):
    database = tmp_path / "w.db"
    result = warroom("db", "upgrade", env={"DATABASE_URL": f"sqlite+aiosqlite:///{database}"})
    assert result.returncode == 0, result.stderr
    tables = {row[0] for row in sqlite3.connect(database).execute("select name from sqlite_master")}
    assert {"incidents", "timeline", "outbox", "processed_requests", "alembic_version"} <= tables


def test_run_without_tokens_explains_what_is_missing(tmp_path):
    env = {"SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": "", "WARROOM_CONFIG": str(ROOT / "config.yaml"),
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"}
    result = warroom("run", env=env)
    assert result.returncode != 0 and "SLACK_BOT_TOKEN and SLACK_APP_TOKEN must be set" in result.stderr


def test_demo_runs_a_whole_incident_and_writes_the_report(tmp_path):
    result = warroom("demo", "--postmortem-dir", str(tmp_path / "pm"), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for expected in ("declare sev2 Payments API returning 503", "Escalated from SEV-2 to SEV-1",
                     "Only the Incident Commander", "All clear", "#incidents", "#leadership",
                     "Next hand-off: primary", "DM to bob: You are paged", "Page acknowledged in PagerDuty by @bob",
                     "@alice is Incident Commander of INC-1: they must hand it over"):
        assert expected in out, expected
    # The PagerDuty mirror: told once of the outage and once of the recovery; the twin resolved, with the
    # update queued during the outage, and the responder request.
    assert out.count("PagerDuty is unreachable (") == 1 and out.count("PagerDuty answers again") == 1
    twin = out[out.index("The PagerDuty twin"):]
    assert "· resolved · key warroom-INC-1" in twin and "note: [warroom] Identified: Bad config" in twin
    assert "responder request: Responder needed on INC-1" in twin
    # The runbook walked through: every step done with its checks ticked, option B taken, the summary.
    verify = out[out.index("*Step 3/3 · verification · Verify recovery*"):]
    assert verify[:verify.index("Done by @alice")].count("☑") == 2
    assert "👉 *B: a deploy changed pool size" in out
    assert "*Runbook finished: Database connection pool exhausted*" in out and "3 steps done · 0 skipped" in out
    # Remediation in dry run: what it would run on db-3, then whom it would page; nothing ran, nobody was paged.
    alerts = out[out.index("#alerts"):]
    assert "Dry run: policy `disk-cleanup` would run `disk-filling-up/cleanup`" in alerts and "--host db-3" in alerts
    assert "still firing 15 minutes after the dry run; warroom would page @primary now. Nobody was paged." in alerts
    # The status page customers saw: written beside the post-mortem, without the war room's words.
    page = (tmp_path / "pm" / "status.html").read_text()
    assert "Payments API, Checkout: service disruption" in page and "A fix is in place" in page
    assert "4f2a" not in page and "DB pool" not in page
    [report] = (tmp_path / "pm").glob("INC-1-*.md")
    text = report.read_text()
    assert "## Timeline (UTC)" in text and "Escalated from SEV-2 to SEV-1" in text and "@alice" in text
    assert not list(tmp_path.glob("*.db")), "the demo must not leave a database in the working directory"


def test_check_lints_runbooks_and_fails_on_a_broken_one(tmp_path):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "broken.yaml").write_text("id: broken\ntitle: Broken\ndescription: d\nsteps:\n  - title: Empty\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"runbooks:\n  directory: {runbooks}\n  execution:\n    allow: [no-such-runbook/nothing-like-this]\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{runbooks}/broken.yaml:5: steps.0: an empty step" in result.stderr
    assert "`no-such-runbook/nothing-like-this` is no executable command of any runbook" in result.stderr
    assert "0 runbooks OK, 1 error" in result.stdout and "runbook_invalid" not in result.stdout


def test_check_counts_the_shipped_runbooks():
    result = warroom("check", env={"WARROOM_CONFIG": str(ROOT / "config.yaml")})
    assert "runbooks: 7 runbooks OK" in result.stdout


def test_postmortem_from_the_command_line(tmp_path):
    database = tmp_path / "w.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "WARROOM_CONFIG": str(ROOT / "config.yaml")}
    assert warroom("postmortem", "INC-1", env=env).returncode == 1  # no such incident yet
    script = ("import asyncio, datetime\n"
              "from bot.storage import database\nfrom bot.storage.repository import Store\n"
              "from bot.services.incidents import IncidentService\nfrom bot.config import settings_from_mapping\n"
              "from bot.core.incident import Severity\n"
              "class C:\n    def now(self): return datetime.datetime(2026, 11, 27, 9, tzinfo=datetime.timezone.utc)\n"
              "class D:\n    async def user_exists(self, u): return True\n"
              "    async def in_usergroup(self, u, g): return False\n"
              "async def main():\n"
              f"    e = database.create_engine('sqlite+aiosqlite:///{database}')\n    await database.upgrade(e)\n"
              "    s = IncidentService(Store(e), settings_from_mapping({}), C(), D())\n"
              "    await s.declare(title='Disk full on db-3', severity=Severity.SEV3, actor='U0ALICE', request_key='k')\n"
              "    await e.dispose()\nasyncio.run(main())\n")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)
    result = warroom("postmortem", "INC-1", "--output", str(tmp_path / "pm.md"), env=env)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "pm.md").read_text()
    assert text.startswith("# Post-mortem: INC-1 · Disk full on db-3") and "Declared SEV-3: Disk full on db-3" in text


def test_check_describes_rotations_and_the_pagerduty_mirror_and_names_a_bad_rotation(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("oncall:\n  rotations:\n    primary:\n      members: [U0BOB, U0CAROL]\n"
                      "      timezone: Europe/Berlin\npagerduty:\n  service_id: PSVC1\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config), "PAGERDUTY_API_TOKEN": ""})
    assert result.returncode == 0, result.stderr
    assert "rotation primary: 2 engineers, hand-off monday 10:00 Europe/Berlin" in result.stdout
    assert "PagerDuty: service PSVC1 via REST API; PAGERDUTY_API_TOKEN NOT set" in result.stdout
    config.write_text("oncall:\n  rotations:\n    primary:\n      members: [U0BOB, U0BOB, U0CAROL]\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}:" in result.stderr and "oncall.rotations.primary" in result.stderr
    assert "U0BOB would be on call two weeks in a row" in result.stderr


def test_check_warns_about_a_two_person_command_nobody_could_approve(tmp_path):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "rollback.yaml").write_text(
        "id: rollback\ntitle: Roll back\ndescription: d\nsteps:\n  - title: Roll back\n    commands:\n"
        "      - {run: deploy rollback, id: undo, executable: true, category: deploy_rollback}\n"
        "  - title: Verify\n    verification: true\n    items: [errors gone]\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"runbooks:\n  directory: {runbooks}\n  execution:\n    allow: [rollback/undo]\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 0
    assert "`rollback/undo` needs a second person's approval" in result.stderr
    config.write_text(f"runbooks:\n  directory: {runbooks}\n  execution:\n    allow: [rollback/undo]\n"
                      "permissions:\n  incident_managers: sre-leads\n")
    assert "second person" not in warroom("check", env={"WARROOM_CONFIG": str(config)}).stderr


async def warroom_async(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The CLI as a subprocess without blocking the event loop (the sandbox it talks to runs in this one)."""
    import asyncio
    import os
    import sys

    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, env={**os.environ, **env},
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_check_slack_reports_tokens_scopes_and_channels(sandbox, tmp_path):
    from bot.sandbox.server import APP_TOKEN, BOT_TOKEN

    private = sandbox.workspace.add_channel("sre-private", creator="U0ALICE", members={"U0ALICE"})
    private.is_private = True
    archived = sandbox.workspace.add_channel("old-leadership", creator="U0ALICE", members={"U0ALICE"})
    archived.is_archived = True
    sandbox.workspace.scopes.discard("groups:read")
    config = tmp_path / "config.yaml"
    config.write_text("slack:\n  announce_channel: sre-private\n  leadership_channel: old-leadership\n"
                      "action_items:\n  digest_channel: general\n")
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": sandbox.api_url,
           "WARROOM_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    code, out, err = await warroom_async("check", "--slack", env=env)
    assert code == 2, out + err
    assert "workspace Sandbox as @warroom" in out and "Socket Mode connections open" in out
    assert "missing groups:read" in err
    assert "slack.announce_channel: #sre-private not found" in err
    assert "slack.leadership_channel: #old-leadership is archived" in err
    assert "action_items.digest_channel: #general OK" in out

    sandbox.workspace.scopes.add("groups:read")
    config.write_text("slack:\n  announce_channel: incidents\n")
    code, out, err = await warroom_async("check", "--slack", env=env)
    assert code == 0, out + err
    assert "all 16 that manifest.yaml asks for" in out and "slack.announce_channel: #incidents OK" in out
    code, out, err = await warroom_async("check", "--slack", env={**env, "SLACK_BOT_TOKEN": "xoxb-wrong"})
    assert code == 2 and "SLACK_BOT_TOKEN: Slack refused it (invalid_auth)" in err


def test_check_validates_alert_routes_with_file_line_and_field(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"runbooks:\n  directory: {ROOT / 'runbooks'}\nalerts:\n  routes:\n"
                      "    - matchers: ['severity=\"critical\"']\n      runbook: no-such-runbook\n"
                      "    - matchers: ['service=~\"(api\"']\n      severity: sev9\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}:7: alerts.routes.1.matchers.0: " in result.stderr and "does not compile" in result.stderr
    assert f"{config}:8: alerts.routes.1.severity: " in result.stderr
    config.write_text(f"runbooks:\n  directory: {ROOT / 'runbooks'}\nalerts:\n  routes:\n"
                      "    - matchers: ['severity=\"critical\"']\n      runbook: no-such-runbook\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}:6: alerts.routes[0].runbook: no runbook `no-such-runbook`" in result.stderr


def test_check_describes_the_sla(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("sla:\n  report_channel: sla\n  services:\n    api: {probe: 'probe_success{job=\"bb\"}'}\n")
    result = warroom("check", env={"WARROOM_CONFIG": str(config), "PROMETHEUS_URL": "http://prometheus:9090"})
    assert result.returncode == 0, result.stderr
    assert ("SLA: 1 services (api) from Prometheus at http://prometheus:9090; SLO 99.95 %; 0 customers; monthly "
            "report to #sla on day 1") in result.stdout
    result = warroom("check", env={"WARROOM_CONFIG": str(config), "PROMETHEUS_URL": ""})
    assert "NOT measured: set sla.prometheus_url or PROMETHEUS_URL" in result.stdout


def test_check_refuses_a_policy_whose_command_cannot_run_at_its_file_line_and_field(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"""runbooks:
  directory: {ROOT / 'runbooks'}
  execution: {{allow: [certificate-expiry/cert-manager-renew]}}
remediation:
  enabled: true
  policies:
    - name: renew
      matchers: ['alertname="CertificateExpiresIn30Days"']
      run: {{command: certificate-expiry/cert-manager-renew}}
    - name: cleanup
      matchers: ['alertname="DiskUsage80"']
      run: {{command: disk-filling-up/cleanup}}
""")
    result = warroom("check", env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 2, result.stdout
    assert "remediation: on; 2 policies (renew: command, cleanup: command)" in result.stdout
    assert f"{config}:9: remediation.policies[0].run.command: `certificate-expiry/cert-manager-renew` is a " \
           f"security_config command: never automated" in result.stderr
    assert f"{config}:12: remediation.policies[1].run.command: `disk-filling-up/cleanup` is not in " \
           f"runbooks.execution.allow" in result.stderr
