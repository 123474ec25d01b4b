"""Runbook messages stay inside Block Kit's limits, for the shipped runbooks and for absurd ones."""

import json
from datetime import datetime, timezone
from pathlib import Path

from bot.core.runbook import (
    Branch,
    Command,
    Link,
    Run,
    Runbook,
    Step,
    StepProgress,
    StepState,
)
from bot.runbooks import lint
from bot.slack.blocks import runbooks as blocks

NOW = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[3]


def within_limits(rendered: list[dict]) -> None:
    assert len(rendered) <= 50
    for block in rendered:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element.get("options", [])) <= 10
                if element["type"] == "button":
                    assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000


def run_of(runbook: Runbook, progress=None) -> Run:
    return Run(1, 1, runbook, "U0ALICE", NOW, progress or tuple(StepProgress() for _ in runbook.steps))


def test_every_step_of_every_shipped_runbook_fits():
    runbooks, _ = lint(ROOT / "runbooks")
    longest = max(runbooks, key=lambda r: len(json.dumps([s.__dict__ for s in r.steps], default=str)))
    for runbook in runbooks:
        run = run_of(runbook)
        within_limits(blocks.header(run))
        for position in range(len(runbook.steps)):
            within_limits(blocks.step(run, position, frozenset({"gateway-rollback"})))
            assert blocks.step_text(run, position, frozenset({"gateway-rollback"})) == []  # one message each
    assert longest.id == "inference-provider-down"


HUGE_ITEMS = tuple(f"item {n} " + "x" * 400 for n in range(230))
HUGE = Step("Huge " + "y" * 5000, items=HUGE_ITEMS,
            commands=tuple(Command(f"echo {n} " + "z" * 6000, id=f"c{n}", executable=True) for n in range(25)),
            links=tuple(Link(f"l{n}", f"https://example.com/{n}") for n in range(30)),
            notes="n" * 9000, branches=tuple(Branch(f"option {n} " + "b" * 100, (f"do {n}",)) for n in range(30)))
HUGE_RUNBOOK = Runbook("huge", "Huge " * 100, "d", (HUGE, Step("Verify", ("ok",), verification=True)))
EXECUTABLE = frozenset(f"c{n}" for n in range(25))


def test_a_step_too_long_for_one_message_is_split_into_its_thread():
    progress = (StepProgress(notes=tuple(("U0BOB", "note " * 1000) for _ in range(9)), branch=3), StepProgress())
    run = run_of(HUGE_RUNBOOK, progress)
    message = blocks.step(run, 0, EXECUTABLE)
    within_limits(message)
    text = json.dumps(message, ensure_ascii=False)
    assert "full text" in text and "thread" in text
    assert [e["action_id"] for e in message[-1]["elements"]] == ["runbook_done", "runbook_skip", "runbook_note"]
    actions = [e["action_id"] for b in message if b["type"] == "actions" for e in b["elements"]]
    assert sum(a.startswith("runbook_check_") for a in actions) == 20  # 200 checkboxes, the most Slack allows
    assert sum(a.startswith("runbook_run_") for a in actions) == 20
    assert sum(a.startswith("runbook_branch_") for a in actions) == 25
    assert "do 3" in text  # the chosen option's items
    assert "Items 201–230 have no checkboxes" in text

    pages = blocks.step_text(run, 0, EXECUTABLE)
    assert len(pages) > 1
    for page in pages:
        within_limits(page)
    thread = "".join(block["text"]["text"] for page in pages for block in page if block["type"] == "section")
    for item in HUGE_ITEMS:
        assert item in thread
    for command in HUGE.commands:
        assert command.run in thread
    for branch in HUGE.branches:
        assert branch.title in thread and branch.items[0] in thread
    assert "https://example.com/29" in thread and "n" * 9000 in thread.replace("_", "")
    assert "part 1/" in json.dumps(pages[0]) and f"part {len(pages)}/{len(pages)}" in json.dumps(pages[-1])


def test_a_long_step_keeps_its_form_when_done_and_its_other_messages_fit():
    finished = (StepProgress(StepState.DONE, "U0BOB", NOW, checked=(0, 1), branch=29), StepProgress())
    done = blocks.step(run_of(HUGE_RUNBOOK, finished), 0, frozenset())
    within_limits(done)
    assert "2 of 230 items checked" in json.dumps(done) and "Done by <@U0BOB>" in json.dumps(done)
    assert not any(b["type"] == "actions" for b in done)
    within_limits(blocks.header(run_of(HUGE_RUNBOOK)))
    within_limits(blocks.summary(run_of(HUGE_RUNBOOK, finished), NOW))


def test_a_step_is_split_only_when_its_notes_would_not_fit():
    def rendered(commands: int):
        step = Step("Edge", commands=tuple(Command(f"echo {n}") for n in range(commands)))
        run = run_of(Runbook("edge", "Edge", "d", (step,)),
                     (StepProgress(notes=tuple(("U0BOB", f"note {n}") for n in range(12))),))
        return blocks.step(run, 0, frozenset()), blocks.step_text(run, 0, frozenset())

    # title + 42 commands + buttons = 44 blocks: room for the last five notes and the line counting the rest
    whole, thread = rendered(42)
    assert len(whole) == 50 and thread == [] and "echo 41" in json.dumps(whole)
    assert "7 earlier notes" in json.dumps(whole) and whole[-1]["type"] == "actions"
    split, thread = rendered(43)
    within_limits(split)
    assert "thread" in json.dumps(split[1]) and "echo 42" not in json.dumps(split)
    assert "echo 42" in json.dumps(thread)


def test_a_hundred_step_runbook_renders_its_header_and_summary():
    steps = tuple(Step(f"step {n}", ("check",)) for n in range(99)) + (Step("Verify", ("ok",), verification=True),)
    runbook = Runbook("long", "Long", "d", steps)
    skipped = tuple(StepProgress(StepState.SKIPPED, "U0BOB", NOW) for _ in steps)
    within_limits(blocks.summary(Run(1, 1, runbook, "U0ALICE", NOW, skipped, NOW), NOW))
    assert blocks.progress_bar(run_of(runbook)) == "░░░░░░░░░░ 0/100"


def test_user_notes_are_escaped():
    runbook = Runbook("r", "R", "d", (Step("Verify", ("ok",), verification=True),))
    progress = (StepProgress(notes=(("U0BOB", "<!channel> look"),)),)
    assert "<!channel>" not in json.dumps(blocks.step(run_of(runbook, progress), 0, frozenset()))


def test_the_picker_puts_suggestions_first():
    runbooks, _ = lint(ROOT / "runbooks")
    picked = blocks.picker(runbooks[:2], runbooks)
    groups = picked[0]["accessory"]["option_groups"]
    assert groups[0]["label"]["text"] == "Suggested for this incident" and len(groups[0]["options"]) == 2
    assert len(groups[1]["options"]) == len(runbooks) - 2
