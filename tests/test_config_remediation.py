"""config.yaml's `remediation` section: whatever a policy could get wrong is refused at load, at its file, line
and field; the shipped examples are valid and their commands exist in the shipped runbooks."""

from pathlib import Path

from bot.config import load_settings, settings_from_mapping
from bot.config_remediation import command_problems
from bot.runbooks import lint
from tests.conftest import config_errors

ROOT = Path(__file__).resolve().parent.parent


def test_a_never_automated_category_is_refused_at_load_with_file_line_and_field(tmp_path):
    path, found = config_errors(tmp_path, """remediation:
  policies:
    - name: failover
      matchers: ['alertname="PrimaryDown"']
      category: database_failover
      http: {url: "https://rundeck.internal/api/job/failover/run"}
""")
    assert len(found) == 1 and found[0].startswith(f"{path}:5: remediation.policies.0.category: ")
    assert "is never automated" in found[0] and "two people" in found[0]


def test_arguments_come_only_from_allowed_labels_with_real_patterns(tmp_path):
    path, found = config_errors(tmp_path, """remediation:
  policies:
    - name: cleanup
      matchers: ['alertname="DiskUsage80"']
      run: {command: disk-filling-up/cleanup, args: ["--host", "{instance}", "{summary}"]}
      labels: {instance: '[a-z0-9.-]+'}
    - name: wide-open
      matchers: ['alertname="DiskUsage80"']
      run: {command: disk-filling-up/cleanup, args: ["{instance}"]}
      labels: {instance: '.*'}
    - name: reaching-further
      matchers: ['alertname="DiskUsage80"']
      run: {command: disk-filling-up/cleanup, args: ["{instance.__class__}"]}
      labels: {instance: '[a-z]+'}
""")
    assert any(e.startswith(f"{path}:3: remediation.policies.0: ") and "uses label `summary`, which is not in its "
               "`labels` allowlist" in e for e in found), found
    assert any(e.startswith(f"{path}:10: remediation.policies.1.labels: ") and "lets anything through" in e
               for e in found), found
    assert any(e.startswith(f"{path}:11: remediation.policies.2: ") and "must be a bare label name" in e
               for e in found), found


def test_http_actions_need_https_and_never_send_warrooms_own_secrets(tmp_path):
    path, found = config_errors(tmp_path, """remediation:
  policies:
    - name: plain-http
      matchers: ['alertname="A"']
      http: {url: "http://rundeck.internal/api/run"}
    - name: leaky
      matchers: ['alertname="A"']
      http: {url: "https://rundeck.internal/api/run", headers: {Authorization: SLACK_BOT_TOKEN}}
    - name: two-actions
      matchers: ['alertname="A"']
      record: true
      http: {url: "http://127.0.0.1:8080/run"}
""")
    assert any(e.startswith(f"{path}:5: remediation.policies.0.http.url: ") and "https://" in e for e in found)
    assert any(e.startswith(f"{path}:8: remediation.policies.1.http.headers: ") and "warroom's own secret" in e
               for e in found), found
    assert any(e.startswith(f"{path}:9: remediation.policies.2: ") and "exactly one of" in e for e in found), found
    loopback = settings_from_mapping({"remediation": {"policies": [
        {"name": "local", "matchers": ['alertname="A"'], "http": {"url": "http://127.0.0.1:8080/run"}}]}})
    assert loopback.file.remediation.policies[0].kind == "http"


def test_escalation_names_on_call_slots_that_exist(tmp_path):
    path, found = config_errors(tmp_path, """remediation:
  policies:
    - name: crash-loop
      matchers: ['alertname="KubePodCrashLooping"']
      record: true
      escalate: {follow_up: ['alertname=~"(bad"']}
""")
    assert any(e.startswith(f"{path}:6: remediation.policies.0.escalate.follow_up.0: ") and "does not compile" in e
               for e in found), found
    path, found = config_errors(tmp_path, """remediation:
  policies:
    - name: crash-loop
      matchers: ['alertname="KubePodCrashLooping"']
      record: true
      escalate: {page: [tertiary]}
""")
    assert found == [f"{path}:6: remediation.policies[0].escalate.page: names on-call slot `tertiary`, which oncall "
                     f"does not define"]


def test_the_shipped_examples_are_valid_and_run_commands_the_shipped_runbooks_have():
    settings = load_settings(ROOT / "config.yaml")
    section = settings.file.remediation
    assert not section.enabled and [p.kind for p in section.policies] == ["record", "record", "http", "command",
                                                                          "command"]
    runbooks, lint_errors = lint(ROOT / "runbooks")
    assert lint_errors == []
    allow = ["certificate-expiry/renew", "disk-filling-up/cleanup"]
    assert command_problems(section, runbooks, allow) == []
    assert [message for _, message in command_problems(section, runbooks, allow[:1])] == [
        "`disk-filling-up/cleanup` is not in runbooks.execution.allow"]


def test_a_policy_may_not_run_a_runbook_command_that_is_never_automated():
    settings = settings_from_mapping({"remediation": {"enabled": True, "policies": [
        {"name": "renew", "matchers": ['alertname="CertificateExpiresIn30Days"'],
         "run": {"command": "certificate-expiry/cert-manager-renew"}},
        {"name": "missing", "matchers": ['alertname="A"'], "run": {"command": "certificate-expiry/no-such"}}]}})
    runbooks, _ = lint(ROOT / "runbooks")
    found = command_problems(settings.file.remediation, runbooks, ["certificate-expiry/cert-manager-renew"])
    assert found == [(("remediation", "policies", 0, "run", "command"),
                      "`certificate-expiry/cert-manager-renew` is a security_config command: never automated (it "
                      "stays a runbook button that needs two people)"),
                     (("remediation", "policies", 1, "run", "command"),
                      "runbook `certificate-expiry` has no command `no-such`")]
