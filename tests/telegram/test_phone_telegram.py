"""Answers that fit a phone, on Telegram: "Mehr" and "Quellen" as buttons, link previews off
for messages with several links, long menus in pages (fake Bot API, tests/fixtures/phone.py)."""

from __future__ import annotations

import pytest
from conftest import BotFactory
from fake_bot_api import FakeBotApi, FakeUser
from fixtures.phone import ROOT_TOPICS, phone_tree

from bot.content import Content, load_content

NO_PREVIEW = {"is_disabled": True}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return load_content(phone_tree(tmp_path_factory.mktemp("phone")))


def rows(sent: object) -> list[list[str]]:
    markup = getattr(sent, "reply_markup", None) or {}
    return [[b["text"] for b in row] for row in markup.get("inline_keyboard", [])]


async def test_more_and_sources_are_buttons_and_several_links_get_no_preview(
    api: FakeBotApi, run_bot: BotFactory, tree: Content
) -> None:
    user = FakeUser(id=1601, language_code="de")
    async with run_bot(tree=tree):
        api.message(user, "/start extra")
        [answer] = await api.wait_sent(user.id)
        assert answer.visible == (
            "ÜBER-DE\n\nQuellen: Verbraucherzentrale NRW, DPC Ireland … · Stand: 1. Mai 2025"
        )
        assert "<a " not in answer.text
        # "Mehr | Quellen" share a row, as do "Zurück | Menü": fewer lines on a phone.
        assert rows(answer) == [
            ["Schlicht"],
            ["Ich habe Kinder"],
            ["Mehr", "Quellen"],
            ["Menü"],
            ["Teilen"],
        ]

        api.press(user, answer, "@more:extra")
        [details] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert details.visible == "DETAILS-DE"
        assert details.callback_data == [
            "plain",
            "@set:extra-1",
            "@sources:extra",
            "@back",
            "@menu",
        ]

        api.press(user, details, "@sources:extra")
        [sources] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert sources.text.count("<a href=") == 4
        assert sources.visible.startswith(
            "Quellen:\n• Verbraucherzentrale NRW – Meta AI, so widersprechen Sie (Stand: 20. April 2025)"
        )
        assert sources.params["link_preview_options"] == NO_PREVIEW
        assert sources.callback_data == ["plain", "@set:extra-1", "@more:extra", "@back", "@menu"]

    # Every message of the conversation: no preview card under any of them.
    assert all(s.params["link_preview_options"] == NO_PREVIEW for s in api.sent_to(user.id))


async def test_an_old_more_button_still_shows_its_answers_details(
    api: FakeBotApi, run_bot: BotFactory, tree: Content
) -> None:
    user = FakeUser(id=1602, language_code="en")
    async with run_bot(tree=tree):
        api.message(user, "/start extra")
        [answer] = await api.wait_sent(user.id)
        api.press(user, answer, "plain")
        await api.wait_sent(user.id, 2)
        api.press(user, answer, "@more:extra")
        [details] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert details.visible == "DETAILS-EN"
        api.press(user, details, "@back")
        [back] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert back.visible.startswith("PLAIN-EN")


async def test_a_long_menu_pages_its_topics(
    api: FakeBotApi, run_bot: BotFactory, tree: Content
) -> None:
    user = FakeUser(id=1603, language_code="de")
    async with run_bot(tree=tree):
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id)
        first = [d for d in menu.callback_data if not d.startswith("@")]
        assert len(first) <= 7
        assert "Weitere Themen" in [r[0] for r in rows(menu)]
        api.press(user, menu, "@page:start-1")
        [second] = await api.wait_sent(user.id, 1, since=len(api.sent))
        rest = [d for d in second.callback_data if not d.startswith("@")]
        assert first + rest == ROOT_TOPICS
        api.press(user, second, "@page:start-0")
        [again] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert again.callback_data == menu.callback_data


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            [("a", "A"), ("@page:x-2", "Weitere Themen"), ("@more:x", "Mehr"),
             ("@sources:x", "Quellen"), ("@page:x-0", "Zurück"), ("@menu", "Menü")],
            [["A"], ["Weitere Themen"], ["Mehr", "Quellen"], ["Zurück", "Menü"]],
        ),
        (
            [("a", "A"), ("@page:x-1", "Weitere Themen"), ("@back", "Zurück"), ("@menu", "Menü")],
            [["A"], ["Weitere Themen"], ["Zurück", "Menü"]],
        ),
        (
            [("@sources:x", "Quellen"), ("@menu", "Menü"), ("x" * 65, "Kaputt")],
            [["Quellen"], ["Menü"]],
        ),
    ],
)  # fmt: skip
def test_more_and_sources_share_a_row_and_so_do_back_and_menu(
    options: list[tuple[str, str]], expected: list[list[str]]
) -> None:
    from bot.events import Option
    from bot.platforms.telegram import _button_rows

    rows = _button_rows([Option(i, label) for i, label in options], back="Zurück")
    assert [[b.text for b in row] for row in rows] == expected
