"""War-room channel names: incident-YYYYMMDD-<slug>, with -2, -3, ... for repeats."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

MAX_CHANNEL_NAME = 80  # Slack's limit
_SUFFIX_ROOM = 4  # room for "-99"


def slugify(text: str, max_length: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    return slug or "untitled"


def channel_base(prefix: str, day: date, title: str) -> str:
    head = f"{prefix}-{day:%Y%m%d}-"
    return head + slugify(title, MAX_CHANNEL_NAME - len(head) - _SUFFIX_ROOM)


def next_free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
