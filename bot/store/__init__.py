"""Session stores: an abstract base, an in-memory one and the SQLite default."""

from bot.store.base import SessionKey, SessionStore
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore

__all__ = ["MemoryStore", "SessionKey", "SessionStore", "SqliteStore"]
