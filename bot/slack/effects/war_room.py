"""Carries out Slack effects from the outbox: the war room, its card and messages, DMs, other channels."""

from __future__ import annotations

from datetime import datetime

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core import effects as fx
from bot.core.effects import AlertRefs, IncidentRefs, StormRefs
from bot.core.incident import Incident
from bot.core.ports import Clock, Performer, RetryLater
from bot.slack.blocks import alerts as alert_blocks
from bot.slack.blocks import incidents as blocks
from bot.slack.blocks import paging as paging_blocks
from bot.slack.blocks import status_page as status_blocks
from bot.slack.channels import ConfiguredChannels
from bot.slack.effects import failures, messages
from bot.slack.effects.calls import (
    HARMLESS_INVITE_ERRORS,
    PermanentSlackError,
    call,
    pages,
)

log = structlog.get_logger("warroom.slack")
# Effects that need no war room: they go to a person or to a channel config.yaml names.
OUTSIDE_THE_WAR_ROOM = (fx.RemindActionItem, fx.ActionItemDigest, fx.Handoff, fx.AskAboutAlerts, fx.StormSummary,
                        fx.NoiseDigest)


class SlackEffects(Performer):
    def __init__(self, client: AsyncWebClient, settings: Settings, clock: Clock, suggest=lambda incident: [],
                 action_item=None, identity=None):
        self.suggest = suggest
        self.identity = identity  # resolved at start-up: its user id saves an auth.test
        self.action_item = action_item
        self.alerts = None  # bot/services/alerts.py: the alert groups that messages show
        self.public = None  # bot/services/status_page.py: what the status page says of an incident (the card)
        self.client = client
        self.settings = settings
        self.clock = clock
        self.channels = ConfiguredChannels(client, call, pages)
        self._bot_user: str | None = None

    async def perform(self, effect: fx.Effect, incident: Incident | None, context=None) -> fx.Result:
        if not isinstance(effect, OUTSIDE_THE_WAR_ROOM):
            if incident is None:
                raise PermanentSlackError(f"{effect.type} without an incident", from_slack=False)
            if not isinstance(effect, fx.CreateChannel) and not incident.channel_id:
                if isinstance(effect, fx.LinkPagerDuty):  # its lane does not wait for the war room to be set up
                    raise RetryLater("the war room is not created yet")  # backs off like any retry
                raise PermanentSlackError("the war room channel was never created", from_slack=False)
        return await super().perform(effect, incident)

    async def report_failure(self, effect: fx.Effect, error: Exception, incident: Incident | None) -> None:
        if isinstance(error, PermanentSlackError) and error.from_slack:
            await failures.report(self.client, effect.kind, str(error), incident)

    # -- the war room ------------------------------------------------------------------------------
    async def _create_channel(self, effect: fx.CreateChannel, incident: Incident) -> fx.Result:
        if incident.channel_id:
            return None
        name = incident.channel_name
        for attempt in range(20):
            try:
                response = await call(self.client.conversations_create(name=name))
                return IncidentRefs(channel_id=response["channel"]["id"], channel_name=name)
            except PermanentSlackError as exc:
                if str(exc) != "name_taken":
                    raise
            existing = await self.channels.find(name)
            if existing and existing.get("creator") == await self._bot_user_id():
                # We created it before a crash, and never recorded it: adopt it.
                return IncidentRefs(channel_id=existing["id"], channel_name=name)
            name = f"{incident.channel_name[:76]}-x{attempt + 2}"
        raise PermanentSlackError("no free channel name")

    async def _set_topic(self, effect: fx.SetTopic, incident: Incident) -> None:
        await call(self.client.conversations_setTopic(channel=incident.channel_id, topic=blocks.topic(incident)))

    async def _set_purpose(self, effect: fx.SetPurpose, incident: Incident) -> None:
        await call(self.client.conversations_setPurpose(channel=incident.channel_id, purpose=blocks.purpose(incident)))

    async def _invite(self, effect: fx.Invite, incident: Incident) -> None:
        users = [u for u in effect.users if u != await self._bot_user_id()]
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

    async def _post_card(self, effect: fx.PostCard, incident: Incident) -> fx.Result:
        if incident.card_ts:
            return await self._update_card(fx.UpdateCard(), incident)
        response = await call(self.client.chat_postMessage(
            channel=incident.channel_id, text=blocks.card_fallback(incident), blocks=await self._card(incident)))
        return IncidentRefs(card_ts=response["ts"])

    async def _card(self, incident: Incident) -> list:
        alerts = None
        if self.alerts is not None and incident.impact_started_at is not None:  # alerts opened it
            groups = await self.alerts.of_incident(incident.id)
            alerts = (sum(g.firing for g in groups), sum(len(g.alerts) - g.firing for g in groups))
        page = self.settings.file.status_page
        public = await self.public.shown(incident.id) if self.public is not None and page.configured else None
        return blocks.incident_card(incident, self.settings.policies, self.clock.now(), self.suggest(incident),
                                    alerts, status_page=(page.public_url or "") if page.components else None,
                                    public=public)

    async def _pin_card(self, effect: fx.PinCard, incident: Incident) -> None:
        if not incident.card_ts:
            return
        try:
            await call(self.client.pins_add(channel=incident.channel_id, timestamp=incident.card_ts))
        except PermanentSlackError as exc:
            if str(exc) != "already_pinned":
                raise

    async def _update_card(self, effect: fx.UpdateCard, incident: Incident) -> None:
        if not incident.card_ts:
            return
        await call(self.client.chat_update(
            channel=incident.channel_id, ts=incident.card_ts, text=blocks.card_fallback(incident),
            blocks=await self._card(incident)))

    async def _post_message(self, effect: fx.PostMessage, incident: Incident) -> None:
        text = messages.render(effect, incident, self.settings)
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=text,
                                                blocks=blocks.section(text)))

    async def _remind_action_item(self, effect: fx.RemindActionItem, incident: Incident | None) -> None:
        item = await self.action_item(effect.item)
        if item is None or not item.is_open:
            return
        text = (f":alarm_clock: Action item {'overdue' if effect.late else 'due today'}: "
                f"{blocks.action_item_line(item)}. Close it with the Done button in `/incident actions`.")
        # A user ID as the channel opens (or reuses) the DM with that person.
        await call(self.client.chat_postMessage(channel=effect.user, text=text, blocks=blocks.section(text)))

    async def _digest(self, effect: fx.ActionItemDigest, incident: Incident | None) -> None:
        items = [item for item in [await self.action_item(i) for i in effect.items] if item]
        today = self.clock.now().date()
        overdue = sum(1 for item in items if item.overdue(today))
        lines = [f"• {blocks.action_item_line(item)}" + (" *overdue*" if item.overdue(today) else "")
                 for item in items[:40]]
        if len(items) > 40:
            lines.append(f"…and {len(items) - 40} more (`/incident actions overdue`)")
        text = (f":clipboard: *Open action items, {effect.month}*: {len(items)} open, {overdue} overdue\n"
                + ("\n".join(lines) if items else "Nothing open. :tada:"))
        await self._post_to(effect.channel, text=blocks.truncate(text, 3000), blocks=blocks.section(text))

    async def _post_action_item(self, effect: fx.PostActionItem, incident: Incident) -> None:
        item = await self.action_item(effect.item)
        if item is None:
            return
        rendered = blocks.action_items(f"New action item on {incident.reference}", [item], self.clock.now().date())
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=f"Action item #{item.id}",
                                                blocks=rendered))

    async def _post_reminder(self, effect: fx.PostReminder, incident: Incident) -> None:
        if not incident.is_open:
            return  # resolved while the reminder waited to leave
        text, rendered = blocks.reminder(incident, self.settings.policy(incident.severity), effect.reminder,
                                         effect.silent_for, self.settings.file.reminders.snooze_minutes)
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=text, blocks=rendered))

    # -- paging ------------------------------------------------------------------------------------
    async def _page(self, effect: fx.Page, incident: Incident) -> None:
        if not incident.is_open or (incident.acknowledged_by and not effect.reason):
            return  # acknowledged while the escalation step waited to leave (a page with a reason is news)
        text, rendered = paging_blocks.page(incident, effect.step, effect.steps, effect.reason)
        await call(self.client.chat_postMessage(channel=effect.user, text=text, blocks=rendered))

    async def _link_pagerduty(self, effect: fx.LinkPagerDuty, incident: Incident) -> None:
        if not incident.pagerduty_id:
            return
        if not incident.card_ts:
            raise RetryLater("the card is not posted yet")  # the war room is still being set up
        await self._update_card(fx.UpdateCard(), incident)
        if (incident.pagerduty_url or "").startswith("https://"):
            await call(self.client.bookmarks_add(channel_id=incident.channel_id, type="link",
                                                 title=f"PagerDuty {incident.pagerduty_id}",
                                                 link=incident.pagerduty_url, emoji=":pager:"))

    async def _handoff(self, effect: fx.Handoff, incident: Incident | None) -> None:
        listed = [i.model_dump() for i in effect.incidents]
        resolved = None if effect.resolved is None else [i.model_dump() for i in effect.resolved]
        text, rendered = paging_blocks.handoff(effect.rotation, datetime.fromisoformat(effect.at), effect.outgoing,
                                               effect.incoming, listed, effect.zone, resolved)
        await self._post_to(effect.channel, text=text, blocks=rendered)

    # -- outside the war room ----------------------------------------------------------------------
    async def _announce(self, effect: fx.Announce, incident: Incident) -> fx.Result:
        text = messages.render(effect, incident, self.settings, where="announce")
        declared = effect.template is fx.Template.DECLARED
        thread = {} if declared or not incident.announce_ts else {
            "thread_ts": incident.announce_ts, "reply_broadcast": True}
        response = await self._post_to(self.settings.slack.announce_channel, text=text, blocks=blocks.section(text),
                                       **thread)
        return IncidentRefs(announce_ts=response["ts"]) if declared else None

    async def _announce_thread(self, effect: fx.AnnounceThread, incident: Incident) -> None:
        text = messages.render(effect, incident, self.settings, where="announce")
        thread = {"thread_ts": incident.announce_ts} if incident.announce_ts else {}
        await self._post_to(self.settings.slack.announce_channel, text=text, blocks=blocks.section(text), **thread)

    async def _notify_leadership(self, effect: fx.NotifyLeadership, incident: Incident) -> None:
        text = (f":rotating_light: *{incident.severity.label}* in progress: {blocks.safe(incident.title, 500)} "
                f"({incident.reference}). War room: <#{incident.channel_id}>")
        await self._post_to(effect.channel, text=text, blocks=blocks.section(text))

    # -- alerts ------------------------------------------------------------------------------------
    async def _post_alerts(self, effect: fx.PostAlerts, incident: Incident) -> fx.Result:
        seen = await self.alerts.view(effect.group_id) if self.alerts else None
        if seen is None:
            return None
        group = seen.group
        rendered = alert_blocks.group_message(group, seen.severity, ask=False, runbook=seen.runbook,
                                              flapping=seen.flapping)
        text = alert_blocks.group_text(group)
        if group.room_ts:
            await call(self.client.chat_update(channel=incident.channel_id, ts=group.room_ts, text=text,
                                               blocks=rendered))
            return None
        response = await call(self.client.chat_postMessage(channel=incident.channel_id, text=text, blocks=rendered))
        return AlertRefs(group.id, room_ts=response["ts"])

    async def _ask_alerts(self, effect: fx.AskAboutAlerts, incident: Incident | None) -> fx.Result:
        seen = await self.alerts.view(effect.group_id) if self.alerts else None
        if seen is None:
            return None
        group = seen.group
        rendered = alert_blocks.group_message(group, seen.severity, ask=True, flapping=seen.flapping)
        text = alert_blocks.group_text(group)
        if group.ask_ts and group.ask_channel:
            await call(self.client.chat_update(channel=group.ask_channel, ts=group.ask_ts, text=text,
                                               blocks=rendered))
            return None
        channel = await self.channels.id_of(effect.channel, PermanentSlackError)
        response = await call(self.client.chat_postMessage(channel=channel, text=text, blocks=rendered))
        return AlertRefs(group.id, ask_channel=channel, ask_ts=response["ts"])

    async def _storm_summary(self, effect: fx.StormSummary, incident: Incident | None) -> fx.Result:
        found = await self.alerts.storm(effect.storm_id) if self.alerts else None
        if found is None:
            return None
        storm, groups = found
        section = self.settings.file.alerts
        text, rendered = alert_blocks.storm_message(groups, storm["started_at"], section.storm_window_minutes,
                                                    section.max_new_incidents)
        if storm["ts"]:
            channel = await self.channels.id_of(storm["channel"], PermanentSlackError)
            await call(self.client.chat_update(channel=channel, ts=storm["ts"], text=text, blocks=rendered))
            return None
        response = await self._post_to(storm["channel"], text=text, blocks=rendered)
        return StormRefs(effect.storm_id, response["ts"])

    async def _noise_digest(self, effect: fx.NoiseDigest, incident: Incident | None) -> None:
        title = f"Alert noise, last 7 days: {len(effect.lines)} alerts fired 3 or more times without anyone acting"
        await self._post_to(effect.channel, text=title, blocks=alert_blocks.noise_report(title, list(effect.lines)))

    async def _prompt_resolve(self, effect: fx.PromptResolve, incident: Incident) -> None:
        if not incident.is_open:
            return
        owner = f"<@{incident.commander}>" if incident.commander else "Incident Commander"
        text = (f":white_check_mark: {blocks.safe(effect.text, 500)}. {owner}, resolve {incident.reference} now, "
                f"or keep working if the impact is not over.")
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=text,
                                                blocks=blocks.resolve_prompt(text, incident.channel_id)))

    # -- the status page ---------------------------------------------------------------------------
    async def _public_update_reminder(self, effect: fx.PublicUpdateReminder, incident: Incident) -> None:
        if not incident.is_open:
            return  # resolved while the reminder waited to leave
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=blocks.truncate(effect.text, 3000),
                                                blocks=status_blocks.public_reminder(effect.text, effect.template)))

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

    handlers = {
        fx.CreateChannel: _create_channel, fx.SetTopic: _set_topic, fx.SetPurpose: _set_purpose, fx.Invite: _invite,
        fx.PostCard: _post_card, fx.PinCard: _pin_card, fx.UpdateCard: _update_card, fx.PostMessage: _post_message,
        fx.Announce: _announce, fx.AnnounceThread: _announce_thread, fx.NotifyLeadership: _notify_leadership,
        fx.PostReminder: _post_reminder, fx.LinkPagerDuty: _link_pagerduty, fx.Page: _page,
        fx.PostActionItem: _post_action_item, fx.RemindActionItem: _remind_action_item,
        fx.ActionItemDigest: _digest, fx.Handoff: _handoff, fx.PostAlerts: _post_alerts,
        fx.AskAboutAlerts: _ask_alerts, fx.PromptResolve: _prompt_resolve, fx.StormSummary: _storm_summary,
        fx.NoiseDigest: _noise_digest,
        fx.PublicUpdateReminder: _public_update_reminder,
    }
