"""What people do in channels, as the sandbox's driver offers it to the demo and the tests: talk, join and
leave, react and pin. Joining, leaving, reacting and pinning reach the app as events, as they do in Slack."""

from __future__ import annotations

import time

from bot.sandbox.workspace import TEAM_ID


class PeopleInChannels:
    """Mixed into SlackSandbox, which has `workspace` and `event()`."""

    def say(self, user: str, channel: str, text: str, thread_ts: str | None = None):
        chan = self.workspace.channel(channel)
        chan.members.add(user)
        return self.workspace.post(chan, user, text, thread_ts=thread_ts)

    async def join(self, user: str, channel: str) -> dict:
        """Someone joins a channel (Slack tells the app with member_joined_channel)."""
        chan = self.workspace.channel(channel)
        chan.members.add(user)
        return await self.event({"type": "member_joined_channel", "user": user, "channel": chan.id,
                                 "channel_type": "C", "team": TEAM_ID, "event_ts": self.workspace.new_ts()})

    async def leave(self, user: str, channel: str) -> dict:
        chan = self.workspace.channel(channel)
        chan.members.discard(user)
        return await self.event({"type": "member_left_channel", "user": user, "channel": chan.id,
                                 "channel_type": "C", "team": TEAM_ID, "event_ts": self.workspace.new_ts()})

    async def react(self, user: str, channel: str, ts: str, reaction: str = "pushpin", **options) -> dict:
        chan = self.workspace.channel(channel)
        message = chan.find(ts)
        return await self.event({"type": "reaction_added", "user": user, "reaction": reaction,
                                 "item": {"type": "message", "channel": chan.id, "ts": ts},
                                 "item_user": message.user, "event_ts": self.workspace.new_ts()}, **options)

    async def pin(self, user: str, channel: str, ts: str, **options) -> dict:
        chan = self.workspace.channel(channel)
        message = chan.find(ts)
        chan.pins.add(ts)
        return await self.event({"type": "pin_added", "user": user, "channel_id": chan.id,
                                 "item": {"type": "message", "channel": chan.id, "message": message.to_api(),
                                          "created": int(time.time())}, "event_ts": self.workspace.new_ts()},
                                **options)

    # -- reading the workspace ---------------------------------------------------------------------
