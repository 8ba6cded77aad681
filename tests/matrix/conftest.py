"""Fixtures for the Matrix tests: one real Synapse per test session, users per test."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.tree import META, write_tree

from bot.content import Content, default_content_dir, load_content
from bot.platforms.matrix import MatrixSettings
from bot.runtime import Runtime
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore

from .clients import BotHandle, TestUser
from .homeserver import RegisteredUser, Synapse

_counter = itertools.count()

MATRIX_STRINGS = """\
platform_strings:
  matrix:
    intro: {de: "GRUPPE-DE {prefix}", en: "GROUP-EN {prefix}"}
"""
"""The group greeting on Matrix; the adapter fills {prefix} with MATRIX_PREFIX."""


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A Synapse homeserver on 127.0.0.1, started once for the whole session."""
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def register(synapse: Synapse) -> Callable[[str], RegisteredUser]:
    """Register a user with a unique localpart derived from ``name``."""

    def make(name: str, admin: bool = False) -> RegisteredUser:
        return synapse.register(f"{name}{next(_counter)}", admin=admin)

    return make


@pytest.fixture
async def make_user(
    synapse: Synapse, register: Callable[[str], RegisteredUser], tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[TestUser]]]:
    """Create, log in and start test users; they are stopped after the test."""
    started: list[TestUser] = []

    async def make(name: str, auto_join: bool = True) -> TestUser:
        user = TestUser(
            synapse, register(name), tmp_path / f"store-{name}-{len(started)}", auto_join=auto_join
        )
        await user.start()
        started.append(user)
        return user

    yield make
    for user in started:
        await user.stop()


@pytest.fixture(scope="session")
def content_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small literal test tree (tests/fixtures/tree.py) written to a directory, with
    the Matrix group greeting that names the prefix."""
    return write_tree(tmp_path_factory.mktemp("tree"), {"bot.yaml": META + MATRIX_STRINGS})


@pytest.fixture(scope="session")
def content(content_dir: Path) -> Content:
    """The test tree: expectations are its hand-written strings ("WILLKOMMEN-DE")."""
    return load_content(content_dir)


@pytest.fixture(scope="session")
def shipped_content() -> Content:
    """The shipped content tree, for tests that walk through its real texts."""
    return load_content(default_content_dir())


def make_runtime(content: Content, db_path: Path | None = None) -> Runtime:
    """A runtime with an in-memory store, or a SQLite store at ``db_path`` (survives restarts)."""
    ttl = dt.timedelta(days=1)
    store = SqliteStore(db_path, ttl) if db_path is not None else MemoryStore(ttl)
    return Runtime(content=content, store=store, secret=b"matrix-test-secret")


@pytest.fixture
async def start_bot(
    synapse: Synapse, register: Callable[[str], RegisteredUser], content: Content, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[BotHandle]]]:
    """Start the Matrix adapter as a fresh bot account; stopped after the test."""
    handles: list[BotHandle] = []

    async def start(
        account: RegisteredUser | None = None,
        runtime: Runtime | None = None,
        store_dir: Path | None = None,
        **overrides: Any,
    ) -> BotHandle:
        account = account or register("bot")
        values: dict[str, Any] = {
            "homeserver": synapse.url,
            "user_id": account.user_id,
            "password": account.password,
            "sync_timeout_ms": 10_000,
            "retry_max_wait": 1.0,
            **overrides,
        }
        settings = MatrixSettings(**values)
        handle = BotHandle(
            account, settings, runtime or make_runtime(content), store_dir or tmp_path / "bot"
        )
        await handle.start()
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        await handle.stop()
        await handle.runtime.close()
