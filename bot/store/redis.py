"""A session store in Redis, shared by several replicas of the bot.

Keys (all under a configurable prefix, ``bot:`` by default):

- ``s:<session>`` holds the serialized :class:`SessionState`, the same JSON the SQLite store
  keeps, with a Redis TTL of ``ttl`` that every ``put`` renews: Redis itself erases idle
  sessions.
- ``u:<user>`` and ``c:<chat>`` are sets naming the sessions of a user and of a chat (as
  ``chat|session`` and ``user|session``), so that ``/forget`` and leaving a group erase
  every session of that user or chat, in all chats, without scanning the keyspace. Each
  set's TTL is renewed with its sessions', so it never outlives them by more than ``ttl``.
- ``x`` is a sorted set of ``session|user|chat`` scored by when the session expires, for
  :meth:`RedisStore.count` and for :meth:`RedisStore.purge_expired` to remove the index
  entries of sessions Redis has expired.

All keys hold only the runtime's pseudonymous keys and the state: no raw id, no message.

:class:`RedisCoordinator` (from :meth:`RedisStore.coordinator`) lets replicas agree on who
handles an update: a ``SET NX`` mark per update id, and redis-py's :class:`~redis.asyncio.lock.Lock`
per chat.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.state import SessionState
from bot.store.base import Coordinator, Release, SessionKey, SessionStore

log = logging.getLogger(__name__)

_SEP = "|"
"""Joins keys in index members; runtime keys are hex digests, so it never occurs in them."""

RETRIES = 6
"""How often a command is tried again after a lost connection or a timeout: with the backoff
below about 4.5 s in all, long enough for a Redis restart, short enough that a user whose
message cannot be answered is told so soon."""
BACKOFF = ExponentialBackoff(cap=1.0, base=0.1)
HEALTH_CHECK_INTERVAL = 10
"""Seconds a pooled connection may sit idle before it is PINGed before use."""

# One round trip per save: the session with its TTL and its entries in the user, chat and
# expiry indices, applied at once on the server (a script runs atomically).
_PUT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
return 1
"""

# KEYS: the expiry index, an index key to drop entirely ('' for none), then per session its
# key, its user index and its chat index; ARGV: per session the three index entries.
_ERASE = """
local erased = 0
for i = 0, (#KEYS - 2) / 3 - 1 do
    erased = erased + redis.call('DEL', KEYS[3 + 3 * i])
    redis.call('SREM', KEYS[4 + 3 * i], ARGV[1 + 3 * i])
    redis.call('SREM', KEYS[5 + 3 * i], ARGV[2 + 3 * i])
    redis.call('ZREM', KEYS[1], ARGV[3 + 3 * i])
end
if KEYS[2] ~= '' then
    redis.call('DEL', KEYS[2])
end
return erased
"""


class RedisStore(SessionStore):
    """Sessions in Redis (``redis://``, ``rediss://`` or ``unix://`` URL)."""

    def __init__(
        self,
        url: str,
        ttl: dt.timedelta,
        *,
        prefix: str = "bot:",
        clock: Callable[[], float] = time.time,
        max_connections: int = 100,
    ) -> None:
        super().__init__(ttl)
        self.prefix = prefix
        # Past max_connections commands wait for a free connection instead of failing; a
        # Redis that does not answer fails start-up within seconds instead of hanging it.
        # A connection lost to a Redis restart is reconnected and the command sent again by
        # redis-py itself (every command here may safely run twice).
        pool = BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=max_connections,
            timeout=20,
            socket_connect_timeout=2,
            socket_timeout=5,
            socket_keepalive=True,
            retry=Retry(BACKOFF, RETRIES),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=HEALTH_CHECK_INTERVAL,
        )
        self._redis: Redis = Redis.from_pool(pool)
        self._put = self._redis.register_script(_PUT)
        self._erase_script = self._redis.register_script(_ERASE)
        self._ttl_ms = max(1, int(ttl.total_seconds() * 1000))
        # Wall clock seconds, only to score the expiry index the way Redis' own TTLs run.
        self._clock = clock

    @property
    def client(self) -> Redis:
        """The redis-py client (for the coordinator and for tests)."""
        return self._redis

    async def ping(self) -> None:
        """Raise ``redis.exceptions.RedisError`` (or ``OSError``) if Redis cannot be reached."""
        await self._redis.ping()

    async def check(self) -> None:
        """Raise if Redis does not answer a PING (the caller bounds the wait)."""
        await self._redis.ping()

    # -- keys -----------------------------------------------------------------------------

    def _session(self, session: str) -> str:
        return f"{self.prefix}s:{session}"

    def _user(self, user: str) -> str:
        return f"{self.prefix}u:{user}"

    def _chat(self, chat: str) -> str:
        return f"{self.prefix}c:{chat}"

    @property
    def _expiry(self) -> str:
        return f"{self.prefix}x"

    # -- the interface --------------------------------------------------------------------

    async def get(self, key: SessionKey, now: dt.datetime) -> SessionState | None:
        raw = await self._redis.get(self._session(key.session))
        if raw is None:
            return None
        try:
            state = SessionState.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            # A value from an incompatible version: start that user afresh rather than fail.
            await self._erase([(key.session, key.user, key.chat)])
            return None
        if self.expired(state, now):
            await self._erase([(key.session, key.user, key.chat)])
            return None
        return state

    async def put(self, key: SessionKey, state: SessionState) -> None:
        expires = int(self._clock() * 1000) + self._ttl_ms
        await self._put(
            keys=[
                self._session(key.session),
                self._user(key.user),
                self._chat(key.chat),
                self._expiry,
            ],
            args=[
                json.dumps(state.to_dict()),
                self._ttl_ms,
                f"{key.chat}{_SEP}{key.session}",
                f"{key.user}{_SEP}{key.session}",
                _SEP.join((key.session, key.user, key.chat)),
                expires,
            ],
        )

    async def delete_user(self, user: str) -> int:
        found = [str(m).split(_SEP, 1) for m in await self._members(self._user(user))]
        # The user's index goes too, also when every session had expired already.
        return await self._erase(
            [(session, user, chat) for chat, session in found], drop=self._user(user)
        )

    async def delete_chat(self, chat: str) -> int:
        found = [str(m).split(_SEP, 1) for m in await self._members(self._chat(chat))]
        return await self._erase(
            [(session, user, chat) for user, session in found], drop=self._chat(chat)
        )

    async def purge_expired(self, now: dt.datetime) -> int:
        """Remove the index entries of sessions Redis has expired; returns 0.

        Redis erases the sessions themselves when their TTL runs out, so there are no
        expired sessions left to count here: only the entries naming them in the user, chat
        and expiry indices, which go now.
        """
        cutoff = int(self._clock() * 1000)
        stale = await self._redis.zrangebyscore(self._expiry, "-inf", cutoff)
        triples = [str(member).split(_SEP, 2) for member in stale]
        await self._erase([(t[0], t[1], t[2]) for t in triples if len(t) == 3])
        return 0

    async def count(self) -> int:
        live = await self._redis.zcount(self._expiry, f"({int(self._clock() * 1000)}", "+inf")
        return int(live)

    async def close(self) -> None:
        await self._redis.aclose()

    def coordinator(self) -> RedisCoordinator:
        """Deduplication and per-chat locks for replicas sharing this Redis."""
        return RedisCoordinator(self._redis, prefix=self.prefix)

    # -- helpers --------------------------------------------------------------------------

    async def _members(self, name: str) -> set[str]:
        found = await self._redis.smembers(name)
        return {str(m) for m in found}

    async def _erase(self, sessions: list[tuple[str, str, str]], drop: str = "") -> int:
        """Delete ``(session, user, chat)`` sessions and every index entry naming them, and
        the index key ``drop``; returns how many sessions still existed."""
        if not sessions and not drop:
            return 0
        keys = [self._expiry, drop]
        args: list[str] = []
        for session, user, chat in sessions:
            keys += [self._session(session), self._user(user), self._chat(chat)]
            args += [
                f"{chat}{_SEP}{session}",
                f"{user}{_SEP}{session}",
                _SEP.join((session, user, chat)),
            ]
        erased: Any = await self._erase_script(keys=keys, args=args)
        return int(erased)


class RedisCoordinator(Coordinator):
    """Replicas agree through Redis: a ``SET NX`` mark per event, a redis-py lock per chat."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "bot:",
        seen_for: dt.timedelta = dt.timedelta(hours=24),
        lock_timeout: float = 120.0,
        wait_timeout: float = 60.0,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        # Telegram keeps retrying an undelivered update for up to a day.
        self._seen_for = seen_for
        # A replica that dies holding a lock blocks its chat for at most this long.
        self._lock_timeout = lock_timeout
        self._wait_timeout = wait_timeout

    async def first_time(self, name: str) -> bool:
        # A token of our own, so that a SET sent again after a lost reply (redis-py retries
        # on a dropped connection) sees its own mark instead of calling the update taken.
        token = uuid.uuid4().hex
        before = await self._redis.set(
            f"{self._prefix}seen:{name}", token, nx=True, get=True, ex=self._seen_for
        )
        return before is None or before == token

    async def acquire(self, name: str) -> Release:
        lock = self._redis.lock(
            f"{self._prefix}lock:{name}",
            timeout=self._lock_timeout,
            # redis-py polls for a taken lock; a chat's next update should not wait long.
            sleep=0.005,
            blocking_timeout=self._wait_timeout,
            thread_local=False,
        )
        if not await lock.acquire():
            raise TimeoutError(f"lock {name} still held after {self._wait_timeout} s")

        async def release() -> None:
            try:
                await lock.release()
            except LockError:
                # It expired (the handling took longer than lock_timeout) and may be
                # someone else's by now: nothing of ours to release.
                log.warning("a chat lock expired before it was released")

        return release


__all__ = ["RedisCoordinator", "RedisStore"]
