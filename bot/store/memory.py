"""An in-memory session store, for tests and the console chat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.state import SessionState
from bot.store.base import SessionKey, SessionStore


class MemoryStore(SessionStore):
    """Keeps sessions in a dict; nothing survives a restart."""

    def __init__(self, ttl: dt.timedelta) -> None:
        super().__init__(ttl)
        self._rows: dict[str, tuple[SessionKey, SessionState]] = {}

    async def get(self, key: SessionKey, now: dt.datetime) -> SessionState | None:
        row = self._rows.get(key.session)
        if row is None:
            return None
        if self.expired(row[1], now):
            del self._rows[key.session]
            return None
        return row[1]

    async def put(self, key: SessionKey, state: SessionState) -> None:
        self._rows[key.session] = (key, state)

    async def delete_user(self, user: str) -> int:
        return self._delete(lambda k: k.user == user)

    async def delete_chat(self, chat: str) -> int:
        return self._delete(lambda k: k.chat == chat)

    async def purge_expired(self, now: dt.datetime) -> int:
        stale = [s for s, (_, state) in self._rows.items() if self.expired(state, now)]
        for session in stale:
            del self._rows[session]
        return len(stale)

    async def count(self) -> int:
        return len(self._rows)

    def _delete(self, match: Callable[[SessionKey], bool]) -> int:
        doomed = [s for s, (k, _) in self._rows.items() if match(k)]
        for session in doomed:
            del self._rows[session]
        return len(doomed)
