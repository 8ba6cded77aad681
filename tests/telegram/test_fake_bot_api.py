"""The fake Bot API server itself: it accepts what the real API accepts and refuses the rest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fake_bot_api import FakeBotApi, FakeChat, FakeUser, Rejected, Spec, parse_telegram_html
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def raw(api: FakeBotApi) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/") as client:
        yield client


async def test_real_client_round_trip(api: FakeBotApi) -> None:
    user = FakeUser(id=42)
    api.add_chat(FakeChat(id=user.id, first_name=user.first_name))
    async with Bot(api.token, base_url=api.base_url) as bot:
        me = await bot.get_me()
        assert me.username == "TestBot"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Weiter", callback_data="next")]])
        msg = await bot.send_message(
            42, "<b>Hallo</b> &amp; willkommen", parse_mode="HTML", reply_markup=keyboard
        )
        assert msg.text == "Hallo & willkommen"
        assert msg.chat.id == 42
    assert api.violations == []
    assert api.sent[0].visible == "Hallo & willkommen"
    assert api.sent[0].callback_data == ["next"]


async def test_unknown_method_is_refused(api: FakeBotApi, raw: httpx.AsyncClient) -> None:
    res = await raw.post("sendMessageFast", data={"chat_id": "1", "text": "x"})
    assert res.status_code == 404
    assert api.violations == ["unknown method 'sendMessageFast'"]


async def test_missing_required_field_is_refused(api: FakeBotApi, raw: httpx.AsyncClient) -> None:
    api.add_chat(FakeChat(id=1))
    res = await raw.post("sendMessage", data={"chat_id": "1"})
    assert res.status_code == 400
    assert "required parameter(s) missing: ['text']" in res.json()["description"]
    assert len(api.violations) == 1


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"chat_id": "1", "text": "x", "disable_notification": "maybe"}, "must be Boolean"),
        ({"chat_id": "1", "text": "x", "message_thread_id": "abc"}, "must be Integer"),
        ({"chat_id": "1", "text": "x", "reply_markup": "{not json"}, "can't parse"),
        (
            {"chat_id": "1", "text": "x", "reply_markup": json.dumps({"inline_keyboard": [{}]})},
            "expected Array of InlineKeyboardButton",
        ),
        (
            {
                "chat_id": "1",
                "text": "x",
                "reply_markup": json.dumps(
                    {"inline_keyboard": [[{"text": 5, "url": "https://a"}]]}
                ),
            },
            "none of",
        ),
        (
            {
                "chat_id": "1",
                "text": "x",
                "link_preview_options": json.dumps({"is_disabled": True, "colour": "red"}),
            },
            "not a field of LinkPreviewOptions",
        ),
        ({"chat_id": "1", "text": "x", "colour": "red"}, "unknown parameter"),
    ],
)
async def test_wrong_types_are_refused(
    api: FakeBotApi, raw: httpx.AsyncClient, params: dict[str, str], needle: str
) -> None:
    api.add_chat(FakeChat(id=1))
    res = await raw.post("sendMessage", data=params)
    assert res.status_code == 400, res.text
    assert needle in res.json()["description"]
    assert api.violations


async def test_json_body_types_are_checked_strictly(
    api: FakeBotApi, raw: httpx.AsyncClient
) -> None:
    api.add_chat(FakeChat(id=1))
    ok = await raw.post("sendMessage", json={"chat_id": 1, "text": "x"})
    assert ok.status_code == 200
    bad = await raw.post("sendMessage", json={"chat_id": 1, "text": "x", "protect_content": "yes"})
    assert bad.status_code == 400
    assert len(api.violations) == 1


@pytest.mark.parametrize(
    "text",
    ["a < b", "Q&A", "<script>x</script>", "<b>open", "<b>x</i>", "   ", "x" * 4097],
)
async def test_text_the_api_cannot_parse_is_refused(api: FakeBotApi, text: str) -> None:
    api.add_chat(FakeChat(id=1))
    async with Bot(api.token, base_url=api.base_url) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(1, text, parse_mode="HTML")
    assert api.violations


def test_html_parser_accepts_what_telegram_accepts() -> None:
    html = (
        '<b>a</b> <i>b</i> <a href="https://x.example/?a=1&amp;b=2">c</a> '
        "&lt;&gt;&amp;&quot;&#8364;"
    )
    assert parse_telegram_html(html) == 'a b c <>&"€'
    with pytest.raises(Rejected):
        parse_telegram_html("<a href='x'>unclosed")


async def test_button_rules_are_enforced(api: FakeBotApi) -> None:
    api.add_chat(FakeChat(id=1))
    async with Bot(api.token, base_url=api.base_url) as bot:
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="y" * 65)]])
        with pytest.raises(BadRequest):
            await bot.send_message(1, "x", reply_markup=too_long)
        bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="javascript:alert(1)")]])
        with pytest.raises(BadRequest):
            await bot.send_message(1, "x", reply_markup=bad_url)
    assert len(api.violations) == 2


async def test_unknown_chat_is_refused_but_not_a_violation(api: FakeBotApi) -> None:
    async with Bot(api.token, base_url=api.base_url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(999, "hello")
    assert api.violations == []


async def test_callback_query_can_be_answered_once(api: FakeBotApi) -> None:
    user = FakeUser(id=7)
    api.add_chat(FakeChat(id=7))
    async with Bot(api.token, base_url=api.base_url) as bot:
        await bot.send_message(7, "menu")
        update = api.press(user, api.sent[0], "next")
        qid = update["callback_query"]["id"]
        assert await bot.answer_callback_query(qid)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(qid)
    assert len(api.violations) == 1


async def test_updates_are_served_by_long_polling(api: FakeBotApi) -> None:
    user = FakeUser(id=5)
    async with Bot(api.token, base_url=api.base_url) as bot:
        api.message(user, "/start")
        updates = await bot.get_updates(timeout=1)
        assert [u.message.text for u in updates if u.message] == ["/start"]
        assert updates[0].message is not None
        assert updates[0].message.entities[0].type == "bot_command"
        confirmed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        assert confirmed == ()


async def test_faults_are_injected(api: FakeBotApi, raw: httpx.AsyncClient) -> None:
    api.add_chat(FakeChat(id=1))
    api.add_chat(FakeChat(id=2))
    api.fail("sendMessage", "429", retry_after=3)
    api.fail("sendMessage", "5xx", status=502)
    first = await raw.post("sendMessage", data={"chat_id": "1", "text": "a"})
    assert first.status_code == 429
    assert first.json()["parameters"] == {"retry_after": 3}
    # (chat 1 is paused now for 3 s; the other faults are shown on chat 2)
    second = await raw.post("sendMessage", data={"chat_id": "2", "text": "a"})
    assert second.status_code == 502
    third = await raw.post("sendMessage", data={"chat_id": "2", "text": "a"})
    assert third.status_code == 200
    assert len(api.sent) == 1
    api.fail("sendMessage", "hang", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        await raw.post("sendMessage", data={"chat_id": "2", "text": "b"}, timeout=0.2)
    assert len(api.sent) == 1
    assert api.violations == []


def test_injected_updates_must_follow_the_spec() -> None:
    spec = Spec()
    assert spec.check_object({"update_id": 1, "message": {"message_id": 1}}, "Update", "u")


async def test_unmodelled_methods_get_spec_shaped_answers(
    api: FakeBotApi, raw: httpx.AsyncClient
) -> None:
    res = await raw.post("getMyDescription", data={})
    assert res.status_code == 200
    assert res.json()["result"] == {"description": ""}


@pytest.mark.parametrize(
    ("data", "accepted"),
    [
        ("y", True),
        ("y" * 64, True),
        ("ü" * 32, True),  # 64 bytes in UTF-8
        ("y" * 65, False),
        ("ü" * 33, False),  # 33 characters, but 66 bytes
        ("", False),
    ],
)
async def test_callback_data_must_be_1_to_64_bytes(
    api: FakeBotApi, raw: httpx.AsyncClient, data: str, accepted: bool
) -> None:
    """Like the real API: the limit is in bytes, and the whole message is refused."""
    api.add_chat(FakeChat(id=1))
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    res = await raw.post(
        "sendMessage", data={"chat_id": "1", "text": "x", "reply_markup": json.dumps(markup)}
    )
    if accepted:
        assert res.status_code == 200, res.text
        assert api.violations == []
        assert api.sent[0].callback_data == [data]
    else:
        assert res.status_code == 400
        assert res.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
        assert api.sent == []


async def test_a_429_pauses_that_chat_as_telegram_does(
    api: FakeBotApi, raw: httpx.AsyncClient
) -> None:
    for chat in (1, 2):
        api.add_chat(FakeChat(id=chat))
    api.fail("sendMessage", "429", retry_after=5, chat_id=1)
    first = await raw.post("sendMessage", data={"chat_id": "1", "text": "a"})
    assert first.status_code == 429
    assert first.json()["parameters"] == {"retry_after": 5}
    # Another chat is not held ...
    assert (await raw.post("sendMessage", data={"chat_id": "2", "text": "b"})).status_code == 200
    # ... the paused one is, and asking again before retry_after is what the real API
    # punishes: recorded as a violation (after a moment for requests already underway).
    api._told["1"] = (api._told["1"][0] - 1.0, api._told["1"][1])
    again = await raw.post("sendMessage", data={"chat_id": "1", "text": "a"})
    assert again.status_code == 429
    assert 1 <= again.json()["parameters"]["retry_after"] <= 5
    assert len(api.violations) == 1 and "before retry_after" in api.violations[0]


async def test_flood_control_holds_every_chat(api: FakeBotApi, raw: httpx.AsyncClient) -> None:
    for chat in (1, 2):
        api.add_chat(FakeChat(id=chat))
    api.flood(retry_after=3)
    for chat in ("1", "2"):
        res = await raw.post("sendMessage", data={"chat_id": chat, "text": "x"})
        assert res.status_code == 429 and res.json()["parameters"]["retry_after"] == 3
    assert (await raw.post("getMe")).status_code == 200
    assert api.violations == []


async def test_getupdates_conflicts_with_a_webhook(api: FakeBotApi, raw: httpx.AsyncClient) -> None:
    assert (await raw.post("setWebhook", data={"url": "https://x.example/h"})).status_code == 200
    res = await raw.post("getUpdates")
    assert res.status_code == 409 and "webhook is active" in res.json()["description"]
    bad = await raw.post("setWebhook", data={"url": "https://x.example/h", "secret_token": "a b"})
    assert bad.status_code == 400
