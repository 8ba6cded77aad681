"""``python -m bot run`` with ``MATRIX_*`` set, as a real process against the test Synapse."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.cli import configured_platforms
from bot.config import ConfigError

from .clients import Seen, TestUser
from .homeserver import RegisteredUser, Synapse

# The Telegram tests' fake Bot API, to run both platforms in one process.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "telegram"))
from fake_bot_api import FakeBotApi, FakeUser

MakeUser = Callable[..., Awaitable[TestUser]]


def test_configured_platforms() -> None:
    matrix = {"MATRIX_HOMESERVER": "https://m.example.org", "MATRIX_USER_ID": "@b:example.org"}
    # Half the credentials are an error naming what is missing, not a silent console.
    with pytest.raises(ConfigError, match="MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN"):
        configured_platforms(matrix)
    with pytest.raises(ConfigError, match=r"^MATRIX_USER_ID"):
        configured_platforms({"MATRIX_HOMESERVER": "https://m.example.org"})
    assert configured_platforms({}) == []
    assert configured_platforms({**matrix, "MATRIX_PASSWORD": "pw"}) == ["matrix"]
    assert configured_platforms({**matrix, "MATRIX_ACCESS_TOKEN": "t"}) == ["matrix"]
    both = {**matrix, "MATRIX_ACCESS_TOKEN": "t", "TELEGRAM_BOT_TOKEN": "1:x"}
    assert configured_platforms(both) == ["telegram", "matrix"]


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


@pytest.fixture
async def bot_process(
    synapse: Synapse, tmp_path: Path
) -> AsyncIterator[Callable[[RegisteredUser], BotProcess]]:
    """Build (not start) bot processes for an account; killed after the test if still alive."""
    made: list[BotProcess] = []

    def make(account: RegisteredUser) -> BotProcess:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "MATRIX_", "BOT_")) or k == "BOT_CONTENT_DIR"
        }
        env.update(
            MATRIX_HOMESERVER=synapse.url,
            MATRIX_USER_ID=account.user_id,
            MATRIX_ACCESS_TOKEN=account.access_token,
            MATRIX_SYNC_TIMEOUT_MS="10000",
            MATRIX_RETRY_MAX_WAIT="1",
            BOT_DATA_DIR=str(tmp_path / "data"),
            BOT_SECRET="cli-test-secret",
            BOT_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        process = BotProcess(env, tmp_path)
        made.append(process)
        return process

    yield make
    for process in made:
        await process.kill()


async def test_python_m_bot_run_serves_matrix_and_stops_on_signals(
    synapse: Synapse,
    make_user: MakeUser,
    bot_process: Callable[[RegisteredUser], BotProcess],
    tmp_path: Path,
) -> None:
    account = synapse.register("clibot")
    process = bot_process(account)
    await process.start()
    user = await make_user("cliuser")

    def from_bot(room_id: str) -> Callable[[Seen], bool]:
        return lambda s: (
            s.room_id == room_id
            and s.event.sender == account.user_id
            and s.content.get("msgtype") == "m.notice"
        )

    mark = user.mark()
    room_id = await user.create_room([account.user_id], direct=True)
    await user.wait_for(from_bot(room_id), start=mark, timeout=60)  # the greeting
    mark = user.mark()
    await user.send(room_id, "/help")
    await user.wait_for(from_bot(room_id), start=mark, timeout=60)

    assert await process.signal_and_wait(signal.SIGTERM) == 0, process.log()
    assert "Traceback" not in process.log()
    # The access token's device is the bot's device, kept in the data dir.
    saved = json.loads((tmp_path / "data" / "matrix" / "credentials.json").read_text())
    assert saved["device_id"] == account.device_id

    # Written while the process was down: answered once after the next start, which has
    # Telegram configured as well: one process serves both. SIGINT (Ctrl-C) stops it just
    # as cleanly.
    mark = user.mark()
    await user.send(room_id, "/privacy")
    async with FakeBotApi() as telegram:
        process.env.update(
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{telegram.port}",
            TELEGRAM_POLL_TIMEOUT="1",
        )
        await process.start()
        await user.wait_for(from_bot(room_id), start=mark, timeout=60)
        mark = user.mark()
        await user.send(room_id, "/menu")
        await user.wait_for(from_bot(room_id), start=mark, timeout=60)
        telegram_user = FakeUser(id=4242)
        telegram.message(telegram_user, "/start")
        await telegram.wait_sent(telegram_user.id, timeout=60)
        assert await process.signal_and_wait(signal.SIGINT) == 0, process.log()
    assert "starting: telegram, matrix" in process.log()
    assert "Traceback" not in process.log()
    assert len([s for s in user.seen if from_bot(room_id)(s)]) == 4
