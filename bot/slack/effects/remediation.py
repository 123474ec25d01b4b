"""Carries out automated remediation's notices in Slack: in the war room of the alerts' incident, or in the
channel config.yaml names (remediation.channel, else alerts.channel)."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.core import effects as fx
from bot.core.incident import Incident
from bot.core.ports import Performer, RetryLater
from bot.slack.blocks.incidents import sections
from bot.slack.channels import ConfiguredChannels
from bot.slack.effects.calls import PermanentSlackError, call, pages


class RemediationEffects(Performer):
    def __init__(self, client: AsyncWebClient):
        self.client = client
        self.channels = ConfiguredChannels(client, call, pages)

    async def _notice(self, effect: fx.RemediationNotice, incident: Incident | None) -> None:
        first_line = effect.text.splitlines()[0][:300]
        if incident is not None:
            if not incident.channel_id:
                raise RetryLater("the war room is not created yet")
            await call(self.client.chat_postMessage(channel=incident.channel_id, text=first_line,
                                                    blocks=sections(effect.text)))
            return
        await self.channels.post(effect.channel, PermanentSlackError, text=first_line, blocks=sections(effect.text))

    handlers = {fx.RemediationNotice: _notice}
