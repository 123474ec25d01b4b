"""Effect performers for Slack: the war room (war_room.py), runbooks, post-mortems; how they call Slack."""
