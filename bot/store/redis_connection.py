"""The Redis session store's own connection, with client-side tracking on.

:class:`TrackedConnection` drives one redis-py :class:`~redis.asyncio.connection.Connection`
directly (connecting, AUTH, TLS and parsing are redis-py's), without the client's layers per
command: they took two fifths of a session's read or write. It speaks RESP3 with
``CLIENT TRACKING`` on (``NOLOOP``: not about its own changes), so Redis tells it, on this
same connection and in order with the replies, when a key it has read is changed by anyone
else.

redis-py has no public way to hear those messages on a connection it does not own through
a client, nor to see that the other end closed a connection before reading from it: the two
functions under "redis-py internals" below reach into the connection's private ``_parser``
and ``_reader``, and nothing else here does. ``pyproject.toml`` bounds redis-py to the
versions they were tested with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Connection
from redis.exceptions import ResponseError

# -- redis-py internals -----------------------------------------------------------------
# The only places that touch redis-py's private attributes (tested with redis-py 5.1.1 and
# 8.2.0); a redis-py that renames them fails here, at the first connection, not elsewhere.


def _on_push(connection: Connection, handler: Callable[[list[Any]], Awaitable[None]]) -> None:
    """Have ``handler`` called with each invalidation message Redis pushes on ``connection``.

    The RESP3 parser calls it while it reads replies, so a message is handled before any
    reply that Redis sent after it."""
    connection._parser.set_invalidation_push_handler(handler)  # type: ignore[attr-defined]


def _closed_by_peer(connection: Connection) -> bool:
    """Whether the event loop has seen ``connection``'s other end close it (or fail), or it
    is not connected: known before any read, without one."""
    reader = connection._reader
    return reader is None or reader.at_eof() or reader.exception() is not None


# -- the connection ---------------------------------------------------------------------


class TrackedConnection:
    """One connection whose reads Redis tracks, and that says when what it read changed.

    ``invalidated`` is called with the keys Redis says anyone else changed (``None``: all
    of them), and ``reset`` when the connection is (re)made or lost, since what was said
    while it was down is lost. A lost connection is reconnected and the commands are sent
    again with the connection's ``Retry``, as the client would.
    """

    def __init__(
        self,
        connection: Connection,
        invalidated: Callable[[list[str] | None], None],
        reset: Callable[[], None],
    ) -> None:
        self._connection = connection
        self._invalidated = invalidated
        self._reset = reset
        self.tracking = False
        """Whether Redis is tracking the keys read on the current connection."""
        connection.register_connect_callback(self._on_connect)  # type: ignore[no-untyped-call]

    async def _on_connect(self, connection: Connection) -> None:
        self.tracking = False
        self._reset()
        try:
            _on_push(connection, self._on_invalidate)
            await connection.send_command("CLIENT", "TRACKING", "ON", "NOLOOP", check_health=False)
            await connection.read_response()
        except BaseException:
            # Left connected without tracking, it would be read as if every change were told.
            await connection.disconnect(nowait=True)
            raise
        self.tracking = True

    async def _on_invalidate(self, message: list[Any]) -> None:
        keys = message[1] if len(message) > 1 else None
        self._invalidated(None if keys is None else [str(k) for k in keys])

    def _lost(self) -> None:
        self.tracking = False
        self._reset()

    def up(self) -> bool:
        """Whether the connection is tracking and has not been closed by the other end.

        The end of a connection shows once the event loop has seen it, before any read:
        a Redis that went away no longer vouches for what it told before."""
        if self.tracking and _closed_by_peer(self._connection):
            self._lost()
        return self.tracking

    async def close(self) -> None:
        """Disconnect; what Redis told before no longer holds."""
        self._lost()
        await self._connection.disconnect()

    async def round_trip(self, commands: list[tuple[str | int, ...]]) -> list[Any]:
        """Send ``commands`` at once and read their replies (an error reply as its exception).

        Cancelled in the middle, redis-py drops the connection: a late reply is never read
        as the answer to the next command."""
        connection = self._connection

        async def attempt() -> list[Any]:
            await connection.send_packed_command(connection.pack_commands(commands))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as exc:
                    replies.append(exc)
            return replies

        async def failed(error: Exception) -> None:
            self._lost()
            await connection.disconnect()

        try:
            return await connection.retry.call_with_retry(attempt, failed)
        except BaseException:
            # Cancelled or failed in the middle: redis-py has dropped the connection.
            self._lost()
            raise
