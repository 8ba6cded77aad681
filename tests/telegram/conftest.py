"""Fixtures: a spec-checked fake Bot API and the real adapter running against it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_bot_api import FakeBotApi

from bot.content import Content, load_content
from bot.platforms.telegram import TelegramAdapter, TelegramSettings
from bot.runtime import Runtime
from bot.store import MemoryStore, SessionStore, SqliteStore

TTL = dt.timedelta(days=30)


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server
        # Every request the bot made must be one the real API accepts.
        assert server.violations == [], server.violations
        assert server.unanswered_callbacks == set()


def make_settings(api: FakeBotApi, **overrides: Any) -> TelegramSettings:
    values: dict[str, Any] = {
        "bot_token": api.token,
        "base_url": f"http://127.0.0.1:{api.port}",
        "poll_timeout": 1,
        "request_timeout": 1.0,
        "retry_wait_max": 0.2,
        "send_retries": 5,
    }
    values.update(overrides)
    return TelegramSettings(**values)


class Running:
    """A running adapter; ``stop()`` shuts it down gracefully and waits for it."""

    def __init__(self, adapter: TelegramAdapter, task: asyncio.Task[None], stop: asyncio.Event):
        self.adapter = adapter
        self.task = task
        self._stop = stop

    @property
    def runtime(self) -> Runtime:
        return self.adapter.runtime

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        async with asyncio.timeout(timeout):
            await self.task


BotFactory = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def run_bot(api: FakeBotApi, content: Content, tmp_path: Path) -> BotFactory:
    """Start the adapter against ``api``: ``async with run_bot(store=...) as bot:``.

    ``engine`` replaces the real engine (to test rendering of arbitrary replies), ``tree``
    the content (default: the ``content`` fixture).
    """

    @asynccontextmanager
    async def runner(
        store: SessionStore | None = None,
        engine: Any = None,
        tree: Content | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Running]:
        runtime = Runtime(
            tree or content, store or MemoryStore(TTL), secret=b"test-secret", engine=engine
        )
        adapter = TelegramAdapter(runtime, make_settings(api, **overrides))
        stop = asyncio.Event()
        task = asyncio.create_task(adapter.serve(stop))
        running = Running(adapter, task, stop)
        try:
            ready = asyncio.create_task(adapter.ready.wait())
            await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            if task.done():
                task.result()
            assert adapter.ready.is_set(), "the adapter did not start in time"
            yield running
        finally:
            if not task.done():
                await running.stop()
            await runtime.close()

    return runner


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Callable[[], SqliteStore]:
    return lambda: SqliteStore(tmp_path / "sessions.sqlite3", TTL)
