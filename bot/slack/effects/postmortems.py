"""Publishes the post-mortem draft: a canvas in the war room, or an uploaded Markdown file where canvases
are unavailable. Drafting again edits the canvas (or uploads the new version)."""

from __future__ import annotations

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import effects as fx
from bot.core.effects import PostmortemRefs
from bot.core.incident import Incident
from bot.core.ports import Performer, RetryLater
from bot.services.postmortems import PostmortemService
from bot.slack.effects.calls import PermanentSlackError, call

log = structlog.get_logger("warroom.slack")
# Errors that mean "no canvases here" (plan, settings, scopes): fall back to a file.
NO_CANVAS = {"canvas_disabled_user_team", "team_tier_cannot_create_canvases", "not_allowed", "missing_scope",
             "free_teams_cannot_create_non_tabbed_canvases", "canvas_creation_failed", "unknown_method",
             "restricted_action"}


class PostmortemEffects(Performer):
    def __init__(self, client: AsyncWebClient, service: PostmortemService):
        self.client = client
        self.service = service

    async def _publish(self, effect: fx.PublishPostmortem, incident: Incident | None) -> fx.Result:
        if incident is None or not incident.channel_id:
            raise PermanentSlackError("a post-mortem without a war room")
        draft = await self.service.get(incident.id)
        version = f" (version {draft.version})" if draft.version > 1 else ""
        title = f"Post-mortem{version}: {incident.reference} {incident.title}"[:250]
        document = {"type": "markdown", "markdown": draft.content}
        if draft.canvas_id:
            await call(self.client.canvases_edit(canvas_id=draft.canvas_id,
                                                 changes=[{"operation": "replace", "document_content": document}]))
            await self._announce(incident, f":memo: The post-mortem canvas of {incident.reference} was updated.")
            return None
        if not draft.file_id:
            try:
                response = await call(self.client.canvases_create(title=title, document_content=document,
                                                                  channel_id=incident.channel_id))
                created = PostmortemRefs(canvas_id=response["canvas_id"])
                try:
                    await self._announce(incident, f":memo: Post-mortem draft of {incident.reference} is ready as a "
                                                   f"canvas in this channel: *{title}*. Review it, then "
                                                   f"`/postmortem review`.")
                except RetryLater as exc:
                    # The canvas exists: the retry edits it and announces, instead of creating a second one.
                    raise RetryLater(str(exc), exc.after_seconds, refs=created) from None
                return created
            except PermanentSlackError as exc:
                if str(exc) not in NO_CANVAS:
                    raise
                log.info("canvas_unavailable_using_file", reason=str(exc))
        response = await call(self.client.files_upload_v2(
            channel=incident.channel_id, content=draft.content, filename=f"{incident.reference}-postmortem.md",
            title=title, initial_comment=f":memo: Post-mortem draft of {incident.reference} (Markdown; canvases are "
                                         "not available in this workspace)."))
        file_id = (response.get("file") or {}).get("id") or response["files"][0]["id"]
        return PostmortemRefs(file_id=file_id)

    async def _announce(self, incident: Incident, text: str) -> None:
        await call(self.client.chat_postMessage(channel=incident.channel_id, text=text))

    handlers = {fx.PublishPostmortem: _publish}
