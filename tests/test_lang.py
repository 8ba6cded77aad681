"""The per-language word lists (bot/lang/*.yaml) the matcher reads."""

from __future__ import annotations

import dataclasses

import pytest

from bot import lang
from bot.content import load_content
from bot.matching import STOPWORDS, Lexicon, Matcher

FIELDS = (
    "stopwords",
    "question_words",
    "negations",
    "denials",
    "clause_breaks",
    "topic_words",
    "other_roles",
)


def test_the_content_languages_have_word_lists() -> None:
    assert set(lang.languages()) >= {"de", "en"}


@pytest.mark.parametrize("code", sorted(lang.languages()))
def test_every_list_is_filled_with_lower_case_words(code: str) -> None:
    data = lang.languages()[code]
    assert data.stemmer
    for field in FIELDS:
        words = getattr(data, field)
        assert words, f"{code}.yaml: '{field}' is empty"
        assert all(w == w.lower() and w.strip(",.;") == w for w in words), field


OPTIONAL = frozenset(
    {"why_phrases", "detect_marks", "unaccented", "name_endings", "language_joins"}
)
"""Lists only some languages need: "por qué" is why in two words; English has no letters of
its own that tell it from the others. ``unaccented`` is a flag, set where people often type
the language without its accents. Only Polish declines a company's name (``name_endings``).
English puts a language's name in a request with its ``place_words`` alone ("in English
please"), so ``language_joins`` has nothing to add."""


@pytest.mark.parametrize("code", sorted(lang.languages()))
def test_every_language_has_every_list_the_rules_read(code: str) -> None:
    # A list left out is silently empty: French, Spanish, Italian, Dutch and Polish had no
    # condition words, so "et si je ne fais rien ?" was never read as a case of the page.
    fields = {f.name for f in dataclasses.fields(lang.Language)} - OPTIONAL - {"code"}
    data = lang.languages()[code]
    empty = sorted(f for f in fields if not getattr(data, f))
    assert not empty, f"{code}.yaml: {', '.join(empty)} missing or empty"


@pytest.mark.parametrize("code", sorted(lang.languages()))
def test_question_words_and_negations_are_not_stop_words(code: str) -> None:
    # "why does Meta want this" and "what does Meta do" differ by little else.
    data = lang.languages()[code]
    assert not data.question_words & data.stopwords
    assert not data.negations & data.stopwords
    assert data.negations <= data.denials


def test_the_matcher_reads_its_words_from_the_files() -> None:
    assert STOPWORDS["de"] == lang.languages()["de"].stopwords
    assert "der" in STOPWORDS["de"] and "the" in STOPWORDS["en"]
    lexicon = Lexicon("de", ())
    assert lexicon.content_words("Wie widerspreche ich der KI?") == ["wie", "widerspreche", "ki"]


def test_common_words_name_meta_and_others() -> None:
    common = lang.common()
    assert {"facebook", "instagram", "whatsapp"} <= common.platforms
    assert common.brands == ("facebook", "instagram", "whatsapp")
    assert "tiktok" in common.other_parties and "meta" in common.meta_words


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        # An elided article or preposition is no topic: "dell'IA" says "IA".
        ("it", "addestramento dell'IA nell'app", ["addestramento", "ia", "app"]),
        ("fr", "jusqu'au 27 mai auprès de la CNIL", ["27", "mai", "cnil"]),
        ("es", "una reclamación ante la AEPD", ["reclamación", "aepd"]),
    ],
)
def test_elided_and_small_words_are_stop_words(code: str, text: str, expected: list[str]) -> None:
    assert Lexicon(code, ()).content_words(text) == expected


def test_meta_in_every_polish_case_is_meta() -> None:
    # "co mówi UODO o mecie?", "sprawa mety": Meta declined is still Meta, for the ranking
    # and for telling a question about Meta from one about another party.
    groups = load_content().meta.synonyms["pl"]
    lexicon = Lexicon("pl", groups)
    assert {lexicon.stem(w) for w in ("mecie", "mety", "metę", "metą")} == {lexicon.stem("meta")}
    assert {"mety", "mecie", "metę", "metą"} <= lang.languages()["pl"].topic_words


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_content())


def test_a_company_declined_in_polish_is_another_party(matcher: Matcher) -> None:
    # "z TikToka", "na Amazonie": the name with a Polish ending is still another company.
    assert matcher.ranking("czy mogę zażądać od TikToka usunięcia moich filmików?", "pl").foreign
    index = matcher.indexes["pl"]
    assert index.names_party("tiktoka") and index.names_party("amazonie")
    assert not index.names_party("facebooka")
    # A Polish example names Gmail ("nowy z gmaila"): the content talks about it.
    assert not index.names_party("gmaila") and not index.names_party("gmail")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("wie viel sind 15 prozent von 80", "de"),
        ("what's 20% of 150?", "en"),
        ("combien font 15 pour cent de 80", "fr"),
        ("cuánto es el 20 por ciento de 50", "es"),
        ("quanto fa il 15 per cento di 240", "it"),
        ("hoeveel is 15 procent van 80", "nl"),
        ("ile to jest 15 procent z 200?", "pl"),
    ],
)
def test_a_sum_with_per_cent_is_no_question_about_the_survey(
    matcher: Matcher, text: str, code: str
) -> None:
    # The page on the survey's percentages shares "Prozent" with a sum, and nothing else.
    result = matcher.match(text, code)
    assert not result.matched and not result.candidates


def test_a_share_in_a_question_about_the_survey_is_no_sum(matcher: Matcher) -> None:
    text = "stimmt es, dass nur 7 prozent wollen, dass meta ihre daten nutzt?"
    assert matcher.match(text, "de").node == "noyb-survey"
