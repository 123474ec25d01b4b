"""Carries out the SLA watch's effects in Slack: notices to the channels config.yaml names (finance, alerts), and
the monthly report with its chart."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import effects as fx
from bot.core.incident import Incident
from bot.core.ports import Performer
from bot.core.sla import Compliance, Month, Span, decode
from bot.core.sla_report import SlaReport
from bot.slack.blocks.incidents import sections
from bot.slack.channels import ConfiguredChannels
from bot.slack.effects.calls import PermanentSlackError, call, pages

log = structlog.get_logger("warroom.slack")


class SlaEffects(Performer):
    def __init__(self, client: AsyncWebClient):
        self.client = client
        self.channels = ConfiguredChannels(client, call, pages)

    async def _notice(self, effect: fx.SlaNotice, incident: Incident | None) -> None:
        await self.channels.post(effect.channel, PermanentSlackError, text=effect.text, blocks=sections(effect.text))

    async def _report(self, effect: fx.SlaMonthlyReport, incident: Incident | None) -> None:
        # Posting again after a failed upload finds the first post (bot/slack/tagged_posts.py): no double report.
        posted = await self.channels.post(effect.channel, PermanentSlackError, text=effect.text.splitlines()[0],
                                          blocks=sections(effect.text))
        month = Month.parse(effect.month)
        report = SlaReport(month, month.span.end, Fraction(effect.slo), tuple(
            Compliance(service, Span(month.start, len(letters)), decode(letters))
            for service, letters in effect.verdicts.items()))
        from bot.sla_chart import render_png  # matplotlib: loaded when a chart is drawn

        png = await asyncio.to_thread(render_png, report)
        try:
            await call(self.client.files_upload_v2(channel=posted["channel"], file=png, filename=f"sla-{month}.png",
                                                   title=f"SLA {month}"))
        except PermanentSlackError as exc:
            if str(exc) != "not_in_channel":
                raise
            log.warning("sla_chart_not_shared", channel=effect.channel)
            await call(self.client.chat_postMessage(channel=posted["channel"], text=(
                "The chart could not be attached: invite warroom to this channel (files are shared only where it "
                "is a member).")))

    handlers = {fx.SlaNotice: _notice, fx.SlaMonthlyReport: _report}
