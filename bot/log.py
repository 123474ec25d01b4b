"""structlog set-up: JSON lines on stderr, with the incident and channel bound per request."""

from __future__ import annotations

import contextlib
import logging
import sys

import structlog


def configure(level: str = "INFO", *, json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=shared + [structlog.processors.format_exc_info,
                             structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer], foreign_pre_chain=shared))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries speak only when something is wrong; their debug output can include request details.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp", "sqlalchemy", "alembic", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@contextlib.contextmanager
def logged(event: str, logger=None):
    """Carries on past a failure that something else retries or that does not matter any more (the next look,
    the next start, a connection being closed anyway), but says so: nothing is swallowed silently."""
    try:
        yield
    except Exception:
        (logger or structlog.get_logger("warroom")).exception(event)
