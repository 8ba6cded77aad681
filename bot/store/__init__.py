"""Session stores: an abstract base, an in-memory one, the SQLite default and Redis.

``bot.store.redis`` is imported only when ``BOT_STORE`` names a Redis URL.
"""

from bot.store.base import Coordinator, SessionKey, SessionStore, StoreError
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore

__all__ = ["Coordinator", "MemoryStore", "SessionKey", "SessionStore", "SqliteStore", "StoreError"]
