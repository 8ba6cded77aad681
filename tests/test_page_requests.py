"""Asking about the page just read without naming it: "Quelle?", "tell me more", "nochmal"."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content import load_content
from bot.engine import Engine
from bot.events import MORE_PREFIX, SOURCES_PREFIX, Reply, Start, Text
from bot.state import SessionState

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
TTL = dt.timedelta(hours=1)
QUESTION = {
    "de": "Kann Meta meine alten Beiträge nutzen?",
    "en": "can meta use my old posts?",
    "fr": "Meta peut utiliser mes anciennes publications ?",
    "es": "¿Meta puede usar mis publicaciones antiguas?",
    "it": "Meta può usare i miei vecchi post?",
    "nl": "Mag Meta mijn oude berichten gebruiken?",
    "pl": "Czy Meta może używać moich starych postów?",
}
"""A question in each language whose answer (the page on old posts) has details and sources."""


def _at_old_posts(engine: Engine, lang: str) -> tuple[SessionState, Reply]:
    state, _ = engine.handle(None, Start(language=lang), NOW)
    state, actions = engine.handle(state, Text(text=QUESTION[lang]), NOW)
    [page] = [a for a in actions if isinstance(a, Reply)]
    assert state is not None and page.node == "old-posts"
    return state, page


def _say(engine: Engine, state: SessionState, text: str) -> Reply:
    _, actions = engine.handle(state, Text(text=text), NOW)
    [reply] = [a for a in actions if isinstance(a, Reply)]
    return reply


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_content(), session_ttl=TTL)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Quelle?", "de"),
        ("woher weißt du das?", "de"),
        ("wo steht das?", "de"),  # got the page on limiting past posts
        ("source?", "en"),
        ("how do you know that?", "en"),
        ("c'est quoi ta source ?", "fr"),
        ("¿de dónde sacas eso?", "es"),
        ("fonte?", "it"),
        ("wat is je bron?", "nl"),
        ("źródło?", "pl"),
    ],
)  # fmt: skip
def test_asking_for_the_source_gets_the_sources_of_the_page_just_read(
    engine: Engine, text: str, lang: str
) -> None:
    """ "Quelle?" after an answer got the page about the bot."""
    state, page = _at_old_posts(engine, lang)
    reply = _say(engine, state, text)
    assert reply.node == "old-posts" and reply.matched is True and reply.language == lang
    node = engine.content.nodes["old-posts"]
    assert reply.text == engine.content.sources_list(node, lang, NOW.date())
    assert f"{SOURCES_PREFIX}old-posts" in [o.id for o in page.options]
    assert f"{SOURCES_PREFIX}old-posts" not in [o.id for o in reply.options]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("mehr Infos", "de"),
        ("erzähl mir mehr", "de"),
        ("tell me more", "en"),
        ("plus de détails", "fr"),
        ("cuéntame más", "es"),
        ("dimmi di più", "it"),
        ("meer info", "nl"),
        ("więcej szczegółów", "pl"),
    ],
)  # fmt: skip
def test_asking_for_more_gets_the_details_of_the_page_just_read(
    engine: Engine, text: str, lang: str
) -> None:
    state, _ = _at_old_posts(engine, lang)
    reply = _say(engine, state, text)
    details = engine.content.details(engine.content.nodes["old-posts"], lang, NOW.date(), {})
    assert reply.node == "old-posts" and reply.matched is True
    assert details and reply.text == details
    assert f"{MORE_PREFIX}old-posts" not in [o.id for o in reply.options]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("nochmal bitte", "de"), ("can you repeat that?", "en"), ("powtórz", "pl")],
)
def test_asking_again_gets_the_page_again(engine: Engine, text: str, lang: str) -> None:
    """ "nochmal bitte" got the main menu; "kannst du das wiederholen?" the page on
    objections from 2024."""
    state, page = _at_old_posts(engine, lang)
    reply = _say(engine, state, text)
    assert reply.node == "old-posts" and reply.text == page.text
    assert [o.id for o in reply.options] == [o.id for o in page.options]


def test_more_of_a_page_without_details_gets_its_sources(engine: Engine) -> None:
    content = engine.content
    page = next(
        n
        for n in content.nodes.values()
        if n.sources
        and not content.details(n, "de", NOW.date(), {})
        and n.questions.get("de")
        and not n.personal
    )
    state, _ = engine.handle(None, Start(language="de"), NOW)
    assert state is not None
    reply = _say(engine, state.with_(node=page.id), "mehr Infos")
    assert reply.node == page.id
    assert reply.text == content.sources_list(page, "de", NOW.date())


@pytest.mark.parametrize(
    ("text", "lang", "node"),
    [
        ("Quellen zum Urteil in Köln?", "de", "olg-koeln"),  # names what it asks about
        ("more about the class action", "en", "class-action"),
    ],
)
def test_a_request_that_names_its_topic_is_a_question(
    engine: Engine, text: str, lang: str, node: str
) -> None:
    state, _ = _at_old_posts(engine, lang)
    assert engine.matcher.page_request(text, lang) is None
    assert _say(engine, state, text).node == node


def test_at_the_menu_the_words_are_read_as_a_question(engine: Engine) -> None:
    """No page was read: "Woher hast du deine Infos?" asks about the bot itself."""
    state, _ = engine.handle(None, Start(language="de"), NOW)
    assert state is not None
    reply = _say(engine, state, "woher weißt du das?")
    assert "Quellen:" not in reply.text
