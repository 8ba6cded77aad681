"""The test homeserver itself: two end-to-end capable clients talk through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nio import RoomMessageText

from .clients import TestUser
from .homeserver import Synapse


async def test_encrypted_message_between_two_clients(
    synapse: Synapse, make_user: Callable[..., Awaitable[TestUser]]
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    room_id = await alice.create_room([bob.user_id], encrypted=True, direct=True)
    await alice.wait_joined(room_id, bob.user_id)

    await alice.send(room_id, "hello bob, this is secret")
    seen = await bob.wait_for(
        lambda s: s.room_id == room_id and isinstance(s.event, RoomMessageText)
    )
    assert seen.body == "hello bob, this is secret"
    assert seen.event.decrypted

    # The homeserver only stored ciphertext: read the room as an admin, without keys.
    admin = synapse.register("admin", admin=True)
    messages = synapse.request(
        "GET", f"/_synapse/admin/v1/rooms/{room_id}/messages?limit=50", token=admin.access_token
    )
    types = {e["type"] for e in messages["chunk"] if "state_key" not in e}
    assert types == {"m.room.encrypted"}
    assert "secret" not in str(messages)
