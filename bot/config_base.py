"""What every section of config.yaml shares: strict, frozen models, and the way channels are named."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """An unknown key is an error (a typo in config.yaml is named, not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# A channel's name, or its ID (C…, G…: what stays right when someone renames the channel).
ChannelName = Annotated[str, Field(pattern=r"^(?:[a-z0-9][a-z0-9_-]{0,79}|[CG][A-Z0-9]{6,})$")]
