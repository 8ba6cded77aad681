"""Fixtures for the Matrix tests: one real Synapse per test session, users per test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from .clients import TestUser
from .homeserver import RegisteredUser, Synapse

_counter = itertools.count()


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
