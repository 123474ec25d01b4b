"""The architecture, held by a test: a pure core, and adapters that reach storage only through services."""

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
IO_LIBRARIES = {"slack_sdk", "slack_bolt", "sqlmodel", "sqlalchemy", "aiohttp", "httpx", "asyncpg", "aiosqlite",
                "requests", "pagerduty", "yaml", "jinja2", "structlog", "time", "os", "pathlib", "socket",
                "asyncio", "subprocess"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_no_io_library_and_nothing_outside_the_core():
    for path in (BOT / "core").rglob("*.py"):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in IO_LIBRARIES, f"{path.name} imports {name}"
            assert top != "bot" or name.startswith("bot.core"), f"{path.name} imports {name}"


def test_core_reads_no_clock():
    for path in (BOT / "core").rglob("*.py"):
        text = path.read_text()
        assert "datetime.now" not in text and "utcnow" not in text, path.name


def test_slack_and_http_reach_storage_only_through_services():
    for folder in ("slack", "http"):
        for path in (BOT / folder).rglob("*.py"):
            for name in imports(path):
                assert not name.startswith("bot.storage"), f"{folder}/{path.name} imports {name}"


def test_modules_stay_small():
    for path in BOT.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 450, f"{path.relative_to(BOT)} has {lines} lines: split it by meaning"


def test_services_reach_the_database_only_through_repositories():
    for path in (BOT / "services").rglob("*.py"):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in {"sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite"}, f"services/{path.name} imports {name}"
            assert name != "bot.storage.tables", f"services/{path.name} imports the table module"
        assert "tx.session" not in path.read_text(), f"services/{path.name} writes SQL through tx.session"


def test_the_receiver_process_stays_small():
    """`python -m bot.receiver` acks every envelope: it must not load pydantic, SQLAlchemy or Bolt (it once loaded
    pydantic through the effect types: +9 MB and a slower start)."""
    import subprocess
    import sys

    code = ("import sys, bot.receiver; print(sorted(m for m in ('pydantic', 'sqlalchemy', 'slack_bolt') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", loaded
