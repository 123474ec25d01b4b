"""What warroom needs of its Slack app: the bot scopes and events manifest.yaml must ask for.
tests/test_manifest.py holds the manifest to exactly these, and `warroom check --slack` the installed token."""

REQUIRED_SCOPES = frozenset({
    "commands",            # /incident, /postmortem, /oncall, /sla
    "channels:manage",     # create war rooms, set topic and purpose, invite people
    "channels:read",       # find configured channels; war-room members and their joins
    "groups:read",         # ...configured channels that are private
    "channels:history",    # read a message someone marked with :pushpin:, and the post-mortem's history
    "chat:write",          # post
    "chat:write.public",   # post in the announcement channel without joining it
    "pins:read", "pins:write", "reactions:read", "users:read", "usergroups:read", "canvases:write", "files:write",
    "files:read",          # who last edited the post-mortem canvas: never overwrite someone's edits
    "bookmarks:write",
})
EVENTS = frozenset({"reaction_added", "pin_added", "member_joined_channel", "member_left_channel"})
