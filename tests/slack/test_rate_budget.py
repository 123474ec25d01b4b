"""The shared rate budget, on a fake clock: bursts, the steady rate, deferred callers one slot apart."""

from bot.slack.rate_budget import RateBudget


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_tier_2_burst_goes_at_once_then_one_every_three_seconds_each_deferred_caller_its_own_slot():
    clock = Clock()
    budget = RateBudget(clock)
    assert [budget.take("conversations.create") for _ in range(20)] == [0.0] * 20
    waits = [budget.take("conversations.create") for _ in range(5)]
    assert [round(w, 1) for w in waits] == [3.0, 6.0, 9.0, 12.0, 15.0]
    # Each comes back at its slot and goes; a newcomer queues behind the promised ones.
    for wait in waits:
        clock.now = 1000.0 + wait
        assert budget.take("conversations.create") == 0.0
    clock.now = 1015.0
    assert round(budget.take("conversations.create"), 1) == 3.0


def test_posts_are_budgeted_per_channel_and_unknown_methods_not_at_all():
    clock = Clock()
    budget = RateBudget(clock)
    assert [budget.take("chat.postMessage", "C1") for _ in range(3)] == [0.0] * 3
    assert round(budget.take("chat.postMessage", "C1"), 1) == 1.0
    assert budget.take("chat.postMessage", "C2") == 0.0  # another channel has its own budget
    assert all(budget.take("users.info") == 0.0 for _ in range(500))


def test_a_429_holds_the_whole_key_back_for_its_retry_after():
    clock = Clock()
    budget = RateBudget(clock)
    budget.rate_limited("pins.add", None, 30)
    assert budget.take("pins.add") >= 29
    clock.now += 31
    assert budget.take("pins.add", None) == 0.0
