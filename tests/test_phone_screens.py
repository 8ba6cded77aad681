"""Answers that fit a phone: the first screen, "Mehr" for the details, the sources as one line
with the links behind "Quellen", and menus of at most seven topics per screen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fixtures.matchers import AboutThePage
from fixtures.phone import DETAILED, FILLERS, PHONE_STRINGS, ROOT_TOPICS, VARIABLES, phone_tree
from fixtures.tree import AFTER, BEFORE, META, ROOT, TTL, write_tree

from bot.content import Content, load_content
from bot.content.models import Source
from bot.engine import MAX_TOPICS, Engine
from bot.events import Choice, Reply, Start, Text
from bot.state import SessionState


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return load_content(phone_tree(tmp_path_factory.mktemp("phone")))


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content, session_ttl=TTL)


class Chat:
    def __init__(self, engine: Engine, now: dt.datetime = AFTER) -> None:
        self.engine = engine
        self.now = now
        self.state: SessionState | None = None

    def send(self, event: Start | Text | Choice) -> Reply:
        self.state, actions = self.engine.handle(self.state, event, self.now)
        [reply] = [a for a in actions if isinstance(a, Reply)]
        return reply

    def choose(self, option: str, **kw: bool) -> Reply:
        return self.send(Choice(option=option, **kw))


def ids(reply: Reply) -> list[str]:
    return [o.id for o in reply.options]


@pytest.fixture
def chat(engine: Engine) -> Chat:
    chat = Chat(engine)
    chat.send(Start())
    return chat


# -- the first screen and "Mehr" ----------------------------------------------------------


def test_the_first_screen_holds_the_text_and_one_line_of_sources(chat: Chat) -> None:
    reply = chat.choose("extra")
    assert reply.text == (
        "ÜBER-DE\n\n_Quellen: Verbraucherzentrale NRW, DPC Ireland … · Stand: 1. Mai 2025_"
    )  # the English "Irish DPC" only behind "Quellen": the line names what the reader reads
    assert ids(reply) == ["plain", "@set:extra-1", "@more:extra", "@sources:extra", "@menu"]
    assert [o.label for o in reply.options][2:4] == ["Mehr", "Quellen"]


def test_more_shows_the_details_with_the_options_again(chat: Chat) -> None:
    chat.choose("extra")
    reply = chat.choose("@more:extra")
    assert reply.text == "DETAILS-DE"
    assert reply.node == "extra"
    # "Back" returns to the page whose details these are.
    assert ids(reply) == ["plain", "@set:extra-1", "@sources:extra", "@back", "@menu"]
    assert chat.choose("@back").node == "extra"
    chat.choose("@more:extra")
    # A number typed now picks from these options.
    assert chat.send(Text(text="1")).node == "plain"
    assert chat.choose("@back").node == "extra"


def test_more_can_be_typed_as_its_label_or_number(chat: Chat) -> None:
    chat.choose("extra")
    assert chat.send(Text(text="mehr")).text == "DETAILS-DE"
    chat.choose("extra")
    assert chat.send(Text(text="3")).text == "DETAILS-DE"


def test_a_question_about_the_page_gets_its_details_then_the_page(tmp_path: Path) -> None:
    # The page without its checklist button: typed text at a checklist question answers it.
    button = (
        '    - {to: extra, set: {kids: true}, label: {de: "Ich habe Kinder", en: "I have kids"}}\n'
    )
    assert button in DETAILED
    root = ROOT + "".join(f"    - to: {n}\n" for n in FILLERS)
    meta = (META + VARIABLES).replace("  clarify:", PHONE_STRINGS + "  clarify:")
    tree = write_tree(
        tmp_path,
        {
            "bot.yaml": meta,
            "nodes/00-root.yaml": root,
            "nodes/50-extra.yaml": DETAILED.replace(button, ""),
        },
    )
    content = load_content(tree)
    chat = Chat(Engine(content, AboutThePage(content), session_ttl=TTL))
    chat.send(Start())
    assert chat.choose("extra").text.startswith("ÜBER-DE")
    details = chat.send(Text(text="welche denn?"))
    assert details.text == "DETAILS-DE"
    assert details.node == "extra" and details.matched is True
    assert "@more:extra" not in ids(details)
    # The details are on screen: asked again, the sources, then the page itself (not the
    # details again, which the sources' screen offers).
    sources = chat.send(Text(text="wer sagt das?"))
    assert sources.text.startswith("**Quellen:**") and sources.node == "extra"
    again = chat.send(Text(text="wer denn?"))
    assert again.text.startswith("ÜBER-DE") and again.node == "extra"


def test_details_follow_the_date_variant(engine: Engine) -> None:
    chat = Chat(engine, now=BEFORE)
    chat.send(Start())
    assert chat.choose("extra").text.startswith("FRÜHER-DE\n\n")
    assert chat.choose("@more:extra").text == "FRÜHERE-DETAILS-DE"


def test_blocks_marked_more_go_behind_more(chat: Chat) -> None:
    reply = chat.choose("@set:extra-1")
    assert reply.text.startswith("ÜBER-DE\n\nKINDER-KURZ-DE\n\n_Quellen:")
    assert "KINDER-LANG-DE" not in reply.text
    assert chat.choose("@more:extra").text == "DETAILS-DE\n\nKINDER-LANG-DE"


def test_a_node_without_details_offers_no_more(chat: Chat) -> None:
    reply = chat.choose("plain")
    assert not any(o.id.startswith("@more:") for o in reply.options)


@pytest.mark.parametrize(
    "option", ["@more:plain", "@more:nowhere", "@more:", "@sources:start", "@sources:nowhere"]
)
def test_more_or_sources_of_a_node_without_them_gets_the_note(chat: Chat, option: str) -> None:
    chat.choose("plain")
    reply = chat.choose(option)
    assert reply.text.startswith("VERALTET-DE")
    assert reply.node == "start"


def test_an_old_more_button_shows_its_own_nodes_details(chat: Chat) -> None:
    chat.choose("extra")
    chat.choose("plain")
    reply = chat.choose("@more:extra")
    assert reply.text == "DETAILS-DE"
    assert chat.state is not None and chat.state.node == "extra"
    assert chat.choose("@back").node == "plain"


def test_more_of_a_personal_node_in_a_group_offers_a_private_chat(chat: Chat) -> None:
    reply = chat.choose("@sources:my-case", group=True)
    assert reply.private_node == "my-case"
    assert "example.org" not in reply.text


def test_without_the_more_string_details_follow_the_text(tmp_path: Path) -> None:
    engine = Engine(load_content(phone_tree(tmp_path, phone_strings=False)), session_ttl=TTL)
    chat = Chat(engine)
    chat.send(Start())
    reply = chat.choose("extra")
    assert reply.text.startswith("ÜBER-DE\n\nDETAILS-DE\n\n_Quellen:")
    assert "@more:extra" not in ids(reply)


# -- sources -------------------------------------------------------------------------------


def test_sources_list_the_links_with_their_dates(chat: Chat) -> None:
    chat.choose("extra")
    reply = chat.choose("@sources:extra")
    # The date a source was checked only where it is not the page's (said once, under the
    # list); the sources in the reader's language, or in any, first; the others marked with
    # their language, in its own name.
    assert reply.text == (
        "**Quellen:**\n"
        "- [Verbraucherzentrale NRW – Meta AI, so widersprechen Sie](https://example.org/vz)"
        " (Stand: 20. April 2025)\n"
        "- [Irish DPC – another page](https://example.org/dpc2)\n"
        "- [Verbraucherzentrale NRW – zweite Seite](https://example.org/vz2)\n"
        "- [Irish DPC – Statement on Meta AI (21.05.2025)](https://example.org/dpc) (English)\n\n"
        "_Stand: 1. Mai 2025_"
    )
    assert ids(reply) == ["plain", "@set:extra-1", "@more:extra", "@back", "@menu"]


def test_sources_in_the_readers_language_come_first(engine: Engine) -> None:
    chat = Chat(engine)
    chat.send(Start(language="en"))
    chat.choose("extra")
    reply = chat.choose("@sources:extra")
    assert reply.text.splitlines()[1:5] == [
        "- [Irish DPC – Statement on Meta AI (21.05.2025)](https://example.org/dpc)",
        "- [Irish DPC – another page](https://example.org/dpc2)",
        "- [Verbraucherzentrale NRW – zweite Seite](https://example.org/vz2)",
        "- [Verbraucherzentrale NRW – Meta AI, so widersprechen Sie](https://example.org/vz)"
        " (Deutsch) (Checked: 20 April 2025)",
    ]


def test_every_source_of_the_content_says_its_language() -> None:
    content = load_content()
    unsaid = sorted({s.url for n in content.nodes.values() for s in n.sources if s.lang is None})
    assert unsaid == []


def test_an_old_checked_date_is_flagged_in_the_sources_line(tmp_path: Path) -> None:
    meta = (META + VARIABLES).replace(
        "  clarify:", '  stale: {de: "(alt)", en: "(old)"}\n  clarify:'
    )
    root = ROOT + "".join(f"    - to: {n}\n" for n in FILLERS)
    files = {"bot.yaml": meta, "nodes/00-root.yaml": root, "nodes/50-extra.yaml": DETAILED}
    engine = Engine(load_content(write_tree(tmp_path, files)), session_ttl=TTL)
    chat = Chat(engine, now=dt.datetime(2026, 12, 3, tzinfo=dt.UTC))
    chat.send(Start())
    assert chat.choose("plain").text.endswith("_Quellen: Bot · Stand: 1. Mai 2025 (alt)_")


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Verbraucherzentrale NRW – Eilantrag gegen Meta abgelehnt (23.05.2025)", "Verbraucherzentrale NRW"),
        ("Verbraucherzentrale: Meta AI bei Facebook", "Verbraucherzentrale"),
        ("OLG Köln, Urteil vom 23.05.2025, 15 UKl 2/25", "OLG Köln"),
        ("DSGVO / GDPR (EUR-Lex)", "DSGVO / GDPR"),
        ("Verbraucherzentrale Rheinland-Pfalz – Meta AI", "Verbraucherzentrale Rheinland-Pfalz"),
        ("Meta", "Meta"),
    ],
)  # fmt: skip
def test_a_sources_short_name_defaults_to_the_titles_leading_name(title: str, short: str) -> None:
    assert Source(title=title, url="https://example.org").short_name == short


# -- menus: at most seven topics per screen ---------------------------------------------------


def test_a_long_menu_is_split_into_even_pages(chat: Chat) -> None:
    first = chat.send(Start())
    topics = [i for i in ids(first) if not i.startswith("@")]
    assert len(topics) <= MAX_TOPICS
    assert ids(first)[len(topics)] == "@page:start-1"
    assert first.options[len(topics)].label == "Weitere Themen"
    second = chat.choose("@page:start-1")
    rest = [i for i in ids(second) if not i.startswith("@")]
    assert topics + rest == ROOT_TOPICS
    assert abs(len(topics) - len(rest)) <= 1
    assert "@page:start-2" not in ids(second)
    # The later screen is titled, not the menu's text (the greeting) again.
    assert second.text != first.text and second.text.endswith("(2/2)")


def test_back_on_a_later_page_turns_the_page_back(chat: Chat) -> None:
    second = chat.choose("@page:start-1")
    back = next(o for o in second.options if o.label == "Zurück")
    assert back.id == "@page:start-0"
    again = chat.send(Text(text="zurück"))
    assert ids(again)[0] == "objection"
    # Topics on the second page are chosen by their number there, and Menu still works.
    chat.choose("@page:start-1")
    reply = chat.send(Text(text="1"))
    assert reply.node == ROOT_TOPICS[len([i for i in ids(again) if not i.startswith("@")])]
    assert chat.choose("@menu").node == "start"


def test_a_page_typed_as_its_label_pages_on(chat: Chat) -> None:
    assert "@page:start-0" in ids(chat.send(Text(text="weitere themen")))


@pytest.mark.parametrize("option", ["@page:start-2", "@page:start-x", "@page:plain-1", "@page:"])
def test_a_page_that_does_not_exist_gets_the_note(chat: Chat, option: str) -> None:
    assert chat.choose(option).text.startswith("VERALTET-DE")


def test_a_short_menu_has_one_page(engine: Engine) -> None:
    chat = Chat(engine)
    chat.send(Start())
    reply = chat.choose("objection")
    assert not any(o.id.startswith("@page:") for o in reply.options)


def test_every_option_id_fits_telegrams_button_data(chat: Chat) -> None:
    from bot.platforms.telegram import parse_callback_data

    for reply in (chat.send(Start()), chat.choose("extra"), chat.choose("@page:start-1")):
        for option in reply.options:
            assert parse_callback_data(option.id) == option.id


# -- check: first screens longer than a phone shows ------------------------------------------


def test_loading_content_does_not_measure_first_screens(tmp_path: Path) -> None:
    """``run`` and ``chat`` load content on every start and reload: the measuring is ``check``'s."""
    import subprocess
    import sys

    code = (
        "import sys; from bot.content import load_content; "
        f"load_content({str(phone_tree(tmp_path))!r}); "
        "assert 'bot.content.phone' not in sys.modules, 'measured on load'"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_first_screen_problems_name_the_answers_that_make_it_long(tmp_path: Path) -> None:
    from bot.content.phone import first_screen_problems

    long_block = "KINDER " * 80
    files = {
        "bot.yaml": (META + VARIABLES).replace("  clarify:", PHONE_STRINGS + "  clarify:"),
        "nodes/00-root.yaml": ROOT + "".join(f"    - to: {n}\n" for n in FILLERS),
        "nodes/50-extra.yaml": DETAILED.replace("KINDER-KURZ-DE", long_block.strip()),
    }
    content = load_content(write_tree(tmp_path, files))
    [problem] = first_screen_problems(content)
    assert problem.level == "warning"
    assert (
        "first screen of 'extra' (de) (before 2025-05-27; kids=true) is 570 characters"
        in problem.message
    )


def test_details_carry_the_as_of_date_of_their_answer(tmp_path: Path) -> None:
    """Details may say "bisher" under the answer's ``as_of``; read alone, they still say when."""
    meta = (META + VARIABLES).replace(
        "  clarify:",
        PHONE_STRINGS
        + '  as_of: {de: "Stand {month} {year}:", en: "As of {month} {year}:"}\n  clarify:',
    )
    extra = DETAILED.replace(
        "  checked: 2025-05-01\n\n- id: plain",
        "  checked: 2025-05-01\n  as_of: 2025-05-01\n\n- id: plain",
    )
    files = {
        "bot.yaml": meta,
        "nodes/00-root.yaml": ROOT + "".join(f"    - to: {n}\n" for n in FILLERS),
        "nodes/50-extra.yaml": extra,
    }
    chat = Chat(Engine(load_content(write_tree(tmp_path, files)), session_ttl=TTL))
    chat.send(Start())
    assert chat.choose("extra").text.startswith("Stand Mai 2025: ÜBER-DE")
    assert chat.choose("@more:extra").text == "Stand Mai 2025: DETAILS-DE"


@pytest.mark.parametrize(("lang", "said"), [("es", "(en alemán)"), ("nl", "(in het Duits)")])
def test_a_source_in_another_language_is_marked_in_the_readers_words(lang: str, said: str) -> None:
    # "(Deutsch)" after a link told a Spanish reader little.
    content = load_content()
    text = content.sources_list(content.nodes["too-late"], lang, dt.date(2026, 12, 6))
    assert said in text and "(Deutsch)" not in text
