"""Runbook files: the shipped ones are valid; every lint error names file, line and field."""

from pathlib import Path

import pytest

from bot.runbooks import Catalog, lint

ROOT = Path(__file__).resolve().parent.parent
GOOD = """id: {id}
title: Something
description: What it is for.
steps:
  - title: Look
    items: [check the graph]
  - title: Verify
    verification: true
    items: [graph is flat]
"""


def errors_for(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "r.yaml").write_text(text)
    runbooks, errors = lint(tmp_path)
    assert runbooks == []
    return [str(e) for e in errors]


def test_the_shipped_runbooks_are_valid_and_cover_the_playbook():
    runbooks, errors = lint(ROOT / "runbooks")
    assert errors == []
    ids = {r.id for r in runbooks}
    assert {"inference-provider-down", "gpu-out-of-memory", "database-connection-pool-exhausted",
            "streaming-connections-dropping", "bad-deploy-rollback", "certificate-expiry", "disk-filling-up"} <= ids
    provider = [r for r in runbooks if r.id == "inference-provider-down"][0]
    assert provider.severity == "sev1" and len(provider.steps[1].branches) == 3
    assert all(r.steps[-1].verification and r.steps[-1].items for r in runbooks)
    assert all(r.alerts for r in runbooks)


@pytest.mark.parametrize("mutation,expected", [
    (lambda t: t.replace("title: Something", "title: Something\nowner: me"), "r.yaml:3: owner: Extra inputs are not permitted"),
    (lambda t: t.replace("description: What it is for.\n", ""), "r.yaml:1: description: Field required"),
    (lambda t: t.replace("    items: [check the graph]", "    notes: nothing to do"),
     "r.yaml:5: steps.0: an empty step: give it items, commands or branches"),
    (lambda t: t.replace("    items: [check the graph]", "    branches:\n      - title: A\n        items: []"),
     "r.yaml:8: steps.0.branches.0.items: List should have at least 1 item after validation, not 0"),
    (lambda t: t.replace("    verification: true\n", ""),
     "r.yaml:1: the last step must be a verification step (`verification: true`) stating the recovery criteria"),
    (lambda t: t.replace("    items: [check the graph]", "    commands:\n      - run: rm -rf /tmp/x\n        executable: true"),
     "r.yaml:7: steps.0.commands.0: an executable command needs an `id` (the allowlist names it)"),
    (lambda t: t.replace("    items: [check the graph]", "    commands:\n      - run: ls\n        category: yolo"),
     "r.yaml:8: steps.0.commands.0.category: must be one of"),
    (lambda t: t.replace("id: {id}", "id: Bad Id"), "r.yaml:1: id: String should match pattern"),
])
def test_lint_errors_name_file_line_and_field(tmp_path, mutation, expected):
    found = errors_for(tmp_path, mutation(GOOD).replace("{id}", "one"))
    assert any(e.startswith(f"{tmp_path}/{expected}") for e in found), found


def test_duplicate_ids_keep_the_first_and_report_the_second(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("{id}", "same"))
    (tmp_path / "b.yaml").write_text(GOOD.replace("{id}", "same"))
    runbooks, errors = lint(tmp_path)
    assert [r.source for r in runbooks] == [str(tmp_path / "a.yaml")]
    assert [str(e) for e in errors] == [f"{tmp_path}/b.yaml:1: id: duplicate runbook id `same` "
                                        f"(also in {tmp_path}/a.yaml)"]


def test_a_broken_runbook_is_left_out_and_the_rest_load(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD.replace("{id}", "good"))
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    runbooks, errors = lint(tmp_path)
    assert [r.id for r in runbooks] == ["good"] and len(errors) == 1


def test_the_catalog_picks_up_edits(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD.replace("{id}", "one"))
    catalog = Catalog(tmp_path, check_every=0)
    assert catalog.get("one").title == "Something"
    path.write_text(GOOD.replace("{id}", "one").replace("title: Something", "title: Something else!"))
    assert catalog.get("one").title == "Something else!"


def test_environment_references_in_commands_are_kept(tmp_path):
    text = GOOD.replace("{id}", "env").replace("    items: [check the graph]",
                                               "    commands:\n      - run: echo ${HOME}")
    (tmp_path / "r.yaml").write_text(text)
    runbooks, errors = lint(tmp_path)
    assert errors == [] and runbooks[0].steps[0].commands[0].run == "echo ${HOME}"


def test_the_readme_schema_example_is_a_valid_runbook(tmp_path):
    readme = (ROOT / "README.md").read_text()
    example = readme.split("### Schema")[1].split("```yaml\n")[1].split("```")[0]
    (tmp_path / "example.yaml").write_text(example)
    runbooks, errors = lint(tmp_path)
    assert errors == [] and runbooks[0].steps[0].commands[0].executable
