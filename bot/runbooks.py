"""Runbooks from runbooks/*.yaml: schema, lint with file/line/field errors, and a catalog that picks up edits.

A broken runbook never stops the bot: it is reported and left out.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import structlog
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.runbook import CATEGORIES, Branch, Command, Link, Runbook, Step
from bot.yamlsource import SourceError, SourceInvalid, load_yaml

log = structlog.get_logger("warroom.runbooks")

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommandModel(_Strict):
    run: Text
    language: str = "bash"
    id: Identifier | None = None
    executable: bool = False
    category: str = "diagnostic"
    timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 60

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"must be one of {', '.join(sorted(CATEGORIES))}")
        return value

    @field_validator("run")
    @classmethod
    def _splits(cls, value: str) -> str:
        try:
            shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split into arguments: {exc}") from None
        return value

    @model_validator(mode="after")
    def _executable_needs_id(self):
        if self.executable and not self.id:
            raise ValueError("an executable command needs an `id` (the allowlist names it)")
        return self


class LinkModel(_Strict):
    title: Text
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]


class BranchModel(_Strict):
    title: Text
    items: Annotated[list[Text], Field(min_length=1)]


class StepModel(_Strict):
    title: Text
    items: list[Text] = []
    commands: list[CommandModel] = []
    links: list[LinkModel] = []
    notes: str = ""
    branches: list[BranchModel] = []
    verification: bool = False

    @model_validator(mode="after")
    def _not_empty(self):
        if not (self.items or self.commands or self.branches):
            raise ValueError("an empty step: give it items, commands or branches")
        return self


class RunbookModel(_Strict):
    id: Identifier
    title: Text
    description: Text
    severity: Annotated[str, Field(pattern=r"^sev[1-4]$")] | None = None
    alerts: list[Text] = []
    services: list[Text] = []
    estimated_resolution: str = ""
    steps: Annotated[list[StepModel], Field(min_length=1)]

    @model_validator(mode="after")
    def _ends_with_verification(self):
        if not self.steps[-1].verification:
            raise ValueError("the last step must be a verification step (`verification: true`) "
                             "stating the recovery criteria")
        ids = [c.id for s in self.steps for c in s.commands if c.id]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"command ids must be unique within a runbook: {', '.join(duplicates)}")
        return self

    def to_core(self, source: str) -> Runbook:
        steps = tuple(Step(s.title, tuple(s.items),
                           tuple(Command(c.run, c.language, c.id or "", c.executable, c.category, c.timeout_seconds)
                                 for c in s.commands),
                           tuple(Link(l.title, l.url) for l in s.links), s.notes,
                           tuple(Branch(b.title, tuple(b.items)) for b in s.branches), s.verification)
                      for s in self.steps)
        return Runbook(self.id, self.title, self.description, steps, self.severity or "", tuple(self.alerts),
                       tuple(self.services), self.estimated_resolution, source)


def load_file(path: Path) -> Runbook:
    """Raises SourceInvalid with every error of the file."""
    loaded = load_yaml(path, expand_env=False)  # ${VAR} in a command belongs to the command
    if not isinstance(loaded.data, dict):
        raise SourceInvalid([SourceError(str(path), 1, "", "a runbook is a mapping (id, title, steps, ...)")])
    try:
        model = RunbookModel.model_validate(loaded.data)
    except ValidationError as exc:
        raise SourceInvalid(loaded.errors_from(exc)) from None
    return model.to_core(str(path))


@dataclass
class Catalog:
    directory: Path
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)
    _signature: tuple = ()
    _checked: float = float("-inf")
    check_every: float = 1.0  # seconds; every card render asks for suggestions, the disk need not be asked each time

    def refresh(self, *, report: bool = True, force: bool = False) -> None:
        """Reloads when a file was added, removed or edited; runs already started keep their own copy."""
        if not force and time.monotonic() - self._checked < self.check_every:
            return
        self._checked = time.monotonic()
        files = sorted(self.directory.glob("*.y*ml")) if self.directory.is_dir() else []
        signature = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        if signature == self._signature:
            return
        runbooks: dict[str, Runbook] = {}
        errors: list[SourceError] = []
        for path in files:
            try:
                runbook = load_file(path)
            except SourceInvalid as exc:
                errors.extend(exc.errors)
                continue
            if runbook.id in runbooks:
                errors.append(SourceError(str(path), 1, "id", f"duplicate runbook id `{runbook.id}` "
                                                              f"(also in {runbooks[runbook.id].source})"))
                continue
            runbooks[runbook.id] = runbook
        for error in errors if report else ():
            log.warning("runbook_invalid", error=str(error))
        self.runbooks, self.errors, self._signature = runbooks, errors, signature

    def all(self) -> list[Runbook]:
        self.refresh()
        return sorted(self.runbooks.values(), key=lambda r: r.title)

    def get(self, runbook_id: str) -> Runbook | None:
        self.refresh()
        return self.runbooks.get(runbook_id)


def lint(directory: Path) -> tuple[list[Runbook], list[SourceError]]:
    catalog = Catalog(directory)
    catalog.refresh(report=False, force=True)
    return list(catalog.runbooks.values()), catalog.errors
