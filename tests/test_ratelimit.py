"""The inbound flood limiter: a moving window per key, and nothing kept once it has passed."""

from __future__ import annotations

from bot.ratelimit import PerKeyLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_key_has_its_own_moving_window() -> None:
    clock = Clock()
    limiter = PerKeyLimiter("3/minute", clock=clock)
    assert [limiter.allow("alice") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("bob")
    clock.now += 30
    assert not limiter.allow("alice")  # refused messages do not count
    clock.now += 30.5
    # The first three have left the window: room for three more.
    assert [limiter.allow("alice") for _ in range(4)] == [True, True, True, False]


def test_the_window_moves_message_by_message() -> None:
    clock = Clock()
    limiter = PerKeyLimiter("2/minute", clock=clock)
    assert limiter.allow("alice")
    clock.now += 40
    assert limiter.allow("alice")
    clock.now += 10
    assert not limiter.allow("alice")
    clock.now += 11  # the first has left the window, the second has not
    assert limiter.allow("alice")
    assert not limiter.allow("alice")


def test_a_user_is_warned_once_per_window() -> None:
    clock = Clock()
    limiter = PerKeyLimiter("1/minute", clock=clock)
    assert [limiter.should_warn("alice") for _ in range(3)] == [True, False, False]
    assert limiter.should_warn("bob")
    clock.now += 61
    assert limiter.should_warn("alice")


def test_keys_whose_window_has_passed_are_forgotten() -> None:
    clock = Clock()
    limiter = PerKeyLimiter("30/minute", clock=clock)
    for user in range(10_000):
        assert limiter.allow(f"user-{user}")
        limiter.should_warn(f"user-{user}")
    assert limiter.tracked() == 20_000
    clock.now += 30
    limiter.allow("late")
    assert limiter.tracked() == 20_001  # still within their window
    clock.now += 31
    limiter.allow("another")
    # Only the users active within the last minute are kept.
    assert limiter.tracked() == 2
    assert limiter.allow("user-1")


def test_forget_drops_the_key_at_once() -> None:
    clock = Clock()
    limiter = PerKeyLimiter("1/minute", clock=clock)
    assert limiter.allow("alice") and limiter.should_warn("alice")
    assert not limiter.allow("alice")
    limiter.forget("alice")
    assert limiter.tracked() == 0
    assert limiter.allow("alice") and limiter.should_warn("alice")
