"""Matrix reply latency against a local Synapse, plain and end-to-end encrypted.

Starts a throwaway Synapse on 127.0.0.1 (the same helper the tests use), runs the
Matrix adapter with the shipped content, and lets one user talk to the bot in N rooms
at once, M messages per room, each sent after the previous answer arrived. Reply
latency is measured from the moment the user's send starts until the user's client
sees the bot's answer through its own sync.

For comparison it measures Synapse's own send-to-sync round trip in the same run and
the same way: a user sends, a second user's client sees the message through sync. A
reply needs two such trips (user -> bot, bot -> user), so the interesting figure is
the bot's overhead: reply p50 minus two round-trip p50s. The target: reply p50 at most
1.2 x two round trips (p50), with 1 and with 10 busy rooms, plain and encrypted.

    .venv/bin/python bench/matrix_latency.py [--rooms 1,10] [--messages 10]

``--rooms`` lists the room counts to measure one after the other (fresh rooms each time).
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


TARGET = 1.2
"""Reply p50 / (2 x Synapse send->sync p50) at most this."""


async def run(room_counts: list[int], messages: int) -> None:
    """Start Synapse, measure everything, print the figures."""
    with tempfile.TemporaryDirectory(prefix="matrix-bench-") as tmp_name:
        tmp = Path(tmp_name)
        synapse = Synapse(tmp / "synapse")
        t0 = time.perf_counter()
        synapse.start()
        print(f"Synapse ready in {time.perf_counter() - t0:.1f} s on {synapse.url}")
        try:
            await _measure(synapse, tmp, room_counts, messages)
        finally:
            synapse.stop()


async def _measure(synapse: Synapse, tmp: Path, room_counts: list[int], messages: int) -> None:
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
        verdicts: list[str] = []
        for rooms in room_counts:
            total = rooms * messages
            print(f"\n{rooms} rooms x {messages} messages, rooms in parallel ({total} per line)")
            steps: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
                ("synapse send->sync, plain", lambda r=rooms: measure_synapse(alice, bob, r, messages, False)),
                ("bot reply, plain", lambda r=rooms: measure_bot(carol, bot, r, messages, False)),
                ("synapse send->sync, encrypted", lambda r=rooms: measure_synapse(alice, bob, r, messages, True)),
                ("bot reply, encrypted", lambda r=rooms: measure_bot(carol, bot, r, messages, True)),
            ]  # fmt: skip
            results: dict[str, list[float]] = {}
            for name, step in steps:
                results[name] = await step()
                print(summary(name, results[name]), flush=True)
            for kind in ("plain", "encrypted"):
                rtt = percentile(results[f"synapse send->sync, {kind}"], 50) * 1000
                reply = percentile(results[f"bot reply, {kind}"], 50) * 1000
                ratio = reply / (2 * rtt)
                verdict = "PASS" if ratio <= TARGET else "FAIL"
                line = (
                    f"{rooms:>2} room(s), {kind:<9} reply p50 {reply:7.1f} ms = {ratio:4.2f} x two "
                    f"Synapse send->sync p50 ({2 * rtt:6.1f} ms)  target <= {TARGET}  {verdict}"
                )
                print(line)
                verdicts.append(line)
        print("\nsummary")
        print("\n".join(verdicts))
        print(
            "\nAll clients, the bot and Synapse share this machine; under parallel load the"
            "\nbot's syncs pick up several rooms at once, so a reply can beat two trips."
        )
    finally:
        for client in clients:
            await client.stop()
        await bot.stop()
        await runtime.close()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", default="1,10", help="room counts, e.g. 1,10")
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run([int(n) for n in args.rooms.split(",")], args.messages))


if __name__ == "__main__":
    main()
