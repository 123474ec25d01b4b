"""YAML loading that remembers where every value came from, so errors can name file, line and field."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class SourceError:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SourceInvalid(Exception):
    def __init__(self, errors: list[SourceError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class LoadedYaml:
    data: Any
    lines: dict[tuple, int]
    file: str

    def line_of(self, path: tuple) -> int | None:
        # The deepest known ancestor: a missing key is reported at its parent mapping.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def errors_from(self, error: ValidationError) -> list[SourceError]:
        result = []
        for item in error.errors():
            path = tuple(part for part in item["loc"] if not (isinstance(part, str) and (part.startswith("function-") or part == "[key]")))
            field = ".".join(str(part) for part in path)
            message = item["msg"].removeprefix("Value error, ")
            named = _NAMED_FIELD.match(message) if not path else None
            if named:  # a check across sections names its field first: point at that field's line
                field, message = named.group(1), named.group(2)
                path = tuple(int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", field))
            result.append(SourceError(self.file, self.line_of(path), field, message))
        return result


_NAMED_FIELD = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+|\[\d+\])+) (.*)$", re.DOTALL)


def load_yaml(path: Path, *, expand_env: bool = True) -> LoadedYaml:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceInvalid([SourceError(file, None, "", f"cannot read: {exc.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise SourceInvalid([SourceError(file, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    lines: dict[tuple, int] = {}
    errors: list[SourceError] = []
    data = _convert(node, (), lines, errors, file, expand_env) if node is not None else {}
    if errors:
        raise SourceInvalid(errors)
    return LoadedYaml(data, lines, file)


def _convert(node: yaml.Node, path: tuple, lines: dict, errors: list, file: str, expand_env: bool) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in result:
                errors.append(SourceError(file, key_node.start_mark.line + 1, ".".join(map(str, path + (key,))),
                                          "duplicate key"))
            lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, path + (key,), lines, errors, file, expand_env)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, path + (index,), lines, errors, file, expand_env)
                for index, child in enumerate(node.value)]
    value = yaml.SafeLoader(" ").construct_object(node) if node.tag != "tag:yaml.org,2002:str" else node.value
    if expand_env and isinstance(value, str) and "${" in value:
        def substitute(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            if name not in os.environ:
                if default is not None:
                    return default
                errors.append(SourceError(file, node.start_mark.line + 1, ".".join(map(str, path)),
                                          f"environment variable {name} is not set"))
                return ""
            return os.environ[name]
        value = _ENV_REFERENCE.sub(substitute, value)
    return value
