"""A matrix-nio client that plays a human user in tests and benchmarks.

It syncs in the background, records every room event it sees (decrypted where it
can) and lets callers wait for an event matching a predicate, with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MatrixRoom,
    RoomCreateError,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
)

from bot.platforms.matrix import MatrixBot, MatrixSettings
from bot.runtime import Runtime

from .homeserver import RegisteredUser, Synapse

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


@dataclass(frozen=True)
class Seen:
    """A room event as the client saw it, with the local time it arrived."""

    room_id: str
    event: Event
    at: float

    @property
    def content(self) -> dict[str, Any]:
        """The (decrypted) event content."""
        source: dict[str, Any] = self.event.source
        content: dict[str, Any] = source.get("content", {})
        return content

    @property
    def body(self) -> str:
        """The plain body of a message, or "" for other events."""
        return str(self.content.get("body", ""))


class TestUser:
    """A logged-in, end-to-end capable client syncing in the background."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, homeserver: Synapse, user: RegisteredUser, store_dir: Path, auto_join: bool = True
    ) -> None:
        self.homeserver = homeserver
        self.user = user
        self.user_id = user.user_id
        store_dir.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            homeserver.url,
            user.user_id,
            store_path=str(store_dir),
            config=AsyncClientConfig(
                encryption_enabled=True, store_sync_tokens=True, max_timeout_retry_wait_time=2
            ),
        )
        self.auto_join = auto_join
        self.seen: list[Seen] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in (a new device), do a first sync and keep syncing in the background."""
        resp = await self.client.login(self.user.password, device_name="test-user")
        assert isinstance(resp, LoginResponse), resp
        self.client.add_event_callback(self._on_event, Event)
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        await self.client.sync(timeout=0, full_state=True)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self._task = asyncio.create_task(self.client.sync_forever(timeout=10_000))

    async def stop(self) -> None:
        """Stop syncing and close the HTTP session."""
        self.client.stop_sync_forever()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def _on_event(self, room: MatrixRoom, event: Event) -> None:
        async with self._changed:
            self.seen.append(Seen(room.room_id, event, time.monotonic()))
            self._changed.notify_all()

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if self.auto_join and event.state_key == self.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def wait_for(
        self, predicate: Callable[[Seen], bool], timeout: float = 30.0, start: int = 0
    ) -> Seen:
        """Return the first event from index ``start`` on that matches ``predicate``."""
        found: Seen | None = None

        def check() -> bool:
            nonlocal found
            for item in self.seen[start:]:
                if predicate(item):
                    found = item
                    return True
            return False

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), timeout)
        assert found is not None
        return found

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until ``condition()`` holds; re-checked on every event and every 0.1 s."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met")
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.1)

    def mark(self) -> int:
        """An index into ``seen``: pass it as ``start`` to wait only for later events."""
        return len(self.seen)

    async def create_room(
        self,
        invite: list[str],
        *,
        encrypted: bool = False,
        direct: bool = False,
        name: str | None = None,
    ) -> str:
        """Create a room, invite users and return its id."""
        resp = await self.client.room_create(
            name=name,
            invite=invite,
            is_direct=direct,
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
            initial_state=[ENCRYPTION_STATE] if encrypted else [],
        )
        assert isinstance(resp, RoomCreateResponse), resp
        assert not isinstance(resp, RoomCreateError)
        return str(resp.room_id)

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20.0) -> None:
        """Wait until ``user_id`` is a joined member of ``room_id`` as this client sees it."""

        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and user_id in room.users

        await self.wait_until(joined, timeout)

    async def join(self, room_id: str) -> None:
        """Join a room and fail loudly if that does not work."""
        resp = await self.client.join(room_id)
        assert not isinstance(resp, JoinError), resp

    async def send(self, room_id: str, body: str, **content: Any) -> str:
        """Send an m.text message (encrypted in encrypted rooms) and return its event id.

        Waits (up to 20 s) until this client's own sync has the room: nio refuses to send
        into a room it does not know yet ("No such room"), e.g. right after an auto-join.
        """
        await self.wait_until(lambda: room_id in self.client.rooms, 20)
        message = {"msgtype": "m.text", "body": body, **content}
        resp = await self.client.room_send(
            room_id, "m.room.message", message, ignore_unverified_devices=True
        )
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)


class BotHandle:
    """The adapter under test, running in a background task until ``stop()``."""

    def __init__(
        self, account: RegisteredUser, settings: MatrixSettings, runtime: Runtime, store_dir: Path
    ) -> None:
        self.account = account
        self.user_id = account.user_id
        self.settings = settings
        self.runtime = runtime
        self.store_dir = store_dir
        self.bot: MatrixBot | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the bot and wait for its first sync."""
        self._stop = asyncio.Event()
        self.bot = MatrixBot(self.runtime, self.settings, self.store_dir)
        self._task = asyncio.create_task(self.bot.run(self._stop))
        synced = asyncio.create_task(self.bot.synced.wait())
        done, _ = await asyncio.wait(
            {synced, self._task}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
        if self._task in done:
            self._task.result()  # raises the bot's error
        if synced not in done:
            synced.cancel()
            raise TimeoutError("bot did not sync")

    async def stop(self) -> None:
        """Ask the bot to stop (as on SIGTERM) and wait until it has shut down."""
        if self._task is None or self.bot is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, 30)
        finally:
            await self.bot.close()
            self._task = None

    async def restart(self) -> None:
        """Stop and start again with the same account, data directory and runtime."""
        await self.stop()
        await self.start()


def bot_env(homeserver: str, user_id: str, access_token: str, data_dir: Path) -> dict[str, str]:
    """The environment of ``python -m bot run`` for a Matrix account, nothing inherited
    from the caller's ``TELEGRAM_*``/``MATRIX_*``/``BOT_*`` variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "MATRIX_", "BOT_")) or k == "BOT_CONTENT_DIR"
    }
    env.update(
        MATRIX_HOMESERVER=homeserver,
        MATRIX_USER_ID=user_id,
        MATRIX_ACCESS_TOKEN=access_token,
        MATRIX_SYNC_TIMEOUT_MS="10000",
        MATRIX_RETRY_MAX_WAIT="1",
        BOT_DATA_DIR=str(data_dir),
        BOT_SECRET="cli-test-secret",
        BOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


class BotProcess:
    """``python -m bot run`` in a child process, logging to a file."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Launch the process."""
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.env,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def signal_and_wait(self, sig: signal.Signals, timeout: float = 60) -> int:
        """Send ``sig`` and return the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def log(self) -> str:
        """Everything the process logged."""
        return self.log_path.read_text(errors="replace")

    async def kill(self) -> None:
        """Kill the process if it still runs (test cleanup)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def wait_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the log contains ``text`` (re-read every 0.05 s), or fail with the log."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"exited before logging {text!r}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not logged within {timeout}s:\n{self.log()}")
            await asyncio.sleep(0.05)  # polling a file another process writes
