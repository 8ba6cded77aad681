"""The Matrix adapter against a real Synapse, with a second nio client as the user."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nio import MegolmEvent, RoomMemberEvent, RoomSendResponse

from bot.content import Content

from .clients import BotHandle, Seen, TestUser
from .conftest import make_runtime
from .homeserver import Synapse
from .proxy import CuttableProxy

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


# Hand-written expectations from the test tree (tests/fixtures/tree.py).
MENU = "WILLKOMMEN-DE"
"""The start node's text (today is after its 'before' variant)."""
MENU_FIRST = "1. Widerspruch einlegen"
"""The first option of the start menu as the numbered list shows it."""
QUESTION = "Wie widerspreche ich der KI-Nutzung?"
"""A question the node ``objection`` lists."""
OBJECTION = "WIDERSPRUCH-DE"
"""The text of ``objection``: option 1 of the menu, or the answer to ``QUESTION``."""
DEADLINE_QUESTION = "Bis wann kann ich widersprechen?"
DEADLINE = "NACHHER-DE"
"""The text of ``deadline`` after its switch-over date."""
INSTAGRAM = "INSTAGRAM-DE"
"""``objection-instagram``: option 1 on ``objection``."""
PRIVACY = "DATENSCHUTZ-DE 1 Tage"
"""The privacy string with the test runtime's one-day session lifetime."""


async def dm(user: TestUser, bot: BotHandle, *, encrypted: bool = False) -> tuple[str, Seen]:
    """Open a direct chat with the bot; return the room and the bot's greeting."""
    mark = user.mark()
    room_id = await user.create_room([bot.user_id], direct=True, encrypted=encrypted)
    greeting = await reply(user, bot, room_id, mark)
    return room_id, greeting


async def test_direct_chat_flow(start_bot: StartBot, make_user: MakeUser) -> None:
    bot = await start_bot()
    user = await make_user("dmuser")
    room_id, greeting = await dm(user, bot)

    # Greeting: the main menu as an m.notice with HTML and numbered options.
    assert greeting.content["msgtype"] == "m.notice"
    assert greeting.content["format"] == "org.matrix.custom.html"
    assert "<li>Widerspruch einlegen</li>" in greeting.content["formatted_body"]
    assert greeting.body.startswith(MENU)
    assert MENU_FIRST in greeting.body

    # A bare number chooses the option.
    mark = user.mark()
    await user.send(room_id, "1")
    chosen = await reply(user, bot, room_id, mark)
    assert chosen.body.startswith(OBJECTION)
    assert "1. Bei Instagram" in chosen.body

    # Free text is matched against the content.
    mark = user.mark()
    await user.send(room_id, DEADLINE_QUESTION)
    answer = await reply(user, bot, room_id, mark)
    assert answer.body.startswith(DEADLINE)

    # /forget erases the session and confirms.
    mark = user.mark()
    await user.send(room_id, "/forget")
    forgotten = await reply(user, bot, room_id, mark)
    assert forgotten.body.startswith("VERGESSEN-DE")

    # Non-text messages get the "unsupported" answer in direct chats.
    mark = user.mark()
    await user.send(room_id, "photo.jpg", msgtype="m.image", url="mxc://localhost/none")
    unsupported = await reply(user, bot, room_id, mark)
    assert unsupported.body.startswith("NURTEXT-DE")


async def test_encrypted_direct_chat(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser
) -> None:
    bot = await start_bot()
    user = await make_user("e2euser")
    room_id, greeting = await dm(user, bot, encrypted=True)
    assert greeting.event.decrypted
    assert greeting.body.startswith(MENU)

    question, expected = QUESTION, OBJECTION
    mark = user.mark()
    await user.send(room_id, question)
    answer = await reply(user, bot, room_id, mark)
    assert answer.event.decrypted
    assert answer.body.startswith(expected)

    # The homeserver saw ciphertext only, in both directions.
    admin = synapse.register("e2eadmin", admin=True)
    path = f"/_synapse/admin/v1/rooms/{room_id}/messages?limit=100&dir=b"
    events = synapse.request("GET", path, token=admin.access_token)["chunk"]
    timeline = [e for e in events if "state_key" not in e]
    assert {e["sender"] for e in timeline} == {user.user_id, bot.user_id}
    assert {e["type"] for e in timeline} == {"m.room.encrypted"}
    assert question not in str(events)
    assert expected not in str(events)

    # And in Synapse's own database: every stored non-state event of the room is
    # ciphertext, and no stored event JSON contains the question or the answer.
    types, stored = synapse_room_events(synapse, room_id)
    assert types == {"m.room.encrypted"}
    assert all(question not in j and expected not in j for j in stored)
    assert any('"m.room.encrypted"' in j for j in stored)

    # A restart is the same device with the same keys: a message written while the bot
    # was down is decrypted and answered, and the answer decrypts for the user.
    running = bot.bot
    assert running is not None
    device_id = running.client.device_id
    identity = user.client.device_store[bot.user_id][device_id].ed25519
    await bot.stop()
    mark = user.mark()
    await user.send(room_id, "/help")
    await bot.start()
    after = await reply(user, bot, room_id, mark)
    assert after.event.decrypted
    assert after.body.startswith("HILFE-DE")
    assert bot.bot is not None and bot.bot.client.device_id == device_id
    assert list(user.client.device_store.active_user_devices(bot.user_id)) == [
        user.client.device_store[bot.user_id][device_id]
    ]
    assert user.client.device_store[bot.user_id][device_id].ed25519 == identity


def synapse_room_events(synapse: Synapse, room_id: str) -> tuple[set[str], list[str]]:
    """Types of the room's non-state events and all its event JSON, from Synapse's SQLite."""
    db = sqlite3.connect(f"file:{synapse.base_dir / 'homeserver.db'}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute(
            "SELECT e.type FROM events e LEFT JOIN state_events s ON s.event_id = e.event_id"
            " WHERE e.room_id = ? AND s.event_id IS NULL",
            (room_id,),
        ).fetchall()
        stored = db.execute("SELECT json FROM event_json WHERE room_id = ?", (room_id,)).fetchall()
    finally:
        db.close()
    return {r[0] for r in rows}, [str(j[0]) for j in stored]


def in_reply_to(seen: Seen) -> str | None:
    """The event a message replies to, if any."""
    relates = seen.content.get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


async def test_group_room(start_bot: StartBot, make_user: MakeUser) -> None:
    bot = await start_bot(display_name="Metabot")
    alice = await make_user("alice")
    bob = await make_user("bob")
    room_id = await alice.create_room([bot.user_id, bob.user_id], name="Verein")
    await alice.wait_joined(room_id, bob.user_id)
    intro = await reply(alice, bot, room_id, 0)
    assert intro.body.startswith("GRUPPE-DE !meta")
    question, expected = QUESTION, OBJECTION

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

    # A reply to one of the bot's messages is for the bot, and a number picks from the
    # list of the message replied to, even a list the bot showed someone else.
    mark = alice.mark()
    await bob.send(room_id, "!meta")
    menu = await reply(alice, bot, room_id, mark)
    assert MENU_FIRST in menu.body
    number = "1"
    answer = await ask(
        number, **{"m.relates_to": {"m.in_reply_to": {"event_id": menu.event.event_id}}}
    )
    assert answer.body.startswith(OBJECTION)

    # A keycap reaction with that number on the menu does the same.
    mark = alice.mark()
    key = f"{number}\ufe0f\u20e3"
    reaction = {"rel_type": "m.annotation", "event_id": menu.event.event_id, "key": key}
    resp = await alice.client.room_send(room_id, "m.reaction", {"m.relates_to": reaction})
    assert isinstance(resp, RoomSendResponse), resp
    answer = await reply(alice, bot, room_id, mark)
    assert in_reply_to(answer) == menu.event.event_id
    assert answer.content["m.mentions"] == {"user_ids": [alice.user_id]}
    assert answer.body.startswith(OBJECTION)

    # A command after the prefix.
    answer = await ask("!meta forget")
    assert answer.body.startswith("VERGESSEN-DE")

    # A question in a thread is answered in that thread.
    root_id = await bob.send(room_id, "Thread über Widerspruch")
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root_id}}
    answer = await ask(f"!meta {question}", **thread)
    relates = answer.content["m.relates_to"]
    assert relates["rel_type"] == "m.thread"
    assert relates["event_id"] == root_id
    assert expected in answer.body

    # Nothing else was answered: one intro plus one answer per question above.
    assert len(bot_messages(alice, bot, room_id)) == 9


async def test_group_greeting_names_the_prefix(
    start_bot: StartBot, make_user: MakeUser, shipped_content: Content
) -> None:
    # In groups only the prefix or a mention reaches the bot, and the greeting says so with
    # the configured prefix; a direct chat starts with the menu.
    bot = await start_bot(prefix="!frag")
    alice = await make_user("greeted")
    bob = await make_user("greetedtoo")
    group = await alice.create_room([bot.user_id, bob.user_id], name="Gruß")
    await alice.wait_joined(group, bob.user_id)
    intro = await reply(alice, bot, group, 0)
    assert intro.body.startswith("GRUPPE-DE !frag")
    mark = alice.mark()
    await alice.send(group, "!frag")
    assert (await reply(alice, bot, group, mark)).body.startswith(MENU)
    _, greeting = await dm(alice, bot)
    assert greeting.body.startswith(MENU)

    # The shipped greeting: the prefix and a mention, not /start (ignored in groups).
    shipped = await start_bot(prefix="!frag", runtime=make_runtime(shipped_content))
    group = await alice.create_room([shipped.user_id, bob.user_id], name="Echt")
    await alice.wait_joined(group, bob.user_id)
    intro = await reply(alice, shipped, group, 0)
    assert "mit !frag beginnen oder mich erwähnen" in intro.body
    assert "„!frag Wie widerspreche ich?“" in intro.body
    assert "/start" not in intro.body


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


def member_check(synapse: Synapse) -> Callable[[str, str], bool]:
    """``is_member(room_id, user_id)``: whether a user is joined, asked from Synapse's side."""
    admin = synapse.register(f"memberadmin{uuid.uuid4().hex[:8]}", admin=True)

    def is_member(room_id: str, user_id: str) -> bool:
        path = f"/_synapse/admin/v1/rooms/{room_id}/members"
        return user_id in synapse.request("GET", path, token=admin.access_token)["members"]

    return is_member


async def test_leaves_room_when_alone(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser
) -> None:
    is_member = member_check(synapse)
    bot = await start_bot()
    user = await make_user("leaver")
    room_id, _ = await dm(user, bot)
    await user.client.room_leave(room_id)
    await user.wait_until(lambda: not is_member(room_id, bot.user_id), timeout=30)

    # A group room: the bot stays while anyone is left, and leaves with the last one.
    alice = await make_user("groupleaver")
    bob = await make_user("groupstayer")
    group = await alice.create_room([bot.user_id, bob.user_id], name="Kurz")
    await alice.wait_joined(group, bob.user_id)
    await reply(alice, bot, group, 0)  # the intro
    await alice.client.room_leave(group)
    await bob.wait_until(lambda: alice.user_id not in bob.client.rooms[group].users, 30)
    mark = bob.mark()
    await bob.send(group, "/help")  # just bob and the bot now: every message is for it
    await reply(bob, bot, group, mark)
    assert is_member(group, bot.user_id)
    await bob.client.room_leave(group)
    await bob.wait_until(lambda: not is_member(group, bot.user_id), timeout=30)


async def test_never_answers_notices_other_bots_or_itself(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser
) -> None:
    other_bot = await make_user("otherbot")
    bot = await start_bot(ignore_users=other_bot.user_id)
    running = bot.bot
    assert running is not None
    user = await make_user("human")
    room_id, _ = await dm(user, bot)

    # In a direct chat every message is for the bot, except notices (what bots send) and
    # the bot account's own messages, also from another device of it (an operator).
    ignored = [await user.send(room_id, "/help", msgtype="m.notice")]
    path = f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}"
    own = {"msgtype": "m.text", "body": "/help"}
    ignored.append(synapse.request("PUT", path, own, token=bot.account.access_token)["event_id"])
    await user.wait_until(lambda: all(running.state.is_handled(e) for e in ignored), 30)
    mark = user.mark()
    await user.send(room_id, "/privacy")
    await reply(user, bot, room_id, mark)
    assert len(bot_messages(user, bot, room_id)) == 2  # greeting and /privacy

    # A bot on MATRIX_IGNORE_USERS is not answered in groups, even when it uses m.text and
    # the prefix, and its invites are declined.
    group = await user.create_room([bot.user_id, other_bot.user_id], name="Mit Bots")
    await user.wait_joined(group, other_bot.user_id)
    await reply(user, bot, group, 0)
    from_other = await other_bot.send(group, "!meta /help")
    await user.wait_until(lambda: running.state.is_handled(from_other), 30)
    mark = user.mark()
    await user.send(group, "!meta /privacy")
    await reply(user, bot, group, mark)
    assert len(bot_messages(user, bot, group)) == 2  # intro and /privacy

    mark = other_bot.mark()
    declined = await other_bot.create_room([bot.user_id], direct=True)

    def bot_left(seen: Seen) -> bool:
        return (
            seen.room_id == declined
            and isinstance(seen.event, RoomMemberEvent)
            and seen.event.state_key == bot.user_id
            and seen.event.membership == "leave"
        )

    await other_bot.wait_for(bot_left, start=mark, timeout=30)


async def test_personal_node_offered_in_direct_chat(
    start_bot: StartBot, make_user: MakeUser
) -> None:
    bot = await start_bot()
    alice = await make_user("personal")
    bob = await make_user("onlooker")
    group = await alice.create_room([bot.user_id, bob.user_id], name="Verein")
    await alice.wait_joined(group, bob.user_id)
    await reply(alice, bot, group, 0)
    question = "Mein Fall"  # the title of the personal node my-case

    # In the group: a hint with a link to a new direct chat the bot invites the asker to.
    mark = alice.mark()
    await alice.send(group, f"!meta {question}")
    hint = await reply(alice, bot, group, mark)
    assert hint.body.startswith("PRIVAT-DE Mein Fall")
    assert "MEINFALL-DE" not in hint.body
    assert "Privat weiter: https://matrix.to/#/" in hint.body

    def in_direct_chat(seen: Seen) -> bool:
        return (
            seen.room_id != group
            and seen.event.sender == bot.user_id
            and seen.content.get("msgtype") == "m.notice"
        )

    # Alice accepts the invite (her client auto-joins); the bot then shows the node there,
    # end-to-end encrypted.
    shown = await alice.wait_for(in_direct_chat, start=mark, timeout=30)
    direct = shown.room_id
    assert f"https://matrix.to/#/{direct}" in hint.content["formatted_body"]
    assert shown.event.decrypted
    assert shown.body.startswith("MEINFALL-DE")
    assert alice.client.rooms[direct].encrypted

    # Numbers now choose from that node's options ("Quellen", "Menü"), in the direct chat.
    assert "1. Quellen\n2. Menü" in shown.body
    mark = alice.mark()
    await alice.send(direct, "2")
    chosen = await reply(alice, bot, direct, mark)
    assert chosen.body.startswith(MENU)

    # Asking again reuses the same direct chat; nobody else was invited anywhere.
    mark = alice.mark()
    await alice.send(group, f"!meta {question}")
    await reply(alice, bot, group, mark)
    again = await alice.wait_for(in_direct_chat, start=mark, timeout=30)
    assert again.room_id == direct
    assert again.body.startswith("MEINFALL-DE")
    assert set(alice.client.rooms) == {group, direct}
    assert set(bob.client.rooms) == {group}


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

    # Before the adapter's first start the account is already in a room where the user
    # wrote: that is old history and is never answered.
    old_room = await user.create_room([account.user_id], direct=True)
    synapse.request("POST", f"/_matrix/client/v3/join/{old_room}", {}, token=account.access_token)
    await user.wait_joined(old_room, account.user_id)
    await user.send(old_room, "Hallo? Ist da jemand?")
    await user.send(old_room, "/help")
    # And a pending invite with messages from before the bot joined: also never answered.
    early_room = await user.create_room([account.user_id], direct=True)
    await user.send(early_room, "Hallo? Ist da jemand?")
    await user.send(early_room, "/help")

    bot = await start_bot(account=account, runtime=make_runtime(content, db))
    running = bot.bot
    assert running is not None
    device_id = running.client.device_id
    greeting = await reply(user, bot, early_room, 0)
    assert greeting.body.startswith(MENU)

    # One level down, then the bot stops (a new runtime object later, same session store).
    mark = user.mark()
    await user.send(early_room, "1")
    chosen = await reply(user, bot, early_room, mark)
    assert chosen.body.startswith(OBJECTION)
    await bot.stop()

    # Written while the bot was down: answered once after the restart, from the place the
    # user was at (the number picks from the node shown last, not from the menu).
    mark = user.mark()
    await user.send(early_room, "1")  # "Bei Instagram" on objection; "Widerspruch" on the menu
    await bot.runtime.close()
    bot.runtime = make_runtime(content, db)
    await bot.start()
    assert bot.bot is not None and bot.bot.client.device_id == device_id  # same device
    deeper = await reply(user, bot, early_room, mark)
    assert deeper.body.startswith(INSTAGRAM)

    mark = user.mark()
    await user.send(early_room, "/back")
    back = await reply(user, bot, early_room, mark)
    assert back.body == chosen.body

    # Another restart, then a last message in each room: every message was answered
    # exactly once and nothing from before the first start was answered.
    await bot.restart()
    assert bot.bot is not None and bot.bot.client.device_id == device_id
    mark = user.mark()
    await user.send(early_room, "/privacy")
    await reply(user, bot, early_room, mark)
    mark = user.mark()
    await user.send(old_room, "/help")
    await reply(user, bot, old_room, mark)
    assert len(bot_messages(user, bot, early_room)) == 5
    assert len(bot_messages(user, bot, old_room)) == 1


async def test_reconnects_after_homeserver_restart(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser
) -> None:
    bot = await start_bot()
    user = await make_user("survivor")
    room_id, _ = await dm(user, bot)

    synapse.restart()

    mark = user.mark()
    await user.send(room_id, QUESTION)
    answer = await reply(user, bot, room_id, mark)
    assert answer.body.startswith(OBJECTION)
    assert len(bot_messages(user, bot, room_id)) == 2


async def test_outage_nothing_lost_nothing_twice(
    synapse: Synapse, start_bot: StartBot, make_user: MakeUser
) -> None:
    # The bot reaches Synapse through a proxy that can cut the line; the user does not,
    # so messages keep arriving at the homeserver while the bot cannot see it.
    proxy = CuttableProxy(synapse.port)
    await proxy.start()
    try:
        bot = await start_bot(homeserver=proxy.url, shutdown_grace=2.0)
        user = await make_user("offline")
        room_id, _ = await dm(user, bot)

        proxy.cut()
        mark = user.mark()
        for body in ("1", DEADLINE_QUESTION, "/privacy"):
            await user.send(room_id, body)
        refused = proxy.refused
        await user.wait_until(lambda: proxy.refused > refused, 30)  # the bot keeps trying
        proxy.restore()

        await user.wait_until(lambda: len(bot_messages(user, bot, room_id, mark)) >= 3, 60)
        answers = bot_messages(user, bot, room_id, mark)
        assert answers[0].body.startswith(OBJECTION)
        assert answers[1].body.startswith(DEADLINE)
        assert answers[2].body.startswith(PRIVACY)

        # Stopping while the homeserver is unreachable ends within the grace period;
        # what was written meanwhile is answered once after the next start.
        proxy.cut()
        mark = user.mark()
        await user.send(room_id, "/help")
        await asyncio.wait_for(bot.stop(), 30)
        proxy.restore()
        await bot.start()
        await reply(user, bot, room_id, mark)
        mark = user.mark()
        await user.send(room_id, "/menu")
        await reply(user, bot, room_id, mark)
        assert len(bot_messages(user, bot, room_id)) == 6
    finally:
        await proxy.stop()


async def test_verified_only_answers_listed_devices_only(
    start_bot: StartBot, make_user: MakeUser
) -> None:
    alice = await make_user("trusted")
    eve = await make_user("untrusted")
    bot = await start_bot(
        trust="verified-only", trusted_devices=f"{alice.user_id}/{alice.client.device_id}"
    )

    # A listed device gets readable answers.
    room_id, greeting = await dm(alice, bot, encrypted=True)
    assert greeting.event.decrypted
    question = QUESTION
    mark = alice.mark()
    await alice.send(room_id, question)
    assert (await reply(alice, bot, room_id, mark)).body.startswith(OBJECTION)

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
    mark = user.mark()
    with caplog.at_level(logging.WARNING, logger="nio"):
        for body in ("1", DEADLINE_QUESTION, "/privacy", "/menu"):
            await user.send(room_id, body)
        await user.wait_until(lambda: len(bot_messages(user, bot, room_id, mark)) == 4, 30)
    answers = bot_messages(user, bot, room_id, mark)
    assert answers[0].body.startswith(OBJECTION)
    assert answers[1].body.startswith(DEADLINE)
    assert answers[2].body.startswith(PRIVACY)
    assert answers[3].body.startswith(MENU)
    assert any("429" in r.getMessage() for r in caplog.records)
    # A last message proves nothing more was on its way.
    mark = user.mark()
    await user.send(room_id, "/help")
    await reply(user, bot, room_id, mark)
    assert len(bot_messages(user, bot, room_id)) == 6
