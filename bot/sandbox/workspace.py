"""The sandbox's workspace state: users, user groups, channels, messages, pins, views."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.slack.scopes import REQUIRED_SCOPES

TEAM_ID = "T0SANDBOX"
APP_ID = "A0WARROOM"
BOT_USER_ID = "U0WARROOM"
BOT_ID = "B0WARROOM"

DEFAULT_USERS = {
    "U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAVE": "dave", "U0ERIN": "erin",
    "U0FRANK": "frank", BOT_USER_ID: "warroom",
}
CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


class ApiError(Exception):
    def __init__(self, error: str, status: int = 200, headers: dict | None = None, extra: dict | None = None):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}  # more fields of the error answer (conversations.invite's per-user `errors`)


@dataclass
class Message:
    ts: str
    user: str
    text: str
    blocks: list = field(default_factory=list)
    thread_ts: str | None = None
    bot: bool = False
    subtype: str | None = None
    edited: bool = False
    metadata: dict | None = None  # an app's message metadata: returned only when a reader asks for it
    files: list[str] = field(default_factory=list)  # a file share's file IDs

    def to_api(self, *, with_metadata: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if with_metadata and self.metadata:
            data["metadata"] = self.metadata
        if self.blocks:
            data["blocks"] = self.blocks
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.bot:
            data["bot_id"] = BOT_ID
        if self.subtype:
            data["subtype"] = self.subtype
        if self.edited:
            data["edited"] = {"user": self.user, "ts": self.ts}
        return data


@dataclass
class Channel:
    id: str
    name: str
    creator: str
    topic: str = ""
    purpose: str = ""
    members: set[str] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)
    pins: set[str] = field(default_factory=set)
    bookmarks: list[dict] = field(default_factory=list)
    is_im: bool = False
    is_private: bool = False  # only its members see it; the bot, too, only once invited
    is_archived: bool = False

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "is_channel": not self.is_im, "is_im": self.is_im,
                "is_private": self.is_private, "is_archived": self.is_archived, "creator": self.creator,
                "is_member": BOT_USER_ID in self.members,
                "topic": {"value": self.topic}, "purpose": {"value": self.purpose}, "num_members": len(self.members)}

    def find(self, ts: str) -> Message:
        for message in self.messages:
            if message.ts == ts:
                return message
        raise ApiError("message_not_found")


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list
    ts: str
    response_url: str = ""


class Workspace:
    def __init__(self, users: dict[str, str] | None = None, now: Callable[[], float] = time.time):
        self.now = now
        self.users = dict(users or DEFAULT_USERS)
        self.usergroups: dict[str, dict] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, dict] = {}
        self.canvases: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.canvases_disabled = False
        # People Slack will not add to a channel, with the error it gives: a deactivated account
        # (user_is_deactivated), a guest at their channel limit (ura_max_channels), ...
        self.uninvitable: dict[str, str] = {}
        self.scopes: set[str] = set(REQUIRED_SCOPES)  # what the installed bot token was granted
        self._ids = itertools.count(1)
        self._last_micros = 0
        for name in ("incidents", "leadership", "general", "oncall"):
            self.add_channel(name, creator="U0ALICE", members=set(self.users))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def new_ts(self) -> str:
        """Unique and increasing, as Slack's message timestamps are. Counted in whole microseconds: in floats
        near 1.8e9 a one-microsecond step is below the precision, and two messages could get the same ts."""
        micros = max(int(self.now() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def add_channel(self, name: str, creator: str, members: set[str] | None = None, is_im: bool = False) -> Channel:
        channel = Channel(self.new_id("D" if is_im else "C"), name, creator, members=set(members or {creator}),
                          is_im=is_im)
        self.channels[channel.id] = channel
        return channel

    def add_usergroup(self, handle: str, users: list[str]) -> str:
        group_id = self.new_id("S")
        self.usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(users)}
        return group_id

    def channel(self, ref: str) -> Channel:
        ref = ref.lstrip("#")
        if ref in self.channels:
            return self.channels[ref]
        for channel in self.channels.values():
            if channel.name == ref:
                return channel
        raise ApiError("channel_not_found")

    def edit_canvas(self, user: str, canvas_id: str, markdown: str) -> None:
        """Someone edits a canvas by hand, in Slack."""
        canvas = self.canvases[canvas_id]
        canvas["markdown"], canvas["last_editor"] = markdown, user

    def dm(self, user: str) -> Channel:
        for channel in self.channels.values():
            if channel.is_im and channel.members == {user, BOT_USER_ID}:
                return channel
        return self.add_channel(f"dm-{user}", user, {user, BOT_USER_ID}, is_im=True)

    def post(self, channel: Channel, user: str, text: str, blocks: list | None = None, *, thread_ts: str | None = None,
             bot: bool = False, subtype: str | None = None) -> Message:
        if thread_ts is not None:
            channel.find(thread_ts)
        message = Message(self.new_ts(), user, text, list(blocks or []), thread_ts, bot, subtype)
        channel.messages.append(message)
        return message
