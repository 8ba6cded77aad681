"""Session stores: the memory and SQLite implementations behave the same."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.tree import write_tree

from bot.content import load_content
from bot.events import Choice, Start, Text
from bot.runtime import Conversation, Runtime
from bot.state import SessionState
from bot.store import MemoryStore, SessionKey, SessionStore, SqliteStore

TTL = dt.timedelta(days=30)
T0 = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


def key(user: str, chat: str) -> SessionKey:
    """Keys shaped like the runtime's (hex digests), readable in assertions."""
    return SessionKey(session=f"s-{user}-{chat}", user=f"u-{user}", chat=f"c-{chat}")


def state(node: str = "start", seen: dt.datetime = T0, **kwargs: Any) -> SessionState:
    return SessionState(node=node, language="de", last_seen=seen, **kwargs)


StoreFactory = Callable[[], SessionStore]


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    made: SessionStore
    if request.param == "memory":
        made = MemoryStore(TTL)
    else:
        made = SqliteStore(tmp_path / "sessions.sqlite3", TTL)
    yield made
    await made.close()


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


async def test_purge_expired(store: SessionStore) -> None:
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


async def test_sqlite_file_holds_only_what_it_is_given(tmp_path: Path) -> None:
    """The store writes keys and state, nothing else; erased rows do not linger in the file."""
    path = tmp_path / "sessions.sqlite3"
    store = SqliteStore(path, TTL)
    marker = "erase-me-0123456789abcdef"
    await store.put(
        SessionKey(session=f"s-{marker}", user=f"u-{marker}", chat=f"c-{marker}"),
        state("node-" + marker),
    )
    await store.put(key("keep", "1"), state())
    assert marker.encode() in all_bytes(tmp_path)
    assert await store.delete_user(f"u-{marker}") == 1
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
