"""A message that asks the bot for a language switches to it, as /lang does
(bot.matching.languages_asked)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content import load_content
from bot.engine import Engine
from bot.events import Reply, Start, Text
from bot.matching.languages_asked import language_asked
from bot.state import SessionState

LANGUAGES = ("de", "en", "fr", "es", "it", "nl", "pl")
NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
TTL = dt.timedelta(hours=1)


def _says(engine: Engine, state: SessionState | None, text: str) -> tuple[SessionState, Reply]:
    state, actions = engine.handle(state, Text(text=text), NOW)
    [reply] = [a for a in actions if isinstance(a, Reply)]
    return state, reply


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Asking whether the bot speaks it, in any language.
        ("sprichst du auch englisch?", "en"),
        ("do you speak french?", "fr"),
        ("parles-tu français ?", "fr"),
        ("¿hablas español?", "es"),
        ("parli italiano?", "it"),
        ("spreek je ook nederlands?", "nl"),
        ("czy mówisz po polsku?", "pl"),
        ("can you answer in german?", "de"),
        ("tu peux répondre en anglais ?", "en"),
        ("I speak Dutch", "nl"),
        # The name with "in" and "please" only.
        ("auf englisch bitte", "en"),
        ("in english please", "en"),
        ("en español por favor", "es"),
        ("po niemiecku proszę", "de"),
        ("in het Frans graag", "fr"),
        ("english?", "en"),
        ("Deutsch", "de"),
        # Switching, and short ways of asking.
        ("switch to french pls", "fr"),
        ("możesz po angielsku?", "en"),
        ("mozesz po angielsku?", "en"),
        ("passa all'inglese", "en"),
        # A language the content lacks, or none named: the list of those it has.
        ("what languages do u speak", ""),
        ("welche Sprachen sprichst du?", ""),
        ("quelles langues parlez-vous ?", ""),
        ("which language is the form in?", None),
        ("do you speak portuguese?", ""),
        ("hablas portugués?", ""),
        # Asking for a word, about a country, of oneself, or something besides: none.
        ("thank you in swedish?", None),
        ("comment on dit bonjour en neerlandais", None),
        ("und in italien?", None),
        ("Gilt das auch in Frankreich?", None),
        ("I am German", None),
        ("soy español", None),
        ("kannst du mir auf englisch erklären wie ich bei meta widerspreche", None),
        ("sprichst du englisch oder französisch?", None),
    ],
)  # fmt: skip
def test_a_language_asked_for_is_read_from_the_language_files(text: str, code: str | None) -> None:
    assert language_asked(text, LANGUAGES) == code


def test_asking_whether_the_bot_speaks_a_language_switches_to_it() -> None:
    # Before, "do you speak French?" got the page on France's data protection authority.
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert not engine.matcher.match("do you speak french?", "en").matched
    state, _ = engine.handle(None, Start(), NOW)
    state, reply = _says(engine, state, "do you speak french?")
    assert reply.language == "fr"
    assert reply.text.startswith(shipped.string("language_switched", "fr"))
    assert state.language_chosen
    # Later questions are answered in French, whatever language they are typed in.
    state, reply = _says(engine, state, "how do I object on instagram?")
    assert reply.language == "fr" and reply.node == "object-instagram"


def test_asking_for_a_language_the_bot_lacks_lists_those_it_has() -> None:
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    state, _ = engine.handle(None, Start(), NOW)
    _, reply = _says(engine, state, "hablas portugués?")
    assert reply.language == "es"
    assert reply.text.startswith("Hablo estos idiomas:")
    assert all(f"({shipped.string('language_name', c)})" in reply.text for c in LANGUAGES)
    assert {f"@lang:{c}" for c in LANGUAGES} <= {o.id for o in reply.options}


def test_a_bare_name_counts_only_as_the_reader_would_type_it() -> None:
    # French "italien" is the German "Italien" (the country): in a German chat, no switch.
    assert language_asked("italien", LANGUAGES, "de") is None
    assert language_asked("Italien?", LANGUAGES, "de") is None
    # The name in the reader's language, in the language itself or in English still switches.
    assert language_asked("italienisch", LANGUAGES, "de") == "it"
    assert language_asked("italiano", LANGUAGES, "de") == "it"
    assert language_asked("english?", LANGUAGES, "de") == "en"
    # A language the content lacks, in its own name: the list of those it has.
    assert language_asked("português?", LANGUAGES, "de") == ""
    # With a word of speaking, any name: "parli italien?" asks for Italian.
    assert language_asked("tu parles italien ?", LANGUAGES, "de") == "it"
