"""Request bodies checked against PagerDuty's official OpenAPI specs (copied from shared/specs/pagerduty)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).with_name("specs") / "pagerduty"


def _errata(rest: dict) -> dict:
    """Where the spec contradicts the service, the service wins, and only there. `IncidentBody.details` is
    declared an object, but the spec's own example for POST /incidents sends a string, PagerDuty's Incident
    Creation documentation takes a string, and its Go client declares a string."""
    rest["components"]["schemas"]["IncidentBody"]["properties"]["details"] = {
        "type": "string", "description": "Additional incident details."}
    return rest


@lru_cache(maxsize=None)
def _registry() -> Registry:
    rest = _errata(json.loads((SPECS / "rest-openapiv3.json").read_text()))
    events = json.loads((SPECS / "events-v2-openapiv3.json").read_text())
    return Registry().with_resources([
        ("urn:pagerduty:rest", Resource.from_contents(rest, default_specification=DRAFT4)),
        ("urn:pagerduty:events", Resource.from_contents(events, default_specification=DRAFT4)),
    ])


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def validate(method: str, template: str, body: dict) -> list[str]:
    """The problems with `body` as the request body of `method template`; empty when it is valid."""
    document, path = ("urn:pagerduty:events", "/enqueue") if template == "/v2/enqueue" else ("urn:pagerduty:rest", template)
    spec = _registry().contents(document)
    operation = spec["paths"].get(path, {}).get(method)
    if operation is None:
        return [f"{method.upper()} {path} is not in the spec"]
    schema = {"$ref": f"{document}#/paths/{_pointer(path)}/{method}/requestBody/content/application~1json/schema"}
    validator = OAS30Validator(schema, registry=_registry())
    return [f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(body)]
