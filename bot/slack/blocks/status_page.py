"""The status page in Slack: the card's *Status page* form (affected components) and the SEV-1 reminder to
update the page, with its one-click *Still investigating*."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    Option,
    SectionBlock,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.blocks.incidents import SECTION_LIMIT, Blocks, render
from bot.slack.ids import ActionId, CallbackId
from bot.slack.text import safe, truncate


def status_page_modal(channel_id: str, components: list[str], chosen: tuple[str, ...], says: str) -> dict:
    """The public incident's affected components, for the IC or the Communicator."""
    options = [Option(value=name[:75], text=name[:75]) for name in components[:100]]
    initial = [o for o in options if o.value in chosen] or None
    return View(type="modal", callback_id=CallbackId.STATUS_PAGE_MODAL, title="Status page", submit="Save",
                close="Cancel", private_metadata=channel_id, blocks=[
                    SectionBlock(text=truncate(says, SECTION_LIMIT)),
                    InputBlock(block_id="components", label="Affected components", optional=True,
                               element=StaticMultiSelectElement(action_id=ActionId.COMPONENTS_INPUT,
                                                                options=options, initial_options=initial)),
                ]).to_dict()


def public_reminder(text: str, template: str) -> Blocks:
    """The SEV-1 reminder to update the status page, with a one-click update from the template."""
    return render([
        SectionBlock(text=truncate(text, SECTION_LIMIT)),
        SectionBlock(text=truncate(f"*Still investigating* publishes: “{safe(template, 2000)}”", SECTION_LIMIT)),
        ActionsBlock(block_id="public_update_reminder", elements=[
            ButtonElement(text="Still investigating", action_id=ActionId.STILL_INVESTIGATING, value="still",
                          style="primary")]),
    ])
