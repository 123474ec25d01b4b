"""config.yaml's `status_page` section: refused at load with file, line and field; templates fill only the
components."""

from pathlib import Path

import yaml

from bot.config import settings_from_mapping
from tests.conftest import config_errors


def test_mistakes_are_named_with_their_line(tmp_path):
    path, found = config_errors(tmp_path, """status_page:
  provider: statuspage
  components:
    - {name: API, services: [api]}
  messages:
    sev1: "Down: {components} {secret}"
    sev9: "nope"
  subscribers:
    - {url: "http://hooks.example.com/status", secret_env: SLACK_BOT_TOKEN}
""")
    assert any(e.startswith(f"{path}:6: status_page.messages: sev1: only {{components}}") for e in found), found
    assert any(e.startswith(f"{path}:9: status_page.subscribers.0.url: ") and "https://" in e for e in found), found
    assert any(e.startswith(f"{path}:9: status_page.subscribers.0.secret_env: ") and "warroom's own secret" in e
               for e in found), found
    path, found = config_errors(tmp_path, """status_page:
  provider: statuspage
  components:
    - {name: API, services: [api]}
  statuspage: {components: {Web: abc123}}
""")
    assert any("needs status_page.statuspage.page_id" in e for e in found), found


def test_templates_fill_the_components_and_the_service_picks_them():
    page = settings_from_mapping({"status_page": {
        "components": [{"name": "API", "services": ["api", "gateway"]}, {"name": "Web", "services": ["web"]}],
        "messages": {"sev2": "Slow: {components}."}}}).file.status_page
    assert page.message("sev2", ["API", "Web"]) == "Slow: API, Web."
    assert page.message("sev1", []).startswith("Users may be unable to use some of our services.")
    assert page.components_for("gateway") == ["API"] and page.components_for("billing") == []
    assert page.embedded and not page.hosted



def test_the_readme_examples_of_the_status_page_and_remediation_are_valid():
    """The README's status_page and remediation examples, in the shipped config.yaml, load as they are."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    shipped = yaml.safe_load((root / "config.yaml").read_text())
    for section in ("status_page", "remediation"):
        example = next(block for block in readme.split("```yaml\n")[1:] if block.startswith(f"{section}:"))
        mapping = yaml.safe_load(example.split("```")[0])
        settings = settings_from_mapping({**shipped, **mapping})
        assert getattr(settings.file, section).model_dump(exclude_defaults=True), section
