"""``python -m bot run`` as a real process: starts Telegram from the environment, talks to the
fake Bot API over loopback, and on SIGTERM finishes what it is doing, keeps its state and exits
cleanly; killed with SIGKILL mid-burst, it loses nothing and answers nothing twice (an
update is confirmed to Telegram only once it is answered); it sweeps expired sessions while it runs; a refused token stops it.

Most conversations run on the small test tree (tests/fixtures/tree.py), so the expected texts
are written out by hand; one runs on the shipped content and checks phrases that stay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fake_bot_api import FakeBotApi, FakeChat, FakeUser
from fixtures.tree import write_tree

ROOT = Path(__file__).resolve().parents[2]

_LOG_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)


def bot_env(api: FakeBotApi, data_dir: Path, content_dir: Path | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("TELEGRAM_", "MATRIX_", "BOT_DATA_DIR", "BOT_SECRET", "BOT_CONTENT_DIR", "BOT_STORE")
        )
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
    if content_dir is not None:
        env["BOT_CONTENT_DIR"] = str(content_dir)
    return env


@asynccontextmanager
async def bot_process(
    api: FakeBotApi,
    tmp_path: Path,
    name: str,
    *,
    content_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    argv: tuple[str, ...] = ("-m", "bot", "run"),
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot run``; ready once it polls. The caller stops it with SIGTERM."""
    log = tmp_path / f"{name}.log"
    polls = len(api.calls_of("getUpdates"))
    env = {**bot_env(api, tmp_path / "data", content_dir), **(extra_env or {})}
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            cwd=ROOT,
            env=env,
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


async def wait_for(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` (e.g. a look into the database file) until it holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_run_serves_telegram_and_stops_gracefully_on_sigterm(
    api: FakeBotApi, tmp_path: Path
) -> None:
    tree = write_tree(tmp_path / "tree")
    user = FakeUser(id=4242, language_code="de")
    async with bot_process(api, tmp_path, "first", content_dir=tree) as proc:
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=15)
        assert menu.visible == "WILLKOMMEN-DE"
        assert menu.callback_data == ["objection", "deadline", "my-case", "extra", "@lang:en"]

        # SIGTERM arrives while the answer to a button is on its way: it is still delivered.
        api.fail("sendMessage", "slow", delay=1.0)
        calls = len(api.calls_of("sendMessage"))
        api.press(user, menu, "objection")
        await api.wait_until(lambda: len(api.calls_of("sendMessage")) > calls, timeout=15)
        assert await stop(proc) == 0
    sent = api.sent_to(user.id)
    assert len(sent) == 2
    assert sent[1].visible.startswith("WIDERSPRUCH-DE Formular")
    # The conversation's place was saved.
    assert stored_nodes(tmp_path / "data") == ["objection"]

    # A new process continues where the user was: "1" on the objection page is Instagram
    # (on a fresh menu it would be the objection itself).
    async with bot_process(api, tmp_path, "second", content_dir=tree) as proc:
        api.message(user, "1")
        sent = await api.wait_sent(user.id, 3, timeout=15)
        assert sent[2].visible.startswith("INSTAGRAM-DE")
        assert await stop(proc) == 0
    assert stored_nodes(tmp_path / "data") == ["objection-instagram"]


async def test_run_with_the_shipped_content(api: FakeBotApi, tmp_path: Path) -> None:
    """The content the bot ships with: the menu offers the objection, which links Meta's form."""
    user = FakeUser(id=4343, language_code="de")
    async with bot_process(api, tmp_path, "shipped") as proc:
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=15)
        assert menu.visible.startswith("Hallo!")
        buttons = {b["text"]: b.get("callback_data") for b in menu.buttons}
        assert buttons["Wie widerspreche ich?"] == "how-to-object"
        api.press(user, menu, "how-to-object")
        sent = await api.wait_sent(user.id, 2, timeout=15)
        assert "Formular für Facebook" in sent[1].visible
        assert 'href="https://www.facebook.com/help/contact/' in sent[1].text
        assert await stop(proc) == 0


# -- the hourly purge ---------------------------------------------------------------------

PURGING_RUN = (
    "import asyncio, logging, sys\n"
    "from bot import cli\n"
    "logging.basicConfig(level='INFO')\n"
    "sys.exit(asyncio.run(cli._serve(['telegram'], None, purge_interval=0.2)))\n"
)
"""``run``'s serve function as ``python -m bot run`` starts it, sweeping every 0.2 s
instead of every hour."""


async def test_purge_erases_expired_sessions_while_running(api: FakeBotApi, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree")
    idle = FakeUser(id=4501, language_code="de")
    active = FakeUser(id=4502, language_code="de")
    database = tmp_path / "data" / "sessions.sqlite3"

    def sessions() -> int:
        with sqlite3.connect(database) as db:
            return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    async with bot_process(
        api, tmp_path, "purge", content_dir=tree, argv=("-c", PURGING_RUN)
    ) as proc:
        api.message(idle, "/start deadline")
        api.message(active, "/start")
        await api.wait_sent(idle.id, timeout=15)
        await api.wait_sent(active.id, timeout=15)
        await wait_for(lambda: sessions() == 2, timeout=10)
        # The idle user's session last saw them 31 days ago (the time to live is 30 days).
        month_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).timestamp()
        with sqlite3.connect(database) as db:
            db.execute(
                "UPDATE sessions SET last_seen = ? WHERE json_extract(state, '$.node') = ?",
                (month_ago, "deadline"),
            )
        await wait_for(lambda: sessions() == 1, timeout=10)
        # The active user's place is kept: "1" still picks from their menu.
        api.message(active, "1")
        sent = await api.wait_sent(active.id, 2, timeout=15)
        assert sent[1].visible.startswith("WIDERSPRUCH-DE")
        assert await stop(proc) == 0
    assert "erased 1 expired session(s)" in (tmp_path / "purge.log").read_text()


# -- kill -9 in the middle of a burst ---------------------------------------------------------


async def test_kill_9_mid_burst_answers_every_message_exactly_once(
    api: FakeBotApi, tmp_path: Path
) -> None:
    tree = write_tree(tmp_path / "tree")
    groups = [FakeChat(id=-7000 - n, type="group", title=f"Gruppe {n}") for n in range(4)]
    env = {"TELEGRAM_RATE_LIMIT": "false"}
    # Every answer takes Telegram a moment, so the burst is still being answered at the kill.
    api.fail("sendMessage", "slow", delay=0.1, count=10_000)
    updates: dict[int, tuple[int, int]] = {}  # update id -> (chat, message id)

    def ask(n: int) -> None:
        # One user per message: the per-user flood limit stays out of the way.
        user = FakeUser(id=80_000 + n, language_code="de")
        update = api.message(user, "/help@TestBot", chat=groups[n % len(groups)])
        updates[update["update_id"]] = (
            update["message"]["chat"]["id"],
            update["message"]["message_id"],
        )

    def answered() -> Counter[tuple[int, int]]:
        """How often each question was answered (an answer replies to its question)."""
        return Counter(
            (s.chat_id, s.params["reply_parameters"]["message_id"])
            for group in groups
            for s in api.sent_to(group.id)
        )

    async with bot_process(api, tmp_path, "killed", content_dir=tree, extra_env=env) as proc:
        for n in range(60):
            ask(n)
        await api.wait_until(lambda: sum(answered().values()) >= 12, timeout=30)
        proc.kill()
        await proc.wait()
    before = sum(answered().values())
    assert before < 60, "the burst was over before the kill"
    # Nothing unanswered was confirmed: Telegram delivers all of it again.
    assert all(answered()[where] for i, where in updates.items() if i <= api.confirmed)
    # Telegram keeps the next questions while the bot is down.
    for n in range(60, 80):
        ask(n)

    async with bot_process(api, tmp_path, "restarted", content_dir=tree, extra_env=env) as proc:
        await api.wait_until(lambda: all(answered()[where] for where in updates.values()), 60)
        assert await stop(proc) == 0

    counts = answered()
    assert set(counts) == set(updates.values()), "a question was never answered"
    assert max(counts.values()) == 1, "a question was answered twice"
    # Everything was confirmed at the clean stop: nothing would come again.
    assert api.confirmed == max(updates)
    assert all(s.visible == "HILFE-DE" for g in groups for s in api.sent_to(g.id))
    with sqlite3.connect(tmp_path / "data" / "sessions.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] >= len(counts)


# -- a token Telegram refuses ----------------------------------------------------------------


async def test_refused_token_exits_2_with_one_line(api: FakeBotApi, tmp_path: Path) -> None:
    env = bot_env(api, tmp_path / "data", write_tree(tmp_path / "tree"))
    env["TELEGRAM_BOT_TOKEN"] = "654321:not-the-bots-token"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 2
    text = out.decode() + err.decode()
    assert "Traceback" not in text
    # Apart from ordinary log records of the start, exactly one line, naming the variable.
    lines = [line for line in text.splitlines() if line.strip() and not _LOG_RECORD.match(line)]
    assert lines == [
        "TELEGRAM_BOT_TOKEN: Telegram refused the token (401 Unauthorized); "
        "copy it again from @BotFather"
    ]
    assert not re.search(r" (ERROR|CRITICAL) ", text), text
    assert "not-the-bots-token" not in text
    # Refused on the first call, the bot asked nothing more.
    assert [(c.method, c.status) for c in api.calls] == [("getMe", 401)]
