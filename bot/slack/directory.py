"""The workspace's people and user groups, looked up through the Web API (the Directory port)."""

from __future__ import annotations

import time

from cachetools import LRUCache, TTLCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

GROUP_TTL = 300.0
USER_TTL = 3600.0  # a deactivated account stops counting within the hour
MEMBERS_TTL = 300.0  # member_joined_channel / member_left_channel keep it current in between
MISS_REFRESH = 5.0  # a non-member clicking again and again asks Slack at most this often per channel


class SlackDirectory:
    def __init__(self, client: AsyncWebClient):
        self.client = client
        self._known_users: TTLCache = TTLCache(maxsize=20_000, ttl=USER_TTL)
        self._names: LRUCache = LRUCache(maxsize=20_000)
        self._groups: TTLCache = TTLCache(maxsize=256, ttl=GROUP_TTL)
        # Not a TTL cache: a stale entry still answers "yes" for a known member, while a miss refreshes it
        # (at most every MISS_REFRESH seconds), so a new member is recognised at once and a click costs no call.
        self._members: dict[str, tuple[float, set[str]]] = {}

    async def user_exists(self, user_id: str) -> bool:
        if user_id in self._known_users:
            return True
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if data.get("error") in {"user_not_found", "user_not_visible"}:
                return False
            raise
        if response["user"].get("deleted"):
            return False
        self._known_users[user_id] = True
        return True

    async def display_name(self, user_id: str) -> str:
        """The name people know someone by, for text that leaves Slack (PagerDuty notes); the ID if unknown."""
        if user_id not in self._names:
            try:
                user = (await self.client.users_info(user=user_id))["user"]
            except SlackApiError:
                return user_id
            profile = user.get("profile") or {}
            self._names[user_id] = profile.get("display_name") or profile.get("real_name") or user.get("name") or user_id
        return self._names[user_id]

    async def in_usergroup(self, user_id: str, handle: str) -> bool:
        members = self._groups.get(handle)
        if members is None:
            groups = (await self.client.usergroups_list())["usergroups"]
            group = next((g for g in groups if handle in (g["handle"], g["id"])), None)
            members = set((await self.client.usergroups_users_list(usergroup=group["id"]))["users"]) if group else set()
            self._groups[handle] = members
        return user_id in members

    async def is_member(self, channel_id: str, user_id: str) -> bool:
        cached = self._members.get(channel_id)
        age = time.monotonic() - cached[0] if cached else None
        if cached and age < MEMBERS_TTL and user_id in cached[1]:
            return True
        if cached is None or age > MISS_REFRESH:
            cached = await self._load_members(channel_id)
        return user_id in cached[1]

    async def _load_members(self, channel_id: str) -> tuple[float, set[str]]:
        members: set[str] = set()
        try:
            async for page in await self.client.conversations_members(channel=channel_id, limit=1000):
                members.update(page.get("members", []))
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if data.get("error") not in {"channel_not_found", "not_in_channel"}:
                raise
        loaded = (time.monotonic(), members)
        self._members[channel_id] = loaded
        return loaded

    def joined(self, channel_id: str, user_id: str) -> None:
        if channel_id in self._members:
            self._members[channel_id][1].add(user_id)

    def left(self, channel_id: str, user_id: str) -> None:
        if channel_id in self._members:
            self._members[channel_id][1].discard(user_id)
