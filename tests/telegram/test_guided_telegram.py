"""The guided objection checklist through the real Telegram adapter and the fake Bot API."""

from __future__ import annotations

from urllib.parse import unquote

from conftest import BotFactory
from fake_bot_api import FakeBotApi, FakeChat, FakeUser, Sent

IG_FORM = "https://help.instagram.com/contact/767264225370182"


def data_of(sent: Sent, label: str) -> str:
    """The callback data of the button labelled ``label``."""
    found = [b["callback_data"] for b in sent.buttons if b.get("text") == label]
    assert found, f"no button {label!r} in {[b.get('text') for b in sent.buttons]}"
    return found[0]


async def test_instagram_only_user_in_austria_by_buttons(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    user = FakeUser(id=1201, language_code="de")
    async with run_bot() as bot:
        api.message(user, "/start objection")
        [first] = await api.wait_sent(user.id)
        assert "Frage 1:" in first.visible
        last = first
        for count, label in enumerate(
            ["Kein Facebook-Konto", "Ja, Instagram-Konto", "Nie widersprochen", "Kein Meta AI"], 2
        ):
            api.press(user, last, data_of(last, label))
            last = (await api.wait_sent(user.id, count))[-1]
        api.press(user, last, data_of(last, "Österreich"))
        checklist = (await api.wait_sent(user.id, 6))[-1]
        assert "Instagram ☐" in checklist.visible
        assert IG_FORM in checklist.text
        api.press(user, checklist, data_of(checklist, "Instagram erledigt"))
        ticked = (await api.wait_sent(user.id, 7))[-1]
        assert "Instagram ✔" in ticked.visible
        assert "Instagram erledigt" not in [b.get("text") for b in ticked.buttons]
        api.press(user, ticked, data_of(ticked, "Wie geht es weiter?"))
        after = (await api.wait_sent(user.id, 8))[-1]
        assert "dsb.gv.at" in after.visible
        api.message(user, "/forget")
        await api.wait_sent(user.id, 9)
        assert await bot.runtime.store.count() == 0


async def test_in_a_group_the_checklist_opens_in_a_private_chat(
    api: FakeBotApi, run_bot: BotFactory
) -> None:
    alice = FakeUser(id=1202, language_code="de")
    group = FakeChat(id=-12001, type="group", title="Familie")
    async with run_bot():
        api.message(alice, "/start@TestBot objection", chat=group)
        [reply] = await api.wait_sent(group.id)
        assert "https://t.me/TestBot?start=objection" in [
            unquote(b["url"]) for b in reply.buttons if "url" in b
        ]
        assert "Frage 1:" not in reply.visible
        assert "Ja, Facebook-Konto" not in [b.get("text") for b in reply.buttons]
