"""The page's own words come from the content, in every language it declares, and its language
switch stays usable on a phone however many languages there are."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.languages import OWN_NAMES
from fixtures.tree import write_tree

from bot.content import ContentError, load_content
from bot.content.models import WEB_PAGE_STRINGS
from bot.platforms.web import WebChat, WebSettings
from bot.platforms.web_page import PageWords, load_assets, render_page

from .conftest import make_runtime

SEVEN = OWN_NAMES


def page(words: PageWords, languages: dict[str, str]) -> str:
    return render_page(
        words=words, languages=languages, session="s" * 22, seq=1, assets=load_assets()
    )


def test_every_language_of_the_real_content_has_every_page_word() -> None:
    content = load_content()
    for lang in content.languages:
        words = PageWords.of(content, lang)
        assert set(words.words) == set(WEB_PAGE_STRINGS)
        assert all(text.strip() for text in words.words.values()), lang
        assert "{max}" not in words("too_long", max=1000)
        assert "1000" in words("too_long", max=1000)


def test_the_page_shows_the_contents_words(tmp_path: Path) -> None:
    tree = write_tree(tmp_path)
    meta = tree / "bot.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace('send: {de: "Senden"', 'send: {de: "Abschicken"'),
        encoding="utf-8",
    )
    html = page(PageWords.of(load_content(tree), "de"), {"de": "Deutsch", "en": "English"})
    assert ">Abschicken</button>" in html
    assert '<html lang="de">' in html


def test_a_stray_brace_in_a_translation_does_not_break_the_page() -> None:
    words = PageWords("fr", {"too_long": "Trop long {pas {max} caractères}"})
    assert words("too_long", max=800) == "Trop long {pas 800 caractères}"


def test_two_languages_switch_with_one_button() -> None:
    words = PageWords.of(load_content(), "de")
    html = page(words, {"de": "Deutsch", "en": "English"})
    assert 'name="lang" value="en"' in html
    assert "<details" not in html


def test_seven_languages_sit_behind_a_disclosure_named_in_the_page_language() -> None:
    words = PageWords.of(load_content(), "en")
    html = page(words, SEVEN)
    disclosure = html[html.index('<details class="langs">') : html.index("</details>")]
    assert f"<summary>{words('language')}</summary>" in disclosure
    for code, name in SEVEN.items():
        if code == "en":
            assert f'value="{code}"' not in disclosure
        else:
            # Each language in its own name, marked with its language for screen readers.
            assert f'value="{code}" lang="{code}" class="lang">{name}</button>' in disclosure


def test_an_incomplete_web_page_section_is_refused_at_load(tmp_path: Path) -> None:
    tree = write_tree(tmp_path)
    meta = tree / "bot.yaml"
    text = meta.read_text(encoding="utf-8")
    send = next(line for line in text.splitlines() if line.startswith("  send: {de:"))
    meta.write_text(text.replace(send + "\n", ""), encoding="utf-8")
    with pytest.raises(ContentError) as refused:
        load_content(tree)
    assert "missing web page string 'send'" in str(refused.value)
    assert "add 'web_page.send' in every language" in str(refused.value)


def test_a_tree_without_page_words_serves_chats_but_not_the_web(tmp_path: Path) -> None:
    tree = write_tree(tmp_path)
    meta = tree / "bot.yaml"
    text = meta.read_text(encoding="utf-8")
    meta.write_text(text[: text.index("web_page:\n")], encoding="utf-8")
    runtime = make_runtime(tree)
    with pytest.raises(ValueError, match="no 'web_page' section"):
        WebChat(runtime, WebSettings(listen="127.0.0.1:0"))
