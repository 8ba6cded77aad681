"""No log line, at any level, and no traceback holds the bot token.

httpx logs every request URL, and Bot API URLs carry the token (``/bot<token>/getUpdates``):
``python -m bot run`` at DEBUG talks to the fake Bot API, and everything it wrote is searched.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import pytest
from fake_bot_api import FakeBotApi, FakeChat, FakeUser
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


# -- each pattern, with the spellings libraries use --------------------------------------------

TOKEN = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
SYT = "syt_YWxpY2U_LRTmvEWWTRbzGmDEDkbe_0vdsBv"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        # httpx at INFO: every Bot API request URL, with the token after /bot.
        (
            f'HTTP Request: POST http://127.0.0.1:8081/bot{TOKEN}/getUpdates "HTTP/1.1 200 OK"',
            TOKEN,
        ),
        # a short token in a URL (self-hosted Bot API servers, tests) and file downloads
        ("GET https://api.telegram.org/bot42:short-token/getMe", "short-token"),
        (f"GET https://api.telegram.org/file/bot{TOKEN}/photos/file_1.jpg", TOKEN),
        # python-telegram-bot's exception text, a bare token
        (f"telegram.error.InvalidToken: token {TOKEN} was rejected", TOKEN),
        # aiohttp (under nio): the URL of a failed request with the token as query parameter
        (
            f"<ClientResponse(https://m.example.org/_matrix/client/v3/sync?access_token={SYT}&since=s1)>",
            SYT,
        ),
        # nio's login answer as JSON, and as a dict repr
        (f'{{"user_id": "@bot:m.example.org", "access_token": "{SYT}"}}', SYT),
        (f"{{'access_token': '{SYT}', 'device_id': 'ABC'}}", SYT),
        # Authorization headers as libraries spell them: HTTP line, lower case (HTTP/2 and
        # aiohttp's CIMultiDict repr), a dict, header tuples in bytes, upper case
        ("Authorization: Bearer abc123secretvalue", "abc123secretvalue"),
        ("authorization: bearer abc123secretvalue", "abc123secretvalue"),
        ("<CIMultiDictProxy('Authorization': 'Bearer abc123secretvalue')>", "abc123secretvalue"),
        ("{'authorization': 'Bearer abc123secretvalue'}", "abc123secretvalue"),
        ("[(b'authorization', b'Bearer abc123secretvalue')]", "abc123secretvalue"),
        ("AUTHORIZATION=BEARER abc123secretvalue", "abc123secretvalue"),
        # a Synapse token anywhere else
        (f"sending with {SYT} failed", SYT),
    ],
)
def test_each_pattern_blanks_the_secret(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned
    assert MARK in cleaned


@pytest.mark.parametrize(
    "line",
    [
        # Operators must see which file is broken.
        "content/bot.yaml:3: expected a mapping",
        "/srv/bot/platforms/telegram.py line 12",
        "data/telegram/answered-updates",
        "see https://t.me/TestBot?start=how-to-object",
        "the bearer of this letter: 12:30 tomorrow",
        "update 1234 could not be read; skipped",
    ],
)
def test_ordinary_text_is_left_alone(line: str) -> None:
    assert redact(line) == line


def test_telegram_library_records_lose_their_arguments() -> None:
    """python-telegram-bot passes updates and parameters as record arguments."""
    record = logging.LogRecord(
        "telegram.ext.Application",
        logging.CRITICAL,
        __file__,
        1,
        "Error while building CallbackContext for update %s. Update will not be processed.",
        ({"message": {"from": {"id": 987654321, "first_name": "Zebulon"}, "text": "geheim"}},),
        None,
    )
    assert RedactingFilter().filter(record)
    text = record.getMessage()
    assert "Update will not be processed" in text
    assert "Zebulon" not in text and "987654321" not in text and "geheim" not in text


# -- no user data at DEBUG ----------------------------------------------------------------------


async def test_no_log_line_holds_a_users_id_name_or_words_at_debug(
    api: FakeBotApi, tmp_path: Path
) -> None:
    env = bot_env(api, tmp_path / "data")
    env["BOT_LOG_LEVEL"] = "DEBUG"
    user = FakeUser(
        id=7_654_321_987, first_name="Quirinius", username="quirinius_tg", language_code="de"
    )
    group = FakeChat(id=-1_009_876_543_210, type="supergroup", title="Stammtisch Quarkstadt")
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        await api.wait_until(lambda: bool(api.calls_of("getUpdates")), timeout=60)
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=15)
        api.message(user, "Zwetschgenröster Widerspruch bitte")
        await api.wait_sent(user.id, 2, timeout=15)
        api.press(user, menu, "how-to-object")
        await api.wait_sent(user.id, 3, timeout=15)
        api.message(user, "@TestBot Kürbiskernfrage zum Widerspruch", chat=group)
        await api.wait_sent(group.id, timeout=15)
        # A failure path logs too: an answer Telegram refuses once.
        api.fail("sendMessage", "5xx", status=502, count=1)
        api.message(user, "/help")
        await api.wait_sent(user.id, 4, timeout=15)
        # And an update that cannot be read.
        api.push_raw({"message": {"text": "Zwetschgenröster", "from": user.to_api()}})
        api.message(user, "/help")
        await api.wait_sent(user.id, 5, timeout=15)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    written = log.read_text()
    assert " DEBUG " in written, "precondition: the bot logged at DEBUG"
    for private in (
        str(user.id),
        "Quirinius",
        "quirinius_tg",
        "Zwetschgenr",
        "Kürbiskern",
        str(group.id),
        "Quarkstadt",
    ):
        assert private not in written, f"{private!r} is in the log"


def test_matrix_user_ids_in_nio_lines_are_replaced() -> None:
    """nio names users in its INFO lines (f-strings): the ids are replaced, the rest stays."""
    record = logging.LogRecord(
        "nio.crypto.log",
        logging.INFO,
        __file__,
        1,
        "Creating Inbound session for @alice.m:matrix.example.org:8448 in !room:example.org",
        None,
        None,
    )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "Creating Inbound session for @[user] in !room:example.org"
