"""Making user text safe and short enough for Slack."""

from __future__ import annotations

from datetime import datetime

from bot.core.text import MENTION, escape, is_user_id


def utf16_length(text: str) -> int:
    """Length as Slack counts it for its limits: UTF-16 code units, where an emoji outside the Basic
    Multilingual Plane (🔥, 🚨) counts two. Counting Python characters let an emoji title past a 250 limit."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_prefix(text: str, units: int) -> str:
    # A cut between the two halves of a surrogate pair drops the half; a cut after a zero-width joiner
    # would leave half an emoji sequence showing as its first emoji.
    return text.encode("utf-16-le")[: 2 * units].decode("utf-16-le", errors="ignore").rstrip("\u200d")


def truncate(text: str, limit: int) -> str:
    """At most `limit` UTF-16 code units (Slack's unit), never cutting a <@U…>, <!date…>, <url|label> or &amp;
    in half: half a token renders as garbage, or as a link to somewhere else."""
    if 2 * len(text) <= limit or utf16_length(text) <= limit:
        return text
    cut = _utf16_prefix(text, limit - 1)
    opened = cut.rfind("<")
    if opened != -1 and ">" not in cut[opened:]:
        cut = cut[:opened]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < 8:
        cut = cut[:amp]
    return cut.rstrip() + "…"


def safe(text: str, limit: int) -> str:
    """People's text for Slack: escaped, then cut so that an entity like &amp; is never split."""
    return truncate(escape(text), limit)


def mention(user: str | None) -> str:
    return f"<@{user}>" if is_user_id(user) else "_unassigned_"


def parse_user(token: str) -> str | None:
    token = token.strip()
    match = MENTION.fullmatch(token)
    if match:
        return match.group(1)
    return token if is_user_id(token) else None


def slack_date(moment: datetime, pattern: str = "{date_short_pretty} {time}") -> str:
    """Slack renders this in each reader's own time zone; the fallback is UTC."""
    return f"<!date^{int(moment.timestamp())}^{pattern}|{moment:%Y-%m-%d %H:%M} UTC>"
