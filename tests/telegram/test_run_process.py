"""``python -m bot run`` as a real process: starts Telegram from the environment, talks to the
fake Bot API over loopback, and on SIGTERM finishes what it is doing, keeps its state and exits
cleanly."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fake_bot_api import FakeBotApi, FakeUser, parse_telegram_html

from bot.content import Content
from bot.platforms.telegram import split_markup

ROOT = Path(__file__).resolve().parents[2]


def answer(content: Content, node_id: str, lang: str) -> str:
    text = content.answer(content.nodes[node_id], lang, dt.date.today())
    return parse_telegram_html(split_markup(text)[0]).strip()


def bot_env(api: FakeBotApi, data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "MATRIX_", "BOT_DATA_DIR", "BOT_SECRET"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{api.port}",
        TELEGRAM_POLL_TIMEOUT="1",
        TELEGRAM_REQUEST_TIMEOUT="5",
        BOT_DATA_DIR=str(data_dir),
        BOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@asynccontextmanager
async def bot_process(
    api: FakeBotApi, tmp_path: Path, name: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot run``; ready once it polls. The caller stops it with SIGTERM."""
    log = tmp_path / f"{name}.log"
    polls = len(api.calls_of("getUpdates"))
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=bot_env(api, tmp_path / "data"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        try:
            await api.wait_until(lambda: len(api.calls_of("getUpdates")) > polls, timeout=30)
        except TimeoutError:
            raise AssertionError(f"the bot did not start:\n{log.read_text()}") from None
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


async def stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(20):
        return await proc.wait()


def stored_nodes(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "sessions.sqlite3") as db:
        rows = db.execute("SELECT state FROM sessions").fetchall()
    return [json.loads(state)["node"] for (state,) in rows]


async def test_run_serves_telegram_and_stops_gracefully_on_sigterm(
    api: FakeBotApi, content: Content, tmp_path: Path
) -> None:
    user = FakeUser(id=4242, language_code="de")
    async with bot_process(api, tmp_path, "first") as proc:
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=15)
        assert menu.visible.strip() == answer(content, content.meta.root, "de")

        # SIGTERM arrives while the answer to a button is on its way: it is still delivered.
        api.fail("sendMessage", "slow", delay=1.0)
        calls = len(api.calls_of("sendMessage"))
        api.press(user, menu, "how-to-object")
        await api.wait_until(lambda: len(api.calls_of("sendMessage")) > calls, timeout=15)
        assert await stop(proc) == 0
    sent = api.sent_to(user.id)
    assert len(sent) == 2
    assert sent[1].visible.strip() == answer(content, "how-to-object", "de")
    # The conversation's place was saved.
    assert stored_nodes(tmp_path / "data") == ["how-to-object"]

    # A new process continues where the user was: "1" is the first option of that topic.
    async with bot_process(api, tmp_path, "second") as proc:
        api.message(user, "1")
        sent = await api.wait_sent(user.id, 3, timeout=15)
        first = content.nodes["how-to-object"].options[0].to
        assert sent[2].visible.strip() == answer(content, first, "de")
        assert await stop(proc) == 0
    assert stored_nodes(tmp_path / "data") == [first]
