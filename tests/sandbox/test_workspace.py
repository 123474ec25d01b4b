"""The sandbox is as strict as Slack about what it hands out: message timestamps are unique and increasing."""

from bot.sandbox.workspace import Workspace


def test_message_timestamps_are_unique_and_increasing_even_within_one_microsecond():
    workspace = Workspace(now=lambda: 1795794705.3509935)  # a frozen clock, where float steps round together
    stamps = [workspace.new_ts() for _ in range(20_000)]
    assert len(set(stamps)) == len(stamps)
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert all(len(s.split(".")[1]) == 6 for s in stamps)
