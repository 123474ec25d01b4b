"""Escaping people's text for the two markups warroom writes: Slack's mrkdwn and Markdown files/canvases."""

from __future__ import annotations

import re

# Inline Markdown: links and images ([, ], !), emphasis, code, tables, HTML, strike-through. Escaped with a
# backslash, they show as typed.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~!])")
# What turns the start of a line into a block: a heading, a quote, a list item, a rule.
_MARKDOWN_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


# A Slack user ID (W... on Enterprise Grid), and a mention of one as Slack writes it: <@U123> or <@U123|name>.
USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def is_user_id(value: str | None) -> bool:
    return bool(value) and USER_ID.match(value) is not None


def escape(text: str) -> str:
    """Slack's control characters; escaped text can never become <!channel> or a user mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Only what Slack itself writes between < and >: mentions, channels, specials, links. Anything else (a <b>
# typed into a form, whose values come unescaped) stays as typed.
_SLACK_TOKEN = re.compile(r"<((?:[@#!]|https?://|mailto:)[^<>]*)>")


def slack_to_plain(text: str) -> str:
    """Slack's message markup as a reader would see it: <url|label> -> "label (url)", <!channel> ->
    "@channel", <#C1|name> -> "#name", <!date^…|fallback> -> fallback, and &lt; &gt; &amp; unescaped.
    (Mentions of people are resolved to names by the caller, which knows them.)"""
    def plain(match: re.Match) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("@"):
            return "@" + (label or target[1:])
        return f"{label} ({target})" if label and label != target else target
    return _SLACK_TOKEN.sub(plain, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape_markdown(text: str) -> str:
    """Plain text for a Markdown document: a `[click](https://evil)`, an image or a `## heading` typed by
    someone shows as typed instead of rendering. Line breaks become spaces so that nothing starts a block."""
    inline = _MARKDOWN_INLINE.sub(r"\\\1", " ".join(text.splitlines()))
    return _MARKDOWN_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), inline)
