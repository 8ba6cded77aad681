"""Inbound flood protection: how many messages one user may send before the bot pauses.

Outbound limits (what a platform allows the bot to send) belong to the adapters and
their libraries, e.g. python-telegram-bot's ``AIORateLimiter``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
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
    """A moving window per user, e.g. ``"30/minute"``, using the ``limits`` library.

    The default storage is in memory and expires idle windows itself; passing a shared
    ``limits`` storage (e.g. Redis) makes the limit hold across several replicas.
    """

    def __init__(self, rate: str = "30/minute", storage: Storage | None = None) -> None:
        self.item: RateLimitItem = parse(rate)
        self.storage = storage or MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._warn_item = parse(f"1/{self.item.get_expiry()} second")

    def allow(self, key: str) -> bool:
        return self._limiter.hit(self.item, key)

    def should_warn(self, key: str) -> bool:
        return self._limiter.hit(self._warn_item, "warn", key)

    def forget(self, key: str) -> None:
        self.storage.clear(self.item.key_for(key))
        self.storage.clear(self._warn_item.key_for("warn", key))
