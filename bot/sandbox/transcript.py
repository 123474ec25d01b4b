"""Renders sandbox channels as readable text, the way a person would read them in Slack."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from bot.sandbox.workspace import Message, Workspace


def plain(text: str, workspace: Workspace) -> str:
    def user(match: re.Match) -> str:
        return "@" + workspace.users.get(match.group(1), match.group(1))

    def channel(match: re.Match) -> str:
        found = workspace.channels.get(match.group(1))
        return "#" + (found.name if found else match.group(1))

    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", user, text)
    text = re.sub(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>", channel, text)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<!subteam\^([A-Z0-9]+)>", r"@group:\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def block_text(blocks: list[dict]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            if block.get("text"):
                lines.append(block["text"]["text"])
            for field in block.get("fields", []):
                lines.append("  " + field["text"].replace("\n", ": ", 1))
        elif kind == "context":
            lines.append("  " + " ".join(e.get("text", "") for e in block.get("elements", [])))
        elif kind == "actions":
            labels = []
            for element in block.get("elements", []):
                label = (element.get("text") or element.get("placeholder") or {}).get("text", "")
                labels.append(f"[{label}]")
            lines.append("  " + " ".join(labels))
    return lines


def render_message(message: Message, workspace: Workspace) -> list[str]:
    at = datetime.fromtimestamp(float(message.ts), timezone.utc).strftime("%H:%M:%S")
    who = workspace.users.get(message.user, message.user)
    body = block_text(message.blocks) if message.blocks else [message.text]
    thread = "  ↳ " if message.thread_ts and message.thread_ts != message.ts else ""
    lines = [plain(line, workspace) for chunk in body for line in chunk.split("\n")]
    head = f"{at} {thread}{who}: "
    return [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]


def render_channel(workspace: Workspace, name: str) -> str:
    channel = workspace.channel(name)
    out = [f"──── #{channel.name} ──── topic: {plain(channel.topic, workspace) or '(none)'}"]
    for message in channel.messages:
        if message.subtype == "channel_join":
            out.append(f"         · {plain(message.text, workspace)}")
            continue
        if message.subtype == "channel_topic":  # Slack's own line, as Slack shows it
            out.append(f"         · {workspace.users.get(message.user, 'warroom')} {plain(message.text, workspace)}")
            continue
        pin = " 📌" if message.ts in channel.pins else ""
        rendered = render_message(message, workspace)
        rendered[0] += pin
        out.extend(rendered)
    return "\n".join(out)
