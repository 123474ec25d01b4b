"""What the incident commands read, on both databases."""

import asyncio

from sqlalchemy import event

from bot.core.incident import Severity
from bot.services.incidents import IncidentService
from tests.conftest import ALICE, FakeDirectory


async def test_everybody_listing_at_once_shares_the_reads_and_sees_what_was_declared_before(store, clock, settings):
    svc = IncidentService(store, settings, clock, FakeDirectory())
    for n, title in enumerate(["Checkout is down", "Search is slow"]):
        await svc.declare(title=title, severity=Severity.SEV2, actor=ALICE, request_key=f"k{n}")
    statements = []

    def count(conn, cursor, statement, *args):
        if "FROM incidents" in statement:
            statements.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        overviews = await asyncio.gather(*(svc.overview() for _ in range(50)))
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    assert {tuple(incident.title for incident in overview.open) for overview in overviews} == {
        ("Checkout is down", "Search is slow")}
    assert len(statements) <= 4, statements  # open and recently resolved, once or twice; not fifty times
    await svc.declare(title="Login fails", severity=Severity.SEV1, actor=ALICE, request_key="k3")
    assert [incident.title for incident in (await svc.overview()).open][0] == "Login fails"
