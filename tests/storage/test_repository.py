"""Storage on both databases: migrations, round trips, time zones."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from bot.core import incident as core
from bot.core.incident import Role, Severity
from bot.storage import database


async def test_migrations_apply_twice(database_url):
    engine = database.create_engine(database_url)
    try:
        await database.upgrade(engine)
        await database.upgrade(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"incidents", "timeline", "outbox", "processed_requests"} <= tables
    finally:
        await engine.dispose()


async def test_an_incident_round_trips_with_aware_times(store, clock):
    incident, events = core.declare("Round trip", Severity.SEV1, "U1", clock.now(), description="d", service="s")
    incident, _ = core.assign_role(incident, Role.RESPONDER, "U2", "U1", clock.now() + timedelta(minutes=1))
    incident = replace(incident, channel_name="incident-x", paged=("primary",))
    async with store.transaction() as tx:
        saved = await tx.incidents.add(incident, title_key="round-trip", request_key="k")
        await tx.timeline.append(saved.id, events)
    async with store.transaction() as tx:
        loaded = await tx.incidents.get(saved.id)
        timeline = await tx.timeline.of(saved.id)
    assert loaded == saved
    assert loaded.declared_at.tzinfo is not None and loaded.declared_at == clock.now()
    assert loaded.responders == ("U2",) and loaded.paged == ("primary",)
    assert timeline[0].at == clock.now()


async def test_naive_datetimes_are_refused(store):
    incident = core.Incident("naive", Severity.SEV2, "U1", datetime(2026, 1, 1), channel_name="incident-naive")
    with pytest.raises(Exception, match="naive"):
        async with store.transaction() as tx:
            await tx.incidents.add(incident, title_key="naive", request_key=None)


async def test_times_in_other_zones_are_stored_as_the_same_instant(store):
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 3, 29, 10, 30, tzinfo=tokyo)
    incident = core.Incident("zones", Severity.SEV2, "U1", moment, channel_name="incident-zones")
    async with store.transaction() as tx:
        saved = await tx.incidents.add(incident, title_key="zones", request_key=None)
    async with store.transaction() as tx:
        assert (await tx.incidents.get(saved.id)).declared_at == moment


def test_every_field_of_an_incident_has_its_column():
    """The incident's fields are listed once, in the core: storage follows them (a new field without its column
    fails here, not at the first save)."""
    import dataclasses

    from bot.core.incident import Incident
    from bot.storage.tables import IncidentRow

    columns = set(IncidentRow.__table__.c.keys())
    assert {f.name for f in dataclasses.fields(Incident)} <= columns
