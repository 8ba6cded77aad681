"""The content markup and its three renderers: plain text, Telegram HTML, Matrix HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.markup import links, to_matrix_html, to_plain, to_telegram_html

Render = Callable[[str], str]
SPECIAL = "a < b > c & d \"q\" 's'"


# -- escaping ----------------------------------------------------------------------------


def test_plain_text_is_left_alone() -> None:
    assert to_plain(SPECIAL) == SPECIAL


@pytest.mark.parametrize("render", [to_telegram_html, to_matrix_html])
def test_html_special_characters_are_escaped(render: Render) -> None:
    assert render(SPECIAL) == "a &lt; b &gt; c &amp; d \"q\" 's'"


@pytest.mark.parametrize("render", [to_telegram_html, to_matrix_html])
def test_tags_in_text_are_not_tags(render: Render) -> None:
    out = render("<script>alert('x')</script> <b>not bold</b> &amp;")
    assert "<script>" not in out and "<b>" not in out
    assert out == "&lt;script&gt;alert('x')&lt;/script&gt; &lt;b&gt;not bold&lt;/b&gt; &amp;amp;"


@pytest.mark.parametrize("render", [to_telegram_html, to_matrix_html])
@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "tg://resolve?x"])
def test_only_web_links_become_anchors(render: Render, url: str) -> None:
    out = render(f"[click]({url})")
    assert "<a" not in out
    assert out.startswith("click (")


@pytest.mark.parametrize("render", [to_telegram_html, to_matrix_html])
def test_link_label_and_url_are_escaped(render: Render) -> None:
    out = render('[<i>"A & B"</i>](https://example.org/?a=1&b="2"<x>)')
    assert out == (
        '<a href="https://example.org/?a=1&amp;b=&quot;2&quot;&lt;x&gt;">'
        '&lt;i&gt;"A &amp; B"&lt;/i&gt;</a>'
    )


@pytest.mark.parametrize("render", [to_telegram_html, to_matrix_html])
def test_quotes_cannot_leave_the_href_attribute(render: Render) -> None:
    out = render('[x](https://example.org/"onmouseover="alert(1))')
    assert '"onmouseover="' not in out
    assert out.startswith('<a href="https://example.org/&quot;onmouseover=&quot;alert(1">x</a>')


@pytest.mark.parametrize("render", [to_telegram_html, to_matrix_html])
def test_markup_inside_emphasis_is_escaped(render: Render) -> None:
    assert render("**<i>x</i>**") == "<b>&lt;i&gt;x&lt;/i&gt;</b>"
    assert render("_a<b_") == "<i>a&lt;b</i>"


# -- rendering ---------------------------------------------------------------------------

TEXT = """\
**Ja.** So geht's, _ganz_ einfach:

- Öffne das [Formular](https://example.org/form?a=1&b=2).
- Schick es ab.

1. Erstens
2. Zweitens
Fertig."""


def test_plain_rendering() -> None:
    assert to_plain(TEXT) == (
        "Ja. So geht's, ganz einfach:\n"
        "\n"
        "• Öffne das Formular (https://example.org/form?a=1&b=2).\n"
        "• Schick es ab.\n"
        "\n"
        "1. Erstens\n"
        "2. Zweitens\n"
        "Fertig."
    )


def test_telegram_rendering() -> None:
    assert to_telegram_html(TEXT) == (
        "<b>Ja.</b> So geht's, <i>ganz</i> einfach:\n"
        "\n"
        '• Öffne das <a href="https://example.org/form?a=1&amp;b=2">Formular</a>.\n'
        "• Schick es ab.\n"
        "\n"
        "1. Erstens\n"
        "2. Zweitens\n"
        "Fertig."
    )


def test_matrix_rendering() -> None:
    assert to_matrix_html(TEXT) == (
        "<b>Ja.</b> So geht's, <i>ganz</i> einfach:<br>"
        "<br>"
        '<ul><li>Öffne das <a href="https://example.org/form?a=1&amp;b=2">Formular</a>.</li>'
        "<li>Schick es ab.</li></ul>"
        "<br>"
        "<ol><li>Erstens</li><li>Zweitens</li></ol>"
        "Fertig."
    )


def test_matrix_numbered_list_continues_after_a_paragraph() -> None:
    out = to_matrix_html("1. eins\n2. zwei\n\nDann:\n3. drei\n4. vier")
    assert out.endswith('Dann:<br><ol start="3"><li>drei</li><li>vier</li></ol>')


def test_link_whose_label_is_its_url_is_not_repeated_in_plain() -> None:
    assert to_plain("[https://example.org](https://example.org)") == "https://example.org"


def test_underscores_inside_words_and_urls_are_not_italics() -> None:
    text = "snake_case_name and [a_b](https://example.org/a_b_c)"
    assert to_plain(text) == "snake_case_name and a_b (https://example.org/a_b_c)"
    assert "<i>" not in to_telegram_html(text)


def test_links_finds_every_link() -> None:
    assert links(TEXT + " [zwei](https://example.org/2)") == [
        ("Formular", "https://example.org/form?a=1&b=2"),
        ("zwei", "https://example.org/2"),
    ]


# -- properties: whatever the input, only our own tags come out --------------------------

TELEGRAM_TAGS = re.compile(r'</?[bi]>|<a href="[^"<>]*">|</a>')
MATRIX_TAGS = re.compile(
    r'</?(?:b|i|ul|li)>|<ol(?: start="\d+")?>|</ol>|<br>|<a href="[^"<>]*">|</a>'
)
MARKUP_TEXT = st.text(
    alphabet=st.sampled_from(list("ab <>&\"'*_[]()-.1\n:/é🙂")) | st.characters(codec="utf-8"),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(MARKUP_TEXT)
def test_telegram_output_has_only_known_tags(text: str) -> None:
    out = to_telegram_html(text)
    rest = TELEGRAM_TAGS.sub("", out)
    assert "<" not in rest and ">" not in rest
    # Every entity is one html.escape produces, so Telegram's parser accepts it.
    assert not re.search(r"&(?!(?:lt|gt|amp|quot);)", rest)
    # Nothing of the text is lost: stripped of tags and unescaped, the words are all there.
    plain = html.unescape(rest)
    for word in re.findall(r"[^\W_]+", text):
        assert word in plain or word in html.unescape(out)


@settings(max_examples=300, deadline=None)
@given(MARKUP_TEXT)
def test_matrix_output_has_only_known_tags(text: str) -> None:
    rest = MATRIX_TAGS.sub("", to_matrix_html(text))
    assert "<" not in rest and ">" not in rest
    assert not re.search(r"&(?!(?:lt|gt|amp|quot);)", rest)


@settings(max_examples=200, deadline=None)
@given(MARKUP_TEXT)
def test_plain_output_has_no_markup_tags(text: str) -> None:
    out = to_plain(text)
    # Plain text adds no characters of its own but bullets and the parentheses around URLs.
    for char in "<>&\"'":
        assert out.count(char) <= text.count(char)
    assert out.count("\n") == text.count("\n")
