"""The Web API methods warroom uses, answered from the sandbox workspace like Slack answers them."""

from __future__ import annotations

import json
from typing import Any, Callable

from bot.sandbox.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    CHANNEL_NAME,
    TEAM_ID,
    ApiError,
    Ephemeral,
    Workspace,
)

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_MODAL = 100
MAX_TEXT = 40000
MAX_TOPIC = 250


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                raise ApiError(f"invalid_{key}") from None
    return params


def _check_blocks(blocks: list, limit: int) -> None:
    if len(blocks) > limit:
        raise ApiError("invalid_blocks")
    for block in blocks:
        text = (block.get("text") or {}).get("text", "") if isinstance(block, dict) else ""
        if _utf16_length(text) > 3000:
            raise ApiError("invalid_blocks")


class WebApi:
    def __init__(self, workspace: Workspace, base_url: Callable[[], str], on_event: Callable[[dict], None]):
        self.ws = workspace
        self.base_url = base_url
        self.on_event = on_event

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, method.replace(".", "_"), None)
        if handler is None:
            raise ApiError("unknown_method", status=404)
        return handler(_decode(dict(params)))

    # -- auth ----------------------------------------------------------------------------------------
    def auth_test(self, p):
        return {"url": self.base_url(), "team": "Sandbox", "user": "warroom", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    # -- conversations ------------------------------------------------------------------------------
    def conversations_create(self, p):
        name = str(p.get("name", ""))
        if not CHANNEL_NAME.match(name):
            raise ApiError("invalid_name_specials" if name else "invalid_name_required")
        if any(c.name == name for c in self.ws.channels.values()):
            raise ApiError("name_taken")
        channel = self.ws.add_channel(name, creator=BOT_USER_ID, members={BOT_USER_ID})
        return {"channel": channel.to_api()}

    def conversations_info(self, p):
        channel = self.ws.channel(p["channel"])
        if channel.is_private and BOT_USER_ID not in channel.members:
            raise ApiError("channel_not_found")
        return {"channel": channel.to_api()}

    def conversations_list(self, p):
        # As Slack: `types` defaults to public channels; a private channel is listed only to its members;
        # exclude_archived leaves archived ones out.
        types = set(str(p.get("types") or "public_channel").split(","))
        hide_archived = str(p.get("exclude_archived", "")).lower() in {"1", "true"}
        channels = sorted((c for c in self.ws.channels.values() if not c.is_im
                           and ("private_channel" in types and BOT_USER_ID in c.members if c.is_private
                                else "public_channel" in types)
                           and not (hide_archived and c.is_archived)), key=lambda c: c.id)
        start = int(p.get("cursor") or 0)
        limit = min(int(p.get("limit") or 100), 1000)
        page = channels[start:start + limit]
        cursor = str(start + limit) if start + limit < len(channels) else ""
        return {"channels": [c.to_api() for c in page], "response_metadata": {"next_cursor": cursor}}

    def conversations_setTopic(self, p):
        channel = self.ws.channel(p["channel"])
        if _utf16_length(p.get("topic", "")) > MAX_TOPIC:
            raise ApiError("too_long")
        channel.topic = p.get("topic", "")
        # As Slack: every change leaves a line in the channel.
        self.ws.post(channel, BOT_USER_ID, f"set the channel topic: {channel.topic}", subtype="channel_topic")
        return {"channel": channel.to_api()}

    def conversations_setPurpose(self, p):
        channel = self.ws.channel(p["channel"])
        if _utf16_length(p.get("purpose", "")) > MAX_TOPIC:
            raise ApiError("too_long")
        channel.purpose = p.get("purpose", "")
        return {"channel": channel.to_api()}

    def conversations_invite(self, p):
        channel = self.ws.channel(p["channel"])
        users = [u for u in str(p.get("users", "")).split(",") if u]
        if not users:
            raise ApiError("no_user")
        # As Slack: one user who cannot be invited fails the whole call, unless force=true, which invites the
        # others and lists the failures in `errors`.
        errors = [{"user": u, "ok": False, "error": "user_not_found" if u not in self.ws.users else
                   self.ws.uninvitable.get(u) or "already_in_channel"} for u in users
                  if u not in self.ws.users or u in self.ws.uninvitable or u in channel.members]
        failed = {e["user"] for e in errors}
        fresh = [u for u in users if u not in failed]
        if errors and (not fresh or str(p.get("force", "")).lower() not in ("true", "1")):
            raise ApiError(errors[0]["error"], extra={"errors": errors})
        for user in fresh:
            channel.members.add(user)
            self.ws.post(channel, user, f"<@{user}> has joined the channel", subtype="channel_join")
            self.on_event({"type": "member_joined_channel", "user": user, "channel": channel.id, "channel_type": "C",
                           "team": TEAM_ID, "event_ts": self.ws.new_ts()})
        return {"channel": channel.to_api(), **({"errors": errors} if errors else {})}

    def conversations_members(self, p):
        return {"members": sorted(self.ws.channel(p["channel"]).members), "response_metadata": {"next_cursor": ""}}

    @staticmethod
    def _page(items: list, p, *, newest_first: bool = False) -> dict:
        """A page of messages. The cursor is anchored on the last message returned, as Slack's is: a message
        posted while someone pages through never shifts a page onto messages already seen."""
        cursor = p.get("cursor") or ""
        if cursor:
            items = [m for m in items if (m.ts < cursor if newest_first else m.ts > cursor)]
        limit = max(1, min(int(p.get("limit") or 100), 999))
        page = items[:limit]
        more = len(items) > limit
        return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": page[-1].ts if more else ""}}

    def conversations_history(self, p):
        channel = self.ws.channel(p["channel"])
        latest = p.get("latest")
        inclusive = str(p.get("inclusive", "")).lower() in {"1", "true"}
        replies: dict[str, int] = {}
        for message in channel.messages:
            if message.thread_ts and message.thread_ts != message.ts:
                replies[message.thread_ts] = replies.get(message.thread_ts, 0) + 1
        top = [m for m in reversed(channel.messages) if not (m.thread_ts and m.thread_ts != m.ts)
               and not (latest and (m.ts > latest or (m.ts == latest and not inclusive)))]
        page = self._page(top, p, newest_first=True)
        page["messages"] = [self._with_replies(m, replies, _flag(p, "include_all_metadata"))
                            for m in page["messages"]]
        return page

    @staticmethod
    def _with_replies(message, replies: dict[str, int], with_metadata: bool) -> dict:
        data = message.to_api(with_metadata=with_metadata)
        if replies.get(message.ts):
            data.update(thread_ts=message.ts, reply_count=replies[message.ts])
        return data

    def conversations_replies(self, p):
        """As Slack: `ts` may name the parent or any reply; the answer is the thread, its parent first whatever
        `ts` names, replies filtered by `oldest`/`latest` (`inclusive`)."""
        channel = self.ws.channel(p["channel"])
        named = next((m for m in channel.messages if m.ts == p["ts"]), None)
        if named is None:
            raise ApiError("thread_not_found")
        root = named.thread_ts or named.ts
        inclusive = str(p.get("inclusive", "")).lower() in {"1", "true"}
        oldest, latest = p.get("oldest"), p.get("latest")
        replies = [m for m in channel.messages if m.thread_ts == root and m.ts != root
                   and not (oldest and (m.ts < oldest or (m.ts == oldest and not inclusive)))
                   and not (latest and (m.ts > latest or (m.ts == latest and not inclusive)))]
        page = self._page([channel.find(root)] + replies, p)
        page["messages"] = [m.to_api(with_metadata=_flag(p, "include_all_metadata")) for m in page["messages"]]
        return page

    # -- chat --------------------------------------------------------------------------------------
    def chat_postMessage(self, p):
        target = p.get("channel", "")
        if target in self.ws.users:  # a user ID: the bot's DM with that person
            channel = self.ws.dm(target)
        else:
            channel = self.ws.channel(target)
        if channel.is_private and BOT_USER_ID not in channel.members:
            raise ApiError("channel_not_found")  # Slack does not even admit a private channel exists
        if channel.is_archived:
            raise ApiError("is_archived")
        if channel.is_im is False and BOT_USER_ID not in channel.members and channel.creator == BOT_USER_ID:
            raise ApiError("not_in_channel")
        text, blocks = p.get("text", ""), p.get("blocks") or []
        if not text and not blocks:
            raise ApiError("no_text")
        if _utf16_length(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        _check_blocks(blocks, MAX_BLOCKS_MESSAGE)
        metadata = _metadata(p.get("metadata"))
        message = self.ws.post(channel, BOT_USER_ID, text, blocks, thread_ts=p.get("thread_ts"), bot=True)
        message.metadata = metadata
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}

    def chat_update(self, p):
        channel = self.ws.channel(p["channel"])
        message = channel.find(p["ts"])
        if message.user != BOT_USER_ID:
            raise ApiError("cant_update_message")
        blocks = p.get("blocks")
        if blocks is not None:
            _check_blocks(blocks, MAX_BLOCKS_MESSAGE)
            message.blocks = blocks
        if "text" in p:
            message.text = p["text"]
        return {"channel": channel.id, "ts": message.ts, "text": message.text}

    def chat_postEphemeral(self, p):
        # As Slack: not into a conversation warroom cannot see (another person's DM, a private channel it is
        # not in), and only to someone in the channel.
        channel = self.ws.channel(p["channel"])
        if channel.is_private and BOT_USER_ID not in channel.members:
            raise ApiError("channel_not_found")
        if not channel.is_im and p["user"] not in channel.members:
            raise ApiError("user_not_in_channel")
        blocks = p.get("blocks") or []
        _check_blocks(blocks, MAX_BLOCKS_MESSAGE)
        ts = self.ws.new_ts()
        self.ws.ephemerals.append(Ephemeral(channel.id, p["user"], p.get("text", ""), blocks, ts))
        return {"message_ts": ts}

    def chat_getPermalink(self, p):
        channel = self.ws.channel(p["channel"])
        channel.find(p["message_ts"])
        return {"channel": channel.id,
                "permalink": f"{self.base_url().removesuffix('api/')}archives/{channel.id}/p{p['message_ts'].replace('.', '')}"}

    # -- pins, bookmarks, reactions -------------------------------------------------------------------
    def pins_add(self, p):
        channel = self.ws.channel(p["channel"])
        channel.find(p["timestamp"])
        if p["timestamp"] in channel.pins:
            raise ApiError("already_pinned")
        channel.pins.add(p["timestamp"])
        return {}

    def pins_list(self, p):
        channel = self.ws.channel(p["channel"])
        return {"items": [{"type": "message", "message": channel.find(ts).to_api()} for ts in sorted(channel.pins)]}

    def bookmarks_add(self, p):
        channel = self.ws.channel(p["channel_id"])
        bookmark = {"id": self.ws.new_id("Bk"), "title": p.get("title", ""), "link": p.get("link", "")}
        channel.bookmarks.append(bookmark)
        return {"bookmark": bookmark}

    # -- canvases and files ---------------------------------------------------------------------------
    def canvases_create(self, p):
        if self.ws.canvases_disabled:
            raise ApiError("canvas_disabled_user_team")
        canvas_id = self.ws.new_id("F")
        self.ws.canvases[canvas_id] = {"title": p.get("title", ""), "markdown": p["document_content"]["markdown"],
                                       "channel_id": p.get("channel_id"), "edits": 0, "last_editor": BOT_USER_ID}
        return {"canvas_id": canvas_id}

    def canvases_edit(self, p):
        canvas = self.ws.canvases.get(p.get("canvas_id", ""))
        if canvas is None:
            raise ApiError("canvas_not_found")
        for change in p.get("changes", []):
            if change.get("operation") == "replace":
                canvas["markdown"] = change["document_content"]["markdown"]
                canvas["edits"] += 1
                canvas["last_editor"] = BOT_USER_ID
        return {}

    def files_info(self, p):
        """As Slack: a canvas is a file ("quip") whose object names the last person to edit it."""
        file_id = p.get("file", "")
        if file_id in self.ws.canvases:
            canvas = self.ws.canvases[file_id]
            return {"file": {"id": file_id, "filetype": "quip", "title": canvas["title"],
                             "last_editor": canvas["last_editor"]}}
        if file_id in self.ws.files:
            stored = self.ws.files[file_id]
            return {"file": {"id": file_id, "name": stored["filename"], "title": stored["title"]}}
        raise ApiError("file_not_found")

    def files_getUploadURLExternal(self, p):
        file_id = self.ws.new_id("F")
        self.ws.files[file_id] = {"filename": p.get("filename", ""), "length": int(p.get("length", 0)),
                                  "content": None, "channel": None, "title": ""}
        return {"upload_url": f"{self.base_url().removesuffix('api/')}upload/{file_id}", "file_id": file_id}

    def files_completeUploadExternal(self, p):
        files = p.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        channel = None
        if p.get("channel_id"):  # as Slack: shared only where warroom is a member (a DM with it counts)
            channel = self.ws.channel(p["channel_id"])
            if channel.is_private and BOT_USER_ID not in channel.members:
                raise ApiError("channel_not_found")
            if BOT_USER_ID not in channel.members:
                raise ApiError("not_in_channel")
        for entry in files:
            stored = self.ws.files.get(entry["id"])
            if stored is None or stored["content"] is None:
                raise ApiError("file_not_found")
            stored["title"] = entry.get("title", "")
            stored["channel"] = p.get("channel_id")
        if channel is not None:  # the share is a message in the channel, with the comment as its text
            message = self.ws.post(channel, BOT_USER_ID, p.get("initial_comment", ""), bot=True, subtype="file_share")
            message.files = [entry["id"] for entry in files]
        return {"files": [{"id": entry["id"], "title": entry.get("title", "")} for entry in files]}

    # -- users ---------------------------------------------------------------------------------------
    def _user(self, user_id: str) -> dict:
        name = self.ws.users[user_id]
        return {"id": user_id, "team_id": TEAM_ID, "name": name, "real_name": name.capitalize(),
                "profile": {"display_name": name, "real_name": name.capitalize()}, "is_bot": user_id == BOT_USER_ID,
                "tz": "UTC"}

    def users_info(self, p):
        if p.get("user") not in self.ws.users:
            raise ApiError("user_not_found")
        return {"user": self._user(p["user"])}

    def users_list(self, p):
        return {"members": [self._user(u) for u in self.ws.users], "response_metadata": {"next_cursor": ""}}

    def usergroups_list(self, p):
        return {"usergroups": [{k: g[k] for k in ("id", "handle")} for g in self.ws.usergroups.values()]}

    def usergroups_users_list(self, p):
        group = self.ws.usergroups.get(p.get("usergroup", ""))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    # -- views ---------------------------------------------------------------------------------------
    def views_open(self, p):
        view = p.get("view") or {}
        if view.get("type") != "modal" or len(view.get("blocks", [])) > MAX_BLOCKS_MODAL:
            raise ApiError("invalid_arguments")
        if len((view.get("title") or {}).get("text", "")) > 24:
            raise ApiError("invalid_arguments")
        if not p.get("trigger_id"):
            raise ApiError("invalid_trigger_id")
        view_id = self.ws.new_id("V")
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "app_id": APP_ID, "hash": view_id,
                  "state": {"values": {}}, "user": p.get("_user", "")}
        self.ws.views[view_id] = stored
        return {"view": stored}

    def views_update(self, p):
        view_id = p.get("view_id", "")
        if view_id not in self.ws.views:
            raise ApiError("not_found")
        self.ws.views[view_id] = {**self.ws.views[view_id], **p["view"], "id": view_id}
        return {"view": self.ws.views[view_id]}


def _utf16_length(text: str) -> int:
    """As Slack counts its length limits: in UTF-16 code units (an emoji such as 🔥 counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _flag(p: dict, name: str) -> bool:
    return str(p.get(name, "")).lower() in {"1", "true"}


def _metadata(value: Any) -> dict | None:
    """As Slack: message metadata is an object with a string `event_type` and an object `event_payload`
    (sent as JSON, or as a JSON string in a form)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError("invalid_metadata_format") from None
    if (not isinstance(value, dict) or not isinstance(value.get("event_type"), str) or not value["event_type"]
            or not isinstance(value.get("event_payload"), dict)):
        raise ApiError("invalid_metadata_format")
    return value
