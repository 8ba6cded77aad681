"""The Telegram adapter end to end: real python-telegram-bot against the fake Bot API.

The conversations run on the small test tree (tests/fixtures/tree.py), so every expected
text, label and button id below is written out by hand from that tree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from conftest import BotFactory
from fake_bot_api import FakeBotApi, FakeChat, FakeUser, Sent, parse_telegram_html
from fixtures.tree import META, write_tree

from bot.content import Content, load_content
from bot.events import Event, Option, Reply
from bot.platforms.telegram import (
    TelegramSettings,
    parse_callback_data,
    split_markup,
    utf16_len,
)
from bot.store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
MENU_IDS = ["objection", "deadline", "my-case", "extra", "@lang:en"]
MENU_LABELS = ["Widerspruch einlegen", "Frist", "Mein Fall", "Über den Bot", "English"]


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    """The test tree instead of the shipped content, for every bot in this module."""
    return load_content(write_tree(tmp_path_factory.mktemp("tree")))


def urls(sent: Sent) -> list[str]:
    return [unquote(b["url"]) for b in sent.buttons if "url" in b]


def labels(sent: Sent) -> list[str]:
    return [b["text"] for b in sent.buttons]


def shown(html: str) -> str:
    """What a user sees of a message the bot renders (as the fake API parses it)."""
    return parse_telegram_html(html).strip()


# -- private chat -----------------------------------------------------------------------


async def test_private_chat_start_buttons_question_forget(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    user = FakeUser(id=101, language_code="de")
    async with run_bot() as bot:
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id)
        assert menu.visible == "WILLKOMMEN-DE"
        assert menu.parse_mode == "HTML"
        assert menu.params["link_preview_options"] == {"is_disabled": True}
        assert menu.callback_data == MENU_IDS
        assert labels(menu) == MENU_LABELS

        api.press(user, menu, "objection")
        sent = await api.wait_sent(user.id, 2)
        assert sent[1].visible == "WIDERSPRUCH-DE Formular\n\nQuellen: Meta · Stand: 1. Mai 2025"
        assert '<a href="https://example.org/form?a=1&amp;b=2">Formular</a>' in sent[1].text
        assert sent[1].callback_data == ["objection-instagram", "@sources:objection", "@menu"]
        assert labels(sent[1]) == ["Bei Instagram", "Quellen", "Menü", "Teilen"]
        assert any("start=objection" in u for u in urls(sent[1])), "share button"

        # A question typed in: one of the tree's example questions for the deadline.
        api.message(user, "Bis wann kann ich widersprechen?")
        sent = await api.wait_sent(user.id, 3)
        assert sent[2].visible.startswith("NACHHER-DE\n\nQuellen: Meta")
        assert sent[2].callback_data == ["@sources:deadline", "@back", "@menu"]

        api.message(user, "/forget")
        sent = await api.wait_sent(user.id, 4)
        assert sent[3].visible == "VERGESSEN-DE"
        assert sent[3].callback_data == ["@menu"]
        assert await bot.runtime.store.count() == 0

    # Commands are registered for every language and as the default.
    assert {lang for _, lang in api.commands} == {"", "de", "en"}
    english = api.commands[('{"type": "default"}', "en")]
    assert [c["command"] for c in english] == [
        "start",
        "menu",
        "back",
        "help",
        "lang",
        "privacy",
        "forget",
    ]
    assert english[0]["description"] == "Start over"


async def test_language_from_locale_and_lang_command(api: FakeBotApi, run_bot: BotFactory) -> None:
    english = FakeUser(id=201, language_code="en-GB")
    unknown = FakeUser(id=202, language_code="fr")
    async with run_bot():
        api.message(english, "/start")
        api.message(unknown, "/start")
        [en_menu] = await api.wait_sent(english.id)
        [de_menu] = await api.wait_sent(unknown.id)
        assert en_menu.visible == "WELCOME-EN"
        assert labels(en_menu) == [
            "How to object",
            "Deadline",
            "My case",
            "About the bot",
            "Deutsch",
        ]
        assert de_menu.visible == "WILLKOMMEN-DE"

        api.message(english, "/lang de")
        sent = await api.wait_sent(english.id, 2)
        assert sent[1].visible.startswith("SPRACHE-DE")
        assert "WILLKOMMEN-DE" in sent[1].visible

        api.press(english, sent[1], "@lang:en")
        sent = await api.wait_sent(english.id, 3)
        assert sent[2].visible.startswith("LANGUAGE-EN")
        assert "WELCOME-EN" in sent[2].visible


async def test_deep_link_opens_topic(api: FakeBotApi, run_bot: BotFactory) -> None:
    user = FakeUser(id=301, language_code="en")
    async with run_bot():
        api.message(user, "/start objection")
        [reply] = await api.wait_sent(user.id)
        assert reply.visible.startswith("OBJECT-EN form")
        share = [u for u in urls(reply) if u.startswith("https://t.me/share/url")]
        assert share and "https://t.me/TestBot?start=objection" in share[0]
        assert "How to object" in share[0]

        # A personal topic opens just as well in a private chat.
        api.message(user, "/start my-case")
        sent = await api.wait_sent(user.id, 2)
        assert sent[1].visible.startswith("MYCASE-EN")

        # A payload that is not a node just opens the menu.
        api.message(user, "/start ../../etc")
        sent = await api.wait_sent(user.id, 3)
        assert sent[2].visible == "WELCOME-EN"


async def test_inline_query_offers_answer_cards(api: FakeBotApi, run_bot: BotFactory) -> None:
    user = FakeUser(id=401, language_code="de")
    async with run_bot():
        update = api.inline_query(user, "Wo ist das Widerspruchsformular?")
        qid = update["inline_query"]["id"]
        await api.wait_until(lambda: qid in api.inline_answers)
        results = api.inline_answers[qid]["results"]
        # Cached per user: the cards' language follows the user's Telegram language.
        assert api.inline_answers[qid]["is_personal"] is True
        first = results[0]
        assert first["type"] == "article"
        assert first["id"] == "objection"
        assert first["title"] == "Widerspruch einlegen"
        message = first["input_message_content"]
        assert message["parse_mode"] == "HTML"
        assert message["link_preview_options"] == {"is_disabled": True}
        assert shown(message["message_text"]).startswith("WIDERSPRUCH-DE Formular")
        [button] = first["reply_markup"]["inline_keyboard"][0]
        assert button == {
            "text": "Privat weiter",
            "url": "https://t.me/TestBot?start=objection",
        }

        # An empty query offers the menu's topics; the personal one only points to a
        # private chat, it is never posted into someone else's chat.
        empty = api.inline_query(user, "")
        eid = empty["inline_query"]["id"]
        await api.wait_until(lambda: eid in api.inline_answers)
        cards = api.inline_answers[eid]["results"]
        assert [r["id"] for r in cards] == ["objection", "deadline", "my-case", "extra"]
        assert [r["title"] for r in cards] == MENU_LABELS[:4]
        personal = shown(cards[2]["input_message_content"]["message_text"])
        assert personal == "PRIVAT-DE Mein Fall"
        assert "MEINFALL-DE" not in str(cards)


# -- groups -----------------------------------------------------------------------------


async def test_group_chat(api: FakeBotApi, run_bot: BotFactory) -> None:
    alice = FakeUser(id=501, first_name="Alice", language_code="de")
    bob = FakeUser(id=502, first_name="Bob", language_code="de")
    group = FakeChat(id=-5001, type="group", title="Familie")
    async with run_bot() as bot:
        # Added to the group: one short introduction.
        api.membership(alice, group, "left", "member")
        [intro] = await api.wait_sent(group.id)
        assert intro.visible == "INTRO-DE"
        assert intro.callback_data == ["@menu"]

        # Chatter is ignored, so are a command for another bot and commands this bot
        # does not have ...
        api.message(alice, "Hat jemand das mit Meta gelesen?", chat=group)
        api.message(bob, "/start@OtherBot", chat=group)
        api.message(bob, "/weather Berlin", chat=group)
        # ... a command addressed to this bot is answered, as a reply to it.
        cmd = api.message(bob, "/start@TestBot", chat=group)
        sent = await api.wait_sent(group.id, 2)
        assert sent[1].params["reply_parameters"]["message_id"] == cmd["message"]["message_id"]

        assert sent[1].visible == "WILLKOMMEN-DE"

        # A mention is answered; the mention itself is not part of the question.
        api.message(alice, "@TestBot Wo ist das Widerspruchsformular?", chat=group)
        sent = await api.wait_sent(group.id, 3)
        assert sent[2].visible.startswith("WIDERSPRUCH-DE Formular")

        # A reply to the bot's message is answered (here: a number picks an option). State
        # is per user: Bob's "2" picks from the menu he got, not from Alice's last answer.
        bot_msg = sent[1]
        api.message(bob, "2", chat=group, reply_to=bot_msg.message_id)
        sent = await api.wait_sent(group.id, 4)
        assert sent[3].visible.startswith("NACHHER-DE")

        # Personal steps go to a private chat through a deep-link button.
        api.message(alice, "/start my-case", chat=group)
        sent = await api.wait_sent(group.id, 5)
        assert sent[4].visible == "PRIVAT-DE Mein Fall"
        assert urls(sent[4]) == ["https://t.me/TestBot?start=my-case"]
        assert labels(sent[4]) == ["Privat weiter", "Menü"]
        # An unknown command addressed to the bot by name is answered.
        api.message(bob, "/weather@TestBot", chat=group)
        sent = await api.wait_sent(group.id, 6)
        assert sent[5].visible == "BEFEHL-DE"

        # A photo in the group without addressing the bot: silence.
        api.message(bob, None, chat=group, extra={"photo": [_photo()]})
        # Only now check silence: the last addressed message proves earlier ones were seen.
        help_msg = api.message(alice, "/help", chat=group)
        sent = await api.wait_sent(group.id, 7)
        # In order per chat: had the photo been answered, /help's answer would not be 7th.
        assert sent[6].visible == "HILFE-DE"
        assert sent[6].params["reply_parameters"]["message_id"] == help_msg["message"]["message_id"]
        assert await bot.runtime.store.count() >= 2

        # Removed from the group: everything about that chat is forgotten.
        api.membership(alice, group, "member", "kicked")
        await _wait_for(lambda: _count(bot) == 0)


async def test_forum_topics_and_captions(api: FakeBotApi, run_bot: BotFactory) -> None:
    alice = FakeUser(id=551, language_code="de")
    forum = FakeChat(id=-1005501, type="supergroup", title="Forum")
    topic = {"message_thread_id": 7, "is_topic_message": True}
    async with run_bot():
        # Answers stay in the topic the question was asked in, also after a button press.
        api.message(alice, "/start@TestBot", chat=forum, extra=topic)
        [menu] = await api.wait_sent(forum.id)
        assert menu.params["message_thread_id"] == 7
        api.press(alice, menu, "objection")
        sent = await api.wait_sent(forum.id, 2)
        assert sent[1].params["message_thread_id"] == 7
        assert sent[1].visible.startswith("WIDERSPRUCH-DE Formular")

        # A photo whose caption mentions the bot gets the note; without the mention, nothing.
        api.message(alice, None, chat=forum, extra={"photo": [_photo()], "caption": "hübsch"})
        caption = "@TestBot was steht da?"
        mention = [{"type": "mention", "offset": 0, "length": 8}]
        api.message(
            alice,
            None,
            chat=forum,
            extra={"photo": [_photo()], "caption": caption, "caption_entities": mention},
        )
        sent = await api.wait_sent(forum.id, 3)
        assert sent[2].visible == "NURTEXT-DE"
        # In the General topic (no thread) answers go to the chat itself.
        api.message(alice, "/help@TestBot", chat=forum)
        sent = await api.wait_sent(forum.id, 4)
        assert "message_thread_id" not in sent[3].params
        # In order per chat: had the first photo been answered, this would not be /help's.
        assert sent[3].visible == "HILFE-DE"


async def test_group_migration(api: FakeBotApi, run_bot: BotFactory) -> None:
    alice = FakeUser(id=601, language_code="de")
    group = FakeChat(id=-6001, type="group", title="Verein")
    supergroup = FakeChat(id=-1006001, type="supergroup", title="Verein")
    async with run_bot() as bot:
        api.membership(alice, group, "left", "member")
        await api.wait_sent(group.id)
        api.message(alice, "/start@TestBot", chat=group)
        await api.wait_sent(group.id, 2)
        assert await bot.runtime.store.count() == 1
        api.migrate(alice, group, supergroup)
        await _wait_for(lambda: _count(bot) == 0)
        api.message(alice, "/menu@TestBot", chat=supergroup)
        await api.wait_sent(supergroup.id)


async def test_reply_to_migrated_group_goes_to_supergroup(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    alice = FakeUser(id=602, language_code="de")
    group = FakeChat(id=-6002, type="group", title="Verein")
    supergroup = FakeChat(id=-1006002, type="supergroup", title="Verein")
    api.add_chat(supergroup)
    async with run_bot():
        api.message(alice, "/start@TestBot", chat=group)
        # The group is upgraded while the bot answers: Telegram refuses with the new id.
        api._chats[group.id].migrated_to = supergroup.id
        [reply] = await api.wait_sent(supergroup.id)
        assert reply.visible
    assert api.sent_to(group.id) == []


# -- untrusted and unusual input ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["no-such-node", "@lang:xx", "@evil", "<b>x</b>", "a" * 64, "ünïcödé", "@back:1:2", " "],
)
async def test_forged_callback_data_gets_menu(
    api: FakeBotApi,
    run_bot: BotFactory,
    data: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = FakeUser(id=701, language_code="de")
    async with run_bot():
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id)
        update = api.press(user, menu, data)
        sent = await api.wait_sent(user.id, 2)
        assert update["callback_query"]["id"] in api.callback_answers
        reply = sent[1]
        if data == "@lang:xx":
            assert reply.visible.startswith("UNBEKANNT-DE de (Deutsch), en (English)")
        else:
            # The note, then the menu with its buttons.
            assert reply.visible == "VERALTET-DE\n\nWILLKOMMEN-DE"
            assert reply.callback_data == MENU_IDS
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_callback_data_parsing() -> None:
    assert parse_callback_data("how-to-object") == "how-to-object"
    assert parse_callback_data("a" * 64) == "a" * 64
    # The longest "set" button content may have: a 29-character node id, option 11.
    longest = "@set:" + "s" * 29 + "-10"
    assert parse_callback_data(longest) == longest
    assert parse_callback_data("@lang:en") == "@lang:en"
    # "Quellen" and "Mehr" of the longest node id, and a later page of its topics.
    for longest in ("@sources:" + "n" * 48, "@more:" + "n" * 48, "@page:" + "n" * 48 + "-9"):
        assert parse_callback_data(longest) == longest
    for bad in (None, "", "x" * 65, "Ab", "@", "a b", "../x", "@x:", "\ud800"):
        assert parse_callback_data(bad) is None


async def test_non_text_edited_and_bot_messages(api: FakeBotApi, run_bot: BotFactory) -> None:
    user = FakeUser(id=801, language_code="en")
    other_bot = FakeUser(id=802, first_name="Helper", is_bot=True)
    sticker = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    voice = {"file_id": "v1", "file_unique_id": "u2", "duration": 3}
    async with run_bot():
        api.message(user, None, extra={"sticker": sticker})
        api.message(user, None, extra={"voice": voice})
        api.message(user, None, extra={"photo": [_photo()]})
        api.message(user, None, extra={"document": {"file_id": "d1", "file_unique_id": "u3"}})
        sent = await api.wait_sent(user.id, 4)
        assert [s.visible for s in sent] == ["TEXTONLY-EN"] * 4

        first = api.message(user, "/start")
        api.message(
            user, "/help", edited=True, extra={"message_id": first["message"]["message_id"]}
        )
        bot_chat = FakeChat(id=user.id, type="private", first_name=user.first_name)
        api.message(other_bot, "/start", chat=bot_chat)
        # One of the bot's own inline answers, posted by the user: not a question.
        via = {"id": api.bot_id, "is_bot": True, "first_name": "Test", "username": "TestBot"}
        api.message(user, "Wo ist das Widerspruchsformular?", extra={"via_bot": via})
        api.message(user, "/menu")
        sent = await api.wait_sent(user.id, 6)
        # One chat is handled in order, so the answer to /menu comes last: had any of the
        # ignored messages been answered, its reply would be in its place.
        assert [s.visible for s in sent[4:]] == ["WELCOME-EN", "WELCOME-EN"]


def test_long_text_is_split_safely() -> None:
    paragraph = "**Wichtig:** <Daten> & [Quelle](https://example.org/?a=1&b=2) " * 40
    text = "\n\n".join([paragraph] * 6) + "\n\n" + "x" * 9000
    chunks = split_markup(text)
    assert len(chunks) > 2
    for chunk in chunks:
        shown = parse_telegram_html(chunk)  # raises if the API could not parse it
        assert 0 < utf16_len(chunk) <= 4096
        assert shown.strip()
    assert "<Daten> & " in parse_telegram_html(chunks[0])


class ScriptedEngine:
    """Answers every event with fixed replies, echoing the user's text where ``{text}`` is."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = replies

    def prepare(self, *, background: bool = False, languages: object = None) -> None:
        """Nothing to load."""

    def handle(self, state: object, event: Event, now: dt.datetime) -> tuple[None, tuple]:
        said = getattr(event, "text", "")
        return None, tuple(
            Reply(**{**r.__dict__, "text": r.text.replace("{text}", said)}) for r in self.replies
        )


async def test_content_and_user_input_are_escaped_and_long_answers_split(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    user = FakeUser(id=851, language_code="de")
    said = "<script>alert('x')</script> & &amp; <b> \"quoted\""
    head = '**<b>Fett</b>** & _"Zitat"_ [Quelle](https://example.org/?a=1&b=<2>)'
    body = "\n\n".join(["Absatz mit <Daten> & Text. " * 60] * 5)
    reply = Reply(
        text=f"{head}\n\nDu fragtest: {{text}}\n\n{body}",
        language="de",
        options=(Option("objection", "<Widerspruch> & mehr"),),
        node="objection",
    )
    async with run_bot(engine=ScriptedEngine(reply)):
        api.message(user, said)
        sent = await api.wait_sent(user.id, 5)
    # Each paragraph is over 2,000 characters once escaped: two never fit in one message,
    # so the head and the question go with the first paragraph, then one paragraph each.
    assert len(api.sent_to(user.id)) == 5
    # Every message was accepted by the API's HTML parser (the fixture checks violations)
    # and shows the text literally.
    assert sent[0].visible.startswith('<b>Fett</b> & "Zitat" Quelle')
    assert f"Du fragtest: {said}" in sent[0].visible
    shown_all = " ".join(s.visible for s in sent)
    assert shown_all.count("<Daten> & Text.") == 5 * 60
    assert all(utf16_len(s.text) <= 4096 for s in sent)
    assert [s.params["link_preview_options"] for s in sent] == [{"is_disabled": True}] * len(sent)
    # Buttons come once, under the last part.
    assert [bool(s.buttons) for s in sent] == [False] * (len(sent) - 1) + [True]
    assert sent[-1].buttons[0]["text"] == "<Widerspruch> & mehr"
    [share] = [u for u in urls(sent[-1]) if u.startswith("https://t.me/share/url")]
    assert "start=objection" in share


# -- callback data: Telegram refuses a whole message over one button with >64 bytes ---------

LONG_ID = "n" * 48
"""The longest node id content may have: its button data is the id, 48 bytes."""
SET_ID = "s" * 29
"""The longest id of a node with "set" buttons (``@set:<id>-<index>``, up to 37 bytes)."""

LONG_TREE = f"""\
- id: extra
  title: {{de: Über den Bot, en: About the bot}}
  text: {{de: "ÜBER-DE", en: "ABOUT-EN"}}
  options:
    - to: {LONG_ID}
  sources:
    - {{title: Bot, url: "https://example.org/bot"}}
  checked: 2025-05-01

- id: {LONG_ID}
  kind: menu
  title: {{de: Lange Seite, en: Long page}}
  text: {{de: "LANG-DE", en: "LONG-EN"}}
  options:
    - to: {SET_ID}
  checked: 2025-05-01

- id: {SET_ID}
  kind: menu
  title: {{de: "Erledigt?", en: "Done?"}}
  text: {{de: "ERLEDIGT-DE", en: "DONE-EN"}}
  options:
    - to: extra
      set: {{ticked: true}}
      label: {{de: "Ja", en: "Yes"}}
    - to: extra
      set: {{ticked: false}}
      label: {{de: "Nein", en: "No"}}
  checked: 2025-05-01
"""
VARIABLES = """\
variables:
  ticked:
    type: flag
    description: {de: ob erledigt, en: whether done}
"""


async def test_fake_api_refuses_callback_data_over_64_bytes(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    """A button whose data Telegram would refuse is left out; the answer itself arrives."""
    user = FakeUser(id=861, language_code="de")
    too_long = "x" * 65
    reply = Reply(
        text="ANTWORT",
        language="de",
        options=(Option(too_long, "Kaputt"), Option("objection", "Heil")),
    )
    async with run_bot(engine=ScriptedEngine(reply)):
        api.message(user, "/start")
        [sent] = await api.wait_sent(user.id)
    assert sent.visible == "ANTWORT"
    assert sent.callback_data == ["objection"]
    assert labels(sent) == ["Heil"]
    assert [c.status for c in api.calls_of("sendMessage")] == [200]


async def test_buttons_of_the_longest_ids_work(
    api: FakeBotApi, run_bot: BotFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Buttons to a 48-character node id and "set" buttons of a 29-character one are sent,
    pressed and understood (not answered as outdated)."""
    files = {"bot.yaml": META + VARIABLES, "nodes/50-extra.yaml": LONG_TREE}
    tree = load_content(write_tree(tmp_path_factory.mktemp("long"), files))
    user = FakeUser(id=862, language_code="de")
    async with run_bot(tree=tree):
        api.message(user, "/start extra")
        [about] = await api.wait_sent(user.id)
        assert about.callback_data == [LONG_ID, "@sources:extra", "@menu"]
        api.press(user, about, LONG_ID)
        [page] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert page.visible.startswith("LANG-DE")
        assert page.callback_data == [SET_ID, "@back", "@menu"]
        api.press(user, page, SET_ID)
        [question] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert question.visible.startswith("ERLEDIGT-DE")
        data = f"@set:{SET_ID}-0"
        assert question.callback_data == [data, f"@set:{SET_ID}-1", "@back", "@menu"]
        api.press(user, question, data)
        [done] = await api.wait_sent(user.id, 1, since=len(api.sent))
        assert done.visible.startswith("ÜBER-DE")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (("n" * 49, SET_ID), "invalid node id '" + "n" * 49 + "' in 'id'"),
        ((LONG_ID, "s" * 31), "node id '" + "s" * 31 + "' is too long for buttons"),
    ],
    ids=["node-id", "set-button"],
)
def test_check_refuses_ids_too_long_for_button_data(
    tmp_path: Path, ids: tuple[str, str], message: str
) -> None:
    """Content whose buttons could not carry their ids never reaches Telegram."""
    tree = LONG_TREE.replace(LONG_ID, ids[0]).replace(SET_ID, ids[1])
    directory = write_tree(tmp_path, {"bot.yaml": META + VARIABLES, "nodes/50-extra.yaml": tree})
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert message in done.stdout


# -- ordering -----------------------------------------------------------------------------


async def test_one_chat_in_order_while_another_proceeds(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    """Chat A's answers come in the order asked although its first sends are slow; chat B,
    asking after all of A's messages, is answered before A's slow first answer."""
    a = FakeUser(id=871, language_code="de")
    b = FakeUser(id=872, language_code="de")
    # Each message depends on the place the previous one left: out of order, they differ.
    asked = ["/start", "1", "1", "/zurueck", "/menu", "2", "/hilfe", "/start", "4"]
    expected = [
        "WILLKOMMEN-DE",
        "WIDERSPRUCH-DE",
        "INSTAGRAM-DE",
        "WIDERSPRUCH-DE",
        "WILLKOMMEN-DE",
        "NACHHER-DE",
        "HILFE-DE",
        "WILLKOMMEN-DE",
        "ÜBER-DE",
    ]
    # The slow answers come within the request timeout, so nothing is resent.
    async with run_bot(rate_limit=False, request_timeout=5.0):
        # Telegram answers chat A slowly at first, then fast: unordered sends would overtake.
        api.fail("sendMessage", "slow", delay=1.5, chat_id=a.id)
        api.fail("sendMessage", "slow", delay=0.8, chat_id=a.id)
        for text in asked:
            api.message(a, text)
        api.message(b, "/start")
        [b_answer] = await api.wait_sent(b.id, timeout=10)
        a_sent = await api.wait_sent(a.id, len(asked), timeout=15)
    assert [s.visible.split("\n")[0].split(" ")[0] for s in a_sent] == expected
    assert b_answer.visible == "WILLKOMMEN-DE"
    assert b_answer.at < a_sent[0].at, "chat B waited for chat A"


# -- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("rate_limit", [True, False], ids=["rate-limiter", "own-retry"])
async def test_429_waits_retry_after_and_sends_once(
    api: FakeBotApi, run_bot: BotFactory, rate_limit: bool
) -> None:
    user = FakeUser(id=901)
    group = FakeChat(id=-9001, type="group", title="Verein")
    # With the rate limiter on, the adapter's ChatRateLimiter resends; without it,
    # the adapter's own retry does. Either way: wait retry_after, then send exactly once.
    async with run_bot(rate_limit=rate_limit):
        api.fail("sendMessage", "429", retry_after=1, count=2)
        api.message(user, "/start")
        api.message(user, "/start@TestBot", chat=group)
        start = time.monotonic()
        await api.wait_sent(user.id, timeout=10)
        await api.wait_sent(group.id, timeout=10)
        assert time.monotonic() - start >= 1.0
        refused = [c for c in api.calls_of("sendMessage") if c.status == 429]
        assert len(refused) == 2
    assert len(api.sent_to(user.id)) == 1
    assert len(api.sent_to(group.id)) == 1


async def test_5xx_and_timeouts_are_retried_without_duplicates(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    user = FakeUser(id=902)
    async with run_bot(request_timeout=0.5):
        api.fail("sendMessage", "5xx", status=502, count=2)
        api.fail("sendMessage", "hang", delay=1.5)
        api.fail("sendMessage", "drop")
        api.fail("answerCallbackQuery", "5xx", status=500)
        api.fail("answerCallbackQuery", "drop")
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=10)
        statuses = [c.status for c in api.calls_of("sendMessage")]
        assert statuses.count(502) == 2 and statuses.count(0) == 1 and statuses[-1] == 200

        update = api.press(user, menu, "objection")
        await api.wait_sent(user.id, 2, timeout=10)
        assert update["callback_query"]["id"] in api.callback_answers
    # Stopped: nothing is in flight any more, and each answer arrived exactly once.
    sent = api.sent_to(user.id)
    assert len(sent) == 2
    assert sent[0].visible == "WILLKOMMEN-DE"
    assert sent[1].visible.startswith("WIDERSPRUCH-DE Formular")


async def test_restart_keeps_the_users_place(
    api: FakeBotApi, run_bot: BotFactory, sqlite_store
) -> None:
    user = FakeUser(id=1001, language_code="de")
    async with run_bot(store=sqlite_store()):
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id)
        api.press(user, menu, "objection")
        await api.wait_sent(user.id, 2)
    # A new process: new runtime, new application, same database.
    async with run_bot(store=sqlite_store()):
        api.message(user, "1")
        sent = await api.wait_sent(user.id, 3)
        # "1" on the objection page is Instagram; on a fresh menu it would be the objection.
        assert sent[2].visible.startswith("INSTAGRAM-DE")


async def test_shutdown_finishes_updates_in_flight(api: FakeBotApi, run_bot: BotFactory) -> None:
    user = FakeUser(id=1101)
    async with run_bot() as bot:
        api.fail("sendMessage", "slow", delay=0.5)
        api.message(user, "/start")
        await api.wait_until(lambda: bool(api.calls_of("sendMessage")))
        await bot.stop()
        # The reply being sent when the stop came was still delivered.
        assert len(api.sent_to(user.id)) == 1


async def test_webhook_mode(api: FakeBotApi, run_bot: BotFactory) -> None:
    user = FakeUser(id=1201)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with run_bot(
        mode="webhook",
        webhook_url="https://bot.example.org/telegram",
        webhook_port=port,
        webhook_secret="s3cret",
    ):
        await api.wait_until(lambda: api.webhook is not None, 10)
        assert api.webhook is not None
        assert api.webhook["url"] == "https://bot.example.org/telegram"
        assert api.webhook["secret_token"] == "s3cret"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": user.id, "type": "private", "first_name": "A"},
                "from": user.to_api(),
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        api.add_chat(FakeChat(id=user.id))
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/telegram"
            forged = await client.post(url, json=update)
            assert forged.status_code == 403
            ok = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            )
            assert ok.status_code == 200
        await api.wait_sent(user.id)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("42:from-file\n")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://localhost:8081/")
    settings = TelegramSettings()
    assert settings.configured
    assert settings.token() == "42:from-file"
    assert settings.api_urls() == ("http://localhost:8081/bot", "http://localhost:8081/file/bot")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "42:direct")
    assert TelegramSettings().token() == "42:direct"


# -- helpers ----------------------------------------------------------------------------


def _photo() -> dict[str, object]:
    return {"file_id": "p1", "file_unique_id": "pu1", "width": 10, "height": 10}


def _count(bot: object) -> int:
    store = bot.runtime.store  # type: ignore[attr-defined]
    assert isinstance(store, MemoryStore)
    return len(store._rows)  # synchronous peek, for waiting


async def _wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("text", ["😀" * 2500, ("Wort 😀 " * 700).strip(), "ä" * 4000 + "😀" * 100])
def test_long_answers_are_cut_by_telegrams_utf16_count(text: str) -> None:
    # Telegram counts UTF-16 code units: an emoji is two. 2,500 emoji are 5,000 units.
    parts = split_markup(text)
    assert len(parts) == 2
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    assert utf16_len("😀") == 2 and utf16_len("ä") == 1


async def test_a_group_that_removes_the_bot_is_forgotten(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    alice = FakeUser(id=771, language_code="de")
    for gone in ("left", "kicked"):
        group = FakeChat(id=-7710 - len(gone), type="group", title="Nachbarn")
        async with run_bot() as bot:
            api.membership(alice, group, "left", "member")
            await api.wait_sent(group.id)  # the greeting
            api.message(alice, "/start@TestBot", chat=group)
            await api.wait_sent(group.id, 2)
            await _wait_for(lambda: _count(bot) == 1)
            # Removed without a ban ("left") or banned ("kicked"): the chat's sessions go.
            api.membership(alice, group, "member", gone)
            await _wait_for(lambda: _count(bot) == 0)
