"""Polish typed without its accents: the dense signal reads the content's spelling."""

from __future__ import annotations

from bot.content import load_content
from bot.matching import Matcher


def test_a_word_typed_without_accents_is_read_as_the_content_spells_it() -> None:
    matcher = Matcher(load_content(), embedder=None)
    index = matcher.indexes["pl"]
    assert index.with_accents("meta odmowila mi") == "meta odmówiła mi"
    # A word the content writes without accents stays as typed.
    assert index.with_accents("meta") == "meta"
    # Only where the language's data says its speakers leave the accents off.
    assert matcher.indexes["fr"].with_accents("etape par etape") == "etape par etape"


def test_polish_without_accents_is_understood() -> None:
    matcher = Matcher(load_content())
    # Read as typed, the model was unsure (0.62); the content writes "odmówiła".
    result = matcher.match("meta odmowila mi", "pl")
    assert result.matched and result.node == "objection-rejected"
