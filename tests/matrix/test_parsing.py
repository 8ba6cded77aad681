"""The adapter's pure parts: allow-list, addressing, commands and rendering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.content import Content
from bot.events import Command, Option, Reply, Start, Text
from bot.platforms.matrix import (
    AdapterState,
    Addressing,
    AllowList,
    MatrixSettings,
    render_reply,
    strip_reply_fallback,
    to_event,
)

BOT = "@metabot:example.org"


def test_allow_list() -> None:
    allow = AllowList.parse("example.org, @alice:other.org  :third.net")
    assert allow.allows("@bob:example.org")
    assert allow.allows("@bob:EXAMPLE.org")
    assert allow.allows("@alice:other.org")
    assert allow.allows("@carol:third.net")
    assert not allow.allows("@mallory:other.org")
    assert not allow.allows("@eve:evil.example.org")
    assert AllowList.parse("").allows("@anyone:anywhere")
    # As an ignore list an empty list names nobody.
    assert not AllowList.parse("").lists("@anyone:anywhere")
    assert allow.lists("@alice:other.org")
    assert not allow.lists("@mallory:other.org")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATRIX_HOMESERVER", "https://matrix.example.org")
    monkeypatch.setenv("MATRIX_USER_ID", BOT)
    monkeypatch.setenv("MATRIX_PASSWORD", "pw")
    monkeypatch.setenv("MATRIX_TRUST", "verified-only")
    monkeypatch.setenv("MATRIX_TRUSTED_DEVICES", "@alice:example.org/ABCDEF, nonsense")
    monkeypatch.setenv("MATRIX_PREFIX", "!bot")
    monkeypatch.setenv("MATRIX_IGNORE_USERS", "@echo:example.org bridge.example.org")
    monkeypatch.setenv("MATRIX_PRIVATE_INVITE", "false")
    settings = MatrixSettings()
    assert settings.trust == "verified-only"
    assert settings.prefix == "!bot"
    assert settings.ignore_list().lists("@echo:example.org")
    assert settings.ignore_list().lists("@telegram:bridge.example.org")
    assert not settings.ignore_list().lists("@alice:example.org")
    assert settings.private_invite is False
    assert settings.trusted_device_set() == {("@alice:example.org", "ABCDEF")}
    assert MatrixSettings.configured()
    monkeypatch.setenv("MATRIX_TRUST", "everyone")
    with pytest.raises(ValueError):
        MatrixSettings()


def test_reply_fallback_is_stripped() -> None:
    body = "> <@metabot:example.org> Das Menü\n> 1. Eins\n\n2"
    assert strip_reply_fallback(body) == "2"
    assert strip_reply_fallback("no quote") == "no quote"


ADDR = Addressing(BOT, "Metabot", "!meta")


@pytest.mark.parametrize(
    ("content", "direct", "reply_to_bot", "expected"),
    [
        ({"body": "Hallo zusammen"}, False, False, None),
        ({"body": "Hallo zusammen"}, True, False, "Hallo zusammen"),
        ({"body": "!meta Wie widerspreche ich?"}, False, False, "Wie widerspreche ich?"),
        ({"body": "!META: forget"}, False, False, "forget"),
        ({"body": "!metabolism ist ein Wort"}, False, False, None),
        ({"body": "!meta"}, False, False, ""),
        ({"body": "Metabot: was ist Art. 21?"}, False, False, "was ist Art. 21?"),
        ({"body": "frag mal metabot, bitte"}, False, False, "frag mal bitte"),
        ({"body": "hey @metabot:example.org hilfe"}, False, False, "hey hilfe"),
        (
            {"body": "Bot: hi", "m.mentions": {"user_ids": [BOT]}},
            False,
            False,
            "Bot: hi",
        ),
        (
            {
                "body": "Robo: hi",
                "formatted_body": '<a href="https://matrix.to/#/%40metabot%3Aexample.org">Robo</a>',
            },
            False,
            False,
            "Robo: hi",
        ),
        ({"body": "> <@metabot:example.org> Menü\n\n2"}, False, True, "2"),
        ({"body": "2"}, False, False, None),
    ],
)
def test_group_addressing(
    content: dict[str, object], direct: bool, reply_to_bot: bool, expected: str | None
) -> None:
    assert ADDR.for_bot(content, direct, reply_to_bot) == expected


def test_text_to_events(content: Content) -> None:
    names = content.command_name
    assert to_event("", names, group=True) == Start(group=True)
    assert to_event("/forget", names, group=False) == Command(name="forget")
    assert to_event("/lang en", names, group=False) == Command(name="lang", args="en")
    assert to_event("/whatever", names, group=False) == Command(name="whatever")
    assert to_event("forget", names, group=True, from_prefix=True) == Command(
        name="forget", group=True
    )
    # Without the prefix a command word is just text (a question), e.g. in a direct chat.
    assert to_event("forget", names, group=False) == Text(text="forget")
    assert to_event("2", names, group=False) == Text(text="2")
    assert to_event("Was ist das?", names, group=True, from_prefix=True) == Text(
        text="Was ist das?", group=True
    )


def test_render_reply() -> None:
    reply = Reply(
        text="**Widerspruch** <script>\n- eins\n- [zwei](https://example.org)",
        language="de",
        options=(Option("a", "Erste <Option>"), Option("@menu", "Menü")),
    )
    message = render_reply(reply, private_link="https://matrix.to/#/@b:x", private_label="Privat")
    assert message["msgtype"] == "m.notice"
    assert message["format"] == "org.matrix.custom.html"
    assert "<b>Widerspruch</b> &lt;script&gt;" in message["formatted_body"]
    assert "<ol><li>Erste &lt;Option&gt;</li><li>Menü</li></ol>" in message["formatted_body"]
    assert '<a href="https://matrix.to/#/@b:x">Privat</a>' in message["formatted_body"]
    assert "<script>" not in message["formatted_body"]
    assert "1. Erste <Option>\n2. Menü" in message["body"]
    assert "zwei (https://example.org)" in message["body"]
    assert "**" not in message["body"]


def test_adapter_state_keeps_options_of_sent_messages(tmp_path: Path) -> None:
    # A state file written before option lists were kept is upgraded in place.
    path = tmp_path / "state.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE sent (event_id TEXT PRIMARY KEY, at REAL NOT NULL)")
    old.execute("INSERT INTO sent VALUES ('$old', 0)")
    old.commit()
    old.close()
    state = AdapterState(path)
    try:
        assert state.is_sent("$old")
        assert state.sent_options("$old") == ()
        state.add_sent("$menu", ("how-to-object", "@menu"))
        assert state.sent_options("$menu") == ("how-to-object", "@menu")
        assert state.sent_options("$unknown") == ()
        state.put_offer("!room:x", "object-facebook", "de")
        assert state.offer("!room:x") == ("object-facebook", "de")
        state.drop_offer("!room:x")
        assert state.offer("!room:x") is None
    finally:
        state.close()


@pytest.mark.parametrize("code", ["fr", "es", "it", "nl", "pl"])
def test_lang_takes_every_declared_language(
    tmp_path_factory: pytest.TempPathFactory, code: str
) -> None:
    import datetime as dt

    from fixtures.languages import OWN_NAMES, SEVEN, write_seven_language_tree

    from bot.content import load_content
    from bot.engine import Engine

    seven = load_content(write_seven_language_tree(tmp_path_factory.mktemp("seven")))
    names = seven.command_name
    for said, prefixed in ((f"lang {code}", True), (f"/lang {code}", False)):
        event = to_event(said, names, group=True, from_prefix=prefixed)
        assert event == Command(name="lang", args=code, group=True)
        engine = Engine(seven, session_ttl=dt.timedelta(days=1))
        now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
        _, [reply] = engine.handle(None, event, now)
        assert isinstance(reply, Reply) and reply.language == code
    # The list of languages, numbered, each in its own name.
    _, [listing] = engine.handle(None, Command(name="lang"), now)
    assert isinstance(listing, Reply)
    body = render_reply(listing)["body"]
    assert "\n".join(f"{i}. {OWN_NAMES[c]}" for i, c in enumerate(SEVEN, 1)) in body
