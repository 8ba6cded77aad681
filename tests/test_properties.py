"""Properties of the engine under arbitrary input.

The engine promises (bot/engine.py): it never raises on user input and every event gets
at least one reply. On top of that, whatever happens, the state stays valid and small, and
survives the store's JSON round trip.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pytest
from fixtures.tree import TTL, write_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import Content, load_content
from bot.engine import MAX_BACK, SET_PREFIX, Engine
from bot.events import (
    BACK,
    LANG_PREFIX,
    MENU,
    MORE_PREFIX,
    PAGE_PREFIX,
    SOURCES_PREFIX,
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
from bot.state import SessionState

with tempfile.TemporaryDirectory() as _tmp:
    CONTENT = load_content(write_tree(Path(_tmp)))
ENGINE = Engine(CONTENT, session_ttl=TTL)
NODE_IDS = sorted(CONTENT.nodes)

# Free text: anything, biased towards what people and bots actually send.
# Numbers in any script choose options, so they get a strategy of their own.
numbers = st.one_of(
    st.sampled_from(["1", "2", "9", "0", "00", "²", "١", "１", "⑤", "Ⅻ", " 3 "]),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=3),
)
texts = st.one_of(
    st.text(max_size=120),
    numbers,
    st.sampled_from(["", " ", "/", "/start", "/lang en", "/forget", "🙂", "\x00"]),
    st.sampled_from(
        [
            "Wie widerspreche ich der KI-Nutzung?",
            "How do I object on Instagram?",
            "Bis wann kann ich widersprechen?",
            "instagram wetter katze hund",
        ]
    ),
    st.builds(lambda n, a: f"/{n} {a}", st.text(max_size=12), st.text(max_size=20)),
)
node_refs = st.one_of(
    st.sampled_from(NODE_IDS),
    st.sampled_from(["nope", "", "@menu", "START", "start\n", "a" * 100]),
    st.text(max_size=30),
)
option_ids = st.one_of(
    st.sampled_from(NODE_IDS),
    st.sampled_from([BACK, MENU, f"{LANG_PREFIX}de", f"{LANG_PREFIX}en", f"{LANG_PREFIX}xx"]),
    st.sampled_from([LANG_PREFIX, "@", "@lang:DE", "@back ", ""]),
    # Buttons that set checklist variables, real and forged.
    st.sampled_from(
        [f"{SET_PREFIX}objection-0", f"{SET_PREFIX}objection-checklist-0", f"{SET_PREFIX}x-9"]
    ),
    # Details, sources and later pages of a menu, real and forged.
    st.sampled_from(
        [
            f"{MORE_PREFIX}objection",
            f"{MORE_PREFIX}how-to-object",
            f"{MORE_PREFIX}nope",
            f"{SOURCES_PREFIX}deadline",
            f"{SOURCES_PREFIX}start",
            f"{PAGE_PREFIX}start-1",
            f"{PAGE_PREFIX}start-9",
            f"{PAGE_PREFIX}start-",
            f"{PAGE_PREFIX}start-00000000000000000001",
        ]
    ),
    st.text(max_size=70),
)
command_names = st.one_of(
    st.sampled_from(
        ["start", "help", "menu", "back", "lang", "privacy", "forget", "hilfe", "sprache"]
    ),
    st.sampled_from(["zurueck", "menue", "vergessen", "loeschen", "HELP", "help@SomeBot", ""]),
    st.text(max_size=15),
)
locales = st.one_of(
    st.none(), st.sampled_from(["de", "en", "en-US", "de_AT", "fr", "", "-"]), st.text(max_size=8)
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    group: bool = draw(st.booleans())
    locale: str | None = draw(locales)
    kind = draw(
        st.sampled_from(
            [
                "start",
                "text",
                "text",
                "text",
                "choice",
                "choice",
                "command",
                "unsupported",
                "joined",
            ]
        )
    )
    if kind == "start":
        return Start(
            node=draw(st.none() | node_refs),
            language=draw(st.none() | st.sampled_from(["de", "en", "xx", ""])),
            group=group,
            locale=locale,
        )
    if kind == "text":
        return Text(text=draw(texts), group=group, locale=locale)
    if kind == "choice":
        return Choice(option=draw(option_ids), group=group, locale=locale)
    if kind == "command":
        return Command(
            name=draw(command_names), args=draw(st.text(max_size=30)), group=group, locale=locale
        )
    if kind == "unsupported":
        return Unsupported(kind=draw(st.text(max_size=10)), group=group, locale=locale)
    return Joined(group=group, locale=locale)


start_times = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.just(dt.UTC),
)
steps = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3))


def check_reply(reply: Reply, event: Event, content: Content) -> None:
    assert reply.language in content.languages
    assert reply.text.strip()
    assert reply.node is None or reply.node in content.nodes
    if reply.private_node is not None:
        assert event.group
        assert content.nodes[reply.private_node].personal
    if not isinstance(event, Text):
        assert reply.matched is None
    for option in reply.options:
        assert option.label.strip()
        # Button data must fit Telegram's 64-byte callback data.
        assert len(option.id.encode()) <= 64
        assert (
            option.id in content.nodes
            or option.id in (BACK, MENU)
            or option.id.removeprefix(LANG_PREFIX) in content.languages
            or option.id == "@languages"
            or (
                option.id.startswith((SET_PREFIX, PAGE_PREFIX))
                and option.id.partition(":")[2].rpartition("-")[0] in content.nodes
            )
            or (
                option.id.startswith((MORE_PREFIX, SOURCES_PREFIX))
                and option.id.partition(":")[2] in content.nodes
            )
        )
    assert set(reply.suggestions) <= set(content.nodes)


def check_state(state: SessionState, now: dt.datetime, content: Content) -> None:
    assert state.node in content.nodes
    assert state.language in content.languages
    assert state.last_seen == now
    assert len(state.back) <= MAX_BACK
    restored = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


def run_conversation(
    engine: Engine, sequence: list[tuple[Event, dt.timedelta]], start: dt.datetime
) -> None:
    state: SessionState | None = None
    now = start
    for event, step in sequence:
        now += step
        new_state, actions = engine.handle(state, event, now)
        replies = [a for a in actions if isinstance(a, Reply)]
        assert replies, (event, actions)
        for reply in replies:
            check_reply(reply, event, engine.content)
        if new_state is None:
            # Only /forget drops the state, and the erasure comes before the confirmation.
            assert isinstance(actions[0], Forget)
        else:
            assert not any(isinstance(a, Forget) for a in actions)
            check_state(new_state, now, engine.content)
            if replies[-1].options:
                assert new_state.offered == tuple(o.id for o in replies[-1].options)
        state = new_state


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.tuples(events(), steps), min_size=1, max_size=25), start_times)
def test_random_conversations_on_test_tree(
    sequence: list[tuple[Event, dt.timedelta]], start: dt.datetime
) -> None:
    run_conversation(ENGINE, sequence, start)


@pytest.fixture(scope="module")
def shipped_engine() -> Engine:
    return Engine(load_content(), session_ttl=TTL)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(events(), steps), min_size=1, max_size=15), start_times)
def test_random_conversations_on_shipped_content(
    shipped_engine: Engine, sequence: list[tuple[Event, dt.timedelta]], start: dt.datetime
) -> None:
    # Node references are drawn from the test tree; on the real content most are unknown,
    # which is exactly the forged-input case.
    run_conversation(shipped_engine, sequence, start)


@given(
    st.builds(
        SessionState,
        node=st.sampled_from(NODE_IDS),
        language=st.sampled_from(["de", "en"]),
        last_seen=start_times,
        language_chosen=st.booleans(),
        back=st.lists(st.sampled_from(NODE_IDS), max_size=MAX_BACK).map(tuple),
        offered=st.lists(option_ids, max_size=8).map(tuple),
        variables=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(
            lambda d: tuple(sorted(d.items()))
        ),
    )
)
def test_state_round_trips_through_json(state: SessionState) -> None:
    data = json.loads(json.dumps(state.to_dict()))
    assert SessionState.from_dict(data) == state
