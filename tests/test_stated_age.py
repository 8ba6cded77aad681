"""A message that only says the writer's age: below the content's ``minors`` age, the page
for minors (the training leaves out accounts of under-18s); otherwise matched as any other."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content import load_content
from bot.engine import Engine
from bot.events import Reply, Start, Text
from bot.matching.ages import age_in, stated_age

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "lang", "age"),
    [
        ("ich bin 16", "de", 16),
        ("Bin erst 15!", "de", 15),
        ("I'm 16", "en", 16),
        ("I'm 16", "de", 16),  # too short to tell its language: any language's shapes count
        ("j'ai 15 ans", "fr", 15),
        ("tengo 17 años", "es", 17),
        ("ho 16 anni", "it", 16),
        ("ik ben 16 jaar", "nl", 16),
        ("mam 16 lat", "pl", 16),
        ("ho 70 anni", "it", 70),
        ("ich bin 16, werden meine Fotos genutzt?", "de", None),  # a question: for the ranking
        ("ich bin 16 und 17", "de", None),
        ("Artikel 21", "de", None),
        ("ich bin müde", "de", None),
    ],
)  # fmt: skip
def test_the_age_a_message_states_as_a_whole(text: str, lang: str, age: int | None) -> None:
    assert stated_age(text, lang) == age


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_content(), session_ttl=dt.timedelta(hours=1))


def _reply(engine: Engine, lang: str, *texts: str) -> Reply:
    state, _ = engine.handle(None, Start(language=lang), NOW)
    replies = []
    for text in texts:
        state, actions = engine.handle(state, Text(text=text), NOW)
        replies += [a for a in actions if isinstance(a, Reply)]
    return replies[-1]


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "ich bin 16"), ("en", "i'm 15"), ("fr", "j'ai 16 ans"), ("es", "tengo 16 años"),
     ("it", "ho 16 anni"), ("nl", "ik ben 17"), ("pl", "mam 16 lat")],
)  # fmt: skip
def test_a_minor_stating_their_age_gets_the_page_for_minors(
    engine: Engine, lang: str, text: str
) -> None:
    assert _reply(engine, lang, text).node == "children"
    # Also after another page: a 16-year-old reading what Meta does is not told that all
    # their public posts may be used.
    assert _reply(engine, lang, "/start what-meta-does", text).node == "children"


def test_an_adult_stating_their_age_is_not_sent_to_the_page_for_minors(engine: Engine) -> None:
    assert _reply(engine, "it", "ho 70 anni").node != "children"


@pytest.mark.parametrize(
    ("text", "lang", "age"),
    [
        ("ciao ho 17 anni e ho ig, meta usa le mie foto per l ia??", "it", 17),
        ("I'm 16 years old, how do I object?", "en", 16),
        ("ich bin 15 jahre alt, ist es zu spät?", "de", 15),
        ("mam 16 lat, jak złożyć sprzeciw na insta?", "pl", 16),
        # Years of something, not the writer's age; a bare number says no age.
        ("ho 15 anni di post pubblici su facebook", "it", None),
        ("i miei post di 10 anni fa", "it", None),
        ("ho 2 account", "it", None),
        # A clause ends at a dash or "…" too; "A.I." before it counts as one word.
        ("does Meta use A.I. on my posts? I'm 16 years old, how do I object?", "en", 16),
        ("Ich bin 16 Jahre alt – wie widerspreche ich?", "de", 16),
        ("ho 17 anni… meta usa le mie foto?", "it", 17),
    ],
)
def test_the_age_a_question_states_with_its_unit(text: str, lang: str, age: int | None) -> None:
    assert age_in(text, lang) == age


@pytest.mark.parametrize(
    ("lang", "text", "node"),
    [
        # A question whose answer is an adult's: the page for minors instead.
        ("it", "ciao ho 17 anni e ho ig, meta usa le mie foto per l ia??", "children"),
        ("en", "I'm 16 years old, how do I object?", "children"),
        ("de", "ich bin 15 jahre alt, ist es zu spät?", "children"),
        # An adult's age no longer hides the question; a minor's other questions are theirs.
        ("de", "ich bin 45 jahre alt, ist es zu spät?", "too-late"),
        ("en", "what is the digital omnibus? i'm 16 years old", "digital-omnibus"),
        # Off topic stays off topic.
        ("de", "ich bin 16 jahre alt, wie wird das wetter morgen?", None),
    ],
)
def test_a_question_with_the_writers_age_gets_the_page_for_that_age(
    engine: Engine, lang: str, text: str, node: str | None
) -> None:
    assert _reply(engine, lang, text).node == node
