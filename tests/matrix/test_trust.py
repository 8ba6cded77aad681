"""A blacklisted device is never trusted, under every trust policy, in a real encrypted room."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from nio import MegolmEvent

from .clients import BotHandle, Seen, TestUser
from .test_adapter import OBJECTION, QUESTION, bot_messages, in_reply_to, reply

StartBot = Callable[..., Awaitable[BotHandle]]
MakeUser = Callable[..., Awaitable[TestUser]]


@pytest.mark.parametrize("policy", ["tofu", "all", "verified-only"])
async def test_blocked_device_gets_no_keys_and_no_answers(
    start_bot: StartBot, make_user: MakeUser, policy: str
) -> None:
    alice = await make_user("keeper")
    eve = await make_user("blocked")
    eve_device = f"{eve.user_id}/{eve.client.device_id}"
    # Eve's device is blocked by the operator (MATRIX_BLOCKED_DEVICES). Under verified-only
    # it is also listed as trusted: the block wins.
    bot = await start_bot(
        trust=policy,
        trusted_devices=f"{alice.user_id}/{alice.client.device_id} {eve_device}",
        blocked_devices=eve_device,
    )
    running = bot.bot
    assert running is not None

    room_id = await alice.create_room([bot.user_id, eve.user_id], encrypted=True, name="E2E")
    await alice.wait_joined(room_id, eve.user_id)
    intro = await reply(alice, bot, room_id, 0)
    assert intro.event.decrypted  # Alice's device has the keys

    def undecryptable_from_bot(seen: Seen) -> bool:
        return (
            seen.room_id == room_id
            and isinstance(seen.event, MegolmEvent)
            and seen.event.sender == bot.user_id
        )

    await eve.wait_for(undecryptable_from_bot)  # the same intro, without keys for Eve

    # Eve's message decrypts for the bot (she shares her keys) but is not answered;
    # Alice's next one is, and its answer is again unreadable for Eve's device.
    from_eve = await eve.send(room_id, f"!meta {QUESTION}")
    await eve.wait_until(lambda: running.state.is_handled(from_eve), 30)
    mark = alice.mark()
    from_alice = await alice.send(room_id, f"!meta {QUESTION}")
    answer = await reply(alice, bot, room_id, mark)
    assert in_reply_to(answer) == from_alice
    assert answer.event.decrypted
    assert answer.body.startswith(OBJECTION)
    assert len(bot_messages(alice, bot, room_id)) == 2  # the intro and Alice's answer
    await eve.wait_until(lambda: len([s for s in eve.seen if undecryptable_from_bot(s)]) == 2)
    assert not bot_messages(eve, bot, room_id)
