"""War-room channel names: incident-YYYYMMDD-<slug>, with -2, -3, ... for repeats; titles in any script are
transliterated (Платежи -> platezhi, 🔥 -> fire), and a title with nothing left becomes incident-YYYYMMDD-<n>.

Which declarations are "the same incident" is decided on the whole title (title_key), never on the slug: two
Cyrillic titles that differ only in words a slug would lose are two incidents.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

from anyascii import anyascii

MAX_CHANNEL_NAME = 80  # Slack's limit
_SUFFIX_ROOM = 4  # room for "-99"


def slugify(text: str, max_length: int) -> str:
    """Lowercase ASCII letters, digits and dashes; "" when nothing of the text survives."""
    ascii_text = anyascii(unicodedata.normalize("NFKC", text))
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def title_key(title: str) -> str:
    """The same title however it was typed (case, spacing, Unicode forms), as a short fixed-size key."""
    normal = " ".join(unicodedata.normalize("NFKC", title).casefold().split())
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def channel_base(prefix: str, day: date, title: str) -> str:
    """The name to start from; ending in "-" when the title leaves no slug (next_free_name numbers it)."""
    head = f"{prefix}-{day:%Y%m%d}-"
    return head + slugify(title, MAX_CHANNEL_NAME - len(head) - _SUFFIX_ROOM)


def next_free_name(base: str, taken: set[str]) -> str:
    if base.endswith("-"):  # nothing of the title was left: incident-YYYYMMDD-1, -2, ...
        number = 1
        while f"{base}{number}" in taken:
            number += 1
        return f"{base}{number}"
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
