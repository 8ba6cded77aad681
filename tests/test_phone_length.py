"""Every answer of the shipped content fits a phone, on every platform.

For every node, language, date variant and combination of checklist answers a user can reach
by buttons (``bot.content.phone.screens``), the reply is rendered as each platform shows it:

- the first screen (``as_of`` label, text, blocks not marked ``more``) within
  ``FIRST_SCREEN_LIMIT`` (500) visible characters, a link counted by its label;
- the whole first message (first screen and the sources line) within ``MESSAGE_LIMIT`` (900)
  characters as shown: Telegram and Matrix show a link's label, the console prints
  "label (url)";
- every Telegram message (the first one, the details behind "Mehr", the sources behind
  "Quellen") within Telegram's 4096 UTF-16 code units, so nothing is split.

A failure lists every offending screen with its size, longest first, so the content can be
fixed in one go.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.content import Content, load_content
from bot.content.markup import LINK_PATTERN, to_matrix_html, to_plain, to_telegram_html
from bot.content.phone import FIRST_SCREEN_LIMIT, Screen, screens
from bot.platforms.telegram import MAX_TEXT, utf16_len

SHIPPED = Path(__file__).resolve().parent.parent / "content"

MESSAGE_LIMIT = 900
TRANSLATION_LIMIT = FIRST_SCREEN_LIMIT
"""French, Spanish, Italian, Dutch and Polish first screens are held to the same 500 characters
as German and English (54 were longer when the languages arrived in December 2026, the longest
614; all have since been shortened)."""


def _limit(lang: str) -> int:
    return FIRST_SCREEN_LIMIT if lang in ("de", "en") else TRANSLATION_LIMIT


"""Characters of a whole first message (first screen and sources line) on a phone."""

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br>|</li>")


def telegram_visible(markup: str) -> str:
    """What a Telegram user sees: the HTML after entity parsing."""
    return html.unescape(_TAG.sub("", to_telegram_html(markup)))


def matrix_visible(markup: str) -> str:
    """What an Element user sees of ``formatted_body``: breaks and list items as lines."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", to_matrix_html(markup)))).strip()


def console_visible(markup: str) -> str:
    """What the terminal prints: plain text, a link as "label (url)"."""
    return to_plain(markup)


def by_label(render: Callable[[str], str]) -> Callable[[str], str]:
    """``render`` with every link reduced to its label (how the first screen is counted)."""
    return lambda markup: render(LINK_PATTERN.sub(r"\g<label>", markup))


PLATFORMS: dict[str, Callable[[str], str]] = {
    "telegram": telegram_visible,
    "matrix": matrix_visible,
    "console": console_visible,
}


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(SHIPPED)


@pytest.fixture(scope="module")
def shown(content: Content) -> list[Screen]:
    return list(screens(content))


Found = list[tuple[int, Screen, str]]
"""Each offending case: its size, the screen and what was measured ("" or "details", …)."""


def _where(screen: Screen, kind: str = "") -> str:
    when = f", {screen.when}" if screen.when else ""
    what = f" {kind}" if kind else ""
    return f"{screen.node.file}: {screen.node.id}{what} ({screen.lang}{when})"


def _report(found: Found, what: str, limit: int) -> str:
    worst: dict[tuple[str, str, str], tuple[int, str]] = {}
    for size, screen, kind in found:
        # One line per node, language and message: its longest case.
        key = (screen.node.id, screen.lang, kind)
        if size > worst.get(key, (0, ""))[0]:
            worst[key] = (size, _where(screen, kind))
    lines = [f"  {size:5d}  {where}" for size, where in sorted(worst.values(), reverse=True)]
    return (
        f"{len(worst)} answer(s) with {what} over {limit} characters "
        f"({len(found)} case(s) of date and checklist answers):\n" + "\n".join(lines)
    )


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_every_first_screen_fits_a_phone(
    content: Content, shown: list[Screen], platform: str
) -> None:
    render = by_label(PLATFORMS[platform])
    found: Found = []
    for screen in shown:
        size = len(
            render(content.first_screen(screen.node, screen.lang, screen.day, screen.values))
        )
        if size > _limit(screen.lang):
            found.append((size, screen, ""))
    assert not found, _report(found, f"a first screen on {platform}", FIRST_SCREEN_LIMIT)


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_every_first_message_with_its_sources_line_fits_a_phone(
    content: Content, shown: list[Screen], platform: str
) -> None:
    render = PLATFORMS[platform]
    found: Found = []
    for screen in shown:
        message = content.answer_for(screen.node, screen.lang, screen.day, screen.values or {})
        size = len(render(message))
        if size > MESSAGE_LIMIT:
            found.append((size, screen, ""))
    assert not found, _report(found, f"a first message on {platform}", MESSAGE_LIMIT)


def test_every_telegram_message_fits_one_message(content: Content, shown: list[Screen]) -> None:
    found: Found = []
    for screen in shown:
        node, lang, day, values = screen.node, screen.lang, screen.day, screen.values
        messages = {
            "answer": content.answer_for(node, lang, day, values or {}),
            "details": content.details(node, lang, day, values),
            "sources": content.sources_list(node, lang, day),
        }
        for kind, markup in messages.items():
            size = utf16_len(telegram_visible(markup))
            if size > MAX_TEXT:
                found.append((size, screen, kind))
    assert not found, _report(found, "a Telegram message", MAX_TEXT)


def test_the_measure_counts_what_a_reader_sees() -> None:
    markup = "**Fett** [Formular](https://example.org/form)\n- eins"
    assert by_label(telegram_visible)(markup) == "Fett Formular\n• eins"
    assert by_label(matrix_visible)(markup) == "Fett Formular\neins"
    assert console_visible(markup) == "Fett Formular (https://example.org/form)\n• eins"
