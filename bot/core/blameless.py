"""The blameless check: sentences that make a person the cause, with a systems-focused rewording."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.text import MENTION

# A person (a mention or a capitalised name) directly followed by an action that assigns the failure to them.
_PERSON = rf"(?P<who>@[\w.-]+|{MENTION.pattern}|\b[A-Z][a-z]{{2,}}\b)"
_BLAME = (r"(?P<verb>deployed|pushed|merged|broke|forgot|missed|caused|deleted|dropped|misconfigured|"
          r"ignored|failed to|didn't|did not|should have|messed up|typed|ran)")
_PATTERN = re.compile(_PERSON + r"\s+(?:accidentally\s+|mistakenly\s+|wrongly\s+)?" + _BLAME, re.IGNORECASE)
_NOT_PEOPLE = {"the", "this", "that", "then", "we", "it", "our", "someone", "nobody", "team", "system", "deploy",
               "service", "config", "alert", "job", "database", "cron", "kubernetes", "rollback", "monitoring"}

SUGGESTIONS = {
    "deployed": "“A deploy of … shipped …; what let it through review and rollout?”",
    "pushed": "“A change was pushed that …; what check could have caught it?”",
    "merged": "“A change was merged that …; what check could have caught it?”",
    "broke": "“The change broke …; which safeguard was missing?”",
    "forgot": "“The process relied on remembering …; how can it not depend on memory?”",
    "missed": "“The signal … was easy to miss; how can it be made louder?”",
    "caused": "“… contributed to the failure; which conditions allowed it?”",
    "failed to": "“… did not happen; what made it easy to skip?”",
}
DEFAULT_SUGGESTION = "Describe what the system or the process allowed, e.g. “A config change reduced the pool size”."


@dataclass(frozen=True)
class Flag:
    sentence: str
    person: str
    suggestion: str


def check(text: str) -> list[Flag]:
    flags: list[Flag] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        for match in _PATTERN.finditer(sentence):
            who = match.group("who")
            if who.lower() in _NOT_PEOPLE:
                continue
            verb = match.group("verb").lower()
            flags.append(Flag(sentence.strip(), who, SUGGESTIONS.get(verb, DEFAULT_SUGGESTION)))
            break
    return flags
