"""config.yaml's `status_page` section: the components customers see, the public messages each severity starts
from, and where the page lives (warroom's own /status, Atlassian Statuspage, or both)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bot.config_base import Strict
from bot.config_remediation import EnvName, is_loopback
from bot.environment import WARROOM_SECRETS

DEFAULT_MESSAGES = {
    "sev1": "Users may be unable to use {components}. We are working on it and will post an update within 15 "
            "minutes.",
    "sev2": "Users may see slow responses or errors from {components}. We are looking into it.",
    "sev3": "Some users may see problems with {components}. We are looking into it.",
    "sev4": "We are looking into a minor issue with {components}.",
    "still_investigating": "We are still working on the problem with {components} and will post another update "
                           "within 15 minutes.",
    "resolved": "This incident is resolved: {components} work normally again. Thank you for your patience.",
}
MESSAGE_KEYS = tuple(DEFAULT_MESSAGES)


def _https_or_loopback(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))):
        return value
    raise ValueError("must be an https:// URL (http:// only to a loopback address)")


class ComponentSection(Strict):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: Annotated[str, Field(max_length=300)] = ""
    services: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list, description="the incident services (or alerts' service labels) that affect it")
    group: Annotated[str, Field(max_length=80)] | None = None


class StatuspageSection(Strict):
    """Atlassian Statuspage (STATUSPAGE_API_KEY in the environment)."""

    page_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,40}$")] | None = None
    components: dict[str, Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,40}$")]] = Field(
        default_factory=dict, description="component name: its Statuspage component id")


class SubscriberSection(Strict):
    """Who gets a signed webhook for every public change (HMAC-SHA256 of the body with the secret)."""

    url: Annotated[str, Field(max_length=2000)]
    secret_env: EnvName

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _https_or_loopback(value)

    @field_validator("secret_env")
    @classmethod
    def _not_ours(cls, value: str) -> str:
        if value in WARROOM_SECRETS:
            raise ValueError(f"{value} is warroom's own secret; give subscribers a secret of their own")
        return value


class StatusPageSection(Strict):
    provider: Literal["embedded", "statuspage", "both"] = "embedded"
    title: Annotated[str, Field(min_length=1, max_length=100)] = "Service status"
    public_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = Field(
        None, description="where customers read the page; shown in the war room and the announcement")
    components: list[ComponentSection] = Field(default_factory=list)
    messages: dict[str, Annotated[str, Field(min_length=1, max_length=1000)]] = Field(default_factory=dict)
    reminder_minutes: Annotated[int, Field(ge=1, le=120)] = Field(
        15, description="during a SEV-1, the Communicator is reminded after this long without a public update")
    statuspage: StatuspageSection = Field(default_factory=lambda: StatuspageSection())
    subscribers: list[SubscriberSection] = Field(default_factory=list)

    @field_validator("messages")
    @classmethod
    def _known_messages(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if key not in DEFAULT_MESSAGES:
                raise ValueError(f"`{key}` is no message warroom sends (known: {', '.join(MESSAGE_KEYS)})")
            try:
                text.format(components="x")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"{key}: only {{components}} may be filled in ({exc!r})") from None
        return value

    @model_validator(mode="after")
    def _statuspage_is_complete(self):
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError("two components have the same name")
        if self.provider in ("statuspage", "both"):
            if not self.statuspage.page_id:
                raise ValueError("provider `statuspage` needs status_page.statuspage.page_id")
            unknown = sorted(set(self.statuspage.components) - set(names))
            if unknown:
                raise ValueError(f"status_page.statuspage.components names {', '.join(unknown)}, which "
                                 f"status_page.components does not define")
        return self

    @property
    def configured(self) -> bool:
        """A team that has set nothing up gets no public incidents, no notices and no /status."""
        return bool(self.components or self.public_url or self.hosted or self.subscribers)

    @property
    def embedded(self) -> bool:
        return self.provider in ("embedded", "both")

    @property
    def hosted(self) -> bool:
        return self.provider in ("statuspage", "both")

    def message(self, key: str, components: list[str]) -> str:
        names = ", ".join(components) if components else "some of our services"
        return self.messages.get(key, DEFAULT_MESSAGES[key]).format(components=names)

    def components_for(self, service: str) -> list[str]:
        """The components an incident of this service affects; none when no component names the service (the
        IC or the Communicator picks them from the card: guessing "everything" would alarm every customer)."""
        return [c.name for c in self.components if service and service in c.services]
