"""Whatever lists languages takes every language the content declares (here seven)."""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures.languages import NEW, OWN_NAMES, SEVEN, write_seven_language_tree
from fixtures.tree import write_tree

from bot.content import Content, load_content
from bot.engine import Engine
from bot.events import Choice, Command, Event, Reply, Start, Text
from bot.state import SessionState

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return load_content(write_seven_language_tree(tmp_path_factory.mktemp("seven")))


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content, session_ttl=dt.timedelta(days=30))


def _turn(engine: Engine, state: SessionState | None, event: Event) -> tuple[SessionState, Reply]:
    new, actions = engine.handle(state, event, NOW)
    assert new is not None
    [reply] = [a for a in actions if isinstance(a, Reply)]
    return new, reply


@pytest.mark.parametrize("code", NEW)
def test_lang_command_takes_each_new_language(engine: Engine, code: str) -> None:
    state, _ = _turn(engine, None, Start())
    state, reply = _turn(engine, state, Command(name="lang", args=code))
    assert reply.language == code
    assert reply.text.startswith(f"LANGUAGE-{code.upper()}")
    assert state.language == code and state.language_chosen
    # Typed as text, upper case, the same.
    state, reply = _turn(engine, None, Text(text=f"/lang {code.upper()}"))
    assert reply.language == code


@pytest.mark.parametrize("code", SEVEN)
def test_the_platform_language_opens_the_conversation(engine: Engine, code: str) -> None:
    _, reply = _turn(engine, None, Start(locale=f"{code}-XX"))
    assert reply.language == code


def test_one_button_lists_every_language_in_its_own_name(engine: Engine) -> None:
    state, menu = _turn(engine, None, Start())
    # The menu's topics and one button for the languages, not six.
    assert [o.id for o in menu.options] == [
        "objection",
        "deadline",
        "my-case",
        "extra",
        "@languages",
    ]
    assert menu.options[-1].label == "🌐 Sprache"
    state, listing = _turn(engine, state, Choice(option="@languages"))
    languages = [o for o in listing.options if o.id.startswith("@lang:")]
    assert [(o.id, o.label) for o in languages] == [(f"@lang:{c}", OWN_NAMES[c]) for c in SEVEN]
    state, chosen = _turn(engine, state, Choice(option="@lang:es"))
    assert chosen.language == "es" and state.language_chosen


def test_an_unknown_code_lists_the_languages(engine: Engine) -> None:
    _, reply = _turn(engine, None, Command(name="lang", args="pt"))
    assert reply.language == "de"
    for code in SEVEN:
        assert f"{code} ({OWN_NAMES[code]})" in reply.text


def test_two_languages_keep_a_button_each(tmp_path_factory: pytest.TempPathFactory) -> None:
    two = load_content(write_tree(tmp_path_factory.mktemp("two")))
    _, menu = _turn(Engine(two, session_ttl=dt.timedelta(days=1)), None, Start())
    assert menu.options[-1].id == "@lang:en" and menu.options[-1].label == "English"


def test_a_label_before_its_text_follows_the_languages_typography() -> None:
    # French puts a no-break space before a colon, as "Dernière vérification : …" beside it.
    shipped = load_content()
    node = shipped.nodes["how-to-object"]
    today = dt.date(2026, 12, 5)
    assert shipped.sources_line(node, "de", today).startswith("_Quellen: ")
    assert shipped.sources_line(node, "fr", today).startswith("_Sources\u00a0: ")
    assert "**Sources\u00a0:**" in shipped.sources_list(node, "fr", today)


def test_the_sources_line_names_what_the_reader_can_read() -> None:
    # An EU-wide page cites sources in several languages; its line names the reader's own,
    # the others are one tap away behind "Sources" ("…"), all of them listed there.
    shipped = load_content()
    node = shipped.nodes["how-to-object"]
    today = dt.date(2026, 12, 5)
    by_lang = {s.short_name: s.lang for s in node.sources}
    for lang in ("de", "fr", "it", "nl", "pl"):
        line = shipped.sources_line(node, lang, today)
        named = line.split(": ", 1)[1].split(" · ")[0].removesuffix(" …").split(", ")
        assert named and all(by_lang[n] in (lang, None) for n in named), (lang, line)
        assert line.split(" · ")[0].endswith(" …")
        listed = shipped.sources_list(node, lang, today)
        assert all(s.url in listed for s in node.sources)
