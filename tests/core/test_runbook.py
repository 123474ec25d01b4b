from datetime import datetime, timedelta, timezone

import pytest

from bot.core import runbook as core
from bot.core.incident import DomainError, Incident, Severity
from bot.core.runbook import Branch, Command, ExecutionPolicy, Runbook, Step, StepState

T0 = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
INCIDENT = Incident("GPU OOM on model servers", Severity.SEV2, "U1", T0, id=1, service="model-server",
                    commander="UIC")
RUNBOOK = Runbook("gpu", "GPU out of memory", "d", (
    Step("Look", ("a", "b")), Step("Fix", branches=(Branch("A", ("x",)), Branch("B", ("y",)))),
    Step("Verify", ("ok",), verification=True)), severity="sev2", alerts=("GPUMemoryExhausted",),
    services=("model-server",))


def started():
    run, events = core.start(RUNBOOK, INCIDENT, "U1", T0)
    return run


def test_a_run_walks_steps_in_order_and_finishes_with_a_summary_event():
    run = started()
    assert run.current == 0
    run, events = core.finish_step(run, 0, StepState.DONE, "U2", T0 + timedelta(minutes=1))
    assert run.current == 1 and events[0].text == "GPU out of memory: step 1 “Look” done"
    run, _ = core.finish_step(run, 1, StepState.SKIPPED, "U2", T0 + timedelta(minutes=2))
    run, events = core.finish_step(run, 2, StepState.DONE, "U3", T0 + timedelta(minutes=3))
    assert run.finished and run.finished_at == T0 + timedelta(minutes=3)
    assert events[-1].text == "Runbook finished: GPU out of memory (2 done, 1 skipped)"


def test_finishing_a_step_twice_changes_nothing():
    run, _ = core.finish_step(started(), 0, StepState.DONE, "U2", T0)
    again, events = core.finish_step(run, 0, StepState.SKIPPED, "U3", T0 + timedelta(minutes=1))
    assert again is run and events == []


def test_notes_branches_and_checks():
    run, events = core.note_step(started(), 0, "graph looks odd", "U2", T0)
    assert run.steps[0].notes == (("U2", "graph looks odd"),) and "graph looks odd" in events[0].text
    run, events = core.choose_branch(run, 1, 1, "U2", T0)
    assert run.steps[1].branch == 1 and events[0].text.endswith("chose “B”")
    assert core.choose_branch(run, 1, 1, "U2", T0)[1] == []
    with pytest.raises(DomainError):
        core.choose_branch(run, 1, 7, "U2", T0)
    assert core.check_items(run, 0, (1, 0, 9)).steps[0].checked == (0, 1)


def test_runs_only_in_open_incidents():
    from dataclasses import replace

    from bot.core.incident import Status
    with pytest.raises(DomainError, match="resolved"):
        core.start(RUNBOOK, replace(INCIDENT, status=Status.RESOLVED), "U1", T0)


def test_suggestions_rank_alerts_then_service_then_title():
    other = Runbook("disk", "Disk filling up", "d", RUNBOOK.steps, services=("logging",))
    by_title = Runbook("oom", "Memory OOM", "d", RUNBOOK.steps)
    assert [r.id for r in core.suggest([other, by_title, RUNBOOK], INCIDENT, ("GPUMemoryExhausted",))] == \
        ["gpu", "oom"]
    assert core.suggest([other], INCIDENT) == []


def test_an_alert_named_in_the_title_counts_as_the_alert():
    disk = Runbook("disk", "Disk filling up", "d", RUNBOOK.steps, alerts=("NodeFilesystemAlmostFull",),
                   services=("model-server",))
    fired = Incident("[FIRING:1] NodeFilesystemAlmostFull node-7", Severity.SEV3, "U1", T0, id=2,
                     service="model-server")
    assert [r.id for r in core.suggest([RUNBOOK, disk], fired)] == ["disk", "gpu"]  # alert beats the shared service
    unnamed = Incident("Nodes filling up", Severity.SEV3, "U1", T0, id=3, service="model-server")
    assert [r.id for r in core.suggest([RUNBOOK, disk], unnamed)][0] == "disk"  # same service: the title decides


POLICY = ExecutionPolicy(True, frozenset({"rb/look"}))
LOOK = Command("ls", id="look", executable=True, category="read_only")


@pytest.mark.parametrize("policy,command,actor,group,in_group,expected", [
    (POLICY, Command("ls", id="look"), "UIC", None, None, "not marked executable"),
    (ExecutionPolicy(False, frozenset({"rb/look"})), LOOK, "UIC", None, None, "turned off"),
    (ExecutionPolicy(True, frozenset()), LOOK, "UIC", None, None, "not in the execution allowlist"),
    # Another runbook's command of the same id is not allowed by rb/look.
    (ExecutionPolicy(True, frozenset({"other/look"})), LOOK, "UIC", None, None, "`rb/look` is not in the"),
    (POLICY, LOOK, "UX", None, None, "Only the Incident Commander (<@UIC>)"),
    (POLICY, LOOK, "UX", "sre", False, "Only members of @sre"),
    (POLICY, LOOK, "UIC", None, None, None),
    (POLICY, LOOK, "UX", "sre", True, None),
])
def test_who_may_run_a_command(policy, command, actor, group, in_group, expected):
    refusal = core.execution_refusal(policy, "rb", command, actor=actor, incident=INCIDENT, actor_in_group=in_group,
                                     group=group)
    assert (refusal is None) if expected is None else (expected in refusal)


def test_the_allowlist_names_commands_of_one_runbook():
    policy = ExecutionPolicy(True, frozenset({"rb/look", "rb/fix", "other/look"}))
    assert policy.executable_in("rb") == {"look", "fix"} and policy.executable_in("third") == frozenset()
    assert ExecutionPolicy(False, policy.allowlist).executable_in("rb") == frozenset()


def test_guarded_categories_need_a_second_person():
    assert Command("x", category="deploy_rollback").needs_second_person
    assert not Command("x", category="read_only").needs_second_person
