"""What the runtime knows about its own health, and the interface it reports its work to.

Platforms tell :class:`Readiness` when they are connected; ``/healthz`` (see
``bot.observability``) asks it what is missing. :class:`Observer` is what the runtime calls
after each event, so that metrics can be collected without the runtime knowing about
Prometheus. Nothing here imports anything beyond the standard library and ``bot.events``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.events import Reply


class Readiness:
    """Which configured platforms are connected, and whether content is loaded."""

    def __init__(self) -> None:
        self._expected: set[str] = set()
        self._connected: set[str] = set()
        self.content_loaded = False

    def expect(self, platforms: Iterable[str]) -> None:
        """Declare the platforms that must be connected before the bot counts as ready."""
        self._expected.update(platforms)

    def connected(self, platform: str) -> None:
        """``platform`` receives updates (polling started, webhook listening, a sync done)."""
        self._connected.add(platform)

    def disconnected(self, platform: str) -> None:
        """``platform`` lost its connection or stopped."""
        self._connected.discard(platform)

    def missing(self) -> list[str]:
        """What keeps the bot from being ready, one short phrase each; empty when ready."""
        out = [] if self.content_loaded else ["content not loaded"]
        out += [f"{name} not connected" for name in sorted(self._expected - self._connected)]
        return out


class Observer(Protocol):
    """Receives aggregates of the runtime's work (implemented by ``bot.observability``).

    Calls carry the platform name and what the engine answered, never who asked or what
    they wrote.
    """

    def handled(self, platform: str, replies: Sequence[Reply], seconds: float) -> None:
        """One event of ``platform`` was handled in ``seconds`` and gave ``replies``."""

    def error(self, platform: str) -> None:
        """Handling an event of ``platform`` failed (engine or platform side)."""

    def store_error(self, operation: str) -> None:
        """Loading, saving or erasing a session failed (``operation``: what was tried)."""

    def reloaded(self, ok: bool) -> None:
        """A content reload finished: ``ok`` if the new tree is in service."""
