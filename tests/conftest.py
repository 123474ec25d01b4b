"""Shared fixtures: both databases, a fake clock, the Slack sandbox and the bot wired as in production.

PostgreSQL tests need WARROOM_TEST_POSTGRES_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test);
.ci/run sets it. Each test gets a database of its own, created and dropped around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest

from bot.config import Environment, Settings, settings_from_mapping
from bot.sandbox.server import APP_TOKEN, BOT_TOKEN, SlackSandbox
from bot.storage import database
from bot.storage.repository import Store

POSTGRES_URL = os.environ.get("WARROOM_TEST_POSTGRES_URL")
ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"

TEST_CONFIG = {
    "slack": {"announce_channel": "incidents", "leadership_channel": "leadership"},
    "oncall": {"primary": [BOB], "secondary": [CAROL]},
    # Escalation DMs are tested on their own (tests/services/test_escalation.py); elsewhere they would only
    # add messages to every scenario.
    "escalation": {"enabled": False},
}


class FakeClock:
    def __init__(self, start: datetime | None = None):
        self.current = start or datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += timedelta(**delta)


@contextlib.asynccontextmanager
async def local_server(routes: dict):
    """A plain HTTP server on a loopback port for the duration: {path: POST handler}; yields its base URL."""
    from aiohttp import web

    app = web.Application()
    for path, handler in routes.items():
        app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def config_errors(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    """config.yaml with `text` refused at load: the file and its errors (file:line: field: message)."""
    from bot.config import load_settings
    from bot.yamlsource import SourceInvalid

    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(SourceInvalid) as caught:
        load_settings(path)
    return path, [str(e) for e in caught.value.errors]


class ShiftedClock:
    """Real time, moved forward on demand: a real Alertmanager's timestamps stay true while a timer an hour
    away can be reached in a test."""

    def __init__(self):
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


class FakeDirectory:
    def __init__(self, users=(ALICE, BOB, CAROL, DAVE, ERIN), groups: dict[str, set[str]] | None = None):
        self.users = set(users)
        self.groups = groups or {}
        self.outsiders: set[str] = set()  # users in no war room

    async def user_exists(self, user_id: str) -> bool:
        return user_id in self.users

    async def in_usergroup(self, user_id: str, handle: str) -> bool:
        return user_id in self.groups.get(handle, set())

    async def is_member(self, channel_id: str, user_id: str) -> bool:
        return user_id not in self.outsiders


def _admin_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def create_postgres_database() -> tuple[str, str]:
    name = f"warroom_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_admin_dsn())
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def drop_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(_admin_dsn())
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


FAILED_EFFECTS = "SELECT target, kind, last_error FROM outbox WHERE status = 'failed'"


async def failed_effects(url: str) -> list[tuple]:
    """Outbox rows that failed for good: a test that leaves one fails, unless it says it expects them."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(path)) as connection:
            try:
                return connection.execute(FAILED_EFFECTS).fetchall()
            except sqlite3.OperationalError:  # never migrated
                return []
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(row) for row in await connection.fetch(FAILED_EFFECTS)]
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await connection.close()


def check_no_failed_effects(request, failed: list[tuple]) -> None:
    if failed and request.node.get_closest_marker("failed_effects") is None:
        pytest.fail(f"the test left failed outbox rows (mark it failed_effects if it means to): {failed}",
                    pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}"
        yield url
        check_no_failed_effects(request, await failed_effects(url))
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need WARROOM_TEST_POSTGRES_URL (.ci/run sets it)")
    name, url = await create_postgres_database()
    try:
        yield url
        failed = await failed_effects(url)
    finally:
        await drop_postgres_database(name)
    check_no_failed_effects(request, failed)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """SQLite alone, migrated: for what only SQLite has (its one write lock, its checkpoints, its file)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}"
    engine = database.create_engine(url)
    await database.upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture
async def store(database_url):
    engine = database.create_engine(database_url)
    await database.upgrade(engine)
    yield Store(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    return settings_from_mapping(TEST_CONFIG)


@pytest.fixture
async def sandbox():
    server = await SlackSandbox().start()
    yield server
    await server.stop()


def sandbox_environment(sandbox: SlackSandbox, database_url: str, port: int = 0) -> Environment:
    return Environment(slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=sandbox.api_url,
                       database_url=database_url, http_port=port, config_path=Path("config.yaml"))


@pytest.fixture
async def bot_factory(sandbox, database_url, settings):
    """Starts the real bot (wiring.build + wiring.serve, as `warroom run` does) in this process."""
    from bot import wiring

    running = []

    async def start(settings_: Settings | None = None, clock=None, budget=None):
        from bot.slack.rate_budget import RateBudget

        runtime = wiring.build(sandbox_environment(sandbox, database_url), settings_ or settings, clock,
                               budget=budget or RateBudget.unlimited())
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(wiring.serve(runtime, stop, on_ready=ready.set, http=False))
        await asyncio.wait_for(ready.wait(), 15)
        running.append((stop, task))
        return runtime

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def bot(bot_factory):
    return await bot_factory()


PAGERDUTY_SERVICE, PAGERDUTY_POLICY = "PSVC001", "PPOL001"


@pytest.fixture
async def pagerduty(tmp_path, monkeypatch):
    """The HTTPS PagerDuty stand-in, trusted by this process, checking every body against the official specs."""
    from bot.sandbox.pagerduty import PagerDutySandbox
    from tests.pagerduty_spec import validate

    server = await PagerDutySandbox(validate=validate, webhook_secret="whsec-test").start()
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle(tmp_path / "ca-bundle.pem")))
    yield server
    await server.stop()
    assert not server.problems, server.problems  # a body PagerDuty's spec refuses fails the test that sent it


def pagerduty_environment(env: Environment, pagerduty) -> Environment:
    from bot.sandbox.pagerduty import API_TOKEN

    return env.with_(pagerduty_api_token=API_TOKEN, pagerduty_api_url=pagerduty.url,
                     pagerduty_events_url=pagerduty.url, pagerduty_from_email="warroom@example.com",
                     pagerduty_webhook_secret=pagerduty.webhook_secret)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def pagerduty_bot_factory(sandbox, database_url, pagerduty):
    """The real bot with its HTTP server and the PagerDuty mirror on, pointed at the stand-in (and it at the bot)."""
    from bot import wiring

    running = []

    async def start(settings_: Settings, clock=None):
        port = free_port()
        env = pagerduty_environment(sandbox_environment(sandbox, database_url, port), pagerduty)
        from bot.slack.rate_budget import RateBudget

        runtime = wiring.build(env, settings_, clock, budget=RateBudget.unlimited())
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(wiring.serve(runtime, stop, on_ready=ready.set, http=True))
        await asyncio.wait_for(ready.wait(), 15)
        running.append((stop, task))
        pagerduty.webhook_url = f"http://127.0.0.1:{port}/webhooks/pagerduty"
        return runtime

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)


ALERTMANAGER_TOKEN = "am-secret-token"


@pytest.fixture
async def alerts_bot_factory(sandbox, database_url):
    """The real bot with its HTTP server taking Alertmanager's webhook (bearer ALERTMANAGER_TOKEN); `start` may be
    called again after `stop`, on the same database, as a restart."""
    from bot import wiring
    from bot.slack.rate_budget import RateBudget

    running = []

    async def start(settings_: Settings, port: int | None = None, clock=None, **environment):
        port = port or free_port()
        env = sandbox_environment(sandbox, database_url, port).with_(
            alertmanager_webhook_token=f"old-token,{ALERTMANAGER_TOKEN}", **environment)
        runtime = wiring.build(env, settings_, clock, budget=RateBudget.unlimited())
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(wiring.serve(runtime, stop, on_ready=ready.set, http=True))
        await asyncio.wait_for(ready.wait(), 15)
        running.append((stop, task))
        runtime.url = f"http://127.0.0.1:{port}/webhooks/alertmanager"
        runtime.port = port

        async def halt():
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
        runtime.halt = halt
        return runtime

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)


async def wait_ready(url: str, process, what: str) -> None:
    """Polls a real server's readiness endpoint (Alertmanager's, Prometheus') until it answers 200; if it never
    does, fails with the end of what the process printed."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"{url}/-/ready") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"{what} did not start: {process.stderr.read1().decode()[-500:]}")

