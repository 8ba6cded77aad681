"""The guided objection checklist in a Matrix direct chat, typed as a user would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.content import Content

from .clients import BotHandle, TestUser
from .conftest import make_runtime
from .test_adapter import dm, reply

StartBot = Callable[..., Awaitable[BotHandle]]
MakeUser = Callable[..., Awaitable[TestUser]]


async def test_whatsapp_only_user_who_chats_with_meta_ai(
    start_bot: StartBot, make_user: MakeUser, shipped_content: Content
) -> None:
    # The shipped checklist, with its real questions; the expectations are its own words.
    bot = await start_bot(runtime=make_runtime(shipped_content))
    user = await make_user("guideduser")
    room_id, _greeting = await dm(user, bot)

    async def say(text: str) -> str:
        mark = user.mark()
        await user.send(room_id, text)
        return (await reply(user, bot, room_id, mark)).body

    await say("/lang en")
    assert "Question 1:" in await say("walk me through it")
    # By label and by number: 2 is "No Instagram account" on the Instagram question. Without
    # Facebook and Instagram the checklist does not ask about an earlier objection.
    await say("No Facebook")
    await say("2")
    await say("I chat with Meta AI")
    checklist = await say("Germany")
    assert "Meta AI ☐" in checklist
    assert "as of December 2026 no form is confirmed" in checklist
    assert "712876720715583" not in checklist
    assert "Meta AI ✔" in await say("Meta AI done")
    assert "Meta AI ✔" in await say("/start objection-checklist")
    await say("/forget")
    assert "Meta AI ✔" not in await say("/start objection-checklist")
