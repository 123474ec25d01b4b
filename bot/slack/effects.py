"""Carries out Slack effects from the outbox: the adapter side of the chat port."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core.incident import Incident
from bot.core.ports import Clock, RetryLater
from bot.slack import blocks, failures, paging_blocks
from bot.slack.channels import ConfiguredChannels

log = structlog.get_logger("warroom.slack")

HARMLESS_INVITE_ERRORS = {"already_in_channel", "cant_invite_self"}
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class PermanentSlackError(Exception):
    """Slack refused for good; `data` is its whole answer (some errors carry details, e.g. per-user `errors`)."""

    def __init__(self, error: str, data: dict | None = None, *, from_slack: bool = True):
        super().__init__(error)
        self.data = data or {}
        self.from_slack = from_slack  # False: failed because of an earlier failure, or a bug: nothing to tell


async def call(coroutine) -> Any:
    """One Slack call, with its failure sorted into retry-later or give-up."""
    try:
        return await coroutine
    except SlackApiError as exc:
        status = exc.response.status_code
        error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
        if status == 429 or error == "ratelimited":
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            raise RetryLater(f"rate limited ({error or status})",
                             float(retry_after) if retry_after and str(retry_after).isdigit() else None) from None
        if status >= 500 or error in TRANSIENT_ERRORS:
            raise RetryLater(f"Slack answered {status} {error}") from None
        raise PermanentSlackError(error or f"HTTP {status}",
                                  exc.response.data if isinstance(exc.response.data, dict) else None) from None
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        raise RetryLater(f"Slack unreachable: {type(exc).__name__}") from None
    except SlackRequestError as exc:
        # files_upload_v2's upload step answered with an error: the whole upload is tried again (an unfinished
        # upload never appears in Slack).
        if "Failed to upload" in str(exc):
            raise RetryLater("file upload failed") from None
        raise


class SlackEffects:
    def __init__(self, client: AsyncWebClient, settings: Settings, clock: Clock, suggest=lambda incident: [],
                 action_item=None, identity=None):
        self.suggest = suggest
        self.identity = identity  # resolved at start-up: its user id saves an auth.test
        self.action_item = action_item
        self.client = client
        self.settings = settings
        self.clock = clock
        self.channels = ConfiguredChannels(client, call)
        self._bot_user: str | None = None

    async def perform(self, kind: str, payload: dict[str, Any], incident: Incident | None) -> dict[str, Any]:
        handler = getattr(self, f"_{kind}", None)
        if kind in ("dm", "digest", "handoff"):
            return await handler(payload, incident) or {}
        if handler is None or incident is None:
            raise PermanentSlackError(f"unknown Slack effect {kind!r}", from_slack=False)
        if kind != "create_channel" and not incident.channel_id:
            if kind == "link_pagerduty":  # its lane does not wait for the war room to be set up
                raise RetryLater("the war room is not created yet")  # backs off like any retry
            raise PermanentSlackError("the war room channel was never created", from_slack=False)
        return await handler(payload, incident) or {}

    async def report_failure(self, kind: str, error: Exception, incident: Incident | None) -> None:
        """Called by the dispatcher when an effect failed for good."""
        if isinstance(error, PermanentSlackError) and error.from_slack:
            await failures.report(self.client, kind, str(error), incident)

    # -- the war room ------------------------------------------------------------------------------
    async def _create_channel(self, payload, incident: Incident):
        if incident.channel_id:
            return {}
        name = incident.channel_name
        for attempt in range(20):
            try:
                response = await call(self.client.conversations_create(name=name))
                return {"channel_id": response["channel"]["id"], "channel_name": name}
            except PermanentSlackError as exc:
                if str(exc) != "name_taken":
                    raise
            existing = await self.channels.find(name)
            if existing and existing.get("creator") == await self._bot_user_id():
                # We created it before a crash, and never recorded it: adopt it.
                return {"channel_id": existing["id"], "channel_name": name}
            name = f"{incident.channel_name[:76]}-x{attempt + 2}"
        raise PermanentSlackError("no free channel name")

    async def _set_topic(self, payload, incident: Incident):
        await call(self.client.conversations_setTopic(channel=incident.channel_id, topic=blocks.topic(incident)))

    async def _set_purpose(self, payload, incident: Incident):
        await call(self.client.conversations_setPurpose(channel=incident.channel_id, purpose=blocks.purpose(incident)))

    async def _invite(self, payload, incident: Incident):
        users = [u for u in payload.get("users", []) if u != await self._bot_user_id()]
        if not users:
            return
        # force: one deactivated account or guest who may not join must not keep everyone else out.
        try:
            response = await call(self.client.conversations_invite(channel=incident.channel_id, users=",".join(users),
                                                                   force=True))
            errors = response.get("errors") or []
        except PermanentSlackError as exc:
            errors = exc.data.get("errors") or []
            if not errors and str(exc) not in HARMLESS_INVITE_ERRORS:
                raise
        refused = [e for e in errors if e.get("error") not in HARMLESS_INVITE_ERRORS]
        if refused:
            who = ", ".join(f"<@{e.get('user')}> ({e.get('error')})" for e in refused)
            log.warning("invite_refused", users=[e.get("user") for e in refused])
            await call(self.client.chat_postMessage(
                channel=incident.channel_id, text=f":warning: Slack would not add {who} to this war room; everyone "
                                                  f"else is in. Reach them another way, or ask a workspace admin."))

    async def _post_card(self, payload, incident: Incident):
        if incident.card_ts:
            return await self._update_card(payload, incident)
        response = await call(self.client.chat_postMessage(
            channel=incident.channel_id, text=blocks.card_fallback(incident),
            blocks=blocks.incident_card(incident, self.settings.policies, self.clock.now(), self.suggest(incident))))
        return {"card_ts": response["ts"]}

    async def _pin_card(self, payload, incident: Incident):
        if not incident.card_ts:
            return
        try:
            await call(self.client.pins_add(channel=incident.channel_id, timestamp=incident.card_ts))
        except PermanentSlackError as exc:
            if str(exc) != "already_pinned":
                raise

    async def _update_card(self, payload, incident: Incident):
        if not incident.card_ts:
            return
        await call(self.client.chat_update(
            channel=incident.channel_id, ts=incident.card_ts, text=blocks.card_fallback(incident),
            blocks=blocks.incident_card(incident, self.settings.policies, self.clock.now(), self.suggest(incident))))

    async def _post_message(self, payload, incident: Incident):
        text = self._render(payload, incident)
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=text,
                                                blocks=blocks.section(text)))

    async def _dm(self, payload, incident):
        item = await self.action_item(payload["item"])
        if item is None or not item.is_open:
            return
        text = (f":alarm_clock: Action item {'overdue' if payload['late'] else 'due today'}: "
                f"{blocks.action_item_line(item)}. Close it with the Done button in `/incident actions`.")
        # A user ID as the channel opens (or reuses) the DM with that person.
        await call(self.client.chat_postMessage(channel=payload["user"], text=text, blocks=blocks.section(text)))

    async def _digest(self, payload, incident):
        items = [item for item in [await self.action_item(i) for i in payload["items"]] if item]
        today = self.clock.now().date()
        overdue = sum(1 for item in items if item.overdue(today))
        lines = [f"• {blocks.action_item_line(item)}" + (" *overdue*" if item.overdue(today) else "")
                 for item in items[:40]]
        if len(items) > 40:
            lines.append(f"…and {len(items) - 40} more (`/incident actions overdue`)")
        text = (f":clipboard: *Open action items, {payload['month']}*: {len(items)} open, {overdue} overdue\n"
                + ("\n".join(lines) if items else "Nothing open. :tada:"))
        await self._post_to(payload["channel"], text=blocks.truncate(text, 3000), blocks=blocks.section(text))

    async def _post_action_item(self, payload, incident: Incident):
        item = await self.action_item(payload["item"])
        if item is None:
            return
        rendered = blocks.action_items(f"New action item on {incident.reference}", [item], self.clock.now().date())
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=f"Action item #{item.id}",
                                                blocks=rendered))

    async def _post_reminder(self, payload, incident: Incident):
        if not incident.is_open:
            return  # resolved while the reminder waited to leave
        text, rendered = blocks.reminder(incident, self.settings.policy(incident.severity), payload["kind"],
                                         payload.get("silent_for", ""), self.settings.file.reminders.snooze_minutes)
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=text, blocks=rendered))

    # -- paging ------------------------------------------------------------------------------------
    async def _page(self, payload, incident: Incident):
        if not incident.is_open or incident.acknowledged_by:
            return  # acknowledged while the page waited to leave
        text, rendered = paging_blocks.page(incident, payload["step"], payload["steps"])
        await call(self.client.chat_postMessage(channel=payload["user"], text=text, blocks=rendered))

    async def _link_pagerduty(self, payload, incident: Incident):
        if not incident.pagerduty_id:
            return
        if not incident.card_ts:
            raise RetryLater("the card is not posted yet")  # the war room is still being set up
        await self._update_card(payload, incident)
        if (incident.pagerduty_url or "").startswith("https://"):
            await call(self.client.bookmarks_add(channel_id=incident.channel_id, type="link",
                                                 title=f"PagerDuty {incident.pagerduty_id}",
                                                 link=incident.pagerduty_url, emoji=":pager:"))

    async def _handoff(self, payload, incident):
        text, rendered = paging_blocks.handoff(payload["rotation"], datetime.fromisoformat(payload["at"]),
                                               payload["outgoing"], payload["incoming"], payload["incidents"],
                                               payload.get("zone", "UTC"), payload.get("resolved"))
        await self._post_to(payload["channel"], text=text, blocks=rendered)

    def _render(self, payload, incident: Incident, where: str = "room") -> str:
        template = payload.get("template")
        if template == "acknowledged":
            return f":white_check_mark: {payload['text']}."
        if template == "pagerduty_unreachable":
            return (f":warning: PagerDuty is unreachable ({payload['reason']}). The war room carries on; warroom "
                    f"keeps retrying and will deliver every PagerDuty change in order once it answers again.")
        if template == "pagerduty_refused":
            return (f":x: PagerDuty refused to create this incident ({blocks.safe(payload['reason'], 500)}). "
                    f"Nobody is paged through PagerDuty: page the on-call people by hand, and check "
                    f"`pagerduty.service_id` and the API token.")
        if template == "pagerduty_back":
            return ":white_check_mark: PagerDuty answers again; queued changes are being delivered in order."
        if template == "pagerduty_resolved_prompt":
            owner = f"<@{incident.commander}>" if incident.commander else "Incident Commander"
            return (f":pager: {blocks.safe(payload['text'], 500)}. {owner}, resolve here with `/incident resolve <summary>` if the "
                    f"incident is over, or keep working.")
        policy = self.settings.policy(incident.severity)
        if template == "assessment":
            return blocks.assessment(incident, policy, payload.get("paged", []))
        if template == "declared":
            return blocks.declared_announcement(incident, policy, self.settings.slack.leadership_usergroup)
        if template == "severity_changed":
            text = f":rotating_light: {payload['text']} by <@{payload['actor']}> on {incident.reference}."
            if payload.get("paged"):
                text += " Paging " + ", ".join(f"<@{u}>" for u in payload["paged"]) + "."
            if where != "room":
                text += f" War room: <#{incident.channel_id}>"
            return text
        if template == "postmortem_state":
            return f":memo: The post-mortem of {incident.reference} is now *{payload['state']}* (by <@{payload['actor']}>)."
        if template == "postmortem_reminder":
            owner = f"<@{incident.commander}>" if incident.commander else "Incident Commander"
            todo = {"draft": "draft it with `/postmortem`", "review": "get it reviewed (`/postmortem review`)",
                    "publish": "publish it (`/postmortem publish`)"}[payload["step"]]
            return f":memo: {owner}, the post-mortem of {incident.reference} is due: please {todo}."
        if template == "role":
            return f":bust_in_silhouette: {payload['text']}."
        if template == "update":
            return blocks.update_message(incident, payload["text"], payload["actor"], payload["status"])
        if template == "resolved":
            return blocks.resolved_message(incident, payload.get("summary", ""), payload["actor"],
                                           payload.get("postmortem_required", False), where)
        raise PermanentSlackError(f"unknown message template {template!r}")

    # -- outside the war room ----------------------------------------------------------------------
    async def _announce(self, payload, incident: Incident):
        text = self._render(payload, incident, where="announce")
        thread = {} if payload["template"] == "declared" or not incident.announce_ts else {
            "thread_ts": incident.announce_ts, "reply_broadcast": True}
        response = await self._post_to(self.settings.slack.announce_channel, text=text, blocks=blocks.section(text),
                                       **thread)
        if payload["template"] == "declared":
            return {"announce_ts": response["ts"]}

    async def _announce_thread(self, payload, incident: Incident):
        text = self._render(payload, incident, where="announce")
        thread = {"thread_ts": incident.announce_ts} if incident.announce_ts else {}
        await self._post_to(self.settings.slack.announce_channel, text=text, blocks=blocks.section(text), **thread)

    async def _notify_leadership(self, payload, incident: Incident):
        text = (f":rotating_light: *{incident.severity.label}* in progress: {blocks.safe(incident.title, 500)} "
                f"({incident.reference}). War room: <#{incident.channel_id}>")
        await self._post_to(payload["channel"], text=text, blocks=blocks.section(text))

    # -- lookups -----------------------------------------------------------------------------------
    async def _bot_user_id(self) -> str:
        if self._bot_user is None and self.identity is not None and self.identity.result is not None:
            self._bot_user = self.identity.result.bot_user_id
        if self._bot_user is None:
            self._bot_user = (await call(self.client.auth_test()))["user_id"]
        return self._bot_user

    async def _post_to(self, ref: str, **message) -> dict:
        """A post to a channel config.yaml names (by name or ID)."""
        return await self.channels.post(ref, PermanentSlackError, **message)
