"""The Matrix adapter against a real Synapse, with a second nio client as the user."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nio import MegolmEvent, RoomMemberEvent

from bot.content import Content
from bot.content.markup import to_plain
from bot.engine import Engine
from bot.events import Reply, Text

from .clients import BotHandle, Seen, TestUser
from .conftest import make_runtime
from .homeserver import Synapse

StartBot = Callable[..., Awaitable[BotHandle]]
MakeUser = Callable[..., Awaitable[TestUser]]


def from_bot(bot: BotHandle, room_id: str) -> Callable[[Seen], bool]:
    """Predicate: a message from the bot in ``room_id``."""

    def check(seen: Seen) -> bool:
        return (
            seen.room_id == room_id
            and seen.event.sender == bot.user_id
            and seen.content.get("msgtype") == "m.notice"
        )

    return check


async def reply(user: TestUser, bot: BotHandle, room_id: str, mark: int) -> Seen:
    """The first bot message in ``room_id`` after ``mark``."""
    return await user.wait_for(from_bot(bot, room_id), start=mark)


def bot_messages(user: TestUser, bot: BotHandle, room_id: str, mark: int = 0) -> list[Seen]:
    """All bot messages in ``room_id`` seen after ``mark``."""
    check = from_bot(bot, room_id)
    return [s for s in user.seen[mark:] if check(s)]


def first_line(text: str) -> str:
    """The first non-empty line of a markup text, as plain text."""
    return next(line for line in to_plain(text).splitlines() if line.strip()).strip()


def question_for(content: Content) -> tuple[str, str]:
    """A free-text question the engine matches, and the first line of its answer."""
    engine = Engine(content, session_ttl=dt.timedelta(days=1))
    now = dt.datetime.now(dt.UTC)
    for node_id in [o.to for o in content.root.options]:
        title = content.nodes[node_id].title["de"]
        _, actions = engine.handle(None, Text(text=title), now)
        answer = actions[0]
        assert isinstance(answer, Reply)
        if answer.matched:
            return title, first_line(answer.text)
    raise AssertionError("no root option title is matched as a question")


async def dm(user: TestUser, bot: BotHandle, *, encrypted: bool = False) -> tuple[str, Seen]:
    """Open a direct chat with the bot; return the room and the bot's greeting."""
    mark = user.mark()
    room_id = await user.create_room([bot.user_id], direct=True, encrypted=encrypted)
    greeting = await reply(user, bot, room_id, mark)
    return room_id, greeting


async def test_direct_chat_flow(start_bot: StartBot, make_user: MakeUser, content: Content) -> None:
    bot = await start_bot()
    user = await make_user("dmuser")
    room_id, greeting = await dm(user, bot)

    # Greeting: the main menu as an m.notice with HTML and numbered options.
    root = content.root
    assert greeting.content["msgtype"] == "m.notice"
    assert greeting.content["format"] == "org.matrix.custom.html"
    assert "<ol>" in greeting.content["formatted_body"]
    first = content.nodes[root.options[0].to]
    assert f"1. {first.title['de']}" in greeting.body

    # A bare number chooses the option.
    mark = user.mark()
    await user.send(room_id, "1")
    chosen = await reply(user, bot, room_id, mark)
    today = dt.datetime.now(dt.UTC).date()
    assert first_line(content.answer(first, "de", today)) in chosen.body

    # Free text is matched against the content.
    question, expected = question_for(content)
    mark = user.mark()
    await user.send(room_id, question)
    answer = await reply(user, bot, room_id, mark)
    assert expected in answer.body

    # /forget erases the session and confirms.
    mark = user.mark()
    await user.send(room_id, "/forget")
    forgotten = await reply(user, bot, room_id, mark)
    assert first_line(content.string("forgotten", "de")) in forgotten.body

    # Non-text messages get the "unsupported" answer in direct chats.
    mark = user.mark()
    await user.send(room_id, "photo.jpg", msgtype="m.image", url="mxc://localhost/none")
    unsupported = await reply(user, bot, room_id, mark)
    assert first_line(content.string("unsupported", "de")) in unsupported.body


async def test_encrypted_direct_chat(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser, content: Content
) -> None:
    bot = await start_bot()
    user = await make_user("e2euser")
    room_id, greeting = await dm(user, bot, encrypted=True)
    assert greeting.event.decrypted
    assert f"1. {content.nodes[content.root.options[0].to].title['de']}" in greeting.body

    question, expected = question_for(content)
    mark = user.mark()
    await user.send(room_id, question)
    answer = await reply(user, bot, room_id, mark)
    assert answer.event.decrypted
    assert expected in answer.body

    # The homeserver saw ciphertext only, in both directions.
    admin = synapse.register("e2eadmin", admin=True)
    path = f"/_synapse/admin/v1/rooms/{room_id}/messages?limit=100&dir=b"
    events = synapse.request("GET", path, token=admin.access_token)["chunk"]
    timeline = [e for e in events if "state_key" not in e]
    assert {e["sender"] for e in timeline} == {user.user_id, bot.user_id}
    assert {e["type"] for e in timeline} == {"m.room.encrypted"}
    assert question not in str(events)
    assert expected not in str(events)


def in_reply_to(seen: Seen) -> str | None:
    """The event a message replies to, if any."""
    relates = seen.content.get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


async def test_group_room(start_bot: StartBot, make_user: MakeUser, content: Content) -> None:
    bot = await start_bot(display_name="Metabot")
    alice = await make_user("alice")
    bob = await make_user("bob")
    room_id = await alice.create_room([bot.user_id, bob.user_id], name="Verein")
    await alice.wait_joined(room_id, bob.user_id)
    intro = await reply(alice, bot, room_id, 0)
    assert first_line(content.string("intro", "de")) in intro.body
    question, expected = question_for(content)

    async def ask(body: str, **extra: Any) -> Seen:
        """Send chatter first, then ``body``: the bot's next message must answer ``body``."""
        mark = alice.mark()
        await bob.send(room_id, "Hallo Alice, wie geht's?")
        await bob.send(room_id, "!meta als Notiz", msgtype="m.notice")
        event_id = await alice.send(room_id, body, **extra)
        answer = await reply(alice, bot, room_id, mark)
        assert in_reply_to(answer) == event_id, "bot answered something it should ignore"
        return answer

    # The command prefix.
    answer = await ask(f"!meta {question}")
    assert expected in answer.body
    assert answer.content["m.mentions"] == {"user_ids": [alice.user_id]}

    # A pill mention with m.mentions.
    pill = f'<a href="https://matrix.to/#/{bot.user_id}">Metabot</a>: {question}'
    answer = await ask(
        f"Metabot: {question}",
        format="org.matrix.custom.html",
        formatted_body=pill,
        **{"m.mentions": {"user_ids": [bot.user_id]}},
    )
    assert expected in answer.body

    # The display name typed by hand.
    answer = await ask(f"metabot, {question}")
    assert expected in answer.body

    # A reply to one of the bot's messages: "1" picks its first option.
    answer = await ask(
        "1", **{"m.relates_to": {"m.in_reply_to": {"event_id": intro.event.event_id}}}
    )
    assert "1." in answer.body

    # A command after the prefix.
    answer = await ask("!meta forget")
    assert first_line(content.string("forgotten", "de")) in answer.body

    # A question in a thread is answered in that thread.
    root_id = await bob.send(room_id, "Thread über Widerspruch")
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root_id}}
    answer = await ask(f"!meta {question}", **thread)
    relates = answer.content["m.relates_to"]
    assert relates["rel_type"] == "m.thread"
    assert relates["event_id"] == root_id
    assert expected in answer.body

    # Nothing else was answered: one intro plus one answer per question above.
    assert len(bot_messages(alice, bot, room_id)) == 7


async def test_invites_limited_by_allow_list(start_bot: StartBot, make_user: MakeUser) -> None:
    alice = await make_user("friend")
    mallory = await make_user("mallory")
    bot = await start_bot(allowed=f"{alice.user_id}, example.org")

    mark = mallory.mark()
    blocked = await mallory.create_room([bot.user_id], direct=True)

    def bot_left(seen: Seen) -> bool:
        event = seen.event
        return (
            seen.room_id == blocked
            and isinstance(event, RoomMemberEvent)
            and event.state_key == bot.user_id
            and event.membership == "leave"
        )

    await mallory.wait_for(bot_left, start=mark)  # the invite was rejected
    assert not bot_messages(mallory, bot, blocked)

    _, greeting = await dm(alice, bot)  # an allowed user is served
    assert greeting.body


async def test_leaves_room_when_alone(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser
) -> None:
    bot = await start_bot()
    user = await make_user("leaver")
    room_id, _ = await dm(user, bot)
    await user.client.room_leave(room_id)
    admin = synapse.register("leaveadmin", admin=True)

    def bot_gone() -> bool:
        path = f"/_synapse/admin/v1/rooms/{room_id}/members"
        return bot.user_id not in synapse.request("GET", path, token=admin.access_token)["members"]

    await user.wait_until(bot_gone, timeout=20)


async def test_restart_keeps_place_and_answers_once(
    synapse: Synapse,
    start_bot: StartBot,
    make_user: MakeUser,
    content: Content,
    tmp_path: Path,
) -> None:
    account = synapse.register("restartbot")
    db = tmp_path / "sessions.sqlite"
    user = await make_user("patient")

    # Before the bot's first start the user already wrote: that is history, never answered.
    early_room = await user.create_room([account.user_id], direct=True)
    await user.send(early_room, "Hallo? Ist da jemand?")
    await user.send(early_room, "/help")

    bot = await start_bot(account=account, runtime=make_runtime(content, db))
    greeting = await reply(user, bot, early_room, 0)
    first = content.nodes[content.root.options[0].to]
    assert f"1. {first.title['de']}" in greeting.body
    today = dt.datetime.now(dt.UTC).date()

    # One level down, then the bot stops (a new runtime object later, same session store).
    mark = user.mark()
    await user.send(early_room, "1")
    chosen = await reply(user, bot, early_room, mark)
    assert first_line(content.answer(first, "de", today)) in chosen.body
    await bot.stop()

    # Written while the bot was down: answered once after the restart, from the place the
    # user was at ("1" is the first option of the node shown last, not of the menu).
    assert first.options, "the first topic needs options for this test"
    second = content.nodes[first.options[0].to]
    mark = user.mark()
    await user.send(early_room, "1")
    await bot.runtime.close()
    bot.runtime = make_runtime(content, db)
    await bot.start()
    deeper = await reply(user, bot, early_room, mark)
    assert first_line(content.answer(second, "de", today)) in deeper.body

    mark = user.mark()
    await user.send(early_room, "/back")
    back = await reply(user, bot, early_room, mark)
    assert back.body == chosen.body

    # Another restart, then a last message: every message was answered exactly once and
    # nothing from before the first start was answered.
    await bot.restart()
    mark = user.mark()
    await user.send(early_room, "/privacy")
    await reply(user, bot, early_room, mark)
    assert len(bot_messages(user, bot, early_room)) == 5


async def test_reconnects_after_homeserver_restart(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser, content: Content
) -> None:
    bot = await start_bot()
    user = await make_user("survivor")
    room_id, _ = await dm(user, bot)

    synapse.restart()

    question, expected = question_for(content)
    mark = user.mark()
    await user.send(room_id, question)
    answer = await reply(user, bot, room_id, mark)
    assert expected in answer.body
    assert len(bot_messages(user, bot, room_id)) == 2


async def test_verified_only_answers_listed_devices_only(
    start_bot: StartBot, make_user: MakeUser, content: Content
) -> None:
    alice = await make_user("trusted")
    eve = await make_user("untrusted")
    bot = await start_bot(
        trust="verified-only", trusted_devices=f"{alice.user_id}/{alice.client.device_id}"
    )

    # A listed device gets readable answers.
    room_id, greeting = await dm(alice, bot, encrypted=True)
    assert greeting.event.decrypted
    question, expected = question_for(content)
    mark = alice.mark()
    await alice.send(room_id, question)
    assert expected in (await reply(alice, bot, room_id, mark)).body

    # Any other device gets no room keys (the greeting stays ciphertext for it) and its
    # messages are not answered.
    mark = eve.mark()
    eve_room = await eve.create_room([bot.user_id], direct=True, encrypted=True)

    def undecryptable_from_bot(seen: Seen) -> bool:
        return (
            seen.room_id == eve_room
            and isinstance(seen.event, MegolmEvent)
            and seen.event.sender == bot.user_id
        )

    await eve.wait_for(undecryptable_from_bot, start=mark)
    event_id = await eve.send(eve_room, question)
    running = bot.bot
    assert running is not None
    await eve.wait_until(lambda: running.state.is_handled(event_id))
    assert not bot_messages(eve, bot, eve_room)
    assert len([s for s in eve.seen if undecryptable_from_bot(s)]) == 1


async def test_rate_limited_replies_wait_and_arrive_once(
    synapse: Synapse,
    start_bot: StartBot,
    make_user: MakeUser,
    content: Content,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = synapse.register("slowbot")
    admin = synapse.register("rateadmin", admin=True)
    # The bot may send one message per second: its answers run into 429 responses.
    synapse.request(
        "POST",
        f"/_synapse/admin/v1/users/{account.user_id}/override_ratelimit",
        {"messages_per_second": 1, "burst_count": 1},
        token=admin.access_token,
    )
    bot = await start_bot(account=account)
    user = await make_user("impatient")
    room_id, _ = await dm(user, bot)
    question, expected = question_for(content)
    mark = user.mark()
    with caplog.at_level(logging.WARNING, logger="nio"):
        for body in ("1", question, "/privacy", "/menu"):
            await user.send(room_id, body)
        await user.wait_until(lambda: len(bot_messages(user, bot, room_id, mark)) == 4, 30)
    answers = bot_messages(user, bot, room_id, mark)
    assert expected in answers[1].body
    assert first_line(content.string("privacy", "de", days=1)) in answers[2].body
    assert any("429" in r.getMessage() for r in caplog.records)
    # A last message proves nothing more was on its way.
    mark = user.mark()
    await user.send(room_id, "/help")
    await reply(user, bot, room_id, mark)
    assert len(bot_messages(user, bot, room_id)) == 6
