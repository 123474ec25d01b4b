"""What Slack sends back when someone submits a modal: each input block's state, as Slack shapes it, from the
values a test gives by action_id. As strict as Slack: a required input left empty is refused, a choice must be
one of the element's own options, and a value for an input the modal lacks is an error in the test."""

from __future__ import annotations

from typing import Any


def view_state(view: dict, values: dict[str, Any]) -> tuple[dict[str, dict], dict[str, str]]:
    """(state.values, errors by block_id)."""
    state: dict[str, dict] = {}
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not element:
            continue
        action_id = element["action_id"]
        value = values.get(action_id)
        if value is None and not block.get("optional"):
            return {}, {block["block_id"]: "required (sandbox)"}
        entry: dict[str, Any] = {"type": element["type"]}
        if element["type"] == "plain_text_input":
            entry["value"] = value
        elif element["type"] == "static_select":
            chosen = [o for o in element.get("options", []) if o["value"] == value]
            entry["selected_option"] = chosen[0] if chosen else None
        elif element["type"] == "users_select":
            entry["selected_user"] = value
        elif element["type"] in ("checkboxes", "multi_static_select"):
            # Only the element's own options can be chosen, and each comes back whole.
            options = {o["value"]: o for o in element.get("options", [])}
            missing = [v for v in value or [] if v not in options]
            if missing:
                raise LookupError(f"{action_id} has no options {missing}")
            entry["selected_options"] = [options[v] for v in value or []]
        state[block["block_id"]] = {action_id: entry}
    unknown = set(values) - {a for b in state.values() for a in b}
    if unknown:
        raise LookupError(f"the modal has no inputs {sorted(unknown)}")
    return state, {}
