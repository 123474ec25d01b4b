"""A local Slack-compatible server: the Web API, Socket Mode and response_url, plus a driver that plays
the users (slash commands, button clicks, modal submissions, reactions, pins).

Socket Mode works end to end because Slack's clients ask `apps.connections.open` for their WebSocket
URL: pointing SLACK_API_URL here makes an unmodified Bolt app connect to this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import WSMsgType, web

from bot.sandbox.limits import SlackRateLimits
from bot.sandbox.people import PeopleInChannels
from bot.sandbox.views import view_state
from bot.sandbox.webapi import WebApi
from bot.sandbox.workspace import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    ApiError,
    Ephemeral,
    Workspace,
)

BOT_TOKEN = "xoxb-sandbox-bot-token"
APP_TOKEN = "xapp-sandbox-app-token"


@dataclass
class Fault:
    method: str
    status: int
    error: str
    times: int
    retry_after: int | None = None
    when: Callable[[dict], bool] | None = None  # only calls whose parameters match
    delay: float = 0.0  # seconds before the failure is answered: a call hanging when its caller dies
    performed: bool = False  # the call is carried out and only its answer is an error: a lost answer


@dataclass
class ApiCall:
    method: str
    params: dict
    at: float


TRIGGER_LIFETIME = 3.0  # seconds a trigger_id stays usable (Slack's limit)
VIEW_ACK_DEADLINE = 3.0  # seconds Slack waits for a view_submission's ack before it shows an error

NEW_CONNECTION = web.RequestKey("new_connection", bool)  # whether a request opened its connection


class SlackSandbox(PeopleInChannels):
    def __init__(self, *, latency: float = 0.0, workspace: Workspace | None = None):
        self.workspace = workspace or Workspace()
        self.latency = latency
        self.calls: list[ApiCall] = []
        self.faults: list[Fault] = []
        self.upload_failures = 0  # how many file uploads (the step after files.getUploadURLExternal) fail
        # Slack's rate limits, answered with 429 and Retry-After as Slack does. Off unless a test or bench
        # turns them on (`sandbox.limits.enabled = True`): most tests are about other things, and would wait.
        self.limits = SlackRateLimits()
        self.api = WebApi(self.workspace, lambda: self.api_url, self._emit_event)
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future] = {}
        self._triggers: dict[str, tuple[str, float]] = {}  # trigger_id -> (user, when it was made)
        self._responses: dict[str, dict] = {}
        self.replies_on_new_connections: list[bool] = []  # per response_url request: was its connection new?
        self._client_ports: set[int] = set()
        self._counter = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._connected = asyncio.Event()
        self.connections_opened = 0
        self.sockets_opened = 0
        self.port = 0

    # -- server ------------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> "SlackSandbox":
        app = web.Application(client_max_size=8 * 1024 * 1024, middlewares=[self._note_connection])
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    @web.middleware
    async def _note_connection(self, request: web.Request, handler):
        port = request.transport.get_extra_info("peername")[1] if request.transport else 0
        request[NEW_CONNECTION] = port not in self._client_ports
        self._client_ports.add(port)
        return await handler(request)

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}api/"

    def fail(self, method: str, *, status: int = 500, error: str = "internal_error", times: int = 1,
             retry_after: int | None = None, when: Callable[[dict], bool] | None = None, delay: float = 0.0,
             performed: bool = False) -> None:
        self.faults.append(Fault(method, status, error, times, retry_after, when, delay, performed))

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.method == "GET":
            params = {}
        elif request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        params = {**dict(request.query), **params}
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or params.pop("token", "")
        if self.latency:
            await asyncio.sleep(self.latency)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.calls.append(ApiCall(method, params, time.monotonic()))
        wait = self.limits.retry_after(method, params)
        if wait:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(wait)})
        for fault in self.faults:
            if fault.method in (method, "*") and fault.times > 0 and (fault.when is None or fault.when(params)):
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.performed:
                    with contextlib.suppress(ApiError, KeyError):
                        self.api.call(method, params)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return web.json_response({"ok": False, "error": fault.error}, status=fault.status, headers=headers)
        if method == "apps.connections.open":
            self.connections_opened += 1
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket?ticket={uuid.uuid4()}"})
        if method == "views.open":
            # As Slack: a trigger_id opens one view, within 3 seconds of the click or command that made it.
            user, issued = self._triggers.pop(params.get("trigger_id", ""), ("", None))
            if issued is None:
                self.calls.append(ApiCall(method, params, time.monotonic()))
                return web.json_response({"ok": False, "error": "invalid_trigger_id"})
            if time.monotonic() - issued > TRIGGER_LIFETIME:
                self.calls.append(ApiCall(method, params, time.monotonic()))
                return web.json_response({"ok": False, "error": "expired_trigger_id"})
            params["_user"] = user
        try:
            body = self.api.call(method, params)
        except ApiError as exc:
            return web.json_response({"ok": False, "error": exc.error, **exc.extra}, status=exc.status,
                                     headers=exc.headers)
        except KeyError as exc:
            return web.json_response({"ok": False, "error": "invalid_arguments", "missing": str(exc)})
        # As Slack: every answer says which scopes the token has.
        return web.json_response({"ok": True, **body}, headers={"X-OAuth-Scopes": ",".join(sorted(self.workspace.scopes))})

    async def _upload(self, request: web.Request) -> web.Response:
        stored = self.workspace.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404)
        if self.upload_failures > 0:  # the upload URL answers 500, as it sometimes does
            self.upload_failures -= 1
            return web.Response(status=500, text="upload failed")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(iter(form.values()))
            body = part.file.read() if hasattr(part, "file") else str(part).encode()
        else:
            body = await request.read()
        stored["content"] = body.decode("utf-8", "replace")
        stored["bytes"] = body  # as uploaded (an image is not text)
        return web.Response(text="OK - " + str(len(body)))

    async def _respond(self, request: web.Request) -> web.Response:
        origin = self._responses.get(request.match_info["key"])
        if origin is None:
            return web.Response(status=404, text="expired_url")
        body = await request.json()
        self.replies_on_new_connections.append(request[NEW_CONNECTION])
        channel = self.workspace.channel(origin["channel"])
        if body.get("response_type") == "in_channel":
            self.workspace.post(channel, BOT_USER_ID, body.get("text", ""), body.get("blocks"), bot=True)
        elif body.get("replace_original") and origin.get("ephemeral"):
            origin["ephemeral"].text = body.get("text", "")
            origin["ephemeral"].blocks = body.get("blocks") or []
        elif body.get("replace_original") and origin.get("message_ts"):
            message = channel.find(origin["message_ts"])
            message.text, message.blocks = body.get("text", ""), body.get("blocks") or []
        else:
            ephemeral = Ephemeral(channel.id, origin["user"], body.get("text", ""), body.get("blocks") or [],
                                  self.workspace.new_ts(), request.match_info["key"])
            self.workspace.ephemerals.append(ephemeral)
        return web.Response(text="ok")

    # -- Socket Mode -------------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True, heartbeat=None)
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets) + 1,
                                "connection_info": {"app_id": APP_ID}, "debug_info": {"host": "sandbox"}})
        self._sockets.append(socket)
        self.sockets_opened += 1
        self._connected.set()
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(frame.data)
                future = self._acks.pop(ack.get("envelope_id", ""), None)
                if future and not future.done():
                    future.set_result(ack.get("payload") or {})
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self._connected.clear()
        return socket

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Asks every client to reconnect, as Slack does every few hours."""
        for socket in list(self._sockets):
            await socket.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox"}})

    async def deliver(self, kind: str, payload: dict, *, retry_attempt: int = 0, timeout: float = 5.0,
                      envelope_id: str | None = None) -> dict:
        """Sends one envelope and returns the ack's payload; raises TimeoutError when nobody acks."""
        await self.wait_connected(timeout)
        envelope_id = envelope_id or str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload":
                    kind != "events_api", "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}
        # The newest connection: an older one may be closing after a refresh, as Slack's own are.
        await self._sockets[-1].send_json(envelope)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._acks.pop(envelope_id, None)

    def _emit_event(self, event: dict) -> None:
        asyncio.get_running_loop().create_task(self.event(event))

    # -- the driver: what users do -------------------------------------------------------------------
    def _trigger(self, user: str) -> str:
        trigger = f"{next(self._counter)}.{uuid.uuid4().hex[:12]}"
        self._triggers[trigger] = (user, time.monotonic())
        return trigger

    def _response_url(self, user: str, channel: str, ephemeral: Ephemeral | None = None,
                      message_ts: str | None = None) -> str:
        key = uuid.uuid4().hex
        self._responses[key] = {"user": user, "channel": channel, "ephemeral": ephemeral, "message_ts": message_ts}
        return f"{self.base_url}respond/{key}"

    def _user_obj(self, user: str) -> dict:
        return {"id": user, "username": self.workspace.users[user], "name": self.workspace.users[user],
                "team_id": TEAM_ID}

    def slash_payload(self, user: str, channel: str, command: str, text: str) -> dict:
        chan = self.workspace.channel(channel)
        return {"token": "legacy", "team_id": TEAM_ID, "team_domain": "sandbox", "channel_id": chan.id,
                "channel_name": "directmessage" if chan.is_im else chan.name, "user_id": user,
                "user_name": self.workspace.users[user], "command": command, "text": text, "api_app_id": APP_ID,
                "response_url": self._response_url(user, chan.id), "trigger_id": self._trigger(user)}

    async def slash(self, user: str, channel: str, command: str, text: str = "", **options) -> dict:
        return await self.deliver("slash_commands", self.slash_payload(user, channel, command, text), **options)

    def _find_element(self, blocks: list, action_id: str) -> tuple[str, dict]:
        for block in blocks:
            elements = block.get("elements", []) if block.get("type") == "actions" else [block.get("accessory") or {}]
            for element in elements:
                if element.get("action_id") == action_id:
                    return block.get("block_id", ""), element
        raise LookupError(f"no element with action_id {action_id!r} in the message")

    def click_payload(self, user: str, channel: str, ts: str | None, action_id: str, *, value=None,
                      ephemeral: Ephemeral | None = None) -> dict:
        chan = self.workspace.channel(channel)
        message = ephemeral if ephemeral else chan.find(ts)
        block_id, element = self._find_element(message.blocks, action_id)
        action: dict[str, Any] = {"type": element["type"], "action_id": action_id, "block_id": block_id,
                                  "action_ts": self.workspace.new_ts()}
        if element["type"] == "button":
            action["value"] = element.get("value", "")
            action["text"] = element["text"]
        elif element["type"] == "static_select":
            options = element.get("options") or [o for g in element.get("option_groups", []) for o in g["options"]]
            chosen = [o for o in options if o["value"] == value]
            if not chosen:
                raise LookupError(f"{value!r} is not an option of {action_id}")
            action["selected_option"] = chosen[0]
        elif element["type"] in ("users_select",):
            action["selected_user"] = value
        elif element["type"] == "checkboxes":
            chosen = [o for o in element["options"] if o["value"] in (value or [])]
            action["selected_options"] = chosen
        container = {"type": "message", "message_ts": message.ts, "channel_id": chan.id,
                     "is_ephemeral": ephemeral is not None}
        body = {"type": "block_actions", "user": self._user_obj(user), "api_app_id": APP_ID, "token": "legacy",
                "container": container, "trigger_id": self._trigger(user), "team": {"id": TEAM_ID, "domain": "sandbox"},
                "channel": {"id": chan.id, "name": chan.name}, "actions": [action],
                "response_url": self._response_url(user, chan.id, ephemeral, None if ephemeral else message.ts)}
        if not ephemeral:
            body["message"] = message.to_api()
        return body

    async def click(self, user: str, channel: str, ts: str | None, action_id: str, *, value=None,
                    ephemeral: Ephemeral | None = None, **options) -> dict:
        payload = self.click_payload(user, channel, ts, action_id, value=value, ephemeral=ephemeral)
        return await self.deliver("interactive", payload, **options)

    def last_view(self, user: str) -> dict:
        views = [v for v in self.workspace.views.values() if v.get("user") == user]
        if not views:
            raise LookupError(f"no modal open for {user}")
        return views[-1]

    async def submit_view(self, user: str, view_id: str, values: dict[str, Any], **options) -> dict:
        """values: {action_id: value}; the state is built from the view's own input blocks."""
        view = self.workspace.views[view_id]
        state, errors = view_state(view, values)
        if errors:
            return {"response_action": "errors", "errors": errors}
        submitted = {**view, "state": {"values": state}}
        payload = {"type": "view_submission", "team": {"id": TEAM_ID, "domain": "sandbox"},
                   "user": self._user_obj(user), "api_app_id": APP_ID, "token": "legacy",
                   "trigger_id": self._trigger(user), "view": submitted}
        # Slack gives up on a submission not acked within 3 s, and the person sees an error.
        response = await self.deliver("interactive", payload, **{"timeout": VIEW_ACK_DEADLINE, **options})
        if response.get("response_action") != "errors":
            self.workspace.views.pop(view_id, None)
        return response

    async def event(self, event: dict, **options) -> dict:
        payload = {"token": "legacy", "team_id": TEAM_ID, "api_app_id": APP_ID, "event": event,
                   "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
                   "event_time": int(time.time()), "authorizations": [
                       {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}]}
        return await self.deliver("events_api", payload, **options)

    def messages_with_action(self, channel: str, action_id: str) -> list:
        """Messages of a channel that carry an element with this action_id, oldest first."""
        found = []
        for message in self.workspace.channel(channel).messages:
            try:
                self._find_element(message.blocks, action_id)
            except LookupError:
                continue
            found.append(message)
        return found

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        return [e for e in self.workspace.ephemerals if e.user == user]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(interval)
