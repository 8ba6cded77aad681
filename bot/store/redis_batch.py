"""Commands to the Redis session store's connection, those issued together sent together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store.redis_connection import TrackedConnection

_Queued = tuple[tuple[str | int, ...], asyncio.Future[Any]]
"""A command waiting for the next pipeline, and where its reply goes."""
T = TypeVar("T")


class SharedTimer:
    """Bounds calls that never overlap (one after the other) with one timer for them all.

    :meth:`bound` is ``asyncio.timeout`` that raises redis-py's ``TimeoutError``. It is not
    ``asyncio.timeout`` itself because a timer per call (a ``TimerHandle`` made, pushed on
    the event loop's heap and cancelled, and two more coroutines) costs about 5 µs where
    this costs 1, where a call seldom lasts longer than a millisecond: with
    ``asyncio.timeout``, Redis put+get one at a time (``bench/store.py``) ran 8-10 % slower.
    Here the timer, once set, re-arms itself for the latest call's deadline, and is set
    again only after it found no call under way.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._waiting: asyncio.Task[Any] | None = None
        """The task of the call under way (at most one)."""
        self._deadline = 0.0
        """When that call must be done, in event loop time."""
        self._watch: asyncio.TimerHandle | None = None
        self._expired: asyncio.Task[Any] | None = None
        """The task this timer cancelled, until it has turned that into the timeout."""

    async def bound(self, call: Awaitable[T]) -> T:
        """``await call``, cancelled with redis-py's ``TimeoutError`` after ``seconds``.

        A caller's own cancellation stays a cancellation."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        self._waiting, self._deadline = task, loop.time() + self._seconds
        if self._watch is None:
            self._watch = loop.call_at(self._deadline, self._check)
        try:
            return await call
        except asyncio.CancelledError:
            if task is not None and self._expired is task:
                self._expired = None
                if task.uncancel() == 0:  # not also cancelled by someone else
                    raise RedisTimeoutError(
                        f"Redis did not answer within {self._seconds:g} s"
                    ) from None
            raise
        finally:
            self._waiting = None

    def _check(self) -> None:
        self._watch = None
        if self._waiting is None:
            return  # idle: the next call sets the timer again
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            self._expired = self._waiting
            self._waiting.cancel()
        else:
            self._watch = loop.call_at(self._deadline, self._check)


class Batch:
    """Sends commands on one connection, those issued while another one is under way together.

    With many conversations at once, most of a command's cost is the client's own work per
    call (a write, a wake-up, a read); sent together they share it, as the SQLite store's
    writes share a transaction. A command issued while none is under way is sent at once,
    so one conversation at a time waits for nothing. At most one command or pipeline is
    under way: the connection is one.

    Each round trip, retries after a lost connection included, fails with redis-py's
    ``TimeoutError`` after ``timeout`` seconds (:class:`SharedTimer`).
    """

    def __init__(self, connection: TrackedConnection, timeout: float) -> None:
        self._connection = connection
        self._timer = SharedTimer(timeout)
        self._queued: list[_Queued] = []
        self._busy = 0
        self._scheduled = False

    async def call(self, *command: str | int) -> Any:
        """Send ``command`` and return its reply; an error reply is raised."""
        if not self._busy and not self._queued:
            self._busy += 1
            try:
                (result,) = await self._timer.bound(self._connection.round_trip([command]))
            finally:
                self._busy -= 1
                self._kick()
            if isinstance(result, Exception):
                raise result
            return result
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((command, done))
        self._kick()
        return await done

    def _kick(self) -> None:
        if self._queued and not self._busy and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        if not self._queued or self._busy:
            return
        batch, self._queued = self._queued, []
        self._busy += 1
        task = asyncio.ensure_future(self._execute(batch))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _execute(self, batch: list[_Queued]) -> None:
        try:
            results = await self._timer.bound(
                self._connection.round_trip([command for command, _ in batch])
            )
        except BaseException as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._busy -= 1
            self._kick()
        for (_, done), result in zip(batch, results, strict=True):
            if done.done():
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)
