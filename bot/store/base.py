"""The session store interface.

Stores keep :class:`SessionState` under pseudonymous keys made by the runtime: a
session key (user in chat), plus a user key and a chat key so that ``/forget`` can erase
everything about a user and removing the bot from a group can erase that chat. Sessions
idle for longer than ``ttl`` are treated as gone and purged.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.state import SessionState


@dataclass(frozen=True)
class SessionKey:
    """Pseudonymous keys of one session; all three are keyed hashes, never raw ids."""

    session: str
    user: str
    chat: str


class StoreError(Exception):
    """The store could not do what was asked; the message says why, never whose data it was."""


Release = Callable[[], Awaitable[None]]
"""Gives back what :meth:`Coordinator.acquire` took."""


class Coordinator(ABC):
    """How replicas of the bot that share one store agree on who handles an event.

    Only stores that several processes share have one (Redis); a single process needs none.
    """

    @abstractmethod
    async def first_time(self, name: str) -> bool:
        """Mark the event ``name`` as taken; ``False`` if any replica took it before."""

    @abstractmethod
    async def acquire(self, name: str) -> Release:
        """Wait until no other replica holds ``name`` (a chat), hold it, return the release.

        Raises ``TimeoutError`` if it stays held for too long.
        """


class SessionStore(ABC):
    """Abstract async session store; implementations must be safe to call concurrently."""

    def __init__(self, ttl: dt.timedelta) -> None:
        self.ttl = ttl

    def expired(self, state: SessionState, now: dt.datetime) -> bool:
        """Whether ``state`` has been idle for longer than the store's ``ttl``."""
        return now - state.last_seen > self.ttl

    @abstractmethod
    async def get(self, key: SessionKey, now: dt.datetime) -> SessionState | None:
        """The live state for ``key``, or ``None`` if there is none or it expired."""

    @abstractmethod
    async def put(self, key: SessionKey, state: SessionState) -> None:
        """Save ``state`` under ``key``."""

    @abstractmethod
    async def delete_user(self, user: str) -> int:
        """Erase every session of a user (all chats); returns how many were erased."""

    @abstractmethod
    async def delete_chat(self, chat: str) -> int:
        """Erase every session in a chat; returns how many were erased."""

    @abstractmethod
    async def purge_expired(self, now: dt.datetime) -> int:
        """Erase sessions idle for longer than ``ttl``; returns how many."""

    @abstractmethod
    async def count(self) -> int:
        """How many sessions are stored (for metrics and tests)."""

    async def check(self) -> None:  # noqa: B027 - optional hook, a memory store cannot fail
        """Raise if the store cannot currently read or save sessions (for ``/healthz``).

        Cheap enough to be called every few seconds; the caller bounds how long it waits.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release resources."""

    def coordinator(self) -> Coordinator | None:
        """The coordinator for replicas sharing this store, or ``None`` if it is not shared."""
        return None
