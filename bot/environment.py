"""The environment warroom runs in: tokens, endpoints and ports, which live only in environment variables
(config.yaml holds policy). Tokens are `SecretStr`: never shown in logs, reprs or tracebacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.yamlsource import SourceError, SourceInvalid

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./warroom.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# Environment variables that hold warroom's secrets: never passed to runbook commands.
WARROOM_SECRETS = frozenset({"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PAGERDUTY_API_TOKEN", "PAGERDUTY_WEBHOOK_SECRET",
                             "ALERTMANAGER_WEBHOOK_TOKEN", "STATUSPAGE_API_KEY", "DATABASE_URL"})


class Environment(BaseSettings):
    """Built from keywords (the demo, the tests) it reads nothing else; `from_os()` reads the variables."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # May hold a password: kept out of the repr like the tokens, and scrubbed from command output (secrets()).
    database_url: str = Field(DEFAULT_DATABASE_URL, repr=False)
    http_port: int = Field(8080, ge=0, le=65535, validation_alias="WARROOM_HTTP_PORT")
    config_path: Path = Field(Path("./config.yaml"), validation_alias="WARROOM_CONFIG")
    http_host: str = Field("0.0.0.0", validation_alias="WARROOM_HTTP_HOST")
    pagerduty_api_token: SecretStr | None = None
    pagerduty_api_url: str | None = None
    pagerduty_events_url: str | None = None
    pagerduty_from_email: str | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    alertmanager_webhook_token: SecretStr | None = None
    prometheus_url: str | None = None
    statuspage_api_key: SecretStr | None = None
    statuspage_api_url: str | None = None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings,)

    @field_validator("slack_api_url")
    @classmethod
    def _ends_with_a_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("statuspage_api_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL: the API key travels with every request")
        return value

    @classmethod
    def from_os(cls) -> "Environment":
        try:
            read = _FromVariables()
        except ValidationError as exc:
            raise SourceInvalid([SourceError("environment", None, _variable(error["loc"]), error["msg"])
                                 for error in exc.errors()]) from None
        return Environment(**read.values())

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    def with_(self, **changes: Any) -> "Environment":
        """A copy with some values changed (validated like the originals: a token given as text is a secret)."""
        return Environment(**{**self.values(), **changes})

    def secrets(self) -> list[str]:
        """The secret values warroom holds, to scrub from anything a runbook command prints."""
        tokens = (self.slack_bot_token, self.slack_app_token, self.pagerduty_api_token, self.pagerduty_webhook_secret,
                  self.alertmanager_webhook_token, self.statuspage_api_key)
        return [token.get_secret_value() for token in tokens if token] + ([self.database_url] if self.database_url
                                                                          else [])


def secret(value: SecretStr | None) -> str | None:
    """The text of a token, where it is handed to the client that sends it."""
    return value.get_secret_value() if value is not None else None


class _FromVariables(Environment):
    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (env_settings,)


def _variable(location: tuple) -> str:
    field = str(location[0]) if location else ""
    alias = Environment.model_fields[field].validation_alias if field in Environment.model_fields else None
    return str(alias or field.upper())
