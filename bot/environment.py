"""The environment warroom runs in: tokens, endpoints and ports, which live only in environment variables
(config.yaml holds policy). Never shown in logs or tracebacks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.yamlsource import SourceError, SourceInvalid

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./warroom.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# Environment variables that hold warroom's secrets: never passed to runbook commands.
WARROOM_SECRETS = frozenset({"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PAGERDUTY_API_TOKEN", "PAGERDUTY_WEBHOOK_SECRET",
                             "ALERTMANAGER_WEBHOOK_TOKEN", "STATUSPAGE_API_KEY", "DATABASE_URL"})


@dataclass(frozen=True)
class Environment:
    slack_bot_token: str | None
    slack_app_token: str | None
    slack_api_url: str
    database_url: str
    http_port: int
    config_path: Path
    http_host: str = "0.0.0.0"
    pagerduty_api_token: str | None = None
    pagerduty_api_url: str | None = None
    pagerduty_events_url: str | None = None
    pagerduty_from_email: str | None = None
    pagerduty_webhook_secret: str | None = None

    @classmethod
    def from_os(cls) -> "Environment":
        port = os.environ.get("WARROOM_HTTP_PORT", "8080")
        if not port.isdigit():
            raise SourceInvalid([SourceError("environment", None, "WARROOM_HTTP_PORT", f"not a port number: {port!r}")])
        api_url = os.environ.get("SLACK_API_URL", DEFAULT_SLACK_API_URL)
        return cls(
            slack_bot_token=os.environ.get("SLACK_BOT_TOKEN"),
            slack_app_token=os.environ.get("SLACK_APP_TOKEN"),
            slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            http_port=int(port),
            http_host=os.environ.get("WARROOM_HTTP_HOST") or "0.0.0.0",
            config_path=Path(os.environ.get("WARROOM_CONFIG", "./config.yaml")),
            pagerduty_api_token=os.environ.get("PAGERDUTY_API_TOKEN") or None,
            pagerduty_api_url=os.environ.get("PAGERDUTY_API_URL") or None,
            pagerduty_events_url=os.environ.get("PAGERDUTY_EVENTS_URL") or None,
            pagerduty_from_email=os.environ.get("PAGERDUTY_FROM_EMAIL") or None,
            pagerduty_webhook_secret=os.environ.get("PAGERDUTY_WEBHOOK_SECRET") or None,
        )

    def secrets(self) -> list[str]:
        """The secret values warroom holds, to scrub from anything a runbook command prints."""
        return [v for v in (self.slack_bot_token, self.slack_app_token, self.pagerduty_api_token,
                            self.pagerduty_webhook_secret, self.database_url) if v]

    def __repr__(self) -> str:  # never show tokens in logs or tracebacks
        return f"Environment(slack_api_url={self.slack_api_url!r}, http_port={self.http_port}, tokens=<hidden>)"
