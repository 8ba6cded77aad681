"""A command typed without its slash ("hilfe", "zurück", "Start over") runs the command."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content import load_content
from bot.engine import TYPED_COMMANDS, Engine, _as_typed, typed_commands
from bot.events import Command, Reply, Start, Text
from bot.state import SessionState

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
TTL = dt.timedelta(hours=1)


def _reply(engine: Engine, state: SessionState | None, event: Text | Command) -> Reply:
    _, actions = engine.handle(state, event, NOW)
    [reply] = [a for a in actions if isinstance(a, Reply)]
    return reply


@pytest.mark.parametrize(
    ("text", "command", "lang"),
    [
        ("help", "help", "en"),
        ("Help!", "help", "en"),
        ("hilfe", "help", "de"),
        ("aide", "help", "fr"),
        ("ayuda", "help", "es"),
        ("aiuto", "help", "it"),
        ("hulp", "help", "nl"),
        ("pomoc", "help", "pl"),
        ("zurück", "back", "de"),
        # "indietro" got the page on why trained data can hardly be taken back.
        ("indietro", "back", "it"),
        ("atrás", "back", "es"),
        ("terug", "back", "nl"),
        ("wstecz", "back", "pl"),
        ("Sprache", "lang", "de"),
        ("Von vorn beginnen", "start", "de"),
        ("Start over", "start", "en"),
        # Typed without Polish letters, as on a phone without them: it was "not understood".
        ("zmien jezyk", "lang", "pl"),
        ("Zmień język", "lang", "pl"),
    ],
)  # fmt: skip
def test_a_command_typed_without_its_slash_runs_in_its_language(
    text: str, command: str, lang: str
) -> None:
    # Before, "hilfe" got "not sure what you mean" and "Sprache" the page on why Meta trains
    # its AI (on the cultures and languages of Europe).
    engine = Engine(load_content(), session_ttl=TTL)
    state, _ = engine.handle(None, Start(), NOW)
    assert typed_commands(engine.content)[_as_typed(text)][0] == command
    typed = _reply(engine, state, Text(text=text))
    assert typed.language == lang
    state = state.with_(language=lang)
    assert typed.text == _reply(engine, state, Command(name=command)).text


def test_erasing_takes_the_command_itself() -> None:
    # "löschen" alone may be about deleting posts; erasing the session takes /forget.
    content = load_content()
    assert "forget" not in TYPED_COMMANDS
    assert all(name != "forget" for name, _ in typed_commands(content).values())
    engine = Engine(content, session_ttl=TTL)
    state, _ = engine.handle(None, Start(), NOW)
    _, actions = engine.handle(state, Text(text="löschen"), NOW)
    assert all(type(a).__name__ != "Forget" for a in actions)


def test_a_word_several_languages_spell_alike_keeps_the_readers_language() -> None:
    engine = Engine(load_content(), session_ttl=TTL)
    assert typed_commands(engine.content)["menu"] == ("menu", None)
    state, _ = engine.handle(None, Start(language="it"), NOW)
    assert _reply(engine, state, Text(text="menu")).language == "it"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("nochmal von vorne", "de"),
        ("back to the beginning", "en"),
        ("retour au début", "fr"),
        ("volver al inicio", "es"),
        ("torna all'inizio", "it"),
        ("terug naar start", "nl"),
        ("wróć do początku", "pl"),
    ],
)  # fmt: skip
def test_asking_to_go_back_to_the_beginning_shows_the_main_menu(text: str, lang: str) -> None:
    """ "back to the beginning" got the page on old posts, "nochmal von vorne" the one on
    objections from 2024 and "torna all'inizio" the one on the start date, each as sure
    answers: they are aliases of /start in every language now."""
    engine = Engine(load_content(), session_ttl=TTL)
    state, _ = engine.handle(None, Start(language=lang), NOW)
    state, _ = engine.handle(state, Text(text="was ist mit whatsapp?"), NOW)
    reply = _reply(engine, state, Text(text=text))
    assert reply.node == engine.content.meta.root and reply.language == lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [("od początku?", "pl"), ("from the beginning?", "en"), ("dall'inizio?", "it")],
)
def test_since_the_beginning_after_a_page_is_no_way_back_to_the_menu(text: str, lang: str) -> None:
    """As examples of the main menu, "back to the beginning" and its kind made their words
    greetings: "od początku?" after the page on old posts (since my account began?) got the
    main menu."""
    engine = Engine(load_content(), session_ttl=TTL)
    result = engine.matcher.match(text, lang, context="old-posts")
    assert result.node != engine.content.meta.root


def test_lang_takes_a_locale_tag() -> None:
    engine = Engine(load_content(), session_ttl=TTL)
    state, _ = engine.handle(None, Start(language="nl"), NOW)
    reply = _reply(engine, state, Command(name="lang", args="de-AT"))
    assert reply.language == "de" and reply.node == "start"


def test_a_wrong_number_keeps_the_screen_of_buttons_it_was_typed_at() -> None:
    # "7" (More topics) and then "9" showed the first screen's buttons under "choose 1 to 7".
    engine = Engine(load_content(), session_ttl=TTL)
    state, _ = engine.handle(None, Start(language="nl"), NOW)
    state, _ = engine.handle(state, Text(text="7"), NOW)
    second = state.offered
    assert "@page:start-0" in second
    state, _ = engine.handle(state, Text(text="9"), NOW)
    assert state.offered == second
