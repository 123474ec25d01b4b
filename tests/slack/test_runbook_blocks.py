"""Runbook messages stay inside Block Kit's limits, for the shipped runbooks and for absurd ones."""

import json
from datetime import datetime, timezone
from pathlib import Path

from bot.core.runbook import Branch, Command, Link, Run, Runbook, Step, StepProgress, StepState
from bot.runbooks import lint
from bot.slack import runbook_blocks as blocks

NOW = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]


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
    assert longest.id == "inference-provider-down"


def test_an_absurdly_long_step_fits_and_keeps_its_buttons():
    items = tuple(f"item {n} " + "x" * 400 for n in range(120))
    step = Step("Huge " + "y" * 5000, items=items,
                commands=tuple(Command("echo " + "z" * 6000, id=f"c{n}", executable=True) for n in range(25)),
                links=tuple(Link(f"l{n}", f"https://example.com/{n}") for n in range(30)),
                notes="n" * 9000, branches=tuple(Branch(f"option {n} " + "b" * 100, ("do it",)) for n in range(30)))
    runbook = Runbook("huge", "Huge " * 100, "d", (step, Step("Verify", ("ok",), verification=True)))
    progress = (StepProgress(notes=tuple(("U0BOB", "note " * 1000) for _ in range(9))), StepProgress())
    rendered = blocks.step(run_of(runbook, progress), 0, frozenset(f"c{n}" for n in range(25)))
    within_limits(rendered)
    last = rendered[-1]
    assert last["type"] == "actions" and [e["action_id"] for e in last["elements"]] == \
        ["runbook_done", "runbook_skip", "runbook_note"]
    finished = (StepProgress(StepState.DONE, "U0BOB", NOW, checked=(0, 1)), StepProgress())
    within_limits(blocks.step(run_of(runbook, finished), 0, frozenset()))
    within_limits(blocks.header(run_of(runbook)))
    within_limits(blocks.summary(run_of(runbook, finished), NOW))


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
