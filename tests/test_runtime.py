"""Runtime: pseudonymous keys, sessions per user per chat, erasure, restarts, the secret."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import time_machine
from fixtures.tree import AFTER, TTL, write_tree

from bot.config import Settings
from bot.content import Content, load_content
from bot.engine import Engine, Result
from bot.events import Choice, Command, Event, Reply, Start, Text
from bot.ratelimit import PerKeyLimiter
from bot.runtime import Conversation, Runtime
from bot.state import SessionState
from bot.store import MemoryStore, SessionKey, SqliteStore

SECRET = b"s" * 32
ALICE = Conversation(platform="telegram", chat_id="100", user_id="alice")
ALICE_IN_GROUP = Conversation(platform="telegram", chat_id="-500", user_id="alice")
BOB_IN_GROUP = Conversation(platform="telegram", chat_id="-500", user_id="bob")


class Clock:
    def __init__(self, now: dt.datetime = AFTER) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return load_content(write_tree(tmp_path_factory.mktemp("tree")))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def runtime(content: Content, clock: Clock) -> AsyncIterator[Runtime]:
    made = Runtime(content, MemoryStore(TTL), SECRET, clock=clock)
    yield made
    await made.close()


async def say(runtime: Runtime, conv: Conversation, event: Event) -> Reply:
    replies = await runtime.handle(conv, event)
    assert len(replies) == 1, replies
    return replies[0]


# -- keys --------------------------------------------------------------------------------


def test_keys_are_keyed_hashes_not_ids(runtime: Runtime, content: Content) -> None:
    key = runtime.key(ALICE)
    for part in (key.session, key.user, key.chat):
        assert len(part) == 32
        int(part, 16)  # hex
        assert "alice" not in part and "100" not in part
    assert runtime.key(ALICE) == key  # stable
    other = Runtime(content, MemoryStore(TTL), b"another secret")
    assert other.key(ALICE).session != key.session  # depends on the secret


def test_keys_separate_users_chats_and_platforms(runtime: Runtime) -> None:
    private, group = runtime.key(ALICE), runtime.key(ALICE_IN_GROUP)
    assert private.user == group.user
    assert private.chat != group.chat
    assert private.session != group.session
    bob = runtime.key(BOB_IN_GROUP)
    assert bob.chat == group.chat
    assert bob.user != group.user
    matrix = runtime.key(Conversation("matrix", ALICE.chat_id, ALICE.user_id))
    assert {matrix.session, matrix.user, matrix.chat}.isdisjoint(
        {private.session, private.user, private.chat}
    )


# -- sessions ----------------------------------------------------------------------------


async def test_state_is_per_user_per_chat(runtime: Runtime) -> None:
    await say(runtime, ALICE, Start())
    await say(runtime, ALICE, Choice(option="deadline"))
    await say(runtime, ALICE_IN_GROUP, Start(group=True))
    await say(runtime, BOB_IN_GROUP, Start(group=True))
    await say(runtime, BOB_IN_GROUP, Choice(option="objection", group=True))
    assert await runtime.store.count() == 3
    # Each conversation continues where it was: "1" is the first option of its own last reply.
    assert (await say(runtime, ALICE, Text(text="2"))).node == "start"  # deadline's "Menü"
    assert (await say(runtime, ALICE_IN_GROUP, Text(text="1", group=True))).node == "objection"
    reply = await say(runtime, BOB_IN_GROUP, Text(text="1", group=True))
    assert reply.node == "objection-instagram"


async def test_session_expires_after_ttl(runtime: Runtime, clock: Clock) -> None:
    await say(runtime, ALICE, Start(language="en"))
    await say(runtime, ALICE, Choice(option="objection"))
    clock.now += TTL - dt.timedelta(minutes=1)
    reply = await say(runtime, ALICE, Choice(option="objection-instagram"))
    assert reply.language == "en"
    assert reply.node == "objection-instagram"
    clock.now += TTL + dt.timedelta(minutes=1)
    reply = await say(runtime, ALICE, Choice(option="@back"))
    # A fresh session: default language, no way back.
    assert reply.language == "de"
    assert reply.node == "start"
    assert await runtime.purge_expired() == 0


async def test_purge_erases_idle_sessions(runtime: Runtime, clock: Clock) -> None:
    await say(runtime, ALICE, Start())
    clock.now += dt.timedelta(days=10)
    await say(runtime, BOB_IN_GROUP, Start())
    clock.now += TTL - dt.timedelta(days=5)
    assert await runtime.purge_expired() == 1
    assert await runtime.store.count() == 1


async def test_events_of_one_conversation_are_serialised(content: Content) -> None:
    class SlowStore(MemoryStore):
        """Yields to the event loop inside every call, as a networked store would."""

        async def get(self, key: SessionKey, now: dt.datetime) -> SessionState | None:
            await asyncio.sleep(0.001)
            return await super().get(key, now)

        async def put(self, key: SessionKey, state: SessionState) -> None:
            await asyncio.sleep(0.001)
            await super().put(key, state)

    runtime = Runtime(content, SlowStore(TTL), SECRET, clock=Clock())
    await runtime.handle(ALICE, Start())
    results = await asyncio.gather(
        runtime.handle(ALICE, Choice(option="objection")),
        runtime.handle(ALICE, Choice(option="objection-instagram")),
        runtime.handle(ALICE, Choice(option="@back")),
    )
    assert [r[0].node for r in results] == ["objection", "objection-instagram", "objection"]


async def test_engine_failure_still_answers(content: Content) -> None:
    class Broken(Engine):
        def handle(self, state: SessionState | None, event: Event, now: dt.datetime) -> Result:
            raise RuntimeError("boom")

    runtime = Runtime(
        content, MemoryStore(TTL), SECRET, engine=Broken(content, session_ttl=TTL), clock=Clock()
    )
    reply = await say(runtime, ALICE, Text(text="hallo"))
    assert reply.text == "FALLBACK-DE"


async def test_flooding_user_is_slowed_down_once(content: Content) -> None:
    # The limits library reads the wall clock itself: freeze it, so the window is exact
    # however slow the machine is, and move it to show the window ends.
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False) as clock:
        runtime = Runtime(
            content, MemoryStore(TTL), SECRET, clock=Clock(), limiter=PerKeyLimiter("3/minute")
        )
        answers = [await runtime.handle(ALICE, Text(text="/help")) for _ in range(6)]
        assert [len(a) for a in answers] == [1, 1, 1, 1, 0, 0]
        assert answers[3][0].text == "LANGSAM-DE"
        # Others are not affected; /start counts like everything else (a flood of /start
        # is a flood).
        assert len(await runtime.handle(BOB_IN_GROUP, Text(text="/help"))) == 1
        assert await runtime.handle(ALICE, Start()) == []
        clock.shift(dt.timedelta(seconds=59))
        assert await runtime.handle(ALICE, Text(text="/help")) == []
        clock.shift(dt.timedelta(seconds=2))
        [reply] = await runtime.handle(ALICE, Text(text="/help"))
        assert reply.text == "HILFE-DE"


async def test_slow_down_note_is_in_the_users_language(content: Content) -> None:
    runtime = Runtime(
        content, MemoryStore(TTL), SECRET, clock=Clock(), limiter=PerKeyLimiter("2/minute")
    )
    await runtime.handle(ALICE, Command(name="lang", args="en"))
    await runtime.handle(ALICE, Text(text="/help"))
    assert [r.text for r in await runtime.handle(ALICE, Text(text="/help"))] == ["SLOW-EN"]


# -- erasure -----------------------------------------------------------------------------


async def test_forget_erases_every_session_of_the_user(runtime: Runtime) -> None:
    calls: list[tuple[str, str]] = []

    async def hook(scope: str, key: str) -> None:
        calls.append((scope, key))

    runtime.add_erasure_hook(hook)
    await say(runtime, ALICE, Start())
    await say(runtime, ALICE, Choice(option="deadline"))
    await say(runtime, ALICE_IN_GROUP, Start(group=True))
    await say(runtime, BOB_IN_GROUP, Start(group=True))
    assert await runtime.store.count() == 3

    reply = await say(runtime, ALICE, Command(name="forget"))
    assert reply.text == "VERGESSEN-DE"
    assert await runtime.store.count() == 1  # only Bob's session is left
    assert calls == [("user", runtime.key(ALICE).user)]
    assert await runtime.store.get(runtime.key(ALICE_IN_GROUP), AFTER) is None

    # The next message starts from scratch: no back stack, no remembered options.
    reply = await say(runtime, ALICE, Choice(option="@back"))
    assert reply.node == "start"
    assert await runtime.store.count() == 2


async def test_forget_typed_as_text_in_english(runtime: Runtime) -> None:
    await say(runtime, ALICE, Start(language="en"))
    reply = await say(runtime, ALICE, Text(text="/forget"))
    assert reply.text == "FORGOTTEN-EN"
    assert await runtime.store.count() == 0


async def test_forget_chat_erases_that_chat_only(runtime: Runtime) -> None:
    calls: list[tuple[str, str]] = []

    async def hook(scope: str, key: str) -> None:
        calls.append((scope, key))

    runtime.add_erasure_hook(hook)
    await say(runtime, ALICE, Start())
    await say(runtime, ALICE_IN_GROUP, Start(group=True))
    await say(runtime, BOB_IN_GROUP, Start(group=True))
    assert await runtime.forget_chat("telegram", ALICE_IN_GROUP.chat_id) == 2
    assert await runtime.store.count() == 1
    assert await runtime.store.get(runtime.key(ALICE), AFTER) is not None
    assert calls == [("chat", runtime.key(ALICE_IN_GROUP).chat)]
    # Same chat id on another platform is another chat.
    assert await runtime.forget_chat("matrix", ALICE.chat_id) == 0


# -- restart and the secret --------------------------------------------------------------


async def test_restart_keeps_the_users_place(content: Content, tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    first = Runtime(content, SqliteStore(path, TTL), SECRET, clock=Clock())
    await say(first, ALICE, Start())
    await say(first, ALICE, Choice(option="objection"))
    await say(first, ALICE, Choice(option="objection-instagram"))
    await first.close()

    second = Runtime(content, SqliteStore(path, TTL), SECRET, clock=Clock())
    assert (await say(second, ALICE, Text(text="2"))).node == "objection"  # "2" = Back
    assert (await say(second, ALICE, Choice(option="@back"))).node == "start"
    await second.close()

    # With another secret nobody can be found again: the keys differ.
    third = Runtime(content, SqliteStore(path, TTL), b"other", clock=Clock())
    assert (await say(third, ALICE, Choice(option="@back"))).node == "start"
    assert await third.store.count() == 2
    await third.close()


def test_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, secret=None)
    first = settings.load_secret()
    assert len(first) >= 32
    path = data / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=data, secret=None).load_secret() == first
    assert path.read_bytes().strip() == first


def test_configured_secret_wins_and_is_not_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret="from-the-environment")
    assert settings.load_secret() == b"from-the-environment"
    assert not (tmp_path / "secret").exists()


async def test_from_settings_uses_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = write_tree(tmp_path / "tree")
    data = tmp_path / "data"
    monkeypatch.setenv("BOT_CONTENT_DIR", str(tree))
    monkeypatch.setenv("BOT_DATA_DIR", str(data))
    monkeypatch.setenv("BOT_SESSION_TTL", "P7D")
    monkeypatch.delenv("BOT_SECRET", raising=False)
    runtime = await Runtime.from_settings()
    try:
        assert (await say(runtime, ALICE, Command(name="privacy"))).text == "DATENSCHUTZ-DE 7 Tage"
        assert runtime.store.ttl == dt.timedelta(days=7)
    finally:
        await runtime.close()
    assert (data / "sessions.sqlite3").is_file()
    assert stat.S_IMODE((data / "secret").stat().st_mode) == 0o600
    secret = (data / "secret").read_bytes()
    # A second start reuses the secret, so users keep their sessions.
    runtime = await Runtime.from_settings()
    await runtime.close()
    assert (data / "secret").read_bytes() == secret
    assert os.listdir(data).count("secret") == 1
