"""No log line, at any level, and no traceback holds the bot token.

httpx logs every request URL, and Bot API URLs carry the token (``/bot<token>/getUpdates``):
``python -m bot run`` at DEBUG talks to the fake Bot API, and everything it wrote is searched.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from fake_bot_api import FakeBotApi, FakeUser
from test_run_process import ROOT, bot_env

from bot.redact import MARK, RedactingFilter, protect, redact


@pytest.mark.parametrize("source", ["env", "file"])
async def test_token_is_in_no_log_line_at_debug(
    api: FakeBotApi, tmp_path: Path, source: str
) -> None:
    env = bot_env(api, tmp_path / "data")
    env["BOT_LOG_LEVEL"] = "DEBUG"
    if source == "file":
        token_file = tmp_path / "token"
        token_file.write_text(api.token + "\n")
        del env["TELEGRAM_BOT_TOKEN"]
        env["TELEGRAM_BOT_TOKEN_FILE"] = str(token_file)
    log = tmp_path / "bot.log"
    user = FakeUser(id=4343, language_code="de")
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        await api.wait_until(lambda: bool(api.calls_of("getUpdates")), timeout=30)
        # A refused send is retried and logged with its URL.
        api.fail("sendMessage", "5xx", status=502, count=1)
        api.message(user, "/start")
        await api.wait_sent(user.id, timeout=15)
        api.message(user, "Wie widerspreche ich?")
        await api.wait_sent(user.id, 2, timeout=15)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    written = log.read_text()
    secret = api.token.split(":", 1)[1]
    assert "getUpdates" in written, "precondition: httpx logged its requests"
    assert f"/bot{MARK}/getUpdates" in written
    assert api.token not in written
    assert secret not in written


def test_a_traceback_is_redacted_too() -> None:
    import logging

    protect("hunter2-password")
    try:
        raise RuntimeError(
            "login with hunter2-password to https://x/bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ/getMe"
        )
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("hunter2-password",), sys.exc_info()
        )
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "Traceback" in text
    assert "hunter2" not in text
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ" not in text
    assert redact('{"access_token": "syt_abc123"}') == f'{{"access_token": "{MARK}"}}'
    assert redact("GET /_matrix/client/v3/sync?access_token=syt_xyz&since=s1") == (
        f"GET /_matrix/client/v3/sync?access_token={MARK}&since=s1"
    )
