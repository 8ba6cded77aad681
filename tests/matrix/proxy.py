"""A TCP proxy on loopback that can cut the line, to play a homeserver outage.

The bot talks to Synapse through the proxy while the test users talk to Synapse
directly, so the homeserver stays up for them (they can write while the bot cannot
reach it). ``cut()`` drops every open connection and refuses new ones until
``restore()``, which is what a client sees while its homeserver is down.

Rules play the nastier failures, per HTTP request (matched on its request line, e.g.
``b"/sync"``): ``stall`` never forwards the request (a homeserver that accepts and never
answers), ``drop_response`` forwards it and cuts the connection when the answer comes (the
request reached Synapse, the client never learns), ``hold_response`` forwards it and never
passes the answer on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["stall", "drop_response", "hold_response"]
_METHODS = {b"GET", b"PUT", b"POST", b"DELETE", b"OPTIONS"}


@dataclass
class Rule:
    """What to do with requests whose request line contains ``marker``."""

    marker: bytes
    action: Action
    skip: int = 0
    """Let this many matching requests through untouched first."""
    times: int | None = 1
    """How many requests the rule acts on (``None``: every one after ``skip``)."""
    hits: int = 0
    """Requests the rule acted on so far."""
    lines: list[bytes] = field(default_factory=list)
    """Request lines of the requests it acted on."""

    def applies(self) -> bool:
        """Whether the next matching request is acted on (and count it)."""
        if self.skip > 0:
            self.skip -= 1
            return False
        return self.times is None or self.hits < self.times


class _Connection:
    """One client connection and what the proxy does with the answer to its last request."""

    def __init__(self) -> None:
        self.on_response: Action | None = None


class CuttableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.refused = 0
        """Connections refused while cut: proof that the client kept trying."""
        self.connections = 0
        """Connections forwarded in total."""
        self.requests: list[bytes] = []
        """Every request line seen, in order."""
        self.rules: list[Rule] = []
        self._cut = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()

    @property
    def url(self) -> str:
        """The base URL to give the client instead of the homeserver's."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection."""
        self._drop_all()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop open connections and refuse new ones."""
        self._cut = True
        self._drop_all()

    def restore(self) -> None:
        """Forward again (rules stay until ``clear()``)."""
        self._cut = False

    def add(self, marker: bytes, action: Action, *, skip: int = 0, times: int | None = 1) -> Rule:
        """Act on requests whose request line contains ``marker`` (see the module doc)."""
        rule = Rule(marker, action, skip=skip, times=times)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule and drop the connections they hold."""
        self.rules.clear()
        self._drop_all()

    async def wait_hit(self, rule: Rule, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until ``rule`` acted on ``count`` requests."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: rule.hits >= count), timeout)

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _rule_for(self, data: bytes) -> Rule | None:
        line = data.split(b"\r\n", 1)[0]
        if line.split(b" ", 1)[0] not in _METHODS:
            return None  # the body of a request, not its start
        self.requests.append(line)
        for rule in self.rules:
            if rule.marker in line and rule.applies():
                rule.hits += 1
                rule.lines.append(line)
                return rule
        return None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        conn = _Connection()
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._requests(conn, reader, up_writer)),
            asyncio.create_task(self._responses(conn, up_reader, writer, up_writer)),
        ]
        self._tasks.update(pumps)
        try:
            # Either side ending ends the connection; a pump held by a rule is cancelled.
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pending:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._tasks.difference_update(pumps)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _requests(
        self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                rule = self._rule_for(data)
                if rule is not None:
                    await self._notify()
                    if rule.action == "stall":
                        await asyncio.Event().wait()  # until the connection is dropped
                    conn.on_response = rule.action
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _responses(
        self,
        conn: _Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if conn.on_response == "drop_response":
                    break  # the answer is lost with the connection
                if conn.on_response == "hold_response":
                    await asyncio.Event().wait()  # until the connection is dropped
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        upstream.transport.abort()
