"""The grammar of `/incident`: text in, a parsed command or a specific error out. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.incident import DomainError, Role, Severity, Status
from bot.core.text import escape
from bot.slack.text import parse_user

SUBCOMMANDS = ("declare", "sev", "role", "update", "status", "resolve", "list", "runbook", "timeline", "action",
               "actions", "alerts", "automation", "statuspage", "help")


@dataclass(frozen=True)
class Parsed:
    name: str
    text: str = ""
    severity: Severity | None = None
    role: Role | None = None
    user: str | None = None
    status: Status | None = None
    drill: bool = False


def parse(text: str) -> Parsed:
    words = text.strip().split(maxsplit=1)
    if not words:
        return Parsed("help")
    name, rest = words[0].lower(), (words[1] if len(words) > 1 else "").strip()
    if name not in SUBCOMMANDS:
        raise DomainError(f"Unknown subcommand `{escape(words[0][:30])}`. Try `/incident help`.")
    if name == "declare":
        return _declare(rest)
    if name == "sev":
        if not rest:
            raise DomainError("Which severity? e.g. `/incident sev 2` (1 is the most severe).")
        return Parsed("sev", severity=Severity.parse(rest))
    if name == "role":
        parts = rest.split()
        if len(parts) != 2:
            raise DomainError("Usage: `/incident role <ic|responder|communicator> @person`.")
        role = Role.parse(parts[0])
        user = parse_user(parts[1])
        if user is None:
            raise DomainError(f"`{escape(parts[1][:40])}` is not a person: mention them, e.g. `/incident role ic @alice`.")
        return Parsed("role", role=role, user=user)
    if name == "update":
        first, _, remainder = rest.partition(" ")
        if first.lower().rstrip(":") in {s.value for s in Status if s is not Status.RESOLVED}:
            return Parsed("update", text=remainder.strip(), status=Status(first.lower().rstrip(":")))
        return Parsed("update", text=rest)
    if name == "timeline" and not rest:
        raise DomainError("Usage: `/incident timeline <what happened>`.")
    if name == "statuspage" and not rest:
        raise DomainError("Usage: `/incident statuspage <what customers should read>`; it is published as written.")
    if name == "action" and not rest:
        raise DomainError("Usage: `/incident action <what> [@owner] [due:YYYY-MM-DD] [P0|P1|P2]`.")
    return Parsed(name, text=rest)


def _declare(rest: str) -> Parsed:
    drill = False
    words = rest.split()
    if words and words[0].lower() in {"--drill", "drill:"}:
        drill = True
        rest = rest.split(maxsplit=1)[1] if len(words) > 1 else ""
    severity = None
    words = rest.split(maxsplit=1)
    if words and words[0].lower().replace("-", "") in {"sev1", "sev2", "sev3", "sev4"}:
        severity = Severity.parse(words[0])
        rest = words[1] if len(words) > 1 else ""
    elif words and words[0].lower().startswith("sev"):
        raise DomainError(f"Unknown severity `{escape(words[0][:20])}`: use sev1, sev2, sev3 or sev4.")
    return Parsed("declare", text=" ".join(rest.split()), severity=severity, drill=drill)
