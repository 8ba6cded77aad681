"""Which sender devices the Matrix adapter answers, decided without a homeserver.

The encrypted-room tests (test_trust.py) cover MATRIX_BLOCKED_DEVICES end to end; these pin
the rule itself for every policy, including a device blacklisted in the crypto store by
something other than the adapter (another client of the operator, an earlier run).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bot.platforms.matrix import MatrixBot

SENDER = "@alice:example.org"


def _device(*, blacklisted: bool = False, device_id: str = "ALICEPHONE") -> SimpleNamespace:
    return SimpleNamespace(
        user_id=SENDER,
        device_id=device_id,
        ed25519="ed-" + device_id,
        curve25519="curve-" + device_id,
        blacklisted=blacklisted,
    )


def _bot(policy: str, device: SimpleNamespace, *, trusted: bool = False) -> Any:
    bot: Any = object.__new__(MatrixBot)
    bot.settings = SimpleNamespace(trust=policy)
    bot.blocked = set()
    bot.trusted = {(SENDER, device.device_id)} if trusted else set()
    store = SimpleNamespace(active_user_devices=lambda user: [device] if user == SENDER else [])
    bot.client = SimpleNamespace(device_store=store, should_query_keys=False)
    bot._crypto_lock = asyncio.Lock()
    return bot


def _event(device: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(sender=SENDER, sender_key=device.curve25519)


@pytest.mark.parametrize("policy", ["tofu", "all", "verified-only"])
async def test_a_device_blacklisted_in_the_crypto_store_is_never_answered(policy: str) -> None:
    device = _device(blacklisted=True)
    bot = _bot(policy, device, trusted=True)  # even when also listed as trusted
    assert await bot._trusted_sender(_event(device)) is False


@pytest.mark.parametrize(
    ("policy", "trusted", "answered"),
    [
        ("tofu", False, True),
        ("all", False, True),
        ("verified-only", False, False),
        ("verified-only", True, True),
    ],
)
async def test_a_device_not_blacklisted_follows_the_policy(
    policy: str, trusted: bool, answered: bool
) -> None:
    device = _device()
    bot = _bot(policy, device, trusted=trusted)
    assert await bot._trusted_sender(_event(device)) is answered


async def test_a_device_on_the_blocked_list_is_never_answered() -> None:
    device = _device()
    bot = _bot("all", device)
    bot.blocked = {(SENDER, "ALICEPHONE")}
    assert await bot._trusted_sender(_event(device)) is False


# -- log lines name users by their pseudonymous key -------------------------------------------


async def test_log_lines_about_a_sender_never_hold_their_matrix_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An operator reading the log can tell users apart, but not who they are."""
    import datetime as dt
    import logging

    from bot.content import load_content
    from bot.runtime import Runtime
    from bot.store import MemoryStore

    device = _device()
    bot = _bot("verified-only", device)
    bot.runtime = Runtime(load_content(), MemoryStore(dt.timedelta(days=1)), b"secret")
    bot.settings.user_id = "@bot:example.org"
    bot.allow = SimpleNamespace(allows=lambda user: False)
    bot.ignored = SimpleNamespace(lists=lambda user: False)
    left: list[str] = []

    async def room_leave(room_id: str) -> None:
        left.append(room_id)

    bot.client.room_leave = room_leave
    caplog.set_level(logging.DEBUG)
    from nio import InviteMemberEvent

    event = object.__new__(InviteMemberEvent)
    fields = {"state_key": bot.user_id, "membership": "invite", "sender": SENDER, "content": {}}
    for name, value in fields.items():
        object.__setattr__(event, name, value)
    await bot._on_invite("!room:example.org", [event])
    assert left == ["!room:example.org"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "rejecting invite" in logged
    assert "alice" not in logged
    assert bot._who(SENDER) in logged and bot._who(SENDER) != bot._who("@bob:example.org")
