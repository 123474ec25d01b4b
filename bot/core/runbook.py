"""Runbooks and their runs. Pure: a runbook is data, a run is state moved by functions that return events."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from bot.core.incident import DomainError, Event, Incident
from bot.core.text import escape

# Changes a human must approve twice over before warroom runs them (Runbook Automation's usual guard).
GUARDED_CATEGORIES = frozenset({"database_failover", "deploy_rollback", "gpu_scale_up", "security_config",
                                "delete_user_data"})
CATEGORIES = GUARDED_CATEGORIES | {"read_only", "diagnostic", "mitigation"}


@dataclass(frozen=True)
class Command:
    run: str
    language: str = "bash"
    id: str = ""
    executable: bool = False
    category: str = "diagnostic"
    timeout_seconds: int = 60

    @property
    def needs_second_person(self) -> bool:
        return self.category in GUARDED_CATEGORIES


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Branch:
    title: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    title: str
    items: tuple[str, ...] = ()
    commands: tuple[Command, ...] = ()
    links: tuple[Link, ...] = ()
    notes: str = ""
    branches: tuple[Branch, ...] = ()
    verification: bool = False


@dataclass(frozen=True)
class Runbook:
    id: str
    title: str
    description: str
    steps: tuple[Step, ...]
    severity: str = ""
    alerts: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    estimated_resolution: str = ""
    source: str = ""

    def command(self, command_id: str) -> tuple[int, Command]:
        for position, step in enumerate(self.steps):
            for command in step.commands:
                if command.id == command_id:
                    return position, command
        raise DomainError(f"Runbook {self.id} has no command `{escape(command_id[:64])}`.")


def suggest(runbooks: list[Runbook], incident: Incident, alerts: tuple[str, ...] = ()) -> list[Runbook]:
    """Runbooks ranked by how well they fit: alert names first, then service, then words of the title.
    An alert named in the title counts as an alert: incidents triggered from PagerDuty or declared by hand
    for an alert usually carry its name there ("[FIRING:1] GPUMemoryExhausted model-server")."""
    title_words = {w for w in incident.title.lower().replace("-", " ").split() if len(w) > 2}
    fired = {a.lower() for a in alerts} | set(re.findall(r"[a-z0-9_]+", incident.title.lower()))
    service = incident.service.lower()
    scored = []
    for runbook in runbooks:
        score = 0
        score += 100 * len(fired & {a.lower() for a in runbook.alerts})
        if service and service in {s.lower() for s in runbook.services}:
            score += 50
        runbook_words = {w for w in f"{runbook.title} {' '.join(runbook.services)}".lower().replace("-", " ").split()
                         if len(w) > 2}
        score += 10 * len(title_words & runbook_words)
        if runbook.severity and runbook.severity == f"sev{incident.severity.value}":
            score += 1 if score else 0
        if score:
            scored.append((-score, runbook.id, runbook))
    return [runbook for _, _, runbook in sorted(scored, key=lambda item: item[:2])]


class StepState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepProgress:
    state: StepState = StepState.PENDING
    actor: str | None = None
    at: datetime | None = None
    notes: tuple[tuple[str, str], ...] = ()  # (author, text)
    checked: tuple[int, ...] = ()
    branch: int | None = None


@dataclass(frozen=True)
class Run:
    id: int | None
    incident_id: int
    runbook: Runbook
    started_by: str
    started_at: datetime
    steps: tuple[StepProgress, ...] = ()
    finished_at: datetime | None = None

    @property
    def current(self) -> int | None:
        for position, step in enumerate(self.steps):
            if step.state is StepState.PENDING:
                return position
        return None

    @property
    def finished(self) -> bool:
        return self.current is None

    def counts(self) -> dict[str, int]:
        return {state.value: sum(1 for s in self.steps if s.state is state) for state in StepState}


def start(runbook: Runbook, incident: Incident, actor: str, at: datetime) -> tuple[Run, list[Event]]:
    if not incident.is_open:
        raise DomainError(f"{incident.reference} is resolved; runbooks run only in open incidents.")
    run = Run(None, incident.id, runbook, actor, at, tuple(StepProgress() for _ in runbook.steps))
    return run, [Event("runbook_started", actor, at, f"Runbook started: {runbook.title}", {"runbook": runbook.id})]


def finish_step(run: Run, position: int, state: StepState, actor: str, at: datetime) -> tuple[Run, list[Event]]:
    """Done or skipped; a step already finished stays as it was (a second click changes nothing)."""
    step = _step(run, position)
    if step.state is not StepState.PENDING:
        return run, []
    title = run.runbook.steps[position].title
    steps = list(run.steps)
    steps[position] = replace(step, state=state, actor=actor, at=at)
    updated = replace(run, steps=tuple(steps))
    verb = "done" if state is StepState.DONE else "skipped"
    definition = run.runbook.steps[position]
    # What kind of step it was, for the post-mortem's key moments (mitigation applied, service restored).
    role = ("verification" if definition.verification else
            "mitigation" if any(c.category == "mitigation" for c in definition.commands) else "")
    events = [Event("runbook_step", actor, at, f"{run.runbook.title}: step {position + 1} “{title}” {verb}",
                    {"runbook": run.runbook.id, "step": position, "state": state.value,
                     **({"role": role} if role else {})})]
    if updated.finished:
        updated = replace(updated, finished_at=at)
        counts = updated.counts()
        events.append(Event("runbook_finished", actor, at,
                            f"Runbook finished: {run.runbook.title} ({counts['done']} done, "
                            f"{counts['skipped']} skipped)", {"runbook": run.runbook.id}))
    return updated, events


def note_step(run: Run, position: int, text: str, actor: str, at: datetime) -> tuple[Run, list[Event]]:
    text = text.strip()
    if not text:
        raise DomainError("A note needs some text.")
    step = _step(run, position)
    steps = list(run.steps)
    steps[position] = replace(step, notes=step.notes + ((actor, text),))
    title = run.runbook.steps[position].title
    return replace(run, steps=tuple(steps)), [Event("runbook_note", actor, at, f"Note on “{title}”: {text}",
                                                    {"runbook": run.runbook.id, "step": position})]


def check_items(run: Run, position: int, checked: tuple[int, ...]) -> Run:
    step = _step(run, position)
    valid = tuple(sorted({i for i in checked if 0 <= i < len(run.runbook.steps[position].items)}))
    steps = list(run.steps)
    steps[position] = replace(step, checked=valid)
    return replace(run, steps=tuple(steps))


def choose_branch(run: Run, position: int, branch: int, actor: str, at: datetime) -> tuple[Run, list[Event]]:
    step = _step(run, position)
    branches = run.runbook.steps[position].branches
    if not 0 <= branch < len(branches):
        raise DomainError("That option does not exist in this step.")
    if step.branch == branch:
        return run, []
    steps = list(run.steps)
    steps[position] = replace(step, branch=branch)
    return replace(run, steps=tuple(steps)), [Event("runbook_branch", actor, at,
                                                    f"{run.runbook.title}: chose “{branches[branch].title}”",
                                                    {"runbook": run.runbook.id, "step": position})]


def _step(run: Run, position: int) -> StepProgress:
    if not 0 <= position < len(run.steps):
        raise DomainError("That step does not exist in this runbook.")
    return run.steps[position]


@dataclass(frozen=True)
class ExecutionPolicy:
    """`allowlist` holds `runbook-id/command-id`: an id alone could be borrowed by another runbook."""

    enabled: bool = False
    allowlist: frozenset[str] = field(default_factory=frozenset)

    def allows(self, runbook_id: str, command_id: str) -> bool:
        return self.enabled and f"{runbook_id}/{command_id}" in self.allowlist

    def executable_in(self, runbook_id: str) -> frozenset[str]:
        """The command ids of this runbook that may run from Slack."""
        if not self.enabled:
            return frozenset()
        return frozenset(entry.split("/", 1)[1] for entry in self.allowlist if entry.split("/", 1)[0] == runbook_id)


def execution_refusal(policy: ExecutionPolicy, runbook_id: str, command: Command, *, actor: str, incident: Incident,
                      actor_in_group: bool | None, group: str | None) -> str | None:
    """Why `actor` may not run `command` of runbook `runbook_id` now, or None when they may."""
    if not command.executable or not command.id:
        return "This command is shown for copying; it is not marked executable in its runbook."
    if not policy.enabled:
        return "Runbook execution is turned off (config: runbooks.execution.enabled)."
    if not policy.allows(runbook_id, command.id):
        return (f"Command `{runbook_id}/{command.id}` is not in the execution allowlist "
                f"(config: runbooks.execution.allow).")
    if not incident.is_open:
        return f"{incident.reference} is resolved."
    if group:
        return None if actor_in_group else f"Only members of @{group} may run runbook commands."
    if incident.commander != actor:
        who = f"<@{incident.commander}>" if incident.commander else "nobody yet"
        return f"Only the Incident Commander ({who}) may run runbook commands."
    return None
