"""Inbound flood protection: how many messages one user may send before the bot pauses.

Outbound limits (what a platform allows the bot to send) belong to the adapters and
their libraries, e.g. python-telegram-bot's ``AIORateLimiter``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter


class InboundLimiter(ABC):
    """Decides whether a user's next message is handled."""

    @abstractmethod
    def allow(self, key: str) -> bool:
        """Whether to handle one more message from ``key`` now (consumes capacity)."""

    @abstractmethod
    def should_warn(self, key: str) -> bool:
        """Whether to tell ``key`` once that they are being slowed down."""

    @abstractmethod
    def forget(self, key: str) -> None:
        """Drop what is kept about ``key``."""


class PerKeyLimiter(InboundLimiter):
    """A moving window per user, e.g. ``"30/minute"`` (parsed by the ``limits`` library).

    By default the windows are kept in this process and a user's is dropped once its last
    message has left it, so memory follows the users active within one window, not every
    user ever seen. (``limits``' own ``MemoryStorage`` keeps an empty entry for every key
    forever.) Passing a ``limits`` storage (e.g. Redis, whose keys expire) makes the limit
    hold across several replicas instead.
    """

    def __init__(
        self,
        rate: str = "30/minute",
        storage: Storage | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.item: RateLimitItem = parse(rate)
        self.storage = storage
        self._shared = MovingWindowRateLimiter(storage) if storage is not None else None
        self._warn_item = parse(f"1/{self.item.get_expiry()} second")
        self._window = float(self.item.get_expiry())
        self._clock = clock
        # Per key, the times of its counted messages (newest last); keys in the order of
        # their newest message, so the ones whose window has passed are at the front.
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._warned: OrderedDict[str, float] = OrderedDict()

    def allow(self, key: str) -> bool:
        if self._shared is not None:
            return self._shared.hit(self.item, key)
        now = self._clock()
        self._expire(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self.item.amount)
        elif len(hits) == hits.maxlen and hits[0] >= now - self._window:
            return False  # not counted, as in the limits library: the window stays put
        hits.append(now)
        self._hits.move_to_end(key)
        return True

    def should_warn(self, key: str) -> bool:
        if self._shared is not None:
            return self._shared.hit(self._warn_item, "warn", key)
        now = self._clock()
        self._expire(now)
        if key in self._warned:
            return False
        self._warned[key] = now
        return True

    def forget(self, key: str) -> None:
        if self.storage is not None:
            self.storage.clear(self.item.key_for(key))
            self.storage.clear(self._warn_item.key_for("warn", key))
            return
        self._hits.pop(key, None)
        self._warned.pop(key, None)

    def tracked(self) -> int:
        """How many keys are kept in this process (for tests and metrics)."""
        return len(self._hits) + len(self._warned)

    def _expire(self, now: float) -> None:
        """Drop every key whose newest message (or warning) has left the window."""
        cutoff = now - self._window
        while self._hits:
            key, hits = next(iter(self._hits.items()))
            if hits[-1] >= cutoff:
                break
            del self._hits[key]
        while self._warned:
            key, at = next(iter(self._warned.items()))
            if at >= cutoff:
                break
            del self._warned[key]
