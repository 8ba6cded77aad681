"""No interface text asks someone to tap a button where there are none: the console and Matrix
number their options, only Telegram shows buttons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content import load_content
from bot.content.models import PLATFORMS

SHIPPED = Path(__file__).resolve().parent.parent / "content"

BUTTON_WORDS = re.compile(
    r"\b(tap|taps|tapping|tippe auf|tipp auf|tippen auf|knopf|knöpfe|knöpfen|button|buttons|"
    r"klick\w*|click\w*)\b",
    re.IGNORECASE,
)
"""Wording that only fits buttons ("tippst" alone is typing, and fine everywhere)."""


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if p != "telegram"])
def test_no_string_on_a_platform_without_buttons_mentions_them(platform: str) -> None:
    content = load_content(SHIPPED)
    found = []
    for key in content.meta.strings:
        for lang in content.languages:
            text = content.string(key, lang, platform=platform)
            if match := BUTTON_WORDS.search(text):
                found.append(f"{key} ({lang}): …{match.group(0)}…")
    assert not found, f"{platform} would show button wording:\n" + "\n".join(found)


def test_the_pattern_catches_the_wording_it_is_about() -> None:
    for text in (
        "Tippe auf den Knopf",
        "Tap the button",
        "Details findest du unter den Knöpfen.",
        "klicke hier",
    ):
        assert BUTTON_WORDS.search(text), text
    assert not BUTTON_WORDS.search("Was du dabei tippst, speichere ich nicht")
