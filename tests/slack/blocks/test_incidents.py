"""Slack's limits hold for the longest inputs; user text is escaped everywhere it is shown."""

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bot.core import incident as core
from bot.core.incident import Role, Severity, Status
from bot.core.severity import DEFAULT_POLICIES
from bot.slack.blocks import incidents as blocks

NOW = datetime(2026, 11, 27, 10, tzinfo=timezone.utc)
EVIL = "<!channel> <@U999> & " + "x" * 5000


def long_incident():
    incident, _ = core.declare(EVIL, Severity.SEV1, "U0ALICE", NOW, description=EVIL, service=EVIL)
    incident = replace(incident, id=7, channel_id="C1", channel_name="incident-x")
    for n in range(60):
        incident, _ = core.assign_role(incident, Role.RESPONDER, f"U{n:08d}", "U0ALICE", NOW)
    return incident


def texts(rendered) -> list[str]:
    found = []

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                found.append(value["text"])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)
    walk(rendered)
    return found


def test_card_for_a_huge_incident_stays_within_limits_and_escapes_user_text():
    incident = long_incident()
    card = blocks.incident_card(incident, DEFAULT_POLICIES, NOW + timedelta(minutes=5))
    assert len(card) <= 50
    assert len(card[0]["text"]["text"]) <= 150
    for block in card:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
    mrkdwn = [t for t in texts(card[1:])]
    assert not any("<!channel>" in t or "<@U999>" in t for t in mrkdwn)
    assert "and 40 more" in json.dumps(card)


def test_resolved_card_shows_the_durations_and_no_buttons():
    incident = long_incident()
    incident, _ = core.post_update(incident, "fix", Status.MONITORING, "U0ALICE", NOW + timedelta(minutes=10))
    incident, _ = core.resolve(incident, EVIL, "U0ALICE", NOW + timedelta(minutes=30))
    card = blocks.incident_card(incident, DEFAULT_POLICIES, NOW + timedelta(minutes=31))
    assert not any(b["type"] == "actions" for b in card)
    assert "0s / 10m 0s / 30m 0s" in json.dumps(card)


def test_messages_escape_and_fit():
    incident = long_incident()
    policy = DEFAULT_POLICIES[Severity.SEV1]
    for text in (blocks.assessment(incident, policy, ["U0BOB"]),
                 blocks.declared_announcement(incident, policy, "S123"),
                 blocks.update_message(incident, EVIL, "U0ALICE", "identified"),
                 blocks.resolved_message(incident, EVIL, "U0ALICE", True),
                 blocks.card_fallback(incident)):
        assert "<!channel>" not in text and "<@U999>" not in text
        rendered = blocks.section(text)
        assert len(rendered[0]["text"]["text"]) <= 3000
    assert len(blocks.topic(incident)) <= 250 and "<!channel>" not in blocks.topic(incident)


def test_modals_fit_their_limits():
    incident = long_incident()
    for view in (blocks.declare_modal(DEFAULT_POLICIES, "C1"), blocks.role_modal("C1"),
                 blocks.update_modal("C1", Status.IDENTIFIED, EVIL), blocks.resolve_modal("C1", incident, EVIL)):
        assert len(view["title"]["text"]) <= 24 and len(view["blocks"]) <= 100


def test_list_of_many_incidents_fits_one_message():
    incident = long_incident()
    resolved, _ = core.resolve(incident, "", "U0ALICE", NOW)
    rendered = blocks.incident_list([incident] * 80, [resolved] * 5, NOW)
    assert len(rendered) <= 50
    assert "and 40 more" in json.dumps(rendered)
