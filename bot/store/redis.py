"""A session store in Redis, shared by several replicas of the bot.

Keys (all under a configurable prefix, ``bot:`` by default), laid out for little memory and
one round trip per operation:

- ``h:<user>`` is a hash holding all of a user's sessions, one field per chat: the field is
  the chat key, the value the expiry time (13 digits of Unix milliseconds) followed by the
  serialized :class:`SessionState` (the JSON the SQLite store keeps, with one-letter names and
  ``last_seen`` in Unix microseconds: :func:`encode`). Its Redis TTL of ``ttl`` is renewed by every ``put``, so Redis itself erases a user gone idle; a session
  idle in one chat while the user talks in another is dropped by the next ``put`` or
  :meth:`RedisStore.purge_expired`, and never read (its expiry time has passed).
  ``/forget`` deletes this one key.
- ``b:<first 3 characters of the chat key>`` is one of 4096 bucket hashes: the field is the
  chat key, the value the users with a session there (``|user|user|``). Removing the bot
  from a group reads the chat's users there and erases their fields. Buckets keep the index
  small: a key per chat would cost more than the sessions themselves. The set ``buckets``
  names the buckets in use, for :meth:`RedisStore.purge_expired`.
- ``n:<slot>`` counts the sessions that expire in a time slot (``ttl / 256`` long) and
  expires when its slot ends, so that :meth:`RedisStore.count` adds up 257 counters instead
  of reading every session.

Every change is a Lua script (registered with redis-py, sent as ``EVALSHA``), so it is one
round trip and atomic. The scripts name keys they derive from their arguments, which a Redis
Cluster does not allow: this store is for a single Redis (or a primary with replicas).

All keys hold only the runtime's pseudonymous keys and the state: no raw id, no message.

Reads need no round trip for a session this store read or saved last: it keeps a copy
(the ``CACHE_SIZE`` most recently used users), and Redis' client-side caching support
(``CLIENT TRACKING`` over RESP3, Redis 6 or later) tells its connection when anyone else
changes a user's hash, in order with the replies on that connection. So the copy is what
Redis held when the store read its last reply; a replica reads a session after taking the
chat's lock on that connection, so it has been told of the previous holder's changes first.
Redis remembers the tracked keys (about 150 bytes per user) until they change or expire.
A key evicted by a ``maxmemory`` policy while this store's own command runs is not reported
to it: run Redis without eviction (``noeviction``, the default), as sessions should not be
dropped anyway. That connection and its tracking are :mod:`bot.store.redis_connection`;
:mod:`bot.store.redis_batch` sends the session reads and writes on it, those that overlap
together, each bounded in time.

:class:`RedisCoordinator` (from :meth:`RedisStore.coordinator`) lets replicas agree on who
handles an update: a ``SET NX`` mark per update id, and a ``SET NX`` lock per chat with a
token of its own, both on the store's connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.state import SessionState
from bot.store.base import Coordinator, Release, SessionKey, SessionStore
from bot.store.redis_batch import Batch
from bot.store.redis_connection import TrackedConnection

log = logging.getLogger(__name__)

RETRIES = 6
"""How often a command is tried again after a lost connection or a timeout: with the backoff
below about 4.5 s in all, long enough for a Redis restart, short enough that a user whose
message cannot be answered is told so soon."""
BACKOFF = ExponentialBackoff(cap=1.0, base=0.1)
HEALTH_CHECK_INTERVAL = 10
"""Seconds a pooled connection may sit idle before it is PINGed before use."""
SOCKET_TIMEOUT = 5.0
"""Seconds one command may wait for Redis before it is tried again (see ``RETRIES``)."""
SESSION_TIMEOUT = 15.0
"""Seconds a session's read or write may take in all, retries after a lost connection
included, before it fails."""

CACHE_SIZE = 10_000
"""Users whose sessions a store keeps a copy of (the most recently used), to read a session
without a round trip to Redis; a few KiB each."""

SLOTS = 256
"""Expiry counters per ``ttl``: the session count may include sessions that expired less than
``ttl / SLOTS`` ago."""
BUCKET_CHARS = 3
"""Characters of the chat key that name its bucket (16**3 = 4096 buckets of hex keys)."""

# Shared by every script. ARGV[1] prefix, ARGV[2] now (ms), ARGV[3] slot length (ms) (each
# store's copy of a script sets ARGV[1] and ARGV[3] itself: RedisStore.__init__).
_COMMON = """
local prefix, now, slot = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket_chars = BUCKET_CHARS
local function counter(expires)
    return prefix .. 'n:' .. math.floor(expires / slot)
end
-- A counter that reaches 0 goes, so that erasing everything leaves no key behind.
local function uncount(expires)
    local c = counter(expires)
    if redis.call('EXISTS', c) == 1 and redis.call('DECR', c) <= 0 then redis.call('DEL', c) end
end
local function bucket(chat)
    return prefix .. 'b:' .. string.sub(chat, 1, bucket_chars)
end
local function unlist(chat, user)
    local b = bucket(chat)
    local users = redis.call('HGET', b, chat)
    if not users then return end
    local s, e = string.find(users, '|' .. user .. '|', 1, true)
    if not s then return end
    users = string.sub(users, 1, s) .. string.sub(users, e + 1)
    if users ~= '|' then
        redis.call('HSET', b, chat, users)
    elseif redis.call('HDEL', b, chat) == 1 and redis.call('EXISTS', b) == 0 then
        redis.call('SREM', prefix .. 'buckets', string.sub(chat, 1, bucket_chars))
    end
end
-- Erase one session's field; 1 if it was still live.
local function erase(user, chat)
    local h = prefix .. 'h:' .. user
    local value = redis.call('HGET', h, chat)
    unlist(chat, user)
    if not value then return 0 end
    redis.call('HDEL', h, chat)
    local expires = tonumber(string.sub(value, 1, 13)) or 0
    if expires <= now then return 0 end
    uncount(expires)
    return 1
end
""".replace("BUCKET_CHARS", str(BUCKET_CHARS))

# ARGV[4] user, ARGV[5] chat, ARGV[6] value (expiry + JSON), ARGV[7] ttl (ms).
_PUT = (
    _COMMON
    + """
local user, chat, value, ttl = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local h = prefix .. 'h:' .. user
-- One read of the user's sessions (a user has a few chats at most): this one's old value,
-- and the others that have expired, which go now.
local fields = redis.call('HGETALL', h)
local old = nil
for i = 1, #fields, 2 do
    if fields[i] == chat then old = fields[i + 1] end
end
local before = old and tonumber(string.sub(old, 1, 13))
if before and before > now then uncount(before) end
for i = 1, #fields, 2 do
    if fields[i] ~= chat and (tonumber(string.sub(fields[i + 1], 1, 13)) or 0) <= now then
        erase(user, fields[i])
    end
end
redis.call('HSET', h, chat, value)
redis.call('PEXPIRE', h, ttl)
local expires = now + ttl
local c = counter(expires)
redis.call('INCR', c)
redis.call('PEXPIREAT', c, (math.floor(expires / slot) + 1) * slot)
if not old then
    local b = bucket(chat)
    local users = redis.call('HGET', b, chat) or '|'
    if not string.find(users, '|' .. user .. '|', 1, true) then
        redis.call('HSET', b, chat, users .. user .. '|')
        redis.call('SADD', prefix .. 'buckets', string.sub(chat, 1, bucket_chars))
    end
end
-- Read last, so that Redis tracks the hash for the caller's cache: a change to a key
-- untracks it for everyone, the caller included (whom NOLOOP does not tell of its own).
return redis.call('EXISTS', h)
"""
)

# ARGV[4] user.
_DELETE_USER = (
    _COMMON
    + """
local user = ARGV[4]
local chats = redis.call('HKEYS', prefix .. 'h:' .. user)
local erased = 0
for _, chat in ipairs(chats) do erased = erased + erase(user, chat) end
redis.call('DEL', prefix .. 'h:' .. user)
return erased
"""
)

# ARGV[4] chat.
_DELETE_CHAT = (
    _COMMON
    + """
local chat = ARGV[4]
local users = redis.call('HGET', bucket(chat), chat)
local erased = 0
if users then
    -- erase() also takes each user off the chat's entry, and the entry off when it is empty.
    for user in string.gmatch(users, '[^|]+') do erased = erased + erase(user, chat) end
end
return erased
"""
)

# ARGV[4] user, ARGV[5] chat: one session (unreadable or expired).
_DELETE_ONE = (
    _COMMON
    + """
return erase(ARGV[4], ARGV[5])
"""
)

# ARGV[4..] bucket names: drop entries whose session expired or is gone.
_PURGE = (
    _COMMON
    + """
local dropped = 0
for i = 4, #ARGV do
    local b = prefix .. 'b:' .. ARGV[i]
    local entries = redis.call('HGETALL', b)
    for j = 1, #entries, 2 do
        local chat = entries[j]
        for user in string.gmatch(entries[j + 1], '[^|]+') do
            local value = redis.call('HGET', prefix .. 'h:' .. user, chat)
            if not value or (tonumber(string.sub(value, 1, 13)) or 0) <= now then
                erase(user, chat)
                dropped = dropped + 1
            end
        end
    end
end
return dropped
"""
)

# ARGV[4] number of slots to add up, from the one ``now`` is in.
_COUNT = (
    _COMMON
    + """
local total = 0
local first = math.floor(now / slot)
for i = 0, tonumber(ARGV[4]) do
    total = total + (tonumber(redis.call('GET', prefix .. 'n:' .. (first + i))) or 0)
end
return total
"""
)


_SHORT = {
    "v": "v",
    "node": "n",
    "language": "l",
    "language_chosen": "c",
    "back": "b",
    "offered": "o",
    "variables": "x",
    "last_seen": "t",
}
"""Field names of :meth:`SessionState.to_dict` as stored in Redis: short names keep a typical
value under 256 bytes, one allocation size class down (about 6 MiB per 100,000 sessions)."""
_LONG = {short: name for name, short in _SHORT.items()}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def encode(state: SessionState) -> str:
    """The compact JSON of ``state`` kept in Redis.

    ``last_seen`` is written as Unix microseconds (16 digits instead of a 32-character ISO
    time) and ``language_chosen`` as 0 or 1: with the short names, a typical value stays
    in a smaller allocation, which pays for the keys Redis tracks for the store's cache."""
    data = {_SHORT.get(k, k): v for k, v in state.to_dict().items()}
    data["c"] = int(state.language_chosen)
    if state.last_seen.tzinfo is not None:  # a naive time keeps its ISO form
        data["t"] = (state.last_seen - _EPOCH) // _MICROSECOND
    return json.dumps(data, separators=(",", ":"))


def decode(raw: str) -> SessionState:
    """The state :func:`encode` wrote; raises ``ValueError``/``KeyError``/``TypeError``.

    Values written before ``last_seen`` became a number (an ISO time) read the same."""
    data = {_LONG.get(k, k): v for k, v in json.loads(raw).items()}
    seen = data.get("last_seen")
    if isinstance(seen, int):
        data["last_seen"] = (_EPOCH + seen * _MICROSECOND).isoformat()
    return SessionState.from_dict(data)


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
        cache_size: int = CACHE_SIZE,
    ) -> None:
        super().__init__(ttl)
        self.prefix = prefix
        # Past max_connections commands wait for a free connection instead of failing; a
        # Redis that does not answer fails start-up within seconds instead of hanging it.
        # A connection lost to a Redis restart is reconnected and the command sent again by
        # redis-py itself (every command here may safely run twice).
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_connect_timeout": 2,
            # TCP keep-alive; a unix socket connection takes no such option.
            **({} if url.startswith("unix:") else {"socket_keepalive": True}),
            "retry": Retry(BACKOFF, RETRIES),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError],
            "health_check_interval": HEALTH_CHECK_INTERVAL,
        }
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=20,
            socket_timeout=SOCKET_TIMEOUT,
            **options,
        )
        self._redis: Redis = Redis.from_pool(pool)
        self._ttl_ms = max(1, int(ttl.total_seconds() * 1000))
        self._slot_ms = max(1, self._ttl_ms // SLOTS)
        # The prefix and the slot length are the same in every call: written into this
        # store's copy of the scripts, a call sends only what changes (fewer arguments to
        # pack per session write). The scripts still read them as ARGV[1] and ARGV[3].
        prefix_lua = "".join(f"\\{b}" for b in prefix.encode())
        constants = (
            f'local ARGV = {{"{prefix_lua}", ARGV[1], "{self._slot_ms}", unpack(ARGV, 2)}}\n'
        )
        self._scripts = {
            name: self._redis.register_script(constants + text)
            for name, text in {
                "put": _PUT,
                "delete_user": _DELETE_USER,
                "delete_chat": _DELETE_CHAT,
                "delete_one": _DELETE_ONE,
                "purge": _PURGE,
                "count": _COUNT,
            }.items()
        }
        # Session reads and writes have at most one command or pipeline under way (Batch):
        # they keep one connection rather than taking and returning one per command (a
        # third of a session read or write, one at a time). That connection has no socket
        # timeout: redis-py runs every write under one in a task of its own
        # (asyncio.wait_for), a quarter of a session's read and write; Batch bounds each
        # round trip instead. It speaks RESP3, for the invalidation messages that keep the
        # cache below right.
        single = ConnectionPool.from_url(url, socket_timeout=None, protocol=3, **options)
        self._connection = TrackedConnection(
            single.make_connection(),  # type: ignore[no-untyped-call]
            self._invalidated,
            self._reset,
        )
        self._batch = Batch(self._connection, SESSION_TIMEOUT)
        # Sessions read or saved on that connection, by user then chat: the expiry time and
        # the state. Redis tracks the users' hashes read there and says when anyone else
        # changes one, before any later reply; until then the copy here is what Redis holds
        # (see get). ``_epoch`` counts the times entries were dropped; ``_dropped`` says
        # when a user's were dropped last, and ``_floor`` when all were (or that record was
        # cleared, to keep it small): a reply read before a drop must not fill the cache
        # after it, as the drop may have been about that reply.
        self._cache: OrderedDict[str, dict[str, tuple[int, SessionState]]] = OrderedDict()
        self._cache_size = cache_size
        self._epoch = 0
        self._dropped: dict[str, int] = {}
        self._floor = 0
        self._user_prefix = f"{prefix}h:"
        # Wall clock seconds, to stamp expiry times the way Redis' own TTLs run.
        self._clock = clock

    # -- the cache --------------------------------------------------------------------

    def _invalidated(self, keys: list[str] | None) -> None:
        if keys is None:
            self._reset()
            return
        start = len(self._user_prefix)
        for name in keys:
            # Tracking also reports the buckets and counters the scripts read: not cached.
            if name.startswith(self._user_prefix):
                self._drop(name[start:])

    def _reset(self) -> None:
        self._epoch += 1
        self._floor = self._epoch
        self._dropped.clear()
        self._cache.clear()

    def _drop(self, user: str) -> None:
        self._epoch += 1
        if len(self._dropped) >= self._cache_size:
            self._floor = self._epoch  # as if everyone's had been dropped now
            self._dropped.clear()
        self._dropped[user] = self._epoch
        self._cache.pop(user, None)

    def _cached(self, key: SessionKey) -> tuple[int, SessionState] | None:
        chats = self._cache.get(key.user)
        if chats is None or not self._connection.up():
            return None
        self._cache.move_to_end(key.user)
        return chats.get(key.chat)

    def _remember(
        self, key: SessionKey, expires: int, state: SessionState, epoch: int, *, only: bool
    ) -> None:
        """Keep what a reply said about ``key``, unless the user's entries were dropped since
        ``epoch`` (when the command was sent): an invalidation may have been about that reply.

        ``only``: the user's other chats are dropped (after a save, which may have erased
        some of them without Redis telling this connection)."""
        if self._dropped.get(key.user, self._floor) > epoch or self._floor > epoch:
            return
        if not self._connection.tracking or not self._cache_size:
            return
        chats = None if only else self._cache.get(key.user)
        if chats is None:
            chats = self._cache[key.user] = {}
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key.user)
        chats[key.chat] = (expires, state)

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

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _run(self, script: str, *args: str | int) -> int:
        common: list[str | int] = [self._now_ms()]  # prefix and slot: see __init__
        return int(await self._script(self._scripts[script], *common, *args))

    async def _run_untracked(self, script: str, *args: str | int) -> int:
        """Run ``script`` on a pooled connection, whose reads Redis does not track: a purge
        reads every user's hash, and tracked, each would cost Redis memory until it changed."""
        common: list[str | int] = [self._now_ms()]
        return int(await self._scripts[script](keys=[], args=[*common, *args]))

    async def _script(self, script: AsyncScript, *args: str | int) -> Any:
        try:
            return await self._batch.call("EVALSHA", script.sha, 0, *args)
        except NoScriptError:
            # A restarted Redis forgot its scripts: load this one (on the same connection,
            # whose reads Redis tracks) and send it again.
            await self._batch.call("SCRIPT", "LOAD", str(script.script))
            return await self._batch.call("EVALSHA", script.sha, 0, *args)

    # -- the interface --------------------------------------------------------------------

    async def get(self, key: SessionKey, now: dt.datetime) -> SessionState | None:
        # A session this store read or saved last needs no round trip: had anyone else
        # changed it since, Redis would have said so before the reply that this store read
        # last. Replicas read a session after taking its chat's lock on this connection
        # (RedisCoordinator), so they see every change its previous holder made.
        cached = self._cached(key)
        if cached is not None:
            expires, state = cached
        else:
            epoch = self._epoch
            raw = await self._batch.call("HGET", f"{self.prefix}h:{key.user}", key.chat)
            if raw is None:
                # The hash may have expired just now, which Redis does not report to the
                # connection whose read found it gone: forget its other chats too.
                self._drop(key.user)
                return None
            try:
                expires = int(raw[:13])
                state = decode(str(raw[13:]))
            except (ValueError, KeyError, TypeError):
                # A value from an incompatible version: start that user afresh rather than fail.
                await self._run("delete_one", key.user, key.chat)
                self._drop(key.user)
                return None
            self._remember(key, expires, state, epoch, only=False)
        if expires <= self._now_ms() or self.expired(state, now):
            self._drop(key.user)
            await self._run("delete_one", key.user, key.chat)
            self._drop(key.user)
            return None
        return state

    async def put(self, key: SessionKey, state: SessionState) -> None:
        expires = self._now_ms() + self._ttl_ms
        value = f"{expires:013d}{encode(state)}"
        # Until the reply, what Redis holds is unknown (a lost reply, a timeout).
        self._drop(key.user)
        epoch = self._epoch
        await self._run("put", key.user, key.chat, value, self._ttl_ms)
        self._remember(key, expires, state, epoch, only=True)

    async def delete_user(self, user: str) -> int:
        # Dropped before (no reply read meanwhile fills it again) and after (the epoch).
        self._drop(user)
        try:
            return await self._run("delete_user", user)
        finally:
            self._drop(user)

    async def delete_chat(self, chat: str) -> int:
        # Rare (the bot left a group): not worth an index of cached chats.
        self._reset()
        try:
            return await self._run("delete_chat", chat)
        finally:
            self._reset()

    async def purge_expired(self, now: dt.datetime) -> int:
        """Drop the index entries and fields of sessions that have expired; returns 0.

        Redis erases idle users' sessions itself when their TTL runs out, so there are no
        expired sessions left to count here, only what still names them: bucket entries,
        and the fields of a user's chats that went idle while another one stayed active.
        """
        names = sorted(str(n) for n in await self._redis.smembers(f"{self.prefix}buckets"))
        # On another connection, so Redis tells this store's connection of what it erases.
        for start in range(0, len(names), 256):
            await self._run_untracked("purge", *names[start : start + 256])
        return 0

    async def count(self) -> int:
        # Every slot from now's to the one a session saved now expires in.
        return await self._run_untracked("count", -(-self._ttl_ms // self._slot_ms) + 1)

    async def close(self) -> None:
        await self._connection.close()
        await self._redis.aclose()

    def coordinator(self) -> RedisCoordinator:
        """Deduplication and per-chat locks for replicas sharing this Redis."""
        return RedisCoordinator(self, prefix=self.prefix)


# KEYS none; ARGV[1] the lock, ARGV[2] its holder's token: give it back if still ours.
_RELEASE = """
if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('DEL', ARGV[1]) end
return 0
"""


class RedisCoordinator(Coordinator):
    """Replicas agree through Redis: a ``SET NX`` mark per event, a lock per chat.

    Both go over the store's own connection: a replica that takes a chat's lock there has,
    before the lock's reply, been told of every change to the chat's sessions that the
    previous holder made, so its cached sessions are current (see :meth:`RedisStore.get`).
    """

    def __init__(
        self,
        store: RedisStore,
        *,
        prefix: str = "bot:",
        seen_for: dt.timedelta = dt.timedelta(hours=24),
        lock_timeout: float = 120.0,
        wait_timeout: float = 60.0,
    ) -> None:
        self._store = store
        self._prefix = prefix
        # Telegram keeps retrying an undelivered update for up to a day.
        self._seen_for = seen_for
        # A replica that dies holding a lock blocks its chat for at most this long.
        self._lock_timeout = lock_timeout
        self._wait_timeout = wait_timeout
        self._release = store.client.register_script(_RELEASE)

    async def first_time(self, name: str) -> bool:
        # A token of our own, so that a SET sent again after a lost reply (commands are
        # sent again on a dropped connection) sees its own mark instead of calling the
        # update taken.
        token = uuid.uuid4().hex
        before = await self._store._batch.call(
            "SET",
            f"{self._prefix}seen:{name}",
            token,
            "NX",
            "GET",
            "EX",
            max(1, int(self._seen_for.total_seconds())),
        )
        return before is None or before == token

    async def acquire(self, name: str) -> Release:
        lock, token = f"{self._prefix}lock:{name}", uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_timeout
        expiry = max(1, int(self._lock_timeout * 1000))
        while True:
            # As first_time: a SET sent again after a lost reply finds our own token.
            held = await self._store._batch.call("SET", lock, token, "NX", "GET", "PX", expiry)
            if held is None or held == token:
                break
            if loop.time() >= deadline:
                raise TimeoutError(f"lock {name} still held after {self._wait_timeout} s")
            # A chat's next update should not wait long for the previous one's release.
            await asyncio.sleep(0.005)

        async def release() -> None:
            if not await self._store._script(self._release, lock, token):
                # It expired (the handling took longer than lock_timeout) and may be
                # someone else's by now: nothing of ours to release.
                log.warning("a chat lock expired before it was released")

        return release


__all__ = ["RedisCoordinator", "RedisStore"]
