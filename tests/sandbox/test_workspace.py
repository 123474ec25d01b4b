"""The sandbox is as strict as Slack about what it hands out: message timestamps are unique and increasing."""

from bot.sandbox.workspace import Workspace


def test_message_timestamps_are_unique_and_increasing_even_within_one_microsecond():
    workspace = Workspace(now=lambda: 1795794705.3509935)  # a frozen clock, where float steps round together
    stamps = [workspace.new_ts() for _ in range(20_000)]
    assert len(set(stamps)) == len(stamps)
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert all(len(s.split(".")[1]) == 6 for s in stamps)


def test_message_metadata_is_checked_and_read_back_only_when_asked_for():
    import pytest

    from bot.sandbox.webapi import WebApi
    from bot.sandbox.workspace import ApiError

    workspace = Workspace()
    api = WebApi(workspace, lambda: "http://sandbox/", lambda event: None)
    general = workspace.channel("general").id
    for bad in ('{"event_type": "x"}', "not json", {"event_type": 1, "event_payload": {}}):
        with pytest.raises(ApiError, match="invalid_metadata_format"):
            api.call("chat.postMessage", {"channel": general, "text": "hi", "metadata": bad})
    tag = {"event_type": "warroom_effect", "event_payload": {"post": "7.1"}}
    api.call("chat.postMessage", {"channel": general, "text": "hi", "metadata": tag})
    [plain] = api.call("conversations.history", {"channel": general})["messages"]
    [full] = api.call("conversations.history", {"channel": general, "include_all_metadata": "true"})["messages"]
    assert "metadata" not in plain and full["metadata"] == tag
