"""manifest.yaml is what creates the Slack app: it must parse, follow Slack's manifest rules, and ask for
exactly the scopes and events the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import yaml

from bot.slack.scopes import EVENTS, REQUIRED_SCOPES

ROOT = Path(__file__).resolve().parent.parent

# Slack's app-manifest rules (https://api.slack.com/reference/manifests) for the parts warroom's manifest
# uses, written as a JSON Schema: unknown keys are refused at every level, as Slack refuses them.
_STRINGS = {"type": "array", "items": {"type": "string"}}
MANIFEST_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["display_information"],
    "properties": {
        "_metadata": {"type": "object", "additionalProperties": False,
                      "properties": {"major_version": {"type": "integer"}, "minor_version": {"type": "integer"}}},
        "display_information": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 35},
                           "description": {"type": "string", "maxLength": 140},
                           "long_description": {"type": "string", "maxLength": 4000},
                           "background_color": {"type": "string", "pattern": "^#(?:[0-9a-fA-F]{3}){1,2}$"}}},
        "features": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "app_home": {"type": "object", "additionalProperties": False,
                             "properties": {"home_tab_enabled": {"type": "boolean"},
                                            "messages_tab_enabled": {"type": "boolean"},
                                            "messages_tab_read_only_enabled": {"type": "boolean"}}},
                "bot_user": {"type": "object", "additionalProperties": False, "required": ["display_name"],
                             "properties": {"display_name": {"type": "string", "maxLength": 80,
                                                             "pattern": r"^[\w\-.]+$"},
                                            "always_online": {"type": "boolean"}}},
                "slash_commands": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["command", "description"],
                    "properties": {"command": {"type": "string", "maxLength": 32, "pattern": "^/"},
                                   "description": {"type": "string", "maxLength": 2000},
                                   "should_escape": {"type": "boolean"}, "url": {"type": "string"},
                                   "usage_hint": {"type": "string", "maxLength": 1000}}}}}},
        "oauth_config": {
            "type": "object", "additionalProperties": False,
            "properties": {"redirect_urls": _STRINGS,
                           "scopes": {"type": "object", "additionalProperties": False,
                                      "properties": {"bot": {**_STRINGS, "maxItems": 255},
                                                     "user": {**_STRINGS, "maxItems": 255}}}}},
        "settings": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "event_subscriptions": {"type": "object", "additionalProperties": False,
                                        "properties": {"request_url": {"type": "string"},
                                                       "bot_events": {**_STRINGS, "maxItems": 100},
                                                       "user_events": {**_STRINGS, "maxItems": 100}}},
                "interactivity": {"type": "object", "additionalProperties": False, "required": ["is_enabled"],
                                  "properties": {"is_enabled": {"type": "boolean"}, "request_url": {"type": "string"},
                                                 "message_menu_options_url": {"type": "string"}}},
                "org_deploy_enabled": {"type": "boolean"}, "socket_mode_enabled": {"type": "boolean"},
                "token_rotation_enabled": {"type": "boolean"}}}}}

# Every Web API method the code calls, with the bot scopes it needs. A call that is not listed fails the test,
# so that a new one cannot ship without its scope.
METHOD_SCOPES = {
    "auth_test": set(), "views_open": set(), "chat_getPermalink": set(),
    "chat_postMessage": {"chat:write"}, "chat_update": {"chat:write"}, "chat_postEphemeral": {"chat:write"},
    "conversations_create": {"channels:manage"}, "conversations_invite": {"channels:manage"},
    "conversations_setTopic": {"channels:manage"}, "conversations_setPurpose": {"channels:manage"},
    "conversations_list": {"channels:read", "groups:read"}, "conversations_info": {"channels:read", "groups:read"}, "conversations_members": {"channels:read"},
    "conversations_history": {"channels:history"}, "conversations_replies": {"channels:history"},
    "users_info": {"users:read"}, "usergroups_list": {"usergroups:read"}, "usergroups_users_list": {"usergroups:read"},
    "pins_add": {"pins:write"}, "bookmarks_add": {"bookmarks:write"},
    "canvases_create": {"canvases:write"}, "canvases_edit": {"canvases:write"}, "files_upload_v2": {"files:write"},
    "files_info": {"files:read"},
}
EVENT_SCOPES = {"reaction_added": {"reactions:read"}, "pin_added": {"pins:read"},
                "member_joined_channel": {"channels:read"}, "member_left_channel": {"channels:read"}}
# Not tied to one call: slash commands, and posting to the announcement channel without joining it.
ALWAYS = {"commands", "chat:write.public"}
NOT_WEB_API = {"send_socket_mode_response", "is_connected"}


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yaml").read_text())


def code() -> str:
    return "\n".join(path.read_text() for path in (ROOT / "bot").rglob("*.py") if "sandbox" not in path.parts)


def test_the_manifest_parses_and_follows_slacks_rules():
    jsonschema.validate(manifest(), MANIFEST_SCHEMA)


def test_the_manifest_asks_for_exactly_the_scopes_the_code_uses():
    called = set(re.findall(r"client\.([a-z]+_[A-Za-z0-9_]+)\(", code())) - NOT_WEB_API
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add the scopes of {sorted(unknown)} to METHOD_SCOPES (and to manifest.yaml)"
    listened = set(re.findall(r'app\.event\("([a-z_]+)"', code()))
    needed = ALWAYS | {scope for method in called for scope in METHOD_SCOPES[method]} | {
        scope for event in listened for scope in EVENT_SCOPES[event]}
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed == REQUIRED_SCOPES


def test_the_manifest_subscribes_to_exactly_the_events_and_commands_the_code_handles():
    listened = set(re.findall(r'app\.event\("([a-z_]+)"', code()))
    assert set(manifest()["settings"]["event_subscriptions"]["bot_events"]) == listened == EVENTS
    commands = set(re.findall(r'app\.command\("(/[a-z]+)"', code()))
    assert {c["command"] for c in manifest()["features"]["slash_commands"]} == commands
    assert manifest()["settings"]["socket_mode_enabled"] is True
    # Pages and reminders are DMs from the app: its Messages tab must be on, or nobody can answer them.
    assert manifest()["features"]["app_home"]["messages_tab_enabled"] is True
