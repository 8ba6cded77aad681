"""Telegram with a content in seven languages: command menus, the language list, detection.

The tree is the small test tree with French, Spanish, Italian, Dutch and Polish added
(tests/fixtures/languages.py), so the texts below are its markers ("WELCOME-PL").
"""

from __future__ import annotations

import pytest
from conftest import BotFactory
from fake_bot_api import FakeBotApi, FakeUser
from fixtures.languages import OWN_NAMES, SEVEN, write_seven_language_tree

from bot.content import Content, load_content


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    """The seven-language tree instead of the shipped content, for every bot here."""
    return load_content(write_seven_language_tree(tmp_path_factory.mktemp("seven")))


async def test_a_command_menu_per_language_and_the_default(
    api: FakeBotApi, run_bot: BotFactory, content: Content
) -> None:
    async with run_bot():
        pass
    default = '{"type": "default"}'
    assert sorted(lang for _, lang in api.commands) == sorted(["", *SEVEN])
    for lang in SEVEN:
        menu = api.commands[(default, lang)]
        assert [(c["command"], c["description"]) for c in menu] == list(content.commands(lang))
    # Users whose Telegram speaks none of them get the default language's menu.
    assert api.commands[(default, "")] == api.commands[(default, "de")]


async def test_languages_from_locale_buttons_and_commands(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    polish = FakeUser(id=2701, language_code="pl")
    spanish = FakeUser(id=2702, language_code="es-MX")
    async with run_bot():
        api.message(polish, "/start")
        [menu] = await api.wait_sent(polish.id)
        assert menu.visible == "WELCOME-PL"
        # One button lists the languages (six would crowd the menu), each in its own name.
        assert menu.callback_data[-1] == "@languages"
        assert len(menu.callback_data) == 5
        api.press(polish, menu, "@languages")
        sent = await api.wait_sent(polish.id, 2)
        assert [b["text"] for b in sent[1].buttons][:7] == [OWN_NAMES[c] for c in SEVEN]
        api.press(polish, sent[1], "@lang:nl")
        sent = await api.wait_sent(polish.id, 3)
        assert sent[2].visible.startswith("LANGUAGE-NL")

        api.message(spanish, "/start")
        api.message(spanish, "/lang it")
        sent = await api.wait_sent(spanish.id, 2)
        assert sent[0].visible == "WELCOME-ES"
        assert sent[1].visible.startswith("LANGUAGE-IT")


async def test_a_typed_question_in_another_language(api: FakeBotApi, run_bot: BotFactory) -> None:
    # Telegram says German; the user writes Polish: the answer is in Polish.
    user = FakeUser(id=2703, language_code="de")
    async with run_bot():
        api.message(user, "i co teraz?")
        api.message(user, "ok")
        sent = await api.wait_sent(user.id, 2)
        # Nothing in the tree answers it, but the fallback says so in Polish; "ok" stays there.
        assert [s.visible for s in sent] == ["FALLBACK-PL", "FALLBACK-PL"]
