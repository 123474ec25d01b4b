"""Escaping people's text for the two markups warroom writes: Slack's mrkdwn and Markdown files/canvases."""

from __future__ import annotations

import re

# Inline Markdown: links and images ([, ], !), emphasis, code, tables, HTML, strike-through. Escaped with a
# backslash, they show as typed.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~!])")
# What turns the start of a line into a block: a heading, a quote, a list item, a rule.
_MARKDOWN_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def escape(text: str) -> str:
    """Slack's control characters; escaped text can never become <!channel> or a user mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_markdown(text: str) -> str:
    """Plain text for a Markdown document: a `[click](https://evil)`, an image or a `## heading` typed by
    someone shows as typed instead of rendering. Line breaks become spaces so that nothing starts a block."""
    inline = _MARKDOWN_INLINE.sub(r"\\\1", " ".join(text.splitlines()))
    return _MARKDOWN_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), inline)
