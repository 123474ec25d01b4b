from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Environment, load_settings
from bot.core.incident import Severity
from bot.core.severity import StatusPageState
from bot.yamlsource import SourceInvalid

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(SourceInvalid) as caught:
        load_settings(path)
    return [str(e) for e in caught.value.errors]


def test_the_shipped_config_is_valid_and_keeps_the_standard_policy():
    settings = load_settings(ROOT / "config.yaml")
    sev1 = settings.policy(Severity.SEV1)
    assert sev1.page == ("primary", "secondary") and sev1.status_page is StatusPageState.MAJOR_OUTAGE
    assert sev1.update_every == timedelta(minutes=15) and sev1.postmortem_required
    assert settings.policy(Severity.SEV2).page == ("primary",)
    assert settings.policy(Severity.SEV3).page == ()
    assert settings.policy(Severity.SEV4).update_every is None
    assert settings.slack.announce_channel == "incidents"


def test_errors_name_file_line_and_field(tmp_path):
    path = write(tmp_path, "slack:\n  announce_channel: 'Bad Name'\nseverities:\n  sev1:\n    bogus: 1\n  sev9: {}\n")
    found = errors(path)
    assert f"{path}:2: slack.announce_channel: String should match pattern " \
           f"'^(?:[a-z0-9][a-z0-9_-]{{0,79}}|[CG][A-Z0-9]{{6,}})$'" in found
    assert f"{path}:5: severities.sev1.bogus: Extra inputs are not permitted" in found
    assert any(e.startswith(f"{path}:6: severities.sev9") for e in found)


def test_a_paged_slot_must_exist(tmp_path):
    path = write(tmp_path, "oncall:\n  primary: [U1ABC]\nseverities:\n  sev1:\n    page: [primary, tertiary]\n")
    assert f"{path}:5: severities.sev1.page: names on-call slot `tertiary`, which oncall does not define" \
        in errors(path)


def test_a_chain_step_must_name_a_slot_rotation_or_user_on_its_own_line(tmp_path):
    path = write(tmp_path, "oncall:\n  primary: [U1ABC]\nescalation:\n  chains:\n    sev2:\n"
                           "      - {after_minutes: 0, notify: [primary]}\n      - {after_minutes: 5, notify: [ghost]}\n")
    assert any(e.startswith(f"{path}:7: escalation.chains.sev2[1].notify: names `ghost`") for e in errors(path))


def test_permission_rules_are_validated_with_their_line(tmp_path):
    path = write(tmp_path, "permissions:\n  resolve: everybody\n")
    assert errors(path) == [f"{path}:2: permissions.resolve: must be `anyone`, `ic` or `usergroup:<handle>`"]


def test_environment_references_are_expanded_and_missing_ones_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("WR_ANNOUNCE", "war-news")
    path = write(tmp_path, "slack:\n  announce_channel: ${WR_ANNOUNCE}\n  leadership_channel: ${WR_MISSING:-execs}\n")
    settings = load_settings(path)
    assert settings.slack.announce_channel == "war-news" and settings.slack.leadership_channel == "execs"
    path = write(tmp_path, "slack:\n  announce_channel: ${WR_NOT_SET}\n")
    assert errors(path) == [f"{path}:2: slack.announce_channel: environment variable WR_NOT_SET is not set"]


def test_invalid_yaml_and_missing_file_are_reported(tmp_path):
    path = write(tmp_path, "slack:\n  announce_channel: [unclosed\n")
    assert errors(path)[0].startswith(f"{path}:3: not valid YAML")
    assert errors(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found (set WARROOM_CONFIG or create it)"]


def test_duplicate_keys_are_errors(tmp_path):
    path = write(tmp_path, "slack:\n  announce_channel: a\n  announce_channel: b\n")
    assert errors(path) == [f"{path}:3: slack.announce_channel: duplicate key"]


def test_severity_overrides_merge_over_the_defaults(tmp_path):
    path = write(tmp_path, "severities:\n  sev3:\n    update_every_minutes: 120\n    postmortem_required: true\n")
    policy = load_settings(path).policy(Severity.SEV3)
    assert policy.update_every == timedelta(hours=2) and policy.postmortem_required
    assert policy.response_time == "1 hour"


def test_environment_never_shows_tokens(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    env = Environment.from_os()
    assert "xoxb-secret-value" not in repr(env)


def test_the_command_allowlist_names_runbook_and_command_and_env_never_passes_warrooms_secrets(tmp_path):
    path = write(tmp_path, "runbooks:\n  execution:\n    allow: [pgbouncer-pools]\n"
                           "    env: [KUBECONFIG, SLACK_BOT_TOKEN]\n")
    found = errors(path)
    assert any(e.startswith(f"{path}:3: runbooks.execution.allow: ") and "must be `runbook-id/command-id`" in e
               for e in found), found
    assert any(e.startswith(f"{path}:4: runbooks.execution.env: ") and "SLACK_BOT_TOKEN is warroom's own secret" in e
               for e in found), found
    good = write(tmp_path, "runbooks:\n  execution:\n    allow: [db-pool/pgbouncer-pools]\n    env: [KUBECONFIG]\n"
                           "permissions:\n  incident_managers: '@sre-leads'\n")
    settings = load_settings(good)
    assert settings.file.permissions.incident_managers == "sre-leads"


def test_environment_lists_secrets_for_scrubbing_and_the_http_host(monkeypatch):
    from bot.config import Environment

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("WARROOM_HTTP_HOST", "127.0.0.1")
    env = Environment.from_os()
    assert "xoxb-1" in env.secrets() and env.http_host == "127.0.0.1"
    monkeypatch.delenv("WARROOM_HTTP_HOST")
    assert Environment.from_os().http_host == "0.0.0.0"


def test_environment_tokens_are_secrets_and_a_bad_port_names_its_variable(monkeypatch):
    from bot.config import Environment
    from bot.yamlsource import SourceInvalid

    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-secret")
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRET", "whsec-1,whsec-2")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://warroom:hunter2@db/warroom")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    env = Environment.from_os()
    shown = f"{env!r} {env} {env.model_dump()}"
    assert "xapp-secret" not in shown and "whsec-1" not in shown and "hunter2" not in repr(env)
    assert env.slack_app_token.get_secret_value() == "xapp-secret" and env.slack_api_url == "http://127.0.0.1:9/api/"
    assert {"xapp-secret", "whsec-1,whsec-2", "postgresql+asyncpg://warroom:hunter2@db/warroom"} <= set(env.secrets())
    assert env.with_(slack_bot_token="xoxb-2").slack_bot_token.get_secret_value() == "xoxb-2"
    monkeypatch.setenv("WARROOM_HTTP_PORT", "eighty")
    with pytest.raises(SourceInvalid) as raised:
        Environment.from_os()
    assert "WARROOM_HTTP_PORT" in str(raised.value)
    monkeypatch.setenv("WARROOM_HTTP_PORT", "")  # empty counts as unset
    assert Environment.from_os().http_port == 8080


def test_an_environment_built_from_keywords_reads_no_variables(monkeypatch):
    from bot.config import Environment

    monkeypatch.setenv("PAGERDUTY_API_TOKEN", "from-the-shell")
    assert Environment(database_url="sqlite://").pagerduty_api_token is None


def test_the_sla_section_names_file_line_and_field(tmp_path):
    path = write(tmp_path, """sla:
  services:
    api:
      total: sum(rate(http_requests_total[5m]))
      errors: 'http_requests_total{code=~"5.."}'
    web:
      probe: 'probe_success{instance="https://web"}'
      total: up
    auth:
      total: 'http_requests_total{service="auth", code=5xx}'
      errors: http_requests_total
  customers:
    - {name: Acme, tier: platinum, services: [api]}
  maintenance:
    - {service: api, start: 2026-12-05T02:00:00Z, end: 2026-12-05T01:00:00Z, announced: 2026-12-01T00:00:00Z}
    - {service: api, start: 2026-12-05T02:00:00, end: 2026-12-05T03:00:00Z, announced: 2026-12-01T00:00:00Z}
  report_day: 31
""")
    found = errors(path)
    assert any(e.startswith(f"{path}:4: sla.services.api.total: `sum(rate(http_requests_total[5m]))` "
                            "is not an instant-vector selector") for e in found), found
    assert any(e.startswith(f"{path}:7: sla.services.web: give either total and errors") for e in found)
    assert any(e.startswith(f"{path}:10: sla.services.auth.total: ") and "label matchers" in e
               for e in found), found
    assert any(e.startswith(f"{path}:13: sla.customers.0.tier: ") for e in found), found
    assert any(e.startswith(f"{path}:15: sla.maintenance.0: end must be after start") for e in found)
    assert any(e.startswith(f"{path}:16: sla.maintenance.1.start: ") and "time zone" in e for e in found), found
    assert any(e.startswith(f"{path}:17: sla.report_day: ") for e in found), found


def test_sla_customers_and_maintenance_must_name_measured_services(tmp_path):
    path = write(tmp_path, """sla:
  services:
    api: {probe: 'probe_success{job="blackbox"}'}
  customers:
    - {name: Acme, tier: enterprise, services: [api, billing], monthly_fee: 100}
""")
    assert any("sla.customers[0] (Acme) names service `billing`, which sla.services does not define" in e
               for e in errors(path))


def test_postmortem_reviewers_are_user_ids_or_a_group_handle(tmp_path):
    path = write(tmp_path, "postmortem:\n  reviewers: [U0CAROL, '@sre-leads', carol]\n")
    assert any(e.startswith(f"{path}:2: postmortem.reviewers.2: ") for e in errors(path))
    assert load_settings(write(tmp_path, "postmortem:\n  reviewers: [U0CAROL, '@sre-leads']\n")).file.postmortem \
        .reviewers == ["U0CAROL", "@sre-leads"]
