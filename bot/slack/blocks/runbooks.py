"""Block Kit for runbook runs: the header with its progress bar, one message per step, the summary.

However long a runbook is, every message stays inside Slack's limits: checklists go ten to a checkbox
group, text longer than a block is split over several blocks, and a step too long for one message is
split: the message keeps what responders act on, its thread holds the full text.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.incident import format_duration
from bot.core.runbook import Command, Run, Runbook, Step, StepProgress, StepState
from bot.slack.ids import ActionId, CallbackId
from bot.slack.text import escape, mention, safe, slack_date, truncate

MESSAGE_BLOCKS = 50
CHUNK = 2900
STATE_MARK = {StepState.PENDING: ":white_square:", StepState.DONE: ":white_check_mark:",
              StepState.SKIPPED: ":fast_forward:"}


def _value(**data) -> str:
    return json.dumps(data, separators=(",", ":"))


def _sections(text: str) -> list[SectionBlock]:
    """Long text over as many sections as it needs, cut at line ends where possible."""
    blocks, rest = [], text
    while rest:
        if len(rest) <= CHUNK:
            blocks.append(SectionBlock(text=rest))
            break
        cut = rest.rfind("\n", 0, CHUNK)
        cut = cut if cut > CHUNK // 2 else CHUNK
        blocks.append(SectionBlock(text=rest[:cut]))
        rest = rest[cut:].lstrip("\n")
    return blocks


def progress_bar(run: Run, width: int = 10) -> str:
    total = len(run.steps)
    finished = total - sum(1 for s in run.steps if s.state is StepState.PENDING)
    filled = round(width * finished / total) if total else width
    return "▓" * filled + "░" * (width - filled) + f" {finished}/{total}"


def header(run: Run) -> list[dict]:
    runbook = run.runbook
    current = run.current
    now_line = (f"*Now:* step {current + 1} · {safe(runbook.steps[current].title, 200)}" if current is not None
                else "*Finished* :tada:")
    text = (f":blue_book: *Runbook: {safe(runbook.title, 200)}* · started by {mention(run.started_by)}\n"
            f"`{progress_bar(run)}`  {now_line}")
    context = f"`{runbook.id}`" + (f" · estimated {safe(runbook.estimated_resolution, 50)}"
                                   if runbook.estimated_resolution else "")
    return [b.to_dict() for b in [SectionBlock(text=truncate(text, CHUNK)),
                                  ContextBlock(elements=[MarkdownTextObject(text=context)])]]


def step(run: Run, position: int, executable: frozenset[str]) -> list[dict]:
    """The step's message. A step whose full text does not fit in one message keeps its checklist, options,
    buttons and notes here and has its full text in the message's thread (step_text gives those pages)."""
    spec, progress = run.runbook.steps[position], run.steps[position]
    if _is_long(spec, executable):
        return _fit(_long_form(run.id, position, len(run.steps), spec, progress, executable))
    return _fit(_full_form(run.id, position, len(run.steps), spec, progress, executable))


def step_text(run: Run, position: int, executable: frozenset[str]) -> list[list[dict]]:
    """A long step's full text, as messages for the thread of its step message; nothing for a step that fits.
    Depends only on the runbook, so it is posted once, when the step is first shown."""
    spec = run.runbook.steps[position]
    if not _is_long(spec, executable):
        return []
    text: list = []
    if spec.notes:
        text += _sections(f"_{safe(spec.notes, 20000)}_")
    if spec.items:
        text += _sections("*Checklist*\n" + "\n".join(f"{i + 1}. {safe(item, 3000)}"
                                                      for i, item in enumerate(spec.items)))
    for index, branch in enumerate(spec.branches):
        text += _sections(f"*Option {index + 1}: {safe(branch.title, 300)}*\n"
                          + "\n".join(f"    ◦ {safe(item, 1000)}" for item in branch.items))
    for command in spec.commands:
        text += _command(command)
    if spec.links:
        text += _sections(":link: " + "\n".join(f"<{link.url}|{safe(link.title, 100)}>" for link in spec.links))
    per_page = MESSAGE_BLOCKS - 1
    chunks = [text[start:start + per_page] for start in range(0, len(text), per_page)]
    title = safe(spec.title, 300)
    return [[ContextBlock(elements=[MarkdownTextObject(text=truncate(
        f":page_facing_up: Step {position + 1}/{len(run.steps)} · {title}: full text, part {number}/{len(chunks)}",
        CHUNK))]).to_dict(), *(b.to_dict() for b in chunk)] for number, chunk in enumerate(chunks, 1)]


# A step is shown in its long form when its full form, pending or done, would leave no room for the
# responders' notes (the last five and a line counting the rest).
NOTE_ROOM = 6
_SAMPLE_TIME = datetime(2000, 1, 1)


@functools.lru_cache(maxsize=4096)
def _is_long(spec: Step, executable: frozenset[str]) -> bool:
    widest = max(range(len(spec.branches)), key=lambda i: sum(map(len, spec.branches[i].items)), default=None)
    done = StepProgress(StepState.DONE, "U0", _SAMPLE_TIME, checked=tuple(range(len(spec.items))), branch=widest)
    chosen = StepProgress(branch=widest)
    return any(len(_full_form(0, 0, 1, spec, progress, executable)) > MESSAGE_BLOCKS - NOTE_ROOM
               for progress in (chosen, done))


def _title(position: int, total: int, spec: Step, progress: StepProgress) -> SectionBlock:
    kind = " · verification" if spec.verification else ""
    return SectionBlock(text=truncate(
        f"{STATE_MARK[progress.state]} *Step {position + 1}/{total}{kind} · {safe(spec.title, 300)}*", CHUNK))


def _command(command: Command) -> list[SectionBlock]:
    text = escape(command.run)  # a runbook's text is not trusted to stay free of <!channel> either
    return _sections(f"```{text}```" if len(text) < CHUNK - 6 else text)


def _run_button(run_id: int, index: int, command: Command) -> ButtonElement:
    guarded = command.needs_second_person
    label = f"Run {command.id}" + (" (needs approval)" if guarded else "")
    return ButtonElement(text=truncate(label, 75), action_id=f"{ActionId.RUNBOOK_RUN_PREFIX}{index}",
                         value=_value(run=run_id, command=command.id), style="danger" if guarded else None,
                         confirm=ConfirmObject(title="Run this command?", confirm="Run", deny="Cancel",
                                               text=safe(f"`{command.run}` ({command.category.replace('_', ' ')})",
                                                         300)))


def _branch_buttons(run_id: int, position: int, spec: Step) -> list[ActionsBlock]:
    buttons = [ButtonElement(text=truncate(branch.title, 75), action_id=f"{ActionId.RUNBOOK_BRANCH_PREFIX}{i}",
                             value=_value(run=run_id, step=position, branch=i))
               for i, branch in enumerate(spec.branches[:25])]
    return [ActionsBlock(elements=buttons[start:start + 5]) for start in range(0, len(buttons), 5)]


def _full_form(run_id: int, position: int, total: int, spec: Step, progress: StepProgress,
               executable: frozenset[str]) -> list[dict]:
    pending = progress.state is StepState.PENDING
    blocks: list = [_title(position, total, spec, progress)]
    if spec.notes:
        blocks += _sections(f"_{safe(spec.notes, 20000)}_")
    blocks += _checklist(spec.items, progress, pending)
    if spec.branches:
        lines = []
        for index, branch in enumerate(spec.branches):
            chosen = progress.branch == index
            lines.append(f"{':point_right:' if chosen else '•'} *{safe(branch.title, 200)}*")
            if chosen:
                lines += [f"    ◦ {safe(item, 1000)}" for item in branch.items]
        blocks += _sections("*Options*\n" + "\n".join(lines))
        if pending:
            blocks += _branch_buttons(run_id, position, spec)
    for index, command in enumerate(spec.commands):
        blocks += _command(command)
        if pending and command.executable and command.id in executable and index < 20:
            blocks.append(ActionsBlock(elements=[_run_button(run_id, index, command)]))
    return [b.to_dict() for b in blocks + _links(spec) + _notes_and_state(run_id, position, progress)]


def _long_form(run_id: int, position: int, total: int, spec: Step, progress: StepProgress,
               executable: frozenset[str]) -> list[dict]:
    """Everything a responder acts on, in at most 41 blocks; the text itself is in the thread."""
    pending = progress.state is StepState.PENDING
    blocks: list = [_title(position, total, spec, progress), ContextBlock(elements=[MarkdownTextObject(
        text=":thread: A long step: its full text (notes, every item, options, commands, links) is in this "
             "message's thread.")])]
    if spec.items and pending:
        blocks += _checkboxes(spec.items, progress.checked)
        if len(spec.items) > CHECKBOX_ITEMS:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(
                text=f"Items {CHECKBOX_ITEMS + 1}–{len(spec.items)} have no checkboxes: they are in the thread.")]))
    elif spec.items:
        blocks.append(SectionBlock(text=f"{len(progress.checked)} of {len(spec.items)} items checked"))
    if spec.branches and progress.branch is not None:
        branch = spec.branches[progress.branch]
        blocks.append(SectionBlock(text=truncate(f":point_right: *{safe(branch.title, 200)}*\n" + "\n".join(
            f"    ◦ {safe(item, 1000)}" for item in branch.items), CHUNK)))
    if spec.branches and pending:
        blocks += _branch_buttons(run_id, position, spec)
    if pending:
        buttons = [_run_button(run_id, index, command) for index, command in enumerate(spec.commands)
                   if command.executable and command.id in executable and index < 20]
        blocks += [ActionsBlock(elements=buttons[start:start + 5]) for start in range(0, len(buttons), 5)]
    return [b.to_dict() for b in blocks + _links(spec) + _notes_and_state(run_id, position, progress)]


def _links(spec: Step) -> list[ContextBlock]:
    if not spec.links:
        return []
    links = " · ".join(f"<{link.url}|{safe(link.title, 100)}>" for link in spec.links[:10])
    return [ContextBlock(elements=[MarkdownTextObject(text=truncate(":link: " + links, CHUNK))])]


def _notes_and_state(run_id: int, position: int, progress: StepProgress) -> list:
    blocks: list = []
    for author, note in progress.notes[-5:]:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(
            f":memo: {mention(author)}: {safe(note, 2800)}", CHUNK))]))
    if len(progress.notes) > 5:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(progress.notes) - 5} earlier notes "
                                                                     "on the timeline")]))
    if progress.state is StepState.PENDING:
        value = _value(run=run_id, step=position)
        blocks.append(ActionsBlock(elements=[
            ButtonElement(text="Done", action_id=ActionId.RUNBOOK_DONE, value=value, style="primary"),
            ButtonElement(text="Skip", action_id=ActionId.RUNBOOK_SKIP, value=value),
            ButtonElement(text="Add note", action_id=ActionId.RUNBOOK_NOTE, value=value)]))
    else:
        verb = "Done" if progress.state is StepState.DONE else "Skipped"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"{verb} by {mention(progress.actor)} · {slack_date(progress.at)}")]))
    return blocks


CHECKBOX_ITEMS = 200  # twenty groups of ten, Slack's most per checkbox group


def _checkboxes(items: tuple[str, ...], checked: tuple[int, ...]) -> list[ActionsBlock]:
    blocks = []
    for chunk in range(0, min(len(items), CHECKBOX_ITEMS), 10):
        options = [Option(value=str(i), text=truncate(f"{i + 1}. {items[i]}", 75))
                   for i in range(chunk, min(chunk + 10, len(items)))]
        initial = [o for o in options if int(o.value) in checked] or None
        blocks.append(ActionsBlock(elements=[CheckboxesElement(
            action_id=f"{ActionId.RUNBOOK_CHECK_PREFIX}{chunk // 10}", options=options, initial_options=initial)]))
    return blocks


def _checklist(items: tuple[str, ...], progress: StepProgress, pending: bool) -> list:
    if not items:
        return []
    blocks: list = []
    long_items = [f"{i + 1}. {safe(item, 3000)}" for i, item in enumerate(items) if len(item) > 75]
    if long_items:
        blocks += _sections("\n".join(long_items))
    if not pending:
        lines = [f"{':ballot_box_with_check:' if i in progress.checked else '◻️'} {safe(truncate(item, 300), 400)}"
                 for i, item in enumerate(items)]
        return blocks + _sections("\n".join(lines))
    blocks += _checkboxes(items, progress.checked)
    if len(items) > CHECKBOX_ITEMS:
        blocks += _sections("\n".join(f"{i + 1}. {safe(item, 3000)}" for i, item in enumerate(items)
                                      if i >= CHECKBOX_ITEMS and len(item) <= 75))
    return blocks


def _fit(blocks: list[dict]) -> list[dict]:
    """Keeps the message within 50 blocks: the step's own actions always survive, the middle is folded."""
    if len(blocks) <= MESSAGE_BLOCKS:
        return blocks
    head, tail = blocks[:MESSAGE_BLOCKS - 3], blocks[-2:]
    folded = len(blocks) - len(head) - len(tail)
    note = ContextBlock(elements=[MarkdownTextObject(
        text=f"…{folded} more blocks of this step are in the runbook file; ask the IC to split the step")]).to_dict()
    return head + [note] + tail


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def summary(run: Run, now: datetime) -> list[dict]:
    counts = run.counts()
    notes = sum(len(s.notes) for s in run.steps)
    took = format_duration((run.finished_at or now) - run.started_at)
    text = (f":checkered_flag: *Runbook finished: {safe(run.runbook.title, 200)}*\n"
            f"{_count(counts['done'], 'step')} done · {counts['skipped']} skipped · {_count(notes, 'note')} · "
            f"took {took}")
    skipped = [f"• {safe(run.runbook.steps[i].title, 200)}" for i, s in enumerate(run.steps)
               if s.state is StepState.SKIPPED]
    if skipped:
        text += "\n*Skipped:*\n" + "\n".join(skipped[:30])
    return [b.to_dict() for b in _sections(text)]


def picker(suggested: list[Runbook], everything: list[Runbook]) -> list[dict]:
    def option(runbook: Runbook) -> Option:
        return Option(value=runbook.id, text=truncate(runbook.title, 75),
                      description=truncate(runbook.description, 75))
    groups = []
    if suggested:
        groups.append(OptionGroup(label="Suggested for this incident", options=[option(r) for r in suggested[:10]]))
    rest = [r for r in everything if r not in suggested[:10]][:90]
    if rest:
        groups.append(OptionGroup(label="All runbooks", options=[option(r) for r in rest]))
    if not groups:
        return [SectionBlock(text="No runbooks are loaded: add YAML files to the runbooks directory.").to_dict()]
    return [b.to_dict() for b in [
        SectionBlock(text="Pick a runbook to walk through in this war room:",
                     accessory=StaticSelectElement(action_id=ActionId.RUNBOOK_PICK, placeholder="Choose a runbook",
                                                   option_groups=groups))]]


def execution(command_id: str, command: str, status: str, requested_by: str, approved_by: str | None,
              exit_code: int | None, output: str, execution_id: int) -> list[dict]:
    if status == "awaiting_approval":
        return [b.to_dict() for b in [
            SectionBlock(text=truncate(f":lock: {mention(requested_by)} wants to run `{command_id}`:\n"
                                       f"```{safe(command, CHUNK - 200)}```\nA second person must approve.", CHUNK)),
            ActionsBlock(elements=[ButtonElement(text="Approve and run", action_id=ActionId.RUNBOOK_APPROVE,
                                                 value=_value(execution=execution_id), style="danger",
                                                 confirm=ConfirmObject(title="Approve this command?", confirm="Run",
                                                                       deny="Cancel", text=safe(command, 300)))])]]
    if status == "running":
        by = f", approved by {mention(approved_by)}" if approved_by else ""
        return [SectionBlock(text=truncate(f":hourglass_flowing_sand: Running `{command_id}` for "
                                           f"{mention(requested_by)}{by}…", CHUNK)).to_dict()]
    mark = {"succeeded": ":white_check_mark:", "failed": ":x:", "timed_out": ":alarm_clock:",
            "interrupted": ":warning:"}.get(status, ":grey_question:")
    outcome = {"timed_out": "timed out", "interrupted": "interrupted: warroom restarted while it ran, so its "
               "outcome is unknown; check before running it again"}.get(status, f"exit code {exit_code}")
    # Output is the command's, not warroom's: escaped, it can never mention anyone or become a link.
    body = safe(output.replace("```", "'''"), CHUNK - 6) or "(no output)"
    return [b.to_dict() for b in [SectionBlock(text=f"{mark} `{command_id}` finished: {outcome}"),
                                  *_sections(f"```{body}```")]][:MESSAGE_BLOCKS]


def note_modal(run_id: int, position: int, step_title: str, channel_id: str) -> dict:
    return View(type="modal", callback_id=CallbackId.RUNBOOK_NOTE_MODAL, title="Add a note", submit="Add",
                close="Cancel", private_metadata=_value(run=run_id, step=position, channel=channel_id), blocks=[
                    SectionBlock(text=truncate(f"Step: *{safe(step_title, 300)}*", CHUNK)),
                    InputBlock(block_id="note", label="Note", element=PlainTextInputElement(
                        action_id=ActionId.NOTE_INPUT, multiline=True, max_length=2800))]).to_dict()


__all__ = ["header", "step", "step_text", "summary", "picker", "execution", "note_modal", "progress_bar",
           "DividerBlock"]
