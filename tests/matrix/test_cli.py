"""``python -m bot run`` with ``MATRIX_*`` set, as a real process against the test Synapse."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.cli import configured_platforms
from bot.config import ConfigError

from .clients import BotProcess, Seen, TestUser, bot_env
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


@pytest.fixture
async def bot_process(
    synapse: Synapse, tmp_path: Path
) -> AsyncIterator[Callable[[RegisteredUser], BotProcess]]:
    """Build (not start) bot processes for an account; killed after the test if still alive."""
    made: list[BotProcess] = []

    def make(account: RegisteredUser) -> BotProcess:
        env = bot_env(synapse.url, account.user_id, account.access_token, tmp_path / "data")
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
