"""The post-mortem's states and what the IC is reminded of: decided in the core."""

import pytest

from bot.core import postmortem as core
from bot.core.incident import DomainError
from bot.core.postmortem import Postmortem, PostmortemState


def stored(state: PostmortemState, version: int = 1) -> Postmortem:
    return Postmortem(1, state, "text", [], None, None, None, version)


def test_states_only_move_forward():
    assert core.advance(PostmortemState.DRAFT, PostmortemState.IN_REVIEW, "INC-1") is PostmortemState.IN_REVIEW
    assert core.advance(PostmortemState.DRAFT, PostmortemState.PUBLISHED, "INC-1") is PostmortemState.PUBLISHED
    with pytest.raises(DomainError, match="already in review"):
        core.advance(PostmortemState.IN_REVIEW, PostmortemState.IN_REVIEW, "INC-1")
    with pytest.raises(DomainError, match="already published"):
        core.advance(PostmortemState.PUBLISHED, PostmortemState.IN_REVIEW, "INC-1")


def test_drafting_a_published_post_mortem_again_starts_its_next_version():
    assert core.redraft(stored(PostmortemState.PUBLISHED, 2)) == core.Redraft(3, True, "published")
    assert core.redraft(stored(PostmortemState.IN_REVIEW, 2)) == core.Redraft(2, False)


def test_drafting_again_over_hand_edits_starts_the_next_version_beside_them():
    assert core.redraft(stored(PostmortemState.DRAFT, 1), edited_by_hand=True) == core.Redraft(2, True, "edited")
    assert core.redraft(stored(PostmortemState.PUBLISHED, 1), edited_by_hand=True).because == "published"


@pytest.mark.parametrize("step, state, needed", [
    ("draft", None, True), ("draft", PostmortemState.DRAFT, False),
    ("review", PostmortemState.DRAFT, True), ("review", PostmortemState.IN_REVIEW, False),
    ("publish", PostmortemState.IN_REVIEW, True), ("publish", PostmortemState.PUBLISHED, False),
])
def test_the_ic_is_reminded_only_of_what_is_still_to_do(step, state, needed):
    assert core.reminder_needed(step, stored(state) if state else None) is needed
