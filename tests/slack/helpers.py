"""Helpers for tests that drive the real bot through the sandbox."""

from __future__ import annotations

import asyncio

from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import BOT_USER_ID, Channel


async def settle(bot) -> None:
    """Waits for listeners that acked early and for every queued effect."""
    for _ in range(3):
        await asyncio.sleep(0.03)
        for _ in range(1500):  # requests acked on arrival may still be queued, worked on, or running as jobs
            if bot.socket.idle and bot.jobs.idle:
                break
            await asyncio.sleep(0.01)
        await bot.dispatcher.drain(timeout=15)


def war_rooms(sandbox: SlackSandbox) -> list[Channel]:
    return [c for c in sandbox.workspace.channels.values() if c.name.startswith("incident-")]


def bot_texts(channel: Channel) -> list[str]:
    return [m.text for m in channel.messages if m.user == BOT_USER_ID]


def mrkdwn_texts(value) -> list[str]:
    """Every text Slack parses for mentions: mrkdwn objects, not plain_text ones."""
    found = []
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            found.append(value["text"])
        for child in value.values():
            found += mrkdwn_texts(child)
    elif isinstance(value, list):
        for child in value:
            found += mrkdwn_texts(child)
    return found


def everything_the_bot_posted(sandbox: SlackSandbox) -> str:
    """All that Slack would parse for mentions in what the bot wrote."""
    parts = []
    for channel in sandbox.workspace.channels.values():
        parts += [channel.topic, channel.purpose]
        for message in channel.messages:
            if message.user == BOT_USER_ID:
                parts += [message.text] + mrkdwn_texts(message.blocks)
    for ephemeral in sandbox.workspace.ephemerals:
        parts += [ephemeral.text] + mrkdwn_texts(ephemeral.blocks)
    return "\n".join(parts)


def replies_to(sandbox: SlackSandbox, user: str) -> list[str]:
    return [e.text for e in sandbox.ephemerals_for(user)]


def card(channel: Channel):
    return channel.find(sorted(channel.pins)[0])


async def declare(sandbox, bot, user: str, text: str, channel: str = "general") -> Channel:
    before = {c.id for c in war_rooms(sandbox)}
    await sandbox.slash(user, channel, "/incident", f"declare {text}")
    await settle(bot)
    fresh = [c for c in war_rooms(sandbox) if c.id not in before]
    assert len(fresh) == 1, f"expected one new war room, got {len(fresh)}"
    return fresh[0]


async def submit_modal(sandbox, bot, user: str, values: dict) -> dict:
    view = await sandbox.wait_for(lambda: [v for v in sandbox.workspace.views.values() if v.get("user") == user])
    response = await sandbox.submit_view(user, view[-1]["id"], values)
    await settle(bot)
    return response


async def join(sandbox, bot, room: Channel, *users: str) -> None:
    """People open the war room and join it (only members may act in it)."""
    for user in users:
        await sandbox.join(user, room.id)
    await settle(bot)
