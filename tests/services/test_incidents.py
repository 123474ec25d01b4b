"""The lifecycle use cases on the real database (SQLite and PostgreSQL)."""

import asyncio

import pytest
from sqlalchemy import select

from bot.config import settings_from_mapping
from bot.core.effects import IncidentRefs
from bot.core.incident import DomainError, Role, Severity, Status
from bot.services.incidents import Duplicate, IncidentService, NotInWarRoom
from bot.storage.tables import OutboxRow
from tests.conftest import ALICE, BOB, CAROL, DAVE, TEST_CONFIG, FakeDirectory


def service(store, clock, settings, directory=None):
    return IncidentService(store, settings, clock, directory or FakeDirectory())


async def outbox(store, incident_id):
    async with store.transaction() as tx:
        rows = (await tx.session.execute(select(OutboxRow).where(OutboxRow.incident_id == incident_id)
                                         .order_by(OutboxRow.wave, OutboxRow.id))).scalars().all()
    return [(row.wave, f"{row.target}.{row.kind}") for row in rows]


async def open_room(store, incident, channel_id="C_ROOM"):
    async with store.transaction() as tx:
        await tx.incidents.set_refs(incident.id, IncidentRefs(channel_id=channel_id))
    return channel_id


async def test_declare_commits_incident_timeline_and_ordered_effects(store, clock, settings):
    result = await service(store, clock, settings).declare(title="Payments API returning 503",
                                                           severity=Severity.SEV1, actor=ALICE, request_key="t1")
    incident = result.incident
    assert result.created and incident.id and incident.channel_name == "incident-20261127-payments-api-returning-503"
    assert incident.paged == ("primary", "secondary")
    effects = await outbox(store, incident.id)
    assert effects[0] == (1, "slack.create_channel")
    assert {e for w, e in effects if w == 2} == {"slack.post_card", "slack.invite", "slack.announce",
                                                 "slack.set_topic", "slack.set_purpose", "slack.notify_leadership"}
    assert {e for w, e in effects if w == 3} == {"slack.pin_card", "slack.post_message"}
    async with store.transaction() as tx:
        timeline = await tx.timeline.of(incident.id)
        rows = (await tx.session.execute(select(OutboxRow).where(OutboxRow.kind == "invite"))).scalars().all()
    assert [t.kind for t in timeline] == ["declared", "paged"]
    assert timeline[1].text == "Paged <@U0BOB>, <@U0CAROL> (primary, secondary on call)"
    assert rows[0].payload["users"] == [ALICE, BOB, CAROL]


async def test_sev3_pages_nobody_and_drills_page_nobody(store, clock, settings):
    svc = service(store, clock, settings)
    minor = (await svc.declare(title="Slow admin page", severity=Severity.SEV3, actor=ALICE, request_key="a")).incident
    drill = (await svc.declare(title="Game day", severity=Severity.SEV1, actor=ALICE, request_key="b",
                               is_drill=True)).incident
    assert minor.paged == () and drill.paged == ()
    assert "slack.notify_leadership" not in {e for _, e in await outbox(store, drill.id)}
    assert not {e for _, e in await outbox(store, drill.id) if e.startswith("statuspage.")}


async def test_a_redelivered_declaration_is_a_duplicate(store, clock, settings):
    svc = service(store, clock, settings)
    await svc.declare(title="DB down", severity=Severity.SEV2, actor=ALICE, request_key="same")
    with pytest.raises(Duplicate):
        await svc.declare(title="DB down", severity=Severity.SEV2, actor=ALICE, request_key="same")
    assert len(await svc.open_incidents()) == 1


async def test_same_title_at_the_same_moment_makes_one_incident(store, clock, settings):
    svc = service(store, clock, settings)
    results = await asyncio.gather(*[svc.declare(title="Checkout is down", severity=Severity.SEV1, actor=user,
                                                 request_key=f"k{n}")
                                     for n, user in enumerate([ALICE, BOB, CAROL, DAVE])])
    assert sum(r.created for r in results) == 1
    assert len({r.incident.id for r in results}) == 1
    assert len(await svc.open_incidents()) == 1
    timeline = await svc.timeline(results[0].incident.id)
    assert sorted(t.kind for t in timeline) == ["declared", "joined", "joined", "joined", "paged"]


async def test_same_title_later_the_same_day_gets_a_numbered_channel(store, clock, settings):
    svc = service(store, clock, settings)
    first = (await svc.declare(title="Checkout down", severity=Severity.SEV2, actor=ALICE, request_key="1")).incident
    clock.advance(minutes=10)
    second = (await svc.declare(title="Checkout down", severity=Severity.SEV2, actor=ALICE, request_key="2")).incident
    room = await open_room(store, second, "C2")
    await svc.resolve(room, "", ALICE, "r")
    third = (await svc.declare(title="Checkout down", severity=Severity.SEV2, actor=ALICE, request_key="3")).incident
    assert [first.channel_name, second.channel_name, third.channel_name] == [
        "incident-20261127-checkout-down", "incident-20261127-checkout-down-2", "incident-20261127-checkout-down-3"]


async def test_escalation_pages_only_the_newly_required_people(store, clock, settings):
    svc = service(store, clock, settings)
    incident = (await svc.declare(title="Search slow", severity=Severity.SEV2, actor=ALICE, request_key="d")).incident
    room = await open_room(store, incident)
    updated = await svc.change_severity(room, Severity.SEV1, ALICE, "s1")
    assert updated.paged == ("primary", "secondary")
    async with store.transaction() as tx:
        invites = (await tx.session.execute(select(OutboxRow).where(OutboxRow.kind == "invite")
                                            .order_by(OutboxRow.id))).scalars().all()
        timeline = await tx.timeline.of(incident.id)
    assert invites[-1].payload["users"] == [CAROL]
    assert [t.text for t in timeline[-2:]] == ["Escalated from SEV-2 to SEV-1",
                                               "Paged <@U0CAROL> (secondary on call)"]
    again = await svc.change_severity(room, Severity.SEV1, BOB, "s2")
    assert again.paged == ("primary", "secondary")
    assert len(await svc.timeline(incident.id)) == len(timeline)


async def test_a_redelivered_change_is_ignored(store, clock, settings):
    svc = service(store, clock, settings)
    incident = (await svc.declare(title="Queue backlog", severity=Severity.SEV3, actor=ALICE, request_key="d")).incident
    room = await open_room(store, incident)
    await svc.post_update(room, "looking", None, ALICE, "u1")
    with pytest.raises(Duplicate):
        await svc.post_update(room, "looking", None, ALICE, "u1")
    assert [t.kind for t in await svc.timeline(incident.id)] == ["declared", "update"]


async def test_permissions_refuse_with_the_reason(store, clock):
    settings = settings_from_mapping({**TEST_CONFIG, "permissions": {"resolve": "ic",
                                                                     "change_severity": "usergroup:sre-leads"}})
    svc = service(store, clock, settings, FakeDirectory(groups={"sre-leads": {CAROL}}))
    incident = (await svc.declare(title="Login broken", severity=Severity.SEV2, actor=ALICE, request_key="d")).incident
    room = await open_room(store, incident)
    await svc.assign_role(room, Role.COMMANDER, BOB, ALICE, "r1")
    with pytest.raises(DomainError, match=r"Only the Incident Commander \(<@U0BOB>\) may resolve"):
        await svc.resolve(room, "", ALICE, "x1")
    with pytest.raises(DomainError, match="Only members of @sre-leads may change the severity of"):
        await svc.change_severity(room, Severity.SEV1, ALICE, "x2")
    assert (await svc.change_severity(room, Severity.SEV1, CAROL, "x3")).severity is Severity.SEV1
    resolved = await svc.resolve(room, "fixed", BOB, "x4")
    assert resolved.status is Status.RESOLVED
    with pytest.raises(DomainError, match="already resolved"):
        await svc.resolve(room, "again", BOB, "x5")


async def test_unknown_users_and_channels_are_refused(store, clock, settings):
    svc = service(store, clock, settings)
    incident = (await svc.declare(title="CDN errors", severity=Severity.SEV2, actor=ALICE, request_key="d")).incident
    room = await open_room(store, incident)
    with pytest.raises(DomainError, match="can't find a user"):
        await svc.assign_role(room, Role.COMMANDER, "U0NOBODY", ALICE, "r")
    with pytest.raises(NotInWarRoom, match="war-room channel"):
        await svc.post_update("C_GENERAL", "hello", None, ALICE, "u")


async def test_timeline_messages_are_added_once(store, clock, settings):
    svc = service(store, clock, settings)
    incident = (await svc.declare(title="Disk full", severity=Severity.SEV3, actor=ALICE, request_key="d")).incident
    room = await open_room(store, incident)
    await svc.add_note(room, "<@U0BOB>: disk at 100%", ALICE, "", permalink="https://x/p1", kind="message",
                       dedup_key="msg:C:1")
    with pytest.raises(Duplicate):
        await svc.add_note(room, "<@U0BOB>: disk at 100%", BOB, "", kind="message", dedup_key="msg:C:1")
    timeline = await svc.timeline(incident.id)
    assert [t.kind for t in timeline] == ["declared", "message"]
    assert timeline[1].data == {"permalink": "https://x/p1"}
