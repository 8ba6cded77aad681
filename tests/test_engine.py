"""Engine.handle(state, event, now): behaviour on the small test tree (tests/fixtures/tree.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fixtures.matchers import AboutThePage, Undecided
from fixtures.tree import AFTER, BEFORE, TTL, write_tree

from bot.content import Content, load_content
from bot.engine import Engine
from bot.events import (
    Action,
    Choice,
    Command,
    Event,
    Forget,
    Joined,
    Reply,
    Start,
    Text,
    Unsupported,
)
from bot.matching import Matcher, answers, decision
from bot.matching.context import asks_how_after_story
from bot.state import SessionState

ROOT_OPTIONS = ["objection", "deadline", "my-case", "extra"]


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return load_content(write_tree(tmp_path_factory.mktemp("tree")))


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content, session_ttl=TTL)


class Chat:
    """One user talking to the engine; keeps the state between events like the runtime does."""

    def __init__(self, engine: Engine, now: dt.datetime = AFTER) -> None:
        self.engine = engine
        self.now = now
        self.state: SessionState | None = None
        self.actions: tuple[Action, ...] = ()

    def send(self, event: Event) -> Reply:
        self.state, self.actions = self.engine.handle(self.state, event, self.now)
        replies = [a for a in self.actions if isinstance(a, Reply)]
        assert len(replies) == 1, self.actions
        return replies[0]

    def start(self, **kwargs: Any) -> Reply:
        return self.send(Start(**kwargs))

    def text(self, text: str, **kwargs: Any) -> Reply:
        return self.send(Text(text=text, **kwargs))

    def choose(self, option: str, **kwargs: Any) -> Reply:
        return self.send(Choice(option=option, **kwargs))

    def command(self, name: str, args: str = "", **kwargs: Any) -> Reply:
        return self.send(Command(name=name, args=args, **kwargs))


def ids(reply: Reply) -> list[str]:
    return [o.id for o in reply.options]


def labels(reply: Reply) -> list[str]:
    return [o.label for o in reply.options]


@pytest.fixture
def chat(engine: Engine) -> Chat:
    return Chat(engine)


# -- start and deep links ----------------------------------------------------------------


def test_start_shows_root_in_default_language(chat: Chat) -> None:
    reply = chat.start()
    assert reply.node == "start"
    assert reply.language == "de"
    assert reply.text == "WILLKOMMEN-DE"
    assert ids(reply) == [*ROOT_OPTIONS, "@lang:en"]
    # Option labels default to the target's title; the language switch is named in its language.
    assert labels(reply) == [
        "Widerspruch einlegen",
        "Frist",
        "Mein Fall",
        "Über den Bot",
        "English",
    ]
    assert reply.matched is None
    assert chat.state is not None
    assert chat.state.node == "start"
    assert chat.state.back == ()
    assert chat.state.offered == tuple(ids(reply))
    assert chat.state.last_seen == chat.now


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("DE-at", "de"),
        ("pt-BR", "de"),
        (None, "de"),
    ],
)
def test_new_session_takes_language_from_platform_locale(
    chat: Chat, locale: str | None, language: str
) -> None:
    reply = chat.start(locale=locale)
    assert reply.language == language
    assert chat.state is not None
    # A hint is not a choice: free text may still switch the language.
    assert chat.state.language_chosen is False


def test_explicit_start_language_is_a_choice(chat: Chat) -> None:
    reply = chat.start(language="en")
    assert reply.language == "en"
    assert reply.text == "WELCOME-EN"
    assert ids(reply)[-1] == "@lang:de"
    assert chat.state is not None and chat.state.language_chosen


def test_locale_does_not_change_an_existing_session(chat: Chat) -> None:
    chat.start()
    assert chat.text("Wie widerspreche ich der KI-Nutzung?", locale="en").language == "de"


def test_deep_link_to_existing_node(chat: Chat) -> None:
    reply = chat.start(node="deadline")
    assert reply.node == "deadline"
    # The root is one step back; the menu button covers it.
    assert ids(reply) == ["@sources:deadline", "@menu"]
    assert chat.state is not None and chat.state.back == ("start",)
    assert chat.choose("@back").node == "start"


@pytest.mark.parametrize("node", ["no-such-node", "../../etc/passwd", "START", "", "@menu"])
def test_deep_link_to_unknown_node_shows_root(chat: Chat, node: str) -> None:
    reply = chat.start(node=node)
    assert reply.node == "start"
    assert reply.text == "WILLKOMMEN-DE"


def test_start_resets_the_back_stack(chat: Chat) -> None:
    chat.start()
    chat.choose("objection")
    chat.choose("objection-instagram")
    chat.start()
    assert chat.state is not None and chat.state.back == ()
    assert chat.choose("@back").node == "start"


# -- choices -----------------------------------------------------------------------------


def test_choice_moves_and_offers_navigation(chat: Chat) -> None:
    chat.start()
    reply = chat.choose("objection")
    assert reply.node == "objection"
    assert reply.text.startswith("WIDERSPRUCH-DE")
    # One line names the sources and the checked date; the links are one option away.
    assert reply.text.endswith("\n\n_Quellen: Meta · Stand: 1. Mai 2025_")
    assert "example.org/meta" not in reply.text
    assert ids(reply) == ["objection-instagram", "@sources:objection", "@menu"]
    assert labels(reply) == ["Bei Instagram", "Quellen", "Menü"]
    assert reply.matched is None

    reply = chat.choose("objection-instagram")
    assert reply.node == "objection-instagram"
    assert ids(reply) == ["@sources:objection-instagram", "@back", "@menu"]
    assert labels(reply) == ["Quellen", "Zurück", "Menü"]
    assert chat.state is not None and chat.state.back == ("start", "objection")


def test_back_walks_the_path_and_stops_at_root(chat: Chat) -> None:
    chat.start()
    chat.choose("objection")
    chat.choose("objection-instagram")
    assert chat.choose("@back").node == "objection"
    assert chat.choose("@back").node == "start"
    assert chat.choose("@back").node == "start"


def test_menu_goes_to_root_and_clears_back(chat: Chat) -> None:
    chat.start()
    chat.choose("objection")
    chat.choose("objection-instagram")
    reply = chat.choose("@menu")
    assert reply.node == "start"
    assert chat.state is not None and chat.state.back == ()


@pytest.mark.parametrize(
    "option", ["no-such-node", "", "@", "@lang", "@evil", "start\x00", "x" * 500, "🙂"]
)
def test_forged_or_outdated_choice_gets_note_and_menu(chat: Chat, option: str) -> None:
    chat.start()
    chat.choose("deadline")
    reply = chat.choose(option)
    assert reply.node == "start"
    assert reply.text.startswith("VERALTET-DE\n\n")
    assert reply.text.endswith("WILLKOMMEN-DE")
    assert chat.state is not None and chat.state.back == ()


def test_language_option_switches_and_stays_on_node(chat: Chat) -> None:
    chat.start()
    chat.choose("deadline")
    reply = chat.choose("@lang:en")
    assert reply.node == "deadline"
    assert reply.language == "en"
    assert reply.text.startswith("LANGUAGE-EN\n\nAFTER-EN")
    assert labels(reply) == ["Sources", "Menu"]
    assert chat.state is not None
    assert chat.state.language == "en" and chat.state.language_chosen
    # The root now offers German.
    assert ids(chat.choose("@menu"))[-1] == "@lang:de"


def test_unknown_language_option_lists_languages(chat: Chat) -> None:
    chat.start()
    reply = chat.choose("@lang:xx")
    assert reply.text == "UNBEKANNT-DE de (Deutsch), en (English)"
    assert ids(reply) == ["@lang:de", "@lang:en", "@menu"]
    assert chat.state is not None and chat.state.language == "de"


# -- numbers choose from the last reply --------------------------------------------------


def test_number_chooses_from_last_offered_options(chat: Chat) -> None:
    chat.start()
    assert chat.text("2").node == "deadline"
    # "2" now refers to the deadline page's options ("Quellen", "Menü"), not to the root's.
    assert chat.text(" 2 ").node == "start"
    chat.choose("objection")
    assert chat.text("1").node == "objection-instagram"
    assert chat.text("2").node == "objection"  # @back
    assert chat.text("3").node == "start"  # @menu


def test_number_selects_language_option(chat: Chat) -> None:
    chat.start()
    reply = chat.text(str(len(ROOT_OPTIONS) + 1))
    assert reply.language == "en"


@pytest.mark.parametrize("number", ["0", "6", "99", "00"])
def test_number_outside_offered_range_is_not_a_choice(chat: Chat, number: str) -> None:
    menu = ids(chat.start())
    reply = chat.text(number)
    # Says the number isn't there and shows the same list again (no such_option string in the
    # test tree: the fallback text).
    assert reply.node is None
    assert reply.text == "FALLBACK-DE"
    assert ids(reply) == menu
    assert chat.text("2").node == "deadline"


def test_a_superscript_digit_is_not_a_number(chat: Chat) -> None:
    chat.start()
    reply = chat.text("²")
    assert reply.node is None
    assert reply.matched is False


@pytest.mark.parametrize(
    ("number", "node"),
    [("٣", "my-case"), ("１", "objection"), ("2.", "deadline"), ("2)", "deadline")],
)
def test_other_scripts_digits_and_list_marks_choose(chat: Chat, number: str, node: str) -> None:
    chat.start()
    assert chat.text(number).node == node


def test_number_without_a_list_shows_the_menu(chat: Chat) -> None:
    chat.start()
    chat.command("forget")
    reply = chat.text("1")
    assert reply.node == "start"


def test_forget_offers_a_way_to_start_again(chat: Chat) -> None:
    chat.start(language="en")
    reply = chat.command("forget")
    assert ids(reply) == ["@menu"]
    assert chat.choose("@menu").node == "start"


def test_notes_keep_the_users_place(chat: Chat) -> None:
    chat.start()
    page = chat.choose("objection")
    for reply in (chat.command("help"), chat.command("privacy"), chat.command("nonsense")):
        assert ids(reply) == ids(page)
        assert chat.state is not None and chat.state.node == "objection"
    # A number from the list still on screen works after the note.
    assert chat.text("1").node == page.options[0].id


def test_question_in_the_other_language_is_understood(chat: Chat) -> None:
    chat.start(language="en")
    german = chat.engine.content.nodes["objection"].questions["de"][0]
    reply = chat.text(german)
    assert reply.node == "objection"
    assert reply.language == "en"


def test_number_after_fallback_chooses_a_suggestion(chat: Chat) -> None:
    chat.start()
    reply = chat.text("instagram wetter katze hund")
    assert reply.matched is False
    assert reply.suggestions
    assert chat.text("1").node == reply.suggestions[0]


# -- commands ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "lang", "expected"),
    [
        ("help", "de", "HILFE-DE"),
        ("hilfe", "de", "HILFE-DE"),
        ("help", "en", "HELP-EN"),
        ("HELP", "en", "HELP-EN"),
        ("help@SomeBot", "de", "HILFE-DE"),
        ("privacy", "de", "DATENSCHUTZ-DE 30 Tage"),
        ("datenschutz", "de", "DATENSCHUTZ-DE 30 Tage"),
        ("privacy", "en", "PRIVACY-EN 30 days"),
        ("nonsense", "de", "BEFEHL-DE"),
        ("nonsense", "en", "COMMAND-EN"),
    ],
)
def test_notice_commands(chat: Chat, name: str, lang: str, expected: str) -> None:
    chat.start(language=lang)
    chat.choose("deadline")
    reply = chat.command(name)
    assert reply.text == expected
    assert reply.language == lang
    assert ids(reply) == ["@sources:deadline", "@menu"]
    assert reply.node is None
    # A notice does not move the user.
    assert chat.state is not None and chat.state.node == "deadline"


def test_privacy_states_the_configured_retention(content: Content) -> None:
    chat = Chat(Engine(content, session_ttl=dt.timedelta(days=7)))
    assert chat.command("privacy").text == "DATENSCHUTZ-DE 7 Tage"


@pytest.mark.parametrize(("name", "lang"), [("menu", "de"), ("menue", "de"), ("menu", "en")])
def test_menu_command(chat: Chat, name: str, lang: str) -> None:
    chat.start(language=lang)
    chat.choose("objection")
    chat.choose("objection-instagram")
    reply = chat.command(name)
    assert reply.node == "start"
    assert reply.language == lang
    assert chat.state is not None and chat.state.back == ()


@pytest.mark.parametrize("name", ["back", "zurueck"])
def test_back_command(chat: Chat, name: str) -> None:
    chat.start()
    chat.choose("objection")
    chat.choose("objection-instagram")
    assert chat.command(name).node == "objection"


def test_start_command_with_deep_link(chat: Chat) -> None:
    chat.start()
    assert chat.command("start", "deadline").node == "deadline"
    assert chat.command("start", "nope").node == "start"
    assert chat.command("start").node == "start"


@pytest.mark.parametrize(("name", "arg"), [("lang", "en"), ("lang", " EN "), ("sprache", "en")])
def test_lang_command_switches(chat: Chat, name: str, arg: str) -> None:
    chat.start()
    chat.choose("objection")
    reply = chat.command(name, arg)
    assert reply.language == "en"
    assert reply.node == "objection"
    assert reply.text.startswith("LANGUAGE-EN\n\nOBJECT-EN")
    assert chat.state is not None and chat.state.language_chosen


@pytest.mark.parametrize("arg", ["", "xx", "english", "fr", "../de"])
def test_lang_command_with_invalid_code(chat: Chat, arg: str) -> None:
    chat.start(language="en")
    reply = chat.command("lang", arg)
    assert reply.text == "UNKNOWN-EN de (Deutsch), en (English)"
    assert ids(reply) == ["@lang:de", "@lang:en", "@menu"]
    assert chat.state is not None and chat.state.language == "en"


@pytest.mark.parametrize(
    ("name", "lang", "expected"),
    [
        ("forget", "de", "VERGESSEN-DE"),
        ("vergessen", "de", "VERGESSEN-DE"),
        ("loeschen", "de", "VERGESSEN-DE"),
        ("forget", "en", "FORGOTTEN-EN"),
    ],
)
def test_forget_erases_state_and_confirms(chat: Chat, name: str, lang: str, expected: str) -> None:
    chat.start(language=lang)
    chat.choose("objection")
    reply = chat.command(name)
    assert chat.state is None
    # The runtime erases first, then sends the confirmation.
    assert isinstance(chat.actions[0], Forget)
    assert reply.text == expected
    assert reply.language == lang
    # The next message starts a fresh session, in the default language.
    assert chat.choose("deadline").language == "de"
    assert chat.state is not None
    assert chat.state.back == ("start",)
    assert chat.state.language_chosen is False


@pytest.mark.parametrize(
    ("text", "node", "first_line"),
    [
        ("/help", None, "HILFE-DE"),
        ("/hilfe", None, "HILFE-DE"),
        ("  /menu  ", "start", "WILLKOMMEN-DE"),
        ("/start deadline", "deadline", "NACHHER-DE"),
        ("/lang en", "start", "LANGUAGE-EN"),
        ("/privacy", None, "DATENSCHUTZ-DE 30 Tage"),
        ("/whatever you want", None, "BEFEHL-DE"),
    ],
)
def test_commands_typed_as_text(chat: Chat, text: str, node: str | None, first_line: str) -> None:
    chat.start()
    reply = chat.text(text)
    assert reply.node == node
    assert reply.text.split("\n")[0] == first_line
    assert reply.matched is None


def test_forget_typed_as_text(chat: Chat) -> None:
    chat.start()
    reply = chat.text("/forget")
    assert chat.state is None
    assert isinstance(chat.actions[0], Forget)
    assert reply.text == "VERGESSEN-DE"


def test_lone_slash_is_text(chat: Chat) -> None:
    chat.start()
    reply = chat.text("/")
    assert reply.matched is False
    assert reply.text == "FALLBACK-DE"


# -- free text ---------------------------------------------------------------------------


def test_matched_question_answers_and_flags(chat: Chat) -> None:
    chat.start()
    reply = chat.text("Wie widerspreche ich der KI-Nutzung?")
    assert reply.node == "objection"
    assert reply.matched is True
    assert reply.text.startswith("WIDERSPRUCH-DE")
    assert ids(reply) == ["objection-instagram", "@sources:objection", "@menu"]
    assert chat.state is not None and chat.state.node == "objection"
    # A matched answer is a step like any other: back returns.
    chat.text("Wie widerspreche ich bei Instagram?")
    assert chat.choose("@back").node == "objection"


@pytest.mark.parametrize(
    "text", ["xyzzy", "Wie wird das Wetter morgen?", "🙂🙂🙂", "?!", "wort " * 1000, "x" * 5000]
)
def test_unmatched_text_gets_honest_fallback_with_menu(chat: Chat, text: str) -> None:
    chat.start()
    chat.choose("deadline")
    reply = chat.text(text)
    assert reply.matched is False
    assert reply.node is None
    assert reply.text == "FALLBACK-DE"
    assert ids(reply) == ["@menu"]
    assert chat.state is not None and chat.state.node == "deadline"


def test_empty_text_falls_back_without_match_flag(chat: Chat) -> None:
    chat.start()
    reply = chat.text("   ")
    assert reply.text == "FALLBACK-DE"
    assert reply.matched is None
    assert ids(reply) == ["@menu"]


def test_near_miss_suggests_topics(chat: Chat, content: Content) -> None:
    chat.start()
    reply = chat.text("instagram wetter katze hund")
    assert reply.matched is False
    assert reply.node is None
    assert reply.text == "VORSCHLAG-DE"
    assert reply.suggestions
    assert set(reply.suggestions) <= set(content.nodes)
    assert ids(reply) == [*reply.suggestions, "@menu"]
    assert labels(reply)[:-1] == [content.nodes[n].title["de"] for n in reply.suggestions]


def test_language_detected_when_not_chosen(chat: Chat) -> None:
    chat.start()
    reply = chat.text("How do I object to the AI training?")
    assert reply.language == "en"
    assert reply.node == "objection"
    assert reply.text.startswith("OBJECT-EN")
    assert chat.state is not None
    assert chat.state.language == "en"
    assert chat.state.language_chosen is False
    # And back to German when the user writes German.
    assert chat.text("Wie widerspreche ich bei Instagram?").language == "de"


def test_language_not_detected_once_chosen(chat: Chat) -> None:
    chat.start(language="de")
    reply = chat.text("How do I object to the AI training?")
    assert reply.language == "de"
    chat.command("lang", "de")
    assert chat.text("How do I object on Instagram?").language == "de"


def test_fallback_in_detected_language(chat: Chat) -> None:
    chat.start()
    reply = chat.text("what about the weather in Paris")
    assert reply.matched is False
    assert reply.language == "en"
    assert reply.text == "FALLBACK-EN"


# -- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "root", "deadline"),
    [
        (BEFORE, "BALD-DE", "VORHER-DE"),
        (dt.datetime(2025, 5, 26, 23, 59, tzinfo=dt.UTC), "BALD-DE", "VORHER-DE"),
        (dt.datetime(2025, 5, 27, 0, 0, tzinfo=dt.UTC), "WILLKOMMEN-DE", "NACHHER-DE"),
        (AFTER, "WILLKOMMEN-DE", "NACHHER-DE"),
    ],
)
def test_date_variants_follow_now(
    engine: Engine, now: dt.datetime, root: str, deadline: str
) -> None:
    chat = Chat(engine, now)
    assert chat.start().text == root
    assert chat.choose("deadline").text.startswith(deadline + "\n\n")
    assert chat.text("Bis wann kann ich widersprechen?").text.startswith(deadline)


# -- groups ------------------------------------------------------------------------------


def test_personal_node_in_group_offers_private_chat(chat: Chat) -> None:
    chat.start(group=True)
    reply = chat.choose("my-case", group=True)
    assert reply.private_node == "my-case"
    assert reply.text == "PRIVAT-DE Mein Fall"
    assert "MEINFALL-DE" not in reply.text
    assert "@menu" in ids(reply)
    # The group conversation stays where it was.
    assert chat.state is not None and chat.state.node == "start"


def test_personal_deep_link_in_group(chat: Chat) -> None:
    reply = chat.start(node="my-case", group=True, language="en")
    assert reply.private_node == "my-case"
    assert reply.text == "PRIVATE-EN My case"


def test_personal_node_in_private_chat_is_shown(chat: Chat) -> None:
    chat.start()
    reply = chat.choose("my-case")
    assert reply.private_node is None
    assert reply.node == "my-case"
    assert reply.text.startswith("MEINFALL-DE")


def test_general_node_in_group_is_shown(chat: Chat) -> None:
    chat.start(group=True)
    reply = chat.choose("deadline", group=True)
    assert reply.private_node is None
    assert reply.text.startswith("NACHHER-DE")


# -- sessions ----------------------------------------------------------------------------


def test_stored_state_continues(engine: Engine) -> None:
    state = SessionState(
        node="objection", language="en", last_seen=BEFORE, language_chosen=True, back=("start",)
    )
    new, actions = engine.handle(state, Choice(option="@back"), AFTER)
    assert new is not None and new.last_seen == AFTER
    assert isinstance(actions[0], Reply) and actions[0].node == "start"
    assert actions[0].language == "en"


@pytest.mark.parametrize(
    "state",
    # A removed node (with the language still there) gets the menu and a note instead:
    # tests/test_node_gone.py.
    [SessionState(node="start", language="fr", last_seen=BEFORE, language_chosen=True)],
)
def test_state_from_older_content_starts_fresh(engine: Engine, state: SessionState) -> None:
    new, actions = engine.handle(state, Choice(option="deadline"), AFTER)
    assert isinstance(actions[0], Reply)
    assert actions[0].node == "deadline"
    assert actions[0].language == "de"
    assert new is not None
    assert new.back == ("start",)
    assert new.language_chosen is False


def _chain(length: int) -> str:
    """``extra`` leading to ``step-01``, ``step-02``, ... ``step-<length>``, one page each."""
    pages = [
        "- id: extra\n  kind: menu\n  title: {de: Über den Bot, en: About the bot}\n"
        '  text: {de: "ÜBER-DE", en: "ABOUT-EN"}\n  options:\n    - to: step-01\n'
    ]
    for n in range(1, length + 1):
        after = f"step-{n + 1:02d}" if n < length else "extra"
        pages.append(
            f"- id: step-{n:02d}\n  kind: menu\n  title: {{de: Stufe {n}, en: Step {n}}}\n"
            f'  text: {{de: "STUFE-{n:02d}", en: "STEP-{n:02d}"}}\n'
            f"  options:\n    - to: {after}\n"
        )
    return "\n".join(pages)


def test_back_stack_keeps_the_most_recent_pages(tmp_path: Path) -> None:
    """25 pages deep, the stack holds the last 20 (MAX_BACK): back walks them, newest first."""
    content = load_content(write_tree(tmp_path, {"nodes/50-extra.yaml": _chain(25)}))
    chat = Chat(Engine(content, session_ttl=TTL))
    chat.start()
    chat.choose("extra")
    for n in range(1, 26):
        reply = chat.choose(f"step-{n:02d}")
    assert reply.node == "step-25" and reply.text == "STUFE-25"
    assert chat.state is not None
    assert chat.state.back == (
        "step-05", "step-06", "step-07", "step-08", "step-09",
        "step-10", "step-11", "step-12", "step-13", "step-14",
        "step-15", "step-16", "step-17", "step-18", "step-19",
        "step-20", "step-21", "step-22", "step-23", "step-24",
    )  # fmt: skip
    walked = [chat.choose("@back") for _ in range(20)]
    assert [r.node for r in walked] == [
        "step-24", "step-23", "step-22", "step-21", "step-20",
        "step-19", "step-18", "step-17", "step-16", "step-15",
        "step-14", "step-13", "step-12", "step-11", "step-10",
        "step-09", "step-08", "step-07", "step-06", "step-05",
    ]  # fmt: skip
    assert walked[0].text == "STUFE-24" and walked[-1].text == "STUFE-05"
    # The oldest steps (start, extra, step-01 to step-04) were cut: back lands on the menu.
    last = chat.choose("@back")
    assert last.node == "start" and last.text == "WILLKOMMEN-DE"


def test_back_stack_skips_nodes_that_no_longer_exist(engine: Engine) -> None:
    state = SessionState(
        node="objection-instagram",
        language="de",
        last_seen=BEFORE,
        back=("start", "objection", "gone-away"),
    )
    _, actions = engine.handle(state, Choice(option="@back"), AFTER)
    assert isinstance(actions[0], Reply) and actions[0].node == "objection"


def test_expired_session_is_the_stores_business(content: Content) -> None:
    """The engine has no clock of its own: an old state passed in is continued.

    Expiry by TTL happens in the store (tests/test_store.py) and through the runtime
    (tests/test_runtime.py); here the retention only shows in /privacy.
    """
    engine = Engine(content, session_ttl=dt.timedelta(days=1))
    old = SessionState(node="deadline", language="de", last_seen=BEFORE, back=("start",))
    new, _ = engine.handle(old, Choice(option="@back"), AFTER)
    assert new is not None and new.node == "start"


# -- other events ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "en"])
def test_unsupported_message(chat: Chat, lang: str) -> None:
    chat.start(language=lang)
    chat.choose("deadline")
    page = chat.state.offered if chat.state else ()
    reply = chat.send(Unsupported(kind="sticker"))
    assert reply.text == {"de": "NURTEXT-DE", "en": "TEXTONLY-EN"}[lang]
    assert tuple(ids(reply)) == page
    assert chat.state is not None and chat.state.node == "deadline"
    assert chat.text(str(len(page))).node == "start"


def test_joined_group_introduces_itself(chat: Chat) -> None:
    reply = chat.send(Joined(group=True))
    assert reply.text == "INTRO-DE"
    assert ids(reply) == ["@menu"]
    reply = Chat(chat.engine).send(Joined(group=True, locale="en"))
    assert reply.text == "INTRO-EN"


def test_unknown_event_type_still_answers(chat: Chat) -> None:
    class Poke(Event):
        pass

    reply = chat.send(Poke())
    assert reply.text == "FALLBACK-DE"
    assert ids(reply) == ["@menu"]


def test_every_reply_has_language_and_options(engine: Engine) -> None:
    events: Sequence[Event] = [
        Start(),
        Choice(option="objection"),
        Text(text="2"),
        Command(name="help"),
        Unsupported(),
        Joined(group=True),
        Text(text="xyzzy"),
    ]
    chat = Chat(engine)
    for event in events:
        reply = chat.send(event)
        assert reply.language in ("de", "en")
        assert reply.options, event


@pytest.mark.parametrize(
    ("text", "lang", "answer"),
    [("danke", "de", "welcome"), ("Ok, vielen Dank!", "de", "welcome"),
     ("thanks so much", "en", "welcome"),
     # "tschüss" got "Gern geschehen!" (you're welcome).
     ("tschüss", "de", "goodbye"), ("danke, tschüss", "de", "goodbye"),
     ("thanks, bye", "en", "goodbye"), ("au revoir", "fr", "goodbye"), ("adiós", "es", "goodbye"),
     ("grazie, arrivederci", "it", "goodbye"), ("doei", "nl", "goodbye"),
     ("dzięki, pa", "pl", "goodbye"),
     # Thanks with a kind word about the bot were "not understood".
     ("grazie gentilissimi", "it", "welcome"), ("grazie mille sei stato utile", "it", "welcome"),
     ("dziękuję bardzo, pani jest bardzo miła", "pl", "welcome")],
)  # fmt: skip
def test_thanks_get_a_welcome_and_goodbyes_a_goodbye_not_a_fallback(
    text: str, lang: str, answer: str
) -> None:
    shipped = load_content()
    chat = Chat(Engine(shipped, session_ttl=TTL))
    menu = ids(chat.start())
    reply = chat.text(text)
    assert reply.text == shipped.string(answer, lang)
    assert reply.matched is False and reply.node is None and reply.language == lang
    # The topics stay on screen (the language button follows the reply's language).
    topics = [i for i in menu if not i.startswith("@lang:")]
    assert [i for i in ids(reply) if not i.startswith("@lang:")] == topics
    # Thanks alone are still welcome.
    assert chat.text("ok").text != shipped.string("goodbye", lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("ok", "de"), ("alles klar", "de"), ("ok got it", "en"), ("d'accord", "fr"), ("vale", "es"),
     ("va bene", "it"), ("oké", "nl"), ("dobra", "pl")],
)  # fmt: skip
def test_an_acknowledgement_is_noted_not_thanked_for(text: str, lang: str) -> None:
    # "ok" got "you're welcome" for thanks nobody said.
    shipped = load_content()
    chat = Chat(Engine(shipped, session_ttl=TTL))
    chat.start(language=lang)
    chat.text("/start how-to-object")
    reply = chat.text(text)
    assert reply.text == shipped.string("noted", lang) != shipped.string("welcome", lang)
    assert reply.node is None and not reply.matched


@pytest.mark.parametrize(
    ("text", "lang"),
    [("gracias!!", "es"), ("grazie mille", "it"), ("merci beaucoup", "fr"), ("dank je wel", "nl")],
)
def test_thanks_are_no_question_to_the_matcher_either(text: str, lang: str) -> None:
    # "gracias" is in a Spanish example (a confirmation page's "gracias"): read as a question,
    # the words alone were sure of that page.
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert engine.matcher.thanks_language(text, lang) == lang
    assert not engine.matcher.match(text, lang).matched
    chat = Chat(engine)
    chat.start()
    assert chat.text(text).text == shipped.string("welcome", lang)


@pytest.mark.parametrize(
    ("text", "lang"), [("oui", "fr"), ("yes", "en"), ("Ja!", "de"), ("nein", "de"), ("tak", "pl")]
)
def test_a_bare_yes_or_no_is_no_question(text: str, lang: str) -> None:
    # With no question asked, "oui" got the reasons of the Cologne ruling and "yes" the legal
    # basis: words that some example shares decide nothing here.
    engine = Engine(load_content(), session_ttl=TTL)
    assert not engine.matcher.match(text, lang).matched
    chat = Chat(engine)
    chat.start()
    assert chat.text(text).node is None


@pytest.mark.parametrize(("text", "lang"), [("nie mam konta", "pl"), ("non ho un account", "it")])
def test_a_no_that_is_word_for_word_an_example_gets_its_page(text: str, lang: str) -> None:
    # "nie mam konta" answers "no" in the checklist, and is the page for readers without an
    # account word for word: as a question it got "not understood".
    engine = Engine(load_content(), session_ttl=TTL)
    assert engine.matcher.match(text, lang).node == "no-account"


@pytest.mark.parametrize(
    ("text", "lang"), [("grazie mille ciao", "it"), ("danke, tschüss", "de"), ("thanks, bye", "en")]
)
def test_thanks_with_a_goodbye_are_thanks(text: str, lang: str) -> None:
    # "grazie mille ciao" was read as a question, and the words were sure of a form page.
    engine = Engine(load_content(), session_ttl=TTL)
    assert engine.matcher.thanks_language(text, lang) == lang
    assert not engine.matcher.match(text, lang).matched


def test_a_greeting_of_the_readers_language_is_no_goodbye_of_another() -> None:
    # "ciao" is a German goodbye: an Italian reader saying hello got the German "welcome".
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert engine.matcher.thanks_language("ciao", "it") is None
    assert engine.matcher.thanks_language("ciao", "de") == "de"
    assert engine.matcher.match("ciao", "it").node == shipped.meta.root


@pytest.mark.parametrize(("text", "lang"), [("ciao", "it"), ("cześć", "pl"), ("salut", "fr")])
def test_a_first_word_that_greets_in_one_language_and_says_goodbye_in_another_greets(
    text: str, lang: str
) -> None:
    # "ciao" as the first message got the German "Tschüss!", "cześć" the Polish "you're
    # welcome": nothing was read yet to say goodbye to.
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    chat = Chat(engine)
    chat.start()
    reply = chat.text(text)
    assert reply.node == shipped.meta.root and reply.language == lang
    # After a page it is a goodbye (or thanks) in the chat's language.
    chat = Chat(engine)
    chat.start()
    chat.text("Wie widerspreche ich?")
    assert chat.text("ciao").text == shipped.string("goodbye", "de")
    # From a phone set to German, "ciao" says goodbye even as the first message.
    chat = Chat(engine)
    chat.start(locale="de")
    assert chat.text("ciao", locale="de").text == shipped.string("goodbye", "de")


def test_thanks_inside_a_question_is_still_a_question() -> None:
    shipped = load_content()
    chat = Chat(Engine(shipped, session_ttl=TTL))
    chat.start()
    reply = chat.text("danke, und wie widerspreche ich bei instagram?")
    assert reply.text != shipped.string("welcome", "de")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("wie geht's?", "de"),
        ("Hallo, wie gehts dir?", "de"),
        ("how are you", "en"),
        ("hey, how's it going?", "en"),
        ("salut ça va ?", "fr"),
        ("hola, ¿qué tal estás?", "es"),
        ("ciao come stai", "it"),
        ("hoi, hoe gaat het?", "nl"),
        ("cześć, jak się masz?", "pl"),
    ],
)
def test_asked_how_it_is_the_bot_says_what_it_is(text: str, lang: str) -> None:
    # Before, "wie geht's?" got "not understood" and "salut ça va ?" the start menu as if
    # only greeted.
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert engine.matcher.how_are_you_language(text) == lang
    assert not engine.matcher.match(text, lang).matched
    chat = Chat(engine)
    menu = ids(chat.start())
    reply = chat.text(text)
    assert reply.text == shipped.string("how_are_you", lang)
    assert reply.matched is False and reply.node is None and reply.language == lang
    topics = [i for i in menu if not i.startswith("@lang:")]
    assert [i for i in ids(reply) if not i.startswith("@lang:")] == topics


@pytest.mark.parametrize(
    ("text", "lang", "question"),
    [
        ("versteh ich nicht", "de", "Kann Meta meine alten Beiträge nutzen?"),
        ("hä?", "de", "Kann Meta meine alten Beiträge nutzen?"),
        ("I don't understand", "en", "can meta use my old posts?"),
        ("what?", "en", "can meta use my old posts?"),
        ("je comprends pas", "fr", "Meta peut utiliser mes anciennes publications ?"),
        ("no entiendo", "es", "¿Meta puede usar mis publicaciones antiguas?"),
        ("non ho capito", "it", "Meta può usare i miei vecchi post?"),
        ("snap ik niet", "nl", "Mag Meta mijn oude berichten gebruiken?"),
        ("nie rozumiem", "pl", "Czy Meta może używać moich starych postów?"),
    ],
)
def test_not_understanding_an_answer_gets_asked_what_is_unclear(
    text: str, lang: str, question: str
) -> None:
    """ "I don't understand" after the page on old posts got the page on questions about the
    objection form ("What's unclear about the form?"); in German the same page again."""
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert engine.matcher.not_understood_language(text, lang) == lang
    chat = Chat(engine)
    chat.start(language=lang)
    page = chat.text(question)
    assert page.node == "old-posts", "the question the reader did not understand the answer to"
    reply = chat.text(text)
    assert reply.text == shipped.string("not_understood", lang)
    assert reply.matched is False and reply.node is None and reply.language == lang
    assert ids(reply) == ids(page), "the page's buttons stay, to go on from there"


@pytest.mark.parametrize(
    ("text", "lang", "node"),
    [
        ("ich verstehe das Formular nicht", "de", "form-questions"),
        ("i don't understand the objection form", "en", "form-questions"),
        ("no entiendo por qué Meta puede usar mis fotos", "es", None),
    ],
)
def test_not_understanding_something_named_is_a_question(
    text: str, lang: str, node: str | None
) -> None:
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert engine.matcher.not_understood_language(text, lang) is None
    chat = Chat(engine)
    chat.start(language=lang)
    reply = chat.text(text)
    assert reply.text != shipped.string("not_understood", lang)
    if node is not None:
        assert reply.node == node


@pytest.mark.parametrize(
    ("text", "lang", "node"),
    [
        ("wie geht das bei instagram?", "de", "object-instagram"),
        ("how are you supposed to object on instagram", "en", "object-instagram"),
        ("ça va marcher mon opposition ?", "fr", None),
    ],
)
def test_how_it_is_inside_a_question_is_still_a_question(
    text: str, lang: str, node: str | None
) -> None:
    shipped = load_content()
    engine = Engine(shipped, session_ttl=TTL)
    assert engine.matcher.how_are_you_language(text, lang) is None
    chat = Chat(engine)
    chat.start()
    reply = chat.text(text)
    assert reply.text != shipped.string("how_are_you", lang)
    if node is not None:
        assert reply.node == node


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ich will nicht dass meta meine posts für seine KI verwendet. was muss ich machen", "de"),
        (
            "je veux pas que fb et insta se servent de mes photos pour leur IA, je fais comment",
            "fr",
        ),
        (
            "ik wil niet dat facebook en insta mijn spul gebruiken voor die AI. wat moet ik doen?",
            "nl",
        ),
        # A story, then only "how is that done?": asked of the story, as it is asked typed
        # right after the page.
        (
            "Mein Nachbar sagt, Meta nimmt unsere Fotos für seine KI und man muss da "
            "widersprechen. Wie geht das genau?",
            "de",
        ),
        (
            "Mia figlia dice che Meta usa i nostri post per l'IA e che bisogna dire di no. "
            "Come si fa?",
            "it",
        ),
        # The story names objecting itself: the steps answer however unsure the ranking is.
        (
            "grüß gott, mein sohn hat gsagt i soll bei meta was ablehnen wegen der KI. wie geht des?",
            "de",
        ),
    ],
)
def test_not_wanting_what_a_page_tells_or_asking_how_gets_its_how(text: str, lang: str) -> None:
    # The words are those of the page on what Meta does; the writer asks how to stop it.
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    result = matcher.match(text, lang)
    assert result.matched and result.node == "how-to-object"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # "Waar" is "where", but "waar of niet?" asks whether it is true.
        (
            "Er gaat een bericht rond dat Meta vanaf morgen al je foto's voor AI gebruikt. "
            "Waar of niet?",
            "nl",
        ),
        ("My sister says Meta is feeding our public photos to its AI. Is that true?", "en"),
        ("Wie geht das?", "de"),
    ],
)
def test_a_story_then_another_question_asks_for_no_how(text: str, lang: str) -> None:
    assert not asks_how_after_story(load_content(), "what-meta-does", text, lang)


def test_a_refusal_in_quotes_is_not_the_writers() -> None:
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    text = "si je poste un texte 'je refuse que meta utilise mes donnees' sur mon mur ca suffit ?"
    assert matcher.match(text, "fr").node == "profile-notice"


# -- clarifying questions ------------------------------------------------------------------


@pytest.fixture
def without_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """German and English decided by words and nearest examples alone: the test tree's few
    examples make its node classifier sure of either of two close topics."""
    monkeypatch.setattr(decision, "DEFAULT", decision.DEFAULT.without_classifier())


@pytest.mark.usefixtures("without_classifier")
def test_two_close_topics_get_a_question_with_both_as_options(chat: Chat) -> None:
    reply = chat.text("objection instagram form")
    assert reply.text == "MEAN-EN Objecting on Instagram | How to object"
    assert [(o.id, o.label) for o in reply.options] == [
        ("objection-instagram", "Objecting on Instagram"),
        ("objection", "How to object"),
        ("@menu", "Menu"),
    ]
    assert (reply.node, reply.matched) == (None, False)
    assert reply.clarify == ("objection-instagram", "objection")
    # The user is still where they were; the question is not a page of its own.
    assert chat.state is not None and chat.state.node == "start"


@pytest.mark.usefixtures("without_classifier")
@pytest.mark.parametrize(
    ("answer", "text"), [("1", "INSTAGRAM-EN"), ("2", "OBJECT-EN"), ("How to object", "OBJECT-EN")]
)
def test_a_clarifying_question_is_answered_by_number_or_label(
    chat: Chat, answer: str, text: str
) -> None:
    chat.text("objection instagram form")
    assert chat.text(answer).text.startswith(text)


@pytest.mark.usefixtures("without_classifier")
def test_a_clarifying_question_is_answered_by_button(chat: Chat) -> None:
    chat.text("objection instagram form")
    reply = chat.send(Choice(option="objection-instagram"))
    assert reply.text.startswith("INSTAGRAM-EN")
    assert reply.node == "objection-instagram"


@pytest.mark.usefixtures("without_classifier")
def test_without_the_clarify_string_close_topics_get_the_fallback(tmp_path: Any) -> None:
    from fixtures.tree import META

    meta = META.replace(
        '  clarify: {de: "MEINST-DE {first} | {second}", en: "MEAN-EN {first} | {second}"}\n', ""
    )
    assert "clarify" not in meta
    content = load_content(write_tree(tmp_path, {"bot.yaml": meta}))
    reply = Chat(Engine(content, session_ttl=TTL)).text("objection instagram form")
    assert reply.text == "SUGGEST-EN"
    assert reply.clarify == ()
    assert [o.id for o in reply.options][:2] == ["objection-instagram", "objection"]


def test_the_engine_asks_whenever_the_matcher_names_two_topics(content: Content) -> None:
    chat = Chat(Engine(content, Undecided(content), session_ttl=TTL))
    chat.start(language="de")
    reply = chat.text("irgendwas zur Frist oder zum Widerspruch")
    assert reply.text == "MEINST-DE Frist | Widerspruch einlegen"
    assert [o.id for o in reply.options] == ["deadline", "objection", "@menu"]
    assert chat.text("1").text.startswith("NACHHER-DE")


def test_a_question_about_a_page_without_details_gets_its_sources_then_the_page(
    content: Content,
) -> None:
    chat = Chat(Engine(content, AboutThePage(content), session_ttl=TTL))
    chat.start(language="en")
    page = chat.choose("deadline")
    assert not any(o.startswith("@more:") for o in ids(page))
    assert "@sources:deadline" in ids(page)
    sources = chat.text("are you sure?")
    assert sources.text.startswith("**Sources:**") and "example.org/deadline" in sources.text
    assert sources.node == "deadline" and sources.matched is True
    assert "@sources:deadline" not in ids(sources)
    # The sources are on screen: asked again, the page itself.
    reply = chat.text("really?")
    assert reply.text == page.text and reply.node == "deadline" and reply.matched is True


# -- per-platform wording ------------------------------------------------------------------


def test_a_platform_gets_its_own_wording_of_a_string(tmp_path: Any) -> None:
    from fixtures.tree import META

    meta = META.replace(
        "commands:\n",
        'platform_strings:\n  console:\n    help: {de: "KONSOLE-DE", en: "CONSOLE-EN"}\ncommands:\n',
    )
    engine = Engine(load_content(write_tree(tmp_path, {"bot.yaml": meta})), session_ttl=TTL)
    chat = Chat(engine)
    chat.start(language="de")
    assert chat.text("/help", platform="console").text == "KONSOLE-DE"
    assert chat.text("/hilfe", platform="console").text == "KONSOLE-DE"
    assert chat.send(Command(name="help", platform="console")).text == "KONSOLE-DE"
    assert chat.text("/help", platform="telegram").text == "HILFE-DE"
    assert chat.text("/help").text == "HILFE-DE"
    chat.text("/lang en")
    assert chat.text("/help", platform="console").text == "CONSOLE-EN"


# -- dates are UTC dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "moment", "text"),
    [
        # 12:00 UTC on 26 May is already 27 May at UTC+14: still the text before the switch.
        ("Etc/GMT-14", dt.datetime(2025, 5, 26, 12, tzinfo=dt.UTC), "VORHER-DE"),
        # 06:00 UTC on 27 May is still 26 May at UTC-12: already the text after it.
        ("Etc/GMT+12", dt.datetime(2025, 5, 27, 6, tzinfo=dt.UTC), "NACHHER-DE"),
    ],
)
def test_date_variants_follow_the_utc_date_whatever_the_servers_zone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, zone: str, moment: dt.datetime, text: str
) -> None:
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        chat = Chat(engine, now=moment)
        chat.start(language="de")
        assert chat.text("Bis wann kann ich widersprechen?").text.startswith(text)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("text", "not_node"),
    [
        ("3 Kinder haben Instagram, wie widerspreche ich?", "my-case"),
        ("2 Hunde und eine Katze", "deadline"),
        ("2024 widersprochen", "deadline"),
        ("1.5 Millionen Nutzer", "objection"),
    ],
)
def test_a_question_starting_with_a_number_is_not_an_option_number(
    content: Content, text: str, not_node: str
) -> None:
    """Only a number on its own picks an option; "3 Kinder …" is a question."""
    # By words only: the small tree has no off-topic requests, so how sure the meaning makes
    # the matcher of "2024 widersprochen" depends on the fitted model, not on the numbers.
    chat = Chat(Engine(content, Matcher(content, embedder=None), session_ttl=TTL))
    chat.start()
    reply = chat.text(text)
    assert reply.node != not_node
    # Not taken as an option number outside the list either (that answer says the number
    # is not there, without looking at the words).
    assert reply.matched is not None


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("de", "de"), ("de-DE", "de"), ("en_GB", "en"), ("EN", "en"), ("sv-SE", None), (None, None)],
)
def test_the_language_a_tag_or_locale_names(
    content: Content, hint: str | None, expected: str | None
) -> None:
    # The console prepares the language a terminal's locale ("de-DE") starts it in.
    assert Engine(content, session_ttl=TTL).language_of(hint) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("cómo se dice gracias en francés", "es"),
        ("comment on dit merci en allemand", "fr"),
        ("wie sagt man danke auf Polnisch?", "de"),
        ("jak się mówi dziękuję po włosku", "pl"),
    ],
)
def test_asking_how_a_word_is_said_is_no_question_about_that_country(text: str, lang: str) -> None:
    # The language named is a country page's keyword ("francés"): it read as that page.
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    assert not matcher.match(text, lang).matched


def test_saying_no_to_meta_is_still_a_question() -> None:
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    assert matcher.match("how do i say no to meta using my photos", "en").matched


def test_how_one_says_no_to_meta_is_no_request_to_translate() -> None:
    # "comment on dit ..." opens a request to translate, but this one names Meta and its AI.
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    result = matcher.match("comment on dit non a meta pour l ia", "fr")
    assert "how-to-object" in result.candidates


def test_naming_metas_ai_training_outweighs_an_off_topic_likeness() -> None:
    # "marche à suivre" is close to an off-topic request (following a parcel); the message
    # names Meta and its AI.
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    result = matcher.match("opposition IA meta marche a suivre svp", "fr")
    assert result.matched and result.node == "how-to-object"


@pytest.mark.parametrize(
    ("text", "lang", "place"),
    [("the second one", "en", 2), ("die zweite bitte", "de", 2),
     ("la deuxième", "fr", 2), ("el primero", "es", 1), ("la seconda", "it", 2),
     ("de eerste", "nl", 1), ("drugą poproszę", "pl", 2), ("the second one", "de", 2),
     ("the second thing you said about facebook", "en", None), ("zweite Frage?", "de", None),
     # A number with small words around it.
     ("la 2", "es", 2), ("optie 2", "nl", 2), ("de 2e", "nl", 2), ("Artikel 2", "de", None)],
)  # fmt: skip
def test_a_button_is_picked_by_its_place_in_words(text: str, lang: str, place: int | None) -> None:
    assert answers.ordinal(text, lang) == place


def test_the_second_one_after_a_clarifying_question_opens_the_second_topic() -> None:
    # "the second one" opened the first of the two topics offered.
    engine = Engine(load_content(), session_ttl=TTL)
    chat = Chat(engine)
    chat.start(language="en")
    asked = chat.text("does meta ai in whatsapp read my chats")
    assert asked.clarify
    assert chat.text("the second one").node == asked.clarify[1]


def test_a_wrong_number_counts_the_buttons_it_shows_again() -> None:
    # After "not understood" (one "Menu" button), "el segundo" said "choose 1 to 1" above the
    # eight buttons of the page.
    shipped = load_content()
    chat = Chat(Engine(shipped, session_ttl=TTL))
    chat.start(language="es")
    chat.text("xyzzy plugh")
    reply = chat.text("el segundo")
    count = len(reply.options)
    assert reply.text == shipped.string("no_such_option", "es", platform=None, count=count)
    assert count > 1


def test_back_after_a_pages_sources_returns_to_the_page() -> None:
    # "/back" after "Fuentes" went to the main menu.
    chat = Chat(Engine(load_content(), session_ttl=TTL))
    chat.start(language="es")
    page = chat.text("es tarde ya para oponerme?").node
    assert page is not None
    chat.choose(f"@sources:{page}")
    assert chat.command("back").node == page


def test_do_i_have_to_do_anything_is_closest_to_the_page_on_not_objecting() -> None:
    # "tengo q hacer algo" got the main menu as a greeting (see the greetings test in
    # test_context_follow_ups.py); the page it asks about is the one on not objecting.
    matcher = Engine(load_content(), session_ttl=TTL).matcher
    assert matcher.match("tengo q hacer algo", "es").candidates[0] == "no-objection"
