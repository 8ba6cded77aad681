"""Matrix reply latency against a local Synapse, plain and end-to-end encrypted.

Starts a throwaway Synapse on 127.0.0.1 (the same helper the tests use), runs the
Matrix adapter with the shipped content, and lets one user talk to the bot in N rooms
at once, M messages per room, each sent after the previous answer arrived. Reply
latency is measured from the moment the user's send starts until the user's client
sees the bot's answer through its own sync.

For comparison it measures Synapse's own send-to-sync round trip in the same run and
the same way: a user sends, a second user's client sees the message through sync. A
reply needs two such trips (user -> bot, bot -> user), so the interesting figure is
the bot's overhead: reply p50 minus two round-trip p50s.

    .venv/bin/python bench/matrix_latency.py [--rooms 20] [--messages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.content import load_content
from bot.platforms.matrix import MatrixSettings
from bot.ratelimit import PerKeyLimiter
from bot.runtime import Runtime
from bot.store.memory import MemoryStore
from tests.matrix.clients import BotHandle, Seen, TestUser
from tests.matrix.homeserver import Synapse

MESSAGES = ("Wie widerspreche ich?", "1", "/menu", "Was macht Meta mit meinen Daten?", "2")


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(name: str, samples: list[float]) -> str:
    """One result line, in milliseconds."""
    ms = [s * 1000 for s in samples]
    return (
        f"{name:<34} n={len(ms):<4} p50={percentile(ms, 50):7.1f} ms  "
        f"p95={percentile(ms, 95):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms"
    )


async def conversation(
    sender: TestUser,
    room_id: str,
    messages: int,
    is_answer: Callable[[Seen], bool],
    receiver: TestUser,
) -> list[float]:
    """Send ``messages`` messages one after another; time each until ``receiver`` sees the answer."""
    samples = []
    for i in range(messages):
        mark = receiver.mark()
        started = time.perf_counter()
        await sender.send(room_id, MESSAGES[i % len(MESSAGES)])
        await receiver.wait_for(is_answer, start=mark, timeout=60)
        samples.append(time.perf_counter() - started)
    return samples


async def measure_bot(
    user: TestUser, bot: BotHandle, rooms: int, messages: int, encrypted: bool
) -> list[float]:
    """Reply latency: the user asks, the user sees the bot's answer."""
    room_ids = []
    for _ in range(rooms):
        mark = user.mark()
        room_id = await user.create_room([bot.user_id], direct=True, encrypted=encrypted)
        await user.wait_for(lambda s, r=room_id: s.room_id == r and s.event.sender == bot.user_id,
                            start=mark, timeout=60)  # fmt: skip
        room_ids.append(room_id)

    def answer_in(room_id: str) -> Callable[[Seen], bool]:
        return lambda s: s.room_id == room_id and s.event.sender == bot.user_id

    results = await asyncio.gather(
        *(conversation(user, r, messages, answer_in(r), user) for r in room_ids)
    )
    return [s for r in results for s in r]


async def measure_synapse(
    alice: TestUser, bob: TestUser, rooms: int, messages: int, encrypted: bool
) -> list[float]:
    """Send-to-sync round trip: alice sends, bob's sync shows it."""
    room_ids = []
    for _ in range(rooms):
        room_id = await alice.create_room([bob.user_id], encrypted=encrypted)
        await alice.wait_joined(room_id, bob.user_id, timeout=60)
        room_ids.append(room_id)

    def seen_by_bob(room_id: str) -> Callable[[Seen], bool]:
        return lambda s: s.room_id == room_id and s.event.sender == alice.user_id and bool(s.body)

    results = await asyncio.gather(
        *(conversation(alice, r, messages, seen_by_bob(r), bob) for r in room_ids)
    )
    return [s for r in results for s in r]


async def run(rooms: int, messages: int) -> None:
    """Start Synapse, measure everything, print the figures."""
    with tempfile.TemporaryDirectory(prefix="matrix-bench-") as tmp_name:
        tmp = Path(tmp_name)
        synapse = Synapse(tmp / "synapse")
        t0 = time.perf_counter()
        synapse.start()
        print(f"Synapse ready in {time.perf_counter() - t0:.1f} s on {synapse.url}")
        try:
            await _measure(synapse, tmp, rooms, messages)
        finally:
            synapse.stop()


async def _measure(synapse: Synapse, tmp: Path, rooms: int, messages: int) -> None:
    content = load_content()
    runtime = Runtime(
        content,
        MemoryStore(dt.timedelta(days=1)),
        b"bench-secret",
        # One user talks in many rooms at once here; the per-user flood limit would
        # measure itself instead of the adapter.
        limiter=PerKeyLimiter("1000000/minute"),
    )
    account = synapse.register("benchbot")
    settings = MatrixSettings(
        homeserver=synapse.url,
        user_id=account.user_id,
        password=account.password,
        sync_timeout_ms=30_000,
    )
    bot = BotHandle(account, settings, runtime, tmp / "bot")
    await bot.start()
    clients: list[TestUser] = []

    async def user(name: str) -> TestUser:
        client = TestUser(synapse, synapse.register(name), tmp / f"store-{name}")
        await client.start()
        clients.append(client)
        return client

    try:
        alice, bob, carol = await user("alice"), await user("bob"), await user("carol")
        total = rooms * messages
        print(f"{rooms} rooms x {messages} messages, rooms in parallel ({total} per line)\n")
        steps: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
            ("synapse send->sync, plain", lambda: measure_synapse(alice, bob, rooms, messages, False)),
            ("bot reply, plain", lambda: measure_bot(carol, bot, rooms, messages, False)),
            ("synapse send->sync, encrypted", lambda: measure_synapse(alice, bob, rooms, messages, True)),
            ("bot reply, encrypted", lambda: measure_bot(carol, bot, rooms, messages, True)),
        ]  # fmt: skip
        results: dict[str, list[float]] = {}
        for name, step in steps:
            results[name] = await step()
            print(summary(name, results[name]), flush=True)
        print()
        for kind in ("plain", "encrypted"):
            for pct in (50, 95):
                rtt = percentile(results[f"synapse send->sync, {kind}"], pct) * 1000
                reply = percentile(results[f"bot reply, {kind}"], pct) * 1000
                print(
                    f"{kind:<9} reply p{pct} = {reply / rtt:4.1f} x Synapse send->sync p{pct} "
                    f"(a reply needs two trips; reply - 2 x trip = {reply - 2 * rtt:+7.1f} ms)"
                )
        print(
            "\nAll clients, the bot and Synapse share this machine; under parallel load the"
            "\nbot's syncs pick up several rooms at once, so the difference can go negative."
        )
    finally:
        for client in clients:
            await client.stop()
        await bot.stop()
        await runtime.close()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.rooms, args.messages))


if __name__ == "__main__":
    main()
