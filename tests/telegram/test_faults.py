"""Faults and attacks at the Telegram adapter, as a user or operator would notice them.

- One chat's 429 delays that chat only; Telegram's flood control for the whole bot pauses all.
- A flooder in a group is slowed down (``/start`` counts), the others in the group are not.
- A malformed update is skipped, counted and logged by its id only; polling goes on.
- Webhook: forged, oversized and malformed requests are refused; a secret is always set.
- In a group, a reply to another bot's message is not a question to this bot.
- An answer counts as given once its request has left, not while it waits for a connection.

The conversations run on the small test tree (tests/fixtures/tree.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import BotFactory
from fake_bot_api import FakeBotApi, FakeChat, FakeUser
from fixtures.tree import write_tree

from bot.content import Content, load_content
from bot.observability import Metrics


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    """The test tree instead of the shipped content, for every bot in this module."""
    return load_content(write_tree(tmp_path_factory.mktemp("tree")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- outgoing 429s ----------------------------------------------------------------------------


async def test_one_chats_429_delays_that_chat_only(api: FakeBotApi, run_bot: BotFactory) -> None:
    a = FakeUser(id=3101, language_code="de")
    b = FakeUser(id=3102, language_code="de")
    async with run_bot():
        # Telegram tells the bot to leave chat A alone for 20 s.
        api.fail("sendMessage", "429", retry_after=20, chat_id=a.id)
        api.message(a, "/start")
        await api.wait_until(lambda: any(c.status == 429 for c in api.calls), timeout=10)
        asked = time.monotonic()
        api.message(b, "/start")
        [answer_b] = await api.wait_sent(b.id, timeout=5)
        assert answer_b.at - asked < 2.0, "chat B waited for chat A's 429"
        assert api.sent_to(a.id) == []
        # Chat A is answered once its 20 s are over, exactly once, and was left alone
        # meanwhile (the fake records any request before retry_after as a violation).
        [answer_a] = await api.wait_sent(a.id, timeout=30)
        assert answer_a.at - asked >= 19.0
    assert len(api.sent_to(a.id)) == 1
    refused = [c for c in api.calls_of("sendMessage") if c.status == 429]
    assert len(refused) == 1


async def test_telegrams_flood_control_pauses_every_chat(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    users = [FakeUser(id=3200 + n, language_code="de") for n in range(5)]
    async with run_bot():
        api.flood(retry_after=2)
        started = time.monotonic()
        for user in users:
            api.message(user, "/start")
        answers = [(await api.wait_sent(u.id, timeout=15))[0] for u in users]
    assert all(s.at - started >= 1.9 for s in answers)
    assert all(len(api.sent_to(u.id)) == 1 for u in users)
    # Once the bot saw that the whole bot was held, it stopped asking: few refusals, and
    # none after the time Telegram gave (the fixture checks for violations).
    refused = [c for c in api.calls_of("sendMessage") if c.status == 429]
    assert len(refused) <= len(users)


async def test_a_429_without_a_chat_pauses_all_chats(api: FakeBotApi, run_bot: BotFactory) -> None:
    """A 429 on a request that names no chat (answering a button) can only mean the bot."""
    a = FakeUser(id=3301, language_code="de")
    b = FakeUser(id=3302, language_code="de")
    async with run_bot():
        api.message(a, "/start")
        [menu] = await api.wait_sent(a.id, timeout=10)
        api.fail("answerCallbackQuery", "429", retry_after=2)
        api.press(a, menu, "objection")
        await api.wait_until(lambda: any(c.status == 429 for c in api.calls), timeout=10)
        refused_at = time.monotonic()
        api.message(b, "/start")
        [answer_b] = await api.wait_sent(b.id, timeout=10)
        await api.wait_sent(a.id, 2, timeout=10)
    assert answer_b.at - refused_at >= 1.5


# -- inbound flood --------------------------------------------------------------------------


async def test_a_flooder_in_a_group_does_not_silence_the_group(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    flooder = FakeUser(id=3401, language_code="de")
    other = FakeUser(id=3402, language_code="de")
    group = FakeChat(id=-3400, type="group", title="Nachbarschaft")
    async with run_bot(rate_limit=False):
        for _ in range(200):
            api.message(flooder, "/start", chat=group)
        last = api.message(other, "/help", chat=group)
        sent = await api.wait_until_answered(group.id, last, timeout=30)
        # Nothing more comes for the flood (the other user's answer was the last update).
        await asyncio.sleep(0)
    texts = [s.visible for s in api.sent_to(group.id)]
    from_flooder = [
        s
        for s in api.sent_to(group.id)
        if s.params.get("reply_parameters", {}).get("message_id") != last["message"]["message_id"]
    ]
    assert len(from_flooder) <= 31, len(from_flooder)  # the limit (30/minute) and one note
    assert texts.count("LANGSAM-DE") == 1
    assert sent.visible == "HILFE-DE", "the other user in the group was not answered"


# -- poisoned updates -----------------------------------------------------------------------


async def test_a_malformed_update_is_skipped_counted_and_logged_by_id_only(
    api: FakeBotApi, run_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    user = FakeUser(id=3501, first_name="Zebulon", language_code="de")
    caplog.set_level(logging.DEBUG)
    async with run_bot() as bot:
        metrics = Metrics(["telegram"])
        bot.runtime.observer = metrics
        no_date = api.push_raw(
            {
                "message": {
                    "message_id": 1,
                    "from": user.to_api(),
                    "chat": {"id": user.id, "type": "private"},
                    "text": "geheime-frage-ohne-datum",
                }
            }
        )
        as_string = api.push_raw({"message": "geheimer-text-als-string"})
        polls = len(api.calls_of("getUpdates"))
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=10)
        assert menu.visible == "WILLKOMMEN-DE"
        # Both were confirmed: Telegram will not deliver them again.
        await api.wait_until(lambda: api.confirmed >= as_string, timeout=10)
        await asyncio.sleep(1.0)
        # No busy loop: the long poll waits again (a handful of polls, not hundreds).
        assert len(api.calls_of("getUpdates")) - polls < 10
        errors = metrics.errors.labels("telegram")._value.get()
    assert errors == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"update {no_date} could not be read; skipped" in logged
    assert f"update {as_string} could not be read; skipped" in logged
    for private in ("geheime-frage", "geheimer-text", "Zebulon", str(user.id)):
        assert private not in logged, private


# -- webhook ----------------------------------------------------------------------------------


def _update(user: FakeUser, text: str, update_id: int = 1) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user.id, "type": "private", "first_name": "A"},
            "from": user.to_api(),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def _chunks(size: int) -> AsyncIterator[bytes]:
    block = b"x" * 65536
    for _ in range(size // len(block)):
        yield block


async def test_webhook_without_a_configured_secret_refuses_forged_and_bad_requests(
    api: FakeBotApi, run_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    user = FakeUser(id=3601, language_code="de")
    victim = FakeUser(id=3602, language_code="de")
    port = free_port()
    caplog.set_level(logging.DEBUG)
    api.add_chat(FakeChat(id=user.id))
    api.add_chat(FakeChat(id=victim.id))
    async with run_bot(
        mode="webhook", webhook_url="https://bot.example.org/telegram", webhook_port=port
    ) as bot:
        await api.wait_until(lambda: api.webhook is not None, 10)
        assert api.webhook is not None
        secret = api.webhook.get("secret_token")
        assert secret and len(secret) >= 32, "a secret was generated and registered"
        url = f"http://127.0.0.1:{port}/telegram"
        good = {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with httpx.AsyncClient(timeout=10) as client:
            # Forged: no secret, or a wrong one.
            forged = _update(victim, "/start", 1)
            assert (await client.post(url, json=forged)).status_code == 403
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "guessed"}
            assert (await client.post(url, json=forged, headers=wrong)).status_code == 403
            # 20 MB with a wrong secret: refused on the headers, the body is not read.
            big = b"{" + b" " * (20 * 1024 * 1024) + b"}"
            assert (await client.post(url, content=big, headers=wrong)).status_code == 403
            # Too large with the right secret: by Content-Length, and while streaming.
            assert (await client.post(url, content=big, headers=good)).status_code == 413
            streamed = await client.post(url, content=_chunks(4 * 1024 * 1024), headers=good)
            assert streamed.status_code == 413
            # Not JSON: 400, never 500.
            bad = await client.post(
                url, content=b'{"update_id": 2, "message": geheim', headers=good
            )
            assert bad.status_code == 400
            # JSON, but not an update anyone can read: acknowledged and skipped.
            odd = {"update_id": 3, "message": "geheimer-text-als-string"}
            assert (await client.post(url, json=odd, headers=good)).status_code == 200
            # And a real update is answered.
            ok = await client.post(url, json=_update(user, "/start", 4), headers=good)
            assert ok.status_code == 200
        [answer] = await api.wait_sent(user.id)
        assert answer.visible == "WILLKOMMEN-DE"
        assert bot.adapter.webhook is not None
    assert api.sent_to(victim.id) == [], "a forged update made the bot message a chat"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "geheim" not in logged
    assert secret not in logged


async def test_webhook_uses_the_configured_secret(api: FakeBotApi, run_bot: BotFactory) -> None:
    port = free_port()
    async with run_bot(
        mode="webhook",
        webhook_url="https://bot.example.org/telegram",
        webhook_port=port,
        webhook_secret="s3cret",
    ):
        await api.wait_until(lambda: api.webhook is not None, 10)
        assert api.webhook is not None and api.webhook["secret_token"] == "s3cret"


# -- groups -----------------------------------------------------------------------------------


async def test_a_reply_to_another_bots_message_is_not_for_this_bot(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    alice = FakeUser(id=3701, language_code="de")
    other_bot = FakeUser(id=3799, first_name="Wetter", is_bot=True, username="WetterBot")
    group = FakeChat(id=-3700, type="group", title="Verein")
    async with run_bot():
        weather = api.message(other_bot, "Morgen Regen.", chat=group)
        api.message(
            alice, "Wie widerspreche ich?", chat=group, reply_to=weather["message"]["message_id"]
        )
        # The next message addressed to the bot shows what was answered before it.
        last = api.message(alice, "/help", chat=group)
        sent = await api.wait_until_answered(group.id, last, timeout=10)
    assert sent.visible == "HILFE-DE"
    assert [s.visible for s in api.sent_to(group.id)] == ["HILFE-DE"]


def test_update_json_is_spec_shaped() -> None:
    """The webhook test's hand-built update is one the API could send."""
    from fake_bot_api import Spec

    assert (
        Spec().check_object(
            json.loads(json.dumps(_update(FakeUser(id=1), "/start"))), "Update", "u"
        )
        == []
    )


# -- the answered log ---------------------------------------------------------------------------


def test_the_answered_log_survives_a_kill_and_stays_small(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.platforms.telegram_updates import AnsweredLog

    path = tmp_path / "telegram" / "answered-updates"
    log = AnsweredLog(path)
    for update_id in (5, 6, 7):
        log.add(update_id)
    log.retract(6)  # the answer did not reach Telegram: answer it again after a restart
    log.close()
    # A kill in the middle of a write leaves a line without its newline: not read.
    with path.open("a") as f:
        f.write("8")
    again = AnsweredLog(path)
    assert again.ids == {5, 7}
    again.add(9)  # not glued to the cut line: 9, not 89
    assert AnsweredLog(path).ids == {5, 7, 9}
    # Once Telegram confirmed everything below 7, only 7 and 9 are kept, also on disk.
    again.REWRITE_AFTER = 0
    again.confirmed(7)
    again.close()
    assert AnsweredLog(path).ids == {7, 9}
    assert path.read_text() == "7\n9\n"


async def test_an_answer_is_recorded_once_its_request_has_left(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Recorded before it left, an answer lost in a kill would never be given after the
    # restart; recorded only once it left, a refused or unsent one is answered again.
    from aiohttp import web
    from telegram.error import NetworkError, TimedOut

    from bot.platforms.telegram_updates import CURRENT_UPDATE, AnsweredLog, AnswerMarkingRequest

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True, "result": True})

    async def refuse(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": False, "error_code": 400, "description": "no"}, status=400)

    arrived, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await request.read()
        arrived.set()
        await release.wait()
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/slow/{method}", slow)
    app.router.add_post("/bot/{method}", answer)
    app.router.add_post("/refused/{method}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    request = AnswerMarkingRequest(
        connection_pool_size=1, connect_timeout=2, read_timeout=5, pool_timeout=0.2
    )
    request.answered = AnsweredLog(tmp_path / "answered")
    await request.initialize()
    try:
        token = CURRENT_UPDATE.set(1)
        code, _ = await request.do_request(f"http://127.0.0.1:{port}/bot/sendMessage", "POST")
        assert code == 200 and request.answered.ids == {1}
        CURRENT_UPDATE.reset(token)

        token = CURRENT_UPDATE.set(2)  # refused by Telegram: taken back
        code, _ = await request.do_request(f"http://127.0.0.1:{port}/refused/sendMessage", "POST")
        assert code == 400 and request.answered.ids == {1}
        CURRENT_UPDATE.reset(token)

        token = CURRENT_UPDATE.set(3)  # no connection: it never left, so never recorded
        with pytest.raises(NetworkError):
            await request.do_request(f"http://127.0.0.1:{free_port()}/bot/sendMessage", "POST")
        assert request.answered.ids == {1}
        CURRENT_UPDATE.reset(token)

        # One connection, busy with a slow answer: the next one waits for it and gives up.
        # It never left, so it is answered again after a restart, not taken as answered.
        token = CURRENT_UPDATE.set(4)
        slow = asyncio.ensure_future(
            request.do_request(f"http://127.0.0.1:{port}/slow/sendMessage", "POST")
        )
        await asyncio.wait_for(arrived.wait(), 5)
        CURRENT_UPDATE.reset(token)
        token = CURRENT_UPDATE.set(5)
        with pytest.raises(TimedOut):
            await request.do_request(f"http://127.0.0.1:{port}/bot/sendMessage", "POST")
        CURRENT_UPDATE.reset(token)
        release.set()
        assert (await asyncio.wait_for(slow, 5))[0] == 200
        assert request.answered.ids == {1, 4}
    finally:
        release.set()
        await request.shutdown()
        request.answered.close()
        await runner.cleanup()
