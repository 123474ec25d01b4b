"""When Slack refuses an effect for good, a person hears about it: what failed, why, and what to do.

The declarer gets a DM (the war room may be what failed); the war room, where there is one, gets the same
notice. Only refusals that Slack gave are reported: an effect that failed because an earlier one did
(no war room to post in) stays quiet, so one problem is one notice.
"""

from __future__ import annotations

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.incident import Incident
from bot.core.text import escape, is_user_id

log = structlog.get_logger("warroom.slack")

WHAT = {"create_channel": "open the war room", "post_card": "post the incident card", "pin_card": "pin the card",
        "invite": "invite people to the war room", "announce": "announce the incident",
        "announce_thread": "post to the announcement thread", "notify_leadership": "tell the leadership channel",
        "set_topic": "set the war room's topic", "set_purpose": "set the war room's purpose",
        "post_message": "post in the war room", "update_card": "update the incident card",
        "link_pagerduty": "bookmark the PagerDuty incident", "post_action_item": "post the action item",
        "post_reminder": "post the status reminder"}
ADVICE = {
    "restricted_action": "A workspace setting keeps apps from doing this (for example, only admins may create "
                         "channels): ask a Slack admin to allow it for warroom.",
    "missing_scope": "warroom's Slack app lacks a permission it needs: update the app from manifest.yaml and "
                     "reinstall it (`warroom check --slack` lists what is missing).",
    "channel_not_found": "The channel does not exist, or warroom cannot see it: check the channel in config.yaml, "
                         "and invite warroom to a private one.",
    "not_in_channel": "warroom is not in that channel: invite it (`/invite @warroom`).",
    "is_archived": "The channel is archived: unarchive it, or point config.yaml at another one.",
    "invalid_name_specials": "Slack refused the channel name: change slack.channel_prefix in config.yaml.",
}


def notice(kind: str, error: str, incident: Incident) -> str:
    what = WHAT.get(kind, f"carry out a Slack step ({kind})")
    advice = ADVICE.get(error, "Check warroom's logs for the details.")
    return (f":warning: warroom could not {what} for {incident.reference} ({incident.title[:100]}): Slack said "
            f"`{error}`. {advice} The incident itself is recorded: `/incident status` shows it.")


async def report(client: AsyncWebClient, kind: str, error: str, incident: Incident | None) -> None:
    if incident is None:
        return
    text = escape(notice(kind, error, incident))
    targets = [incident.declared_by] if is_user_id(incident.declared_by) else []
    if incident.channel_id and kind != "create_channel":
        targets.append(incident.channel_id)
    for target in targets:
        try:
            await client.chat_postMessage(channel=target, text=text)
        except Exception as exc:  # the notice is best effort: the failure itself is already logged and stored
            log.warning("failure_notice_not_delivered", kind=kind, error=error, reason=str(exc))
