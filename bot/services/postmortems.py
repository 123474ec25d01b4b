"""Renders the post-mortem draft from templates/postmortem.md.j2 (a team's own template wins)."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.core.postmortem import facts
from bot.services.incidents import IncidentService

BUILT_IN = Path(__file__).resolve().parent.parent / "templates"


def _plain_mentions(text: str, name_of) -> str:
    return re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: "@" + name_of(m.group(1)), text)


async def render(service: IncidentService, incident_id: int, *, names: dict[str, str] | None = None,
                 template_dir: Path = Path("templates")) -> str:
    names = names or {}

    def name_of(user: str | None) -> str:
        return names.get(user, user) if user else "—"

    async with service.store.transaction() as tx:
        incident = await tx.incident(incident_id)
        timeline = await tx.timeline(incident_id)
    if incident is None:
        raise LookupError(f"no incident {incident_id}")
    found = facts(incident, timeline, name_of)
    env = Environment(loader=FileSystemLoader([str(template_dir), str(BUILT_IN)]), undefined=StrictUndefined,
                      autoescape=False, trim_blocks=True, lstrip_blocks=True)
    text = env.get_template("postmortem.md.j2").render(
        incident=found.incident, durations=found.durations, timeline=found.timeline, name=name_of, responders=[name_of(u) for u in found.incident.responders],
        participants=found.participants, severity_changes=found.severity_changes, updates=found.updates)
    return _plain_mentions(text, name_of)
