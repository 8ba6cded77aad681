"""Fixtures every test directory may use: a real Redis server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.redis_server import MISSING, RedisServer, redis_server, server_binary


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisServer]:
    """One redis-server for the whole run (tests keep apart by key prefix or database)."""
    binary = server_binary()
    if binary is None:
        pytest.skip(MISSING)
    with redis_server(binary) as server:
        yield server
