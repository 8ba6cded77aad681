"""Session stores: the memory, SQLite and Redis implementations behave the same."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.redis_server import RedisServer
from fixtures.tree import write_tree

from bot.content import load_content
from bot.events import Choice, Command, Start, Text
from bot.runtime import Conversation, Runtime
from bot.state import SessionState
from bot.store import MemoryStore, SessionKey, SessionStore, SqliteStore
from bot.store.redis import RedisStore, decode

TTL = dt.timedelta(days=30)
T0 = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


def key(user: str, chat: str) -> SessionKey:
    """Keys shaped like the runtime's (hex digests), readable in assertions."""
    return SessionKey(session=f"s-{user}-{chat}", user=f"u-{user}", chat=f"c-{chat}")


def state(node: str = "start", seen: dt.datetime = T0, **kwargs: Any) -> SessionState:
    return SessionState(node=node, language="de", last_seen=seen, **kwargs)


StoreFactory = Callable[[], SessionStore]


def fresh_prefix() -> str:
    """Keys of one test apart from every other test's on the shared server."""
    return f"t{uuid.uuid4().hex[:12]}:"


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    made: SessionStore
    if request.param == "memory":
        made = MemoryStore(TTL)
    elif request.param == "sqlite":
        made = SqliteStore(tmp_path / "sessions.sqlite3", TTL)
    else:
        server: RedisServer = request.getfixturevalue("redis_service")
        made = RedisStore(server.url, TTL, prefix=fresh_prefix())
    yield made
    await made.close()


@pytest.fixture
async def redis_store(redis_service: RedisServer) -> AsyncIterator[RedisStore]:
    made = RedisStore(redis_service.url, TTL, prefix=fresh_prefix())
    yield made
    await made.close()


def redis_keys(server: RedisServer, prefix: str) -> dict[str, object]:
    """Every key under ``prefix`` with its value (strings, sets, sorted sets and hashes)."""
    client = server.client()
    found: dict[str, object] = {}
    for name in client.scan_iter(match=prefix + "*"):
        kind = client.type(name)
        if kind == "string":
            found[name] = client.get(name)
        elif kind == "set":
            found[name] = sorted(client.smembers(name))  # type: ignore[arg-type]
        elif kind == "zset":
            found[name] = client.zrange(name, 0, -1)
        elif kind == "hash":
            found[name] = client.hgetall(name)
        else:
            raise AssertionError(f"unexpected key type {kind} of {name}")
    client.close()
    return found


async def test_get_missing_is_none(store: SessionStore) -> None:
    assert await store.get(key("a", "1"), T0) is None
    assert await store.count() == 0


async def test_put_then_get_round_trips(store: SessionStore) -> None:
    saved = state(
        "deadline",
        language_chosen=True,
        back=("start", "objection"),
        offered=("@back", "@menu"),
        variables=(("step", "2"),),
    )
    await store.put(key("a", "1"), saved)
    assert await store.get(key("a", "1"), T0) == saved
    assert await store.count() == 1


async def test_put_replaces(store: SessionStore) -> None:
    await store.put(key("a", "1"), state("start"))
    await store.put(key("a", "1"), state("deadline", T0 + dt.timedelta(minutes=1)))
    got = await store.get(key("a", "1"), T0 + dt.timedelta(minutes=2))
    assert got is not None and got.node == "deadline"
    assert await store.count() == 1


async def test_sessions_are_per_user_per_chat(store: SessionStore) -> None:
    await store.put(key("a", "1"), state("one"))
    await store.put(key("a", "2"), state("two"))
    await store.put(key("b", "1"), state("three"))
    nodes = [await store.get(key(u, c), T0) for u, c in [("a", "1"), ("a", "2"), ("b", "1")]]
    assert [s.node if s else None for s in nodes] == ["one", "two", "three"]
    assert await store.count() == 3


async def test_delete_user_erases_all_their_chats(store: SessionStore) -> None:
    await store.put(key("a", "1"), state())
    await store.put(key("a", "2"), state())
    await store.put(key("b", "1"), state())
    assert await store.delete_user("u-a") == 2
    assert await store.get(key("a", "1"), T0) is None
    assert await store.get(key("a", "2"), T0) is None
    assert await store.get(key("b", "1"), T0) is not None
    assert await store.count() == 1
    assert await store.delete_user("u-a") == 0
    assert await store.delete_user("u-nobody") == 0


async def test_delete_chat_erases_everyone_in_it(store: SessionStore) -> None:
    await store.put(key("a", "1"), state())
    await store.put(key("b", "1"), state())
    await store.put(key("a", "2"), state())
    assert await store.delete_chat("c-1") == 2
    assert await store.get(key("a", "2"), T0) is not None
    assert await store.count() == 1


async def test_expired_session_is_gone(store: SessionStore) -> None:
    await store.put(key("a", "1"), state(seen=T0))
    assert await store.get(key("a", "1"), T0 + TTL) is not None  # exactly TTL: still alive
    assert await store.get(key("a", "1"), T0 + TTL + dt.timedelta(seconds=1)) is None
    # Reading an expired session erases it.
    assert await store.count() == 0


@pytest.fixture(params=["memory", "sqlite"])
async def clocked_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SessionStore]:
    """Stores that expire by the time they are given (Redis expires by its own clock)."""
    made: SessionStore = (
        MemoryStore(TTL)
        if request.param == "memory"
        else SqliteStore(tmp_path / "sessions.sqlite3", TTL)
    )
    yield made
    await made.close()


async def test_purge_expired(clocked_store: SessionStore) -> None:
    store = clocked_store
    await store.put(key("old", "1"), state(seen=T0))
    await store.put(key("new", "1"), state(seen=T0 + dt.timedelta(days=20)))
    assert await store.purge_expired(T0 + dt.timedelta(days=10)) == 0
    assert await store.purge_expired(T0 + TTL + dt.timedelta(days=1)) == 1
    assert await store.count() == 1
    assert await store.get(key("new", "1"), T0 + TTL + dt.timedelta(days=1)) is not None
    assert await store.purge_expired(T0 + dt.timedelta(days=100)) == 1
    assert await store.count() == 0


async def test_sqlite_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.sqlite3"  # parent directories are created
    first = SqliteStore(path, TTL)
    saved = state("deadline", back=("start",), offered=("@menu",))
    await first.put(key("a", "1"), saved)
    await first.put(key("b", "1"), state())
    await first.close()

    second = SqliteStore(path, TTL)
    try:
        assert await second.get(key("a", "1"), T0) == saved
        assert await second.count() == 2
        assert await second.delete_user("u-b") == 1
    finally:
        await second.close()
    third = SqliteStore(path, TTL)
    try:
        assert await third.count() == 1
    finally:
        await third.close()


async def test_sqlite_wal_stays_small_when_saved_one_at_a_time(tmp_path: Path) -> None:
    """Saves that are committed at once (one message at a time) still get the WAL copied
    into the database now and then, so it is reused instead of growing with every save."""
    path = tmp_path / "sessions.sqlite3"
    store = SqliteStore(path, TTL)
    for n in range(1500):
        await store.put(key(f"user{n}", "chat"), state())
        assert await store.get(key(f"user{n}", "chat"), T0) is not None
    await asyncio.sleep(0)  # the last checkpoint's report back
    wal = path.with_name(path.name + "-wal").stat().st_size
    await store.close()
    assert wal < 8 * 2**20, f"WAL grew to {wal / 2**20:.1f} MiB for 1,500 sessions"


async def test_sqlite_row_from_another_version_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    store = SqliteStore(path, TTL)
    await store.put(key("a", "1"), state())
    db = sqlite3.connect(path)
    db.execute("UPDATE sessions SET state = ?", (json.dumps({"v": 99, "where": "?"}),))
    db.commit()
    db.close()
    try:
        assert await store.get(key("a", "1"), T0) is None
        assert await store.count() == 0
    finally:
        await store.close()


def all_bytes(directory: Path) -> bytes:
    """Everything SQLite wrote: the database, its WAL and shared-memory files."""
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


@pytest.mark.parametrize("build_default", ["ON", "OFF"])
async def test_sqlite_file_holds_only_what_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build_default: str
) -> None:
    """The store writes keys and state, nothing else; erased rows do not linger in the file.

    Whether SQLite zeroes deleted content by default is a compile-time choice (Debian's
    build does, others do not): connections here start with either default, and the
    store must switch secure_delete on itself.
    """
    connections: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        db.execute(f"PRAGMA secure_delete={build_default}")
        connections.append(db)
        return db

    monkeypatch.setattr(sqlite3, "connect", connect)
    path = tmp_path / "sessions.sqlite3"
    store = SqliteStore(path, TTL)
    assert connections
    for made in connections:  # the store reads and writes through connections of its own
        assert made.execute("PRAGMA secure_delete").fetchone() == (1,)
    db = connections[0]

    marker = "erase-me-0123456789abcdef"
    for n in range(20):
        await store.put(key(f"before-{n}", "1"), state())
    await store.put(
        SessionKey(session=f"s-{marker}", user=f"u-{marker}", chat=f"c-{marker}"),
        state("node-" + marker),
    )
    await store.put(key("keep", "1"), state())
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert marker.encode() in path.read_bytes()

    assert await store.delete_user(f"u-{marker}") == 1
    # Gone from the database and its WAL at once, not only after a checkpoint or a shutdown.
    assert marker.encode() not in all_bytes(tmp_path)
    assert b"s-keep-1" in all_bytes(tmp_path)
    await store.close()  # checkpoints the WAL into the main file
    assert marker.encode() not in all_bytes(tmp_path)
    assert b"s-keep-1" in all_bytes(tmp_path)


async def test_runtime_stores_no_raw_ids_or_message_text(tmp_path: Path) -> None:
    content = load_content(write_tree(tmp_path / "tree"))
    data = tmp_path / "data"
    store = SqliteStore(data / "sessions.sqlite3", TTL)
    runtime = Runtime(content, store, b"k" * 32, clock=lambda: T0)
    user, chat = "alice-zqx", "room-wvy"
    question = "Geheimwort Zebrafink mein Nachbar fragt"
    conv = Conversation(platform="telegram", chat_id=chat, user_id=user)
    await runtime.handle(conv, Start(locale="de"))
    await runtime.handle(conv, Text(text=question))
    await runtime.handle(conv, Text(text="Wie widerspreche ich der KI-Nutzung?"))
    await runtime.handle(conv, Choice(option="forged-" + user))
    assert await store.count() == 1
    await runtime.close()
    raw = all_bytes(data)
    assert raw  # the session was written
    for secret in (user, chat, "zqx", "wvy", "Zebrafink", "Geheimwort", "widerspreche"):
        assert secret.encode() not in raw, secret


async def test_forget_is_on_disk_at_once_without_a_shutdown(tmp_path: Path) -> None:
    """After /forget neither the database nor its WAL holds the erased session.

    Without a checkpoint right after the erasure, the WAL keeps the session's earlier
    pages (its keys, node and checklist marks) until SQLite checkpoints on its own or the
    bot shuts down cleanly.
    """
    content = load_content(write_tree(tmp_path / "tree"))
    data = tmp_path / "data"
    runtime = Runtime(content, SqliteStore(data / "sessions.sqlite3", TTL), b"k" * 32)
    alice = Conversation(platform="telegram", chat_id="100", user_id="alice")
    bob = Conversation(platform="telegram", chat_id="200", user_id="bob")
    for conv in (alice, bob):
        await runtime.handle(conv, Start(locale="de"))
        await runtime.handle(conv, Choice(option="deadline"))
    erased, kept = runtime.key(alice), runtime.key(bob)
    assert erased.session.encode() in all_bytes(data)

    [reply] = await runtime.handle(alice, Command(name="forget"))
    assert reply.text == "VERGESSEN-DE"
    raw = all_bytes(data)  # no close, no checkpoint by the test: what a crash would leave
    for secret in (erased.session, erased.user):
        assert secret.encode() not in raw, secret
    assert kept.session.encode() in raw
    await runtime.close()


# -- Redis ------------------------------------------------------------------------------


async def test_redis_session_expires_by_redis_ttl(redis_service: RedisServer) -> None:
    """Redis itself erases an idle user's sessions; purge_expired tidies the chat index."""
    short = RedisStore(redis_service.url, dt.timedelta(milliseconds=300), prefix=fresh_prefix())
    try:
        now = dt.datetime.now(dt.UTC)
        await short.put(key("a", "1"), state(seen=now))
        await short.put(key("a", "2"), state(seen=now))
        assert await short.count() == 2
        client = redis_service.client()
        assert 0 < client.pttl(f"{short.prefix}h:u-a") <= 300
        deadline = time.monotonic() + 10
        while client.exists(f"{short.prefix}h:u-a"):
            assert time.monotonic() < deadline, "Redis did not expire the sessions"
            await asyncio.sleep(0.05)
        # Read with a clock that says the sessions are fresh: still gone, Redis decided.
        assert await short.get(key("a", "1"), now) is None
        assert await short.count() == 0
        assert await short.purge_expired(now) == 0
        while redis_keys(redis_service, short.prefix):  # the counters end with their slot
            assert time.monotonic() < deadline, redis_keys(redis_service, short.prefix)
            await asyncio.sleep(0.05)
        client.close()
    finally:
        await short.close()


async def test_redis_put_renews_the_ttl(
    redis_store: RedisStore, redis_service: RedisServer
) -> None:
    client = redis_service.client()
    name = f"{redis_store.prefix}h:u-a"
    await redis_store.put(key("a", "1"), state())
    client.pexpire(name, 1000)  # as if most of the 30 days had passed
    await redis_store.put(key("a", "1"), state("deadline"))
    thirty_days_ms = 30 * 24 * 3600 * 1000
    assert thirty_days_ms - 60_000 < client.pttl(name) <= thirty_days_ms
    assert await redis_store.count() == 1
    client.close()


def without_counters(found: dict[str, object], prefix: str) -> dict[str, object]:
    """The sessions and their index, without the counters and the list of buckets."""
    return {k: v for k, v in found.items() if not k.startswith((f"{prefix}n:", f"{prefix}buckets"))}


async def test_redis_delete_user_leaves_no_trace(
    redis_store: RedisStore, redis_service: RedisServer
) -> None:
    """Sessions and index entries go, in every chat; others stay; nothing is left over."""
    for chat in ("1", "2", "3"):
        await redis_store.put(key("a", chat), state())
    await redis_store.put(key("b", "1"), state())
    assert await redis_store.count() == 4
    assert await redis_store.delete_user("u-a") == 3
    p = redis_store.prefix
    left = without_counters(redis_keys(redis_service, p), p)
    assert sorted(left) == [f"{p}b:c-1", f"{p}h:u-b"]
    assert left[f"{p}b:c-1"] == {"c-1": "|u-b|"}
    user_b = left[f"{p}h:u-b"]
    assert isinstance(user_b, dict) and list(user_b) == ["c-1"]
    assert decode(user_b["c-1"][13:]) == state()
    assert await redis_store.count() == 1
    assert await redis_store.delete_chat("c-1") == 1
    assert redis_keys(redis_service, p) == {}
    assert await redis_store.count() == 0


async def test_redis_index_holds_one_small_entry_per_session(
    redis_store: RedisStore, redis_service: RedisServer
) -> None:
    """Memory: a user's sessions share one key; a chat's users are one bucket field."""
    for user in ("a", "b"):
        for chat in ("1", "2"):
            await redis_store.put(key(user, chat), state())
    await redis_store.put(key("a", "1"), state("deadline"))  # a put again adds nothing
    p = redis_store.prefix
    left = without_counters(redis_keys(redis_service, p), p)
    assert sorted(left) == [f"{p}b:c-1", f"{p}b:c-2", f"{p}h:u-a", f"{p}h:u-b"]
    assert left[f"{p}b:c-1"] == {"c-1": "|u-a|u-b|"}
    assert await redis_store.count() == 4
    assert await redis_store.delete_chat("c-1") == 2
    assert await redis_store.get(key("a", "1"), T0) is None
    assert await redis_store.get(key("a", "2"), T0) is not None
    assert await redis_store.count() == 2


async def test_redis_keys_carry_the_prefix(redis_service: RedisServer) -> None:
    first = RedisStore(redis_service.url, TTL, prefix="one:")
    second = RedisStore(redis_service.url, TTL, prefix="two:")
    try:
        await first.put(key("a", "1"), state("from-one"))
        assert await second.get(key("a", "1"), T0) is None
        assert await second.count() == 0
        names = sorted(redis_keys(redis_service, "one:"))
        assert names[:3] == ["one:b:c-1", "one:buckets", "one:h:u-a"]
        assert len(names) == 4 and names[3].startswith("one:n:")
        assert redis_keys(redis_service, "two:") == {}
        assert await first.delete_user("u-a") == 1
        assert redis_keys(redis_service, "one:") == {}
    finally:
        await first.close()
        await second.close()


async def test_redis_unreadable_value_starts_afresh(
    redis_store: RedisStore, redis_service: RedisServer
) -> None:
    # Saved by another replica: this store has no copy of it.
    other = RedisStore(redis_service.url, TTL, prefix=redis_store.prefix)
    try:
        await other.put(key("a", "1"), state())
    finally:
        await other.close()
    client = redis_service.client()
    name = f"{redis_store.prefix}h:u-a"
    stored = str(client.hget(name, "c-1"))
    client.hset(name, "c-1", stored[:13] + json.dumps({"v": 99, "where": "?"}))
    client.close()
    assert await redis_store.get(key("a", "1"), T0) is None
    assert await redis_store.count() == 0


def hget_calls(server: RedisServer) -> int:
    client = server.client()
    try:
        stats = client.info("commandstats").get("cmdstat_hget", {"calls": 0})
        return int(stats["calls"])
    finally:
        client.close()


async def test_redis_reads_a_session_it_saved_without_asking_redis(
    redis_store: RedisStore, redis_service: RedisServer
) -> None:
    assert await redis_store.get(key("a", "1"), T0) is None  # connected, tracking on
    await redis_store.put(key("a", "1"), state("deadline"))
    before = hget_calls(redis_service)
    for _ in range(3):
        got = await redis_store.get(key("a", "1"), T0)
        assert got is not None and got.node == "deadline"
    assert hget_calls(redis_service) == before
    # Another chat of the same user was never read here: asked.
    assert await redis_store.get(key("a", "2"), T0) is None
    assert hget_calls(redis_service) == before + 1


async def test_redis_replica_sees_the_previous_holders_changes_after_the_chat_lock(
    redis_service: RedisServer,
) -> None:
    """Two replicas: each caches what it read or saved, and taking the chat's lock (on the
    store's connection) brings every change the other made while it held the lock."""
    prefix = fresh_prefix()
    one = RedisStore(redis_service.url, TTL, prefix=prefix)
    two = RedisStore(redis_service.url, TTL, prefix=prefix)
    a1, a2 = key("a", "1"), key("a", "2")
    locks = {store: store.coordinator() for store in (one, two)}

    async def turn(store: RedisStore, work: Callable[[], Awaitable[object]]) -> object:
        release = await locks[store].acquire("chat-1")
        try:
            return await work()
        finally:
            await release()

    try:
        await turn(one, lambda: one.put(a1, state("start")))
        await turn(one, lambda: one.put(a2, state("start")))
        got = await turn(one, lambda: one.get(a1, T0))
        assert isinstance(got, SessionState) and got.node == "start"  # now cached in one
        await turn(two, lambda: two.put(a1, state("deadline")))
        got = await turn(one, lambda: one.get(a1, T0))
        assert isinstance(got, SessionState) and got.node == "deadline"
        await turn(one, lambda: one.put(a1, state("start")))
        assert await turn(two, lambda: two.delete_user("u-a")) == 2
        assert await turn(one, lambda: one.get(a1, T0)) is None
        assert await turn(one, lambda: one.get(a2, T0)) is None
    finally:
        await one.close()
        await two.close()


async def test_redis_purge_and_count_leave_no_keys_tracked(
    redis_store: RedisStore, redis_service: RedisServer
) -> None:
    """Redis remembers the keys read on the store's connection; a purge reads every user's
    hash, so it runs elsewhere (else Redis would keep every user's key in its tracking table)."""
    other = RedisStore(redis_service.url, TTL, prefix=redis_store.prefix)
    try:
        for user in range(50):
            await other.put(key(str(user), "1"), state())
    finally:
        await other.close()
    client = redis_service.client()
    before = int(client.info("all")["tracking_total_items"])
    await redis_store.purge_expired(T0)
    assert await redis_store.count() == 50
    assert int(client.info("all")["tracking_total_items"]) - before < 10
    client.close()


async def test_redis_copy_is_dropped_when_the_connection_ends(tmp_path: Path) -> None:
    """A restarted Redis without persistence has forgotten the session: so does the store,
    though no invalidation could be sent."""
    from fixtures.redis_server import redis_server, server_binary

    binary = server_binary()
    if binary is None:
        pytest.skip("no redis-server")
    with redis_server(binary) as first:
        port = first.port
        store = RedisStore(first.url, TTL, prefix="r:")
        assert await store.get(key("a", "1"), T0) is None
        await store.put(key("a", "1"), state())
        assert await store.get(key("a", "1"), T0) is not None
    try:
        with redis_server(binary, port=port):
            await asyncio.sleep(0.1)
            assert await store.get(key("a", "1"), T0) is None
    finally:
        await store.close()


async def test_runtime_stores_no_raw_ids_or_message_text_in_redis(
    tmp_path: Path, redis_store: RedisStore, redis_service: RedisServer
) -> None:
    content = load_content(write_tree(tmp_path / "tree"))
    runtime = Runtime(content, redis_store, b"k" * 32, clock=lambda: T0)
    user, chat = "alice-zqx", "room-wvy"
    conv = Conversation(platform="telegram", chat_id=chat, user_id=user)
    await runtime.handle(conv, Start(locale="de"))
    await runtime.handle(conv, Text(text="Geheimwort Zebrafink mein Nachbar fragt"))
    await runtime.handle(conv, Text(text="Wie widerspreche ich der KI-Nutzung?"))
    await runtime.handle(conv, Choice(option="forged-" + user))
    assert await redis_store.count() == 1
    stored = redis_keys(redis_service, redis_store.prefix)
    raw = " ".join([*stored, *map(str, stored.values())])
    assert '"l":"de"' in raw  # the session was written (its language)
    for secret in (user, chat, "zqx", "wvy", "Zebrafink", "Geheimwort", "widerspreche"):
        assert secret not in raw, secret


async def test_bot_store_setting_chooses_the_store(
    tmp_path: Path, redis_service: RedisServer
) -> None:
    from bot.config import ConfigError, Settings
    from bot.runtime import open_store

    chosen = {}
    for value in ("", "sqlite", "memory", redis_service.url):
        store = await open_store(
            Settings(store=value, data_dir=tmp_path, store_prefix="p1:", secret="k" * 32)
        )
        chosen[value] = (type(store).__name__, store.coordinator() is not None)
        await store.close()
    assert chosen == {
        "": ("SqliteStore", False),
        "sqlite": ("SqliteStore", False),
        "memory": ("MemoryStore", False),
        redis_service.url: ("RedisStore", True),
    }
    assert (tmp_path / "sessions.sqlite3").exists()
    with pytest.raises(ConfigError, match=r"^BOT_SECRET: not set, but BOT_STORE is a Redis"):
        await open_store(Settings(store=redis_service.url, data_dir=tmp_path))


USERS = [Conversation(platform="telegram", chat_id=str(n), user_id=f"user{n}") for n in range(4)]


async def test_redis_restart_loses_no_message_and_health_follows(tmp_path: Path) -> None:
    """Redis goes away and comes back: messages in flight at the restart are answered, a
    longer outage gets the try-again note (not silence), and /healthz follows the store."""
    from fixtures.redis_server import redis_server, server_binary

    binary = server_binary()
    if binary is None:
        pytest.skip("no redis-server")
    content = load_content(write_tree(tmp_path / "tree"))
    server = redis_server(binary)
    first = server.__enter__()
    port = first.port
    runtime = Runtime(content, RedisStore(first.url, TTL, prefix="r:"), b"k" * 32)
    try:
        # Every user's pooled connection is open when the server goes.
        for conv in USERS:
            [reply] = await runtime.handle(conv, Start(locale="de"))
            assert reply.node == "start"
        assert await runtime.store_problems() == []
        server.__exit__(None, None, None)

        # A restart while messages wait: they are answered once Redis is back.
        waiting = [asyncio.create_task(runtime.handle(c, Choice(option="deadline"))) for c in USERS]
        await asyncio.sleep(0.3)
        server = redis_server(binary, port=port)
        server.__enter__()
        answered = await asyncio.wait_for(asyncio.gather(*waiting), 20)
        assert [[r.node for r in replies] for replies in answered] == [["deadline"]] * 4
        # Connections that were open before the restart are reconnected, not lost.
        for conv in USERS:
            [reply] = await runtime.handle(conv, Text(text="Bis wann kann ich widersprechen?"))
            assert reply.node == "deadline"
        server.__exit__(None, None, None)

        # A longer outage: the store is reported, and users are told to try again soon.
        runtime._store_checked = -1e9
        assert (await runtime.store_problems())[0].startswith("session store failing")
        started = time.monotonic()
        [reply] = await runtime.handle(USERS[0], Text(text="1"))
        assert reply.text.startswith("Gerade gibt es ein technisches Problem")
        assert time.monotonic() - started < 15

        server = redis_server(binary, port=port)
        server.__enter__()
        runtime._store_checked = -1e9
        assert await runtime.store_problems() == []
        [reply] = await runtime.handle(USERS[1], Text(text="Bis wann kann ich widersprechen?"))
        assert reply.node == "deadline"
    finally:
        with contextlib.suppress(RuntimeError, StopIteration):  # already stopped
            server.__exit__(None, None, None)
        await runtime.close()


async def test_redis_that_does_not_answer_fails_a_session_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Redis that accepts connections but never answers (hung, or a firewall swallowing
    replies): the session read fails with redis-py's timeout instead of waiting for ever."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from bot.store import redis as redis_module

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # keeps the connection open and says nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(redis_module, "SESSION_TIMEOUT", 0.5)
    store = RedisStore(f"redis://127.0.0.1:{port}/0", TTL, prefix=fresh_prefix())
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await store.get(key("a", "1"), T0)
        assert time.monotonic() - started < 3
        # Many at once (sent together as one pipeline): each fails the same way.
        many = [store.get(key(str(n), "1"), T0) for n in range(5)]
        results = await asyncio.gather(*many, return_exceptions=True)
        assert all(isinstance(r, RedisTimeoutError) for r in results), results
        # A read cancelled by its caller stays cancelled (no timeout of ours).
        waiting = asyncio.ensure_future(store.get(key("b", "1"), T0))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        await store.close()
        server.close()
