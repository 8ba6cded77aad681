"""Delivery against a real Synapse: every message answered once, across replays, restarts,
lost answers to sends and a crash in the middle of a batch; rooms the bot leaves are erased."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from .clients import BotHandle, BotProcess, Seen, TestUser, bot_env
from .conftest import make_runtime
from .homeserver import Synapse
from .proxy import CuttableProxy
from .test_adapter import MENU, PRIVACY, bot_messages, dm, reply

StartBot = Callable[..., Awaitable[BotHandle]]
MakeUser = Callable[..., Awaitable[TestUser]]
SEND = b"/send/m.room.message/"
"""What the request line of a message send contains (PUT .../send/m.room.message/<txn>)."""


@pytest.fixture
async def proxy(synapse: Synapse) -> AsyncIterator[CuttableProxy]:
    """A proxy in front of the test Synapse."""
    proxy = CuttableProxy(synapse.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def saved_token(store_dir: Path) -> str:
    """The sync token the adapter saved."""
    db = sqlite3.connect(store_dir / "state.sqlite")
    try:
        row = db.execute("SELECT value FROM kv WHERE key = 'next_batch'").fetchone()
    finally:
        db.close()
    assert row is not None
    return str(row[0])


def rewind_token(store_dir: Path, token: str) -> None:
    """Put an older sync token back, so the next start reads events again."""
    db = sqlite3.connect(store_dir / "state.sqlite")
    try:
        db.execute("UPDATE kv SET value = ? WHERE key = 'next_batch'", (token,))
        db.commit()
    finally:
        db.close()


async def test_replayed_events_are_answered_once(
    start_bot: StartBot, make_user: MakeUser, tmp_path: Path
) -> None:
    store_dir = tmp_path / "replay"
    bot = await start_bot(store_dir=store_dir)
    user = await make_user("replayed")
    room_id, greeting = await dm(user, bot)
    assert greeting.body.startswith(MENU)
    old = saved_token(store_dir)
    for body, answer in (("/help", "HILFE-DE"), ("/privacy", PRIVACY)):
        mark = user.mark()
        await user.send(room_id, body)
        assert (await reply(user, bot, room_id, mark)).body.startswith(answer)

    # The same events arrive again (a sync token from before them, as after a crash
    # that lost the newer token): they were handled, nothing is answered twice.
    await bot.stop()
    rewind_token(store_dir, old)
    await bot.start()
    mark = user.mark()
    await user.send(room_id, "/forget")
    assert (await reply(user, bot, room_id, mark)).body.startswith("VERGESSEN-DE")
    bodies = [s.body.split("\n")[0] for s in bot_messages(user, bot, room_id)]
    assert bodies == [MENU, "HILFE-DE", PRIVACY, "VERGESSEN-DE"]


def session_count(db_path: Path) -> int:
    """How many sessions the runtime's SQLite store holds."""
    db = sqlite3.connect(db_path)
    try:
        return int(db.execute("SELECT count(*) FROM sessions").fetchone()[0])
    finally:
        db.close()


async def test_leaving_or_removal_erases_the_rooms_sessions(
    start_bot: StartBot, make_user: MakeUser, content: object, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.sqlite"
    bot = await start_bot(runtime=make_runtime(content, db))  # type: ignore[arg-type]
    alice = await make_user("kicker")
    bob = await make_user("bystander")
    room_id = await alice.create_room([bot.user_id, bob.user_id], name="Raus")
    await alice.wait_joined(room_id, bob.user_id)
    await reply(alice, bot, room_id, 0)  # the intro
    for user, body, answer in ((alice, "!meta /lang en", "LANGUAGE-EN"), (bob, "!meta", MENU)):
        mark = alice.mark()
        await user.send(room_id, body)
        assert (await reply(alice, bot, room_id, mark)).body.startswith(answer)
    assert session_count(db) == 2

    # Removed from the room: both sessions are gone, Alice's language choice with them.
    resp = await alice.client.room_kick(room_id, bot.user_id)
    assert not hasattr(resp, "status_code"), resp
    await alice.wait_until(lambda: session_count(db) == 0, 30)
    mark = alice.mark()
    await alice.client.room_invite(room_id, bot.user_id)
    intro = await reply(alice, bot, room_id, mark)
    assert intro.body.startswith("GRUPPE-DE !meta")  # German again: nothing of Alice was kept

    # Leaving because everyone else left: erased as well.
    mark = alice.mark()
    await alice.send(room_id, "!meta /help")
    await reply(alice, bot, room_id, mark)
    assert session_count(db) >= 1
    await bob.client.room_leave(room_id)
    await alice.client.room_leave(room_id)
    await bob.wait_until(lambda: session_count(db) == 0, 30)


async def test_send_whose_answer_was_lost_appears_once(
    proxy: CuttableProxy, start_bot: StartBot, make_user: MakeUser
) -> None:
    bot = await start_bot(homeserver=proxy.url)
    user = await make_user("lostanswer")
    room_id, _ = await dm(user, bot)

    # The reply reaches Synapse, then the connection breaks before the bot hears back, and
    # again on the next try (aiohttp itself repeats a PUT once on a reused connection; the
    # second loss reaches the adapter): the bot sends it again with the same transaction id
    # and Synapse keeps one.
    lost = proxy.add(SEND, "drop_response", times=2)
    mark = user.mark()
    await user.send(room_id, "/help")
    assert (await reply(user, bot, room_id, mark)).body.startswith("HILFE-DE")
    await proxy.wait_hit(lost, 2)
    mark = user.mark()
    await user.send(room_id, "/privacy")
    assert (await reply(user, bot, room_id, mark)).body.startswith(PRIVACY)
    assert lost.lines[0] == lost.lines[1]
    assert proxy.requests.count(lost.lines[0]) == 3  # the same PUT .../<txn id>, 3 times
    bodies = [s.body.split("\n")[0] for s in bot_messages(user, bot, room_id)]
    assert bodies == [MENU, "HILFE-DE", PRIVACY]


async def test_crash_in_the_middle_of_a_batch_answers_every_message_once(
    synapse: Synapse,
    proxy: CuttableProxy,
    make_user: MakeUser,
    content_dir: Path,
    tmp_path: Path,
) -> None:
    account = synapse.register("crashbot")
    env = bot_env(proxy.url, account.user_id, account.access_token, tmp_path / "data")
    env["BOT_CONTENT_DIR"] = str(content_dir)
    process = BotProcess(env, tmp_path)
    user = await make_user("crashuser")

    def from_bot(seen: Seen) -> bool:
        return seen.event.sender == account.user_id and seen.content.get("msgtype") == "m.notice"

    def answers(mark: int) -> list[str]:
        return [s.body.split("\n")[0] for s in user.seen[mark:] if from_bot(s)]

    try:
        await process.start()
        mark = user.mark()
        room_id = await user.create_room([account.user_id], direct=True)
        await user.wait_for(from_bot, start=mark, timeout=60)
        assert await process.signal_and_wait(signal.SIGTERM) == 0, process.log()

        # Four messages while the bot is down: one batch after the next start. The answer
        # to the third reply is held back (Synapse has stored the reply), and the bot is
        # killed while it waits for it.
        mark = user.mark()
        for body in ("/help", "/privacy", "/menu", "/forget"):
            await user.send(room_id, body)
        held = proxy.add(SEND, "hold_response", skip=2)
        await process.start()
        await proxy.wait_hit(held, timeout=60)
        await user.wait_until(lambda: len(answers(mark)) == 3, 30)
        assert process.proc is not None
        process.proc.kill()
        await process.proc.wait()

        proxy.clear()
        await process.start()
        await user.wait_until(lambda: len(answers(mark)) == 4, 60)
        await user.send(room_id, "/help")
        await user.wait_until(lambda: len(answers(mark)) == 5, 60)
        # The process runs with the default session lifetime of 30 days.
        privacy = "DATENSCHUTZ-DE 30 Tage"
        assert answers(mark) == ["HILFE-DE", privacy, MENU, "VERGESSEN-DE", "HILFE-DE"]
        assert await process.signal_and_wait(signal.SIGTERM) == 0, process.log()
    finally:
        await process.kill()


async def test_device_identity_is_kept_as_documented(
    synapse: Synapse, start_bot: StartBot, tmp_path: Path
) -> None:
    account = synapse.register("devicebot")
    store_dir = tmp_path / "device"
    bot = await start_bot(account=account, store_dir=store_dir, device_name="Testgerät")
    running = bot.bot
    assert running is not None

    def devices() -> list[dict[str, str]]:
        found = synapse.request("GET", "/_matrix/client/v3/devices", token=account.access_token)
        return [d for d in found["devices"] if d.get("display_name") == "Testgerät"]

    def published_ed25519(device_id: str) -> str:
        body = {"device_keys": {account.user_id: [device_id]}}
        keys = synapse.request(
            "POST", "/_matrix/client/v3/keys/query", body, token=account.access_token
        )
        device = keys["device_keys"][account.user_id][device_id]
        return str(device["keys"][f"ed25519:{device_id}"])

    # The first login (password) creates one device with MATRIX_DEVICE_NAME; its id and
    # token are kept in credentials.json (0600) in a store directory only the bot can read.
    saved = json.loads((store_dir / "credentials.json").read_text())
    [device] = devices()
    assert device["device_id"] == saved["device_id"]
    assert (store_dir / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert store_dir.stat().st_mode & 0o777 == 0o700
    identity = published_ed25519(saved["device_id"])

    # A restart is the same device with the same published identity key: no new login.
    await bot.restart()
    assert devices() == [device]
    assert published_ed25519(saved["device_id"]) == identity
    assert json.loads((store_dir / "credentials.json").read_text()) == saved
