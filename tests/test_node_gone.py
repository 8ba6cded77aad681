"""Engine rule: a session whose node was removed by a content reload lands on the menu."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.tree import AFTER, META, TTL, write_tree

from bot.content import load_content
from bot.engine import Engine
from bot.events import MENU, Choice, Command, Reply, Text
from bot.state import SessionState

NOTE = '  node_gone: {de: "WEG-DE", en: "GONE-EN"}\n'
WITH_NOTE = META.replace("  rate_limited:", NOTE + "  rate_limited:")


def engine_for(tmp_path: Path, meta: str = WITH_NOTE) -> Engine:
    return Engine(load_content(write_tree(tmp_path, {"bot.yaml": meta})), session_ttl=TTL)


def stale(language: str = "en") -> SessionState:
    """A session saved under an older tree, on a page that tree had and this one has not."""
    return SessionState(
        node="removed-page",
        language=language,
        language_chosen=True,
        last_seen=AFTER,
        back=("start", "objection"),
        offered=("removed-child", MENU),
    )


def only_reply(actions: tuple[object, ...]) -> Reply:
    [reply] = [a for a in actions if isinstance(a, Reply)]
    return reply


@pytest.mark.parametrize(
    "event",
    [Choice(option="removed-child"), Choice(option="objection"), Text(text="1"), Text(text="hi")],
    ids=["old-button", "existing-node-button", "number", "question"],
)
def test_choice_or_text_on_a_vanished_node_shows_the_menu_with_the_note(
    tmp_path: Path, event: Choice | Text
) -> None:
    engine = engine_for(tmp_path)
    state, actions = engine.handle(stale(), event, AFTER)
    reply = only_reply(actions)
    assert reply.text.startswith("GONE-EN\n\n")
    assert "WELCOME-EN" in reply.text
    assert reply.node == "start"
    assert reply.language == "en"
    assert state is not None
    assert (state.node, state.back, state.language) == ("start", (), "en")
    # The old page's numbered options are gone: "1" now means the menu's first option.
    assert state.offered[0] == "objection"


def test_the_note_is_in_the_sessions_language(tmp_path: Path) -> None:
    _, actions = engine_for(tmp_path).handle(stale("de"), Choice(option="x"), AFTER)
    assert only_reply(actions).text.startswith("WEG-DE\n\n")


def test_commands_still_work_from_a_vanished_node(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    state, actions = engine.handle(stale(), Command(name="help"), AFTER)
    assert only_reply(actions).text == "HELP-EN"
    assert state is not None and state.node == "start"
    _, actions = engine.handle(stale(), Text(text="/privacy"), AFTER)
    assert only_reply(actions).text.startswith("PRIVACY-EN")


def test_without_the_note_string_the_outdated_option_note_is_used(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, META)
    _, actions = engine.handle(stale(), Choice(option="removed-child"), AFTER)
    assert only_reply(actions).text.startswith("OUTDATED-EN\n\n")
