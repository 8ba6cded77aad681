"""Load benchmark of the Telegram adapter against the spec-checked fake Bot API.

    .venv/bin/python bench/telegram_load.py [--users 1000] [--messages 10] [--think SECONDS]
                                            [--rate-limit] [--concurrency 64]

Simulated users each send a fixed sequence of messages (commands, button numbers, free-text
questions). The fake Bot API runs in a separate process on 127.0.0.1, so the CPU time this
process spends is the bot's alone: python-telegram-bot, the adapter, the runtime with its
SQLite store, and the engine.

Two ways to load it:

- burst (default): every user's messages are queued at once, message k of every user
  before message k+1, so each chat has several updates waiting while other chats interleave
  with them. This is the hard case for "in order per chat" and measures the most the bot
  can do; end-to-end latency is then mostly time spent waiting in the queue.
- ``--think SECONDS``: each user sends a message, waits for the answer, pauses a random
  time averaging SECONDS, then sends the next; latency is then what a user would notice.

Either way the run checks that every message was answered exactly once and in order per
chat (each chat's replies must equal what a reference run of the same sequence produces),
then prints throughput, latency percentiles (update queued at the fake server -> reply
received by it), the bot's handling time per update (update taken up -> reply accepted) and
how the bot's CPU time per update splits between the engine, the runtime with its store,
and the adapter with python-telegram-bot and HTTP.

By default Telegram's flood limits are not applied (``--rate-limit`` applies them): with
them the throughput is capped at about 30 messages per second by design, which says
nothing about the bot's own capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "telegram"))

SEQUENCE = (
    "/start",
    "2",
    "1",
    "Wie widerspreche ich bei Instagram?",
    "/menu",
    "Was ist mit WhatsApp?",
    "/lang en",
    "What are my rights?",
    "/help",
    "/forget",
)
"""What every simulated user sends, in this order (cut or repeated to ``--messages``)."""

FIRST_USER = 10_000_000


# --------------------------------------------------------------------------------------
# The fake server process
# --------------------------------------------------------------------------------------


async def serve_fake() -> None:
    """Run the fake Bot API plus a small control endpoint; print both ports, run until EOF."""
    from aiohttp import web
    from fake_bot_api import FakeBotApi, FakeUser

    class BenchApi(FakeBotApi):
        """Counts replies per chat and wakes the simulated user waiting for them."""

        def __init__(self) -> None:
            super().__init__(validate_responses=False)
            self.replies: dict[int, int] = defaultdict(int)
            self.waiters: dict[int, asyncio.Event] = {}

        def _record(self, method: str, chat_id: int, message_id: int, p: dict[str, Any]) -> None:
            super()._record(method, chat_id, message_id, p)
            self.replies[chat_id] += 1
            waiter = self.waiters.get(chat_id)
            if waiter is not None:
                waiter.set()

    api = BenchApi()
    await api.start()
    injected: dict[int, list[float]] = defaultdict(list)
    users: list[asyncio.Task[None]] = []

    def inject(user_id: int, text: str) -> None:
        api.message(FakeUser(id=user_id, language_code="de"), text)
        injected[user_id].append(time.monotonic())

    async def push(request: web.Request) -> web.Response:
        body = await request.json()
        for user_id, text in body["messages"]:
            inject(user_id, text)
        return web.json_response({"queued": len(body["messages"])})

    async def simulated_user(
        user_id: int, messages: list[str], counts: list[int], think: float
    ) -> None:
        rng = random.Random(user_id)
        # Spread the first messages over one think time, as real users do not start at once.
        await asyncio.sleep(rng.uniform(0, think))
        for text, count in zip(messages, counts, strict=True):
            target = api.replies[user_id] + count
            inject(user_id, text)
            while api.replies[user_id] < target:
                waiter = api.waiters[user_id] = asyncio.Event()
                await waiter.wait()
            await asyncio.sleep(rng.expovariate(1 / think))

    async def converse(request: web.Request) -> web.Response:
        body = await request.json()
        for user_id in body["users"]:
            users.append(
                asyncio.create_task(
                    simulated_user(user_id, body["messages"], body["counts"], body["think"])
                )
            )
        return web.json_response({"users": len(body["users"])})

    async def wait(request: web.Request) -> web.Response:
        count = int(request.query["count"])
        timeout = float(request.query["timeout"])
        with contextlib.suppress(TimeoutError):
            await api.wait_until(lambda: len(api.sent) >= count, timeout)
        return web.json_response({"sent": len(api.sent)})

    async def results(request: web.Request) -> web.Response:
        sent = [(s.chat_id, s.visible, s.at) for s in api.sent if s.method == "sendMessage"]
        return web.json_response(
            {"sent": sent, "injected": injected, "violations": api.violations[:20]}
        )

    control = web.Application(client_max_size=256 * 1024 * 1024)
    control.router.add_post("/push", push)
    control.router.add_post("/converse", converse)
    control.router.add_get("/wait", wait)
    control.router.add_get("/results", results)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"api": api.port, "control": control_port, "token": api.token}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    for task in users:
        task.cancel()
    await runner.cleanup()
    await api.stop()


# --------------------------------------------------------------------------------------
# The bot side
# --------------------------------------------------------------------------------------


class Timers:
    """CPU time inside the engine and the runtime, and the handling time of each update.

    Engine and runtime never give up the event loop while they work (the store's calls are
    synchronous inside, and one chat's updates never contend for its lock), so the event
    loop thread's CPU clock measures exactly their own work, unaffected by other processes
    on the machine.
    """

    def __init__(self) -> None:
        self.engine = 0.0
        self.runtime = 0.0
        self.calls = 0
        self.handling: list[float] = []


def instrument(runtime: Any, timers: Timers) -> None:
    """Wrap the runtime's and engine's entry points with timers."""
    engine_handle = runtime.engine.handle
    runtime_handle = runtime.handle

    def timed_engine(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return engine_handle(*args, **kwargs)
        finally:
            timers.engine += time.thread_time() - start

    async def timed_runtime(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return await runtime_handle(*args, **kwargs)
        finally:
            timers.runtime += time.thread_time() - start
            timers.calls += 1

    runtime.engine.handle = timed_engine
    runtime.handle = timed_runtime


def instrument_adapter(adapter_class: Any, timers: Timers) -> None:
    """Time each update from when the adapter takes it up until its replies are accepted."""
    on_update = adapter_class._on_update

    async def timed(self: Any, update: Any, context: Any) -> None:
        start = time.perf_counter()
        try:
            await on_update(self, update, context)
        finally:
            timers.handling.append(time.perf_counter() - start)

    adapter_class._on_update = timed


async def expected_replies(content: Any, messages: tuple[str, ...]) -> list[list[str]]:
    """What one user should see after each message, from a reference run of the runtime."""
    from fake_bot_api import parse_telegram_html

    from bot.events import Start, Text
    from bot.platforms.telegram import split_markup
    from bot.runtime import Conversation, Runtime
    from bot.store import MemoryStore

    runtime = Runtime(content, MemoryStore(dt.timedelta(days=30)), secret=b"reference")
    conv = Conversation("telegram", "1", "1")
    out = []
    for text in messages:
        event = Start(locale="de") if text == "/start" else Text(text=text, locale="de")
        replies = await runtime.handle(conv, event)
        out.append(
            [
                parse_telegram_html(chunk).strip()
                for reply in replies
                for chunk in split_markup(reply.text)
            ]
        )
    await runtime.close()
    return out


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def spread(seconds: list[float]) -> str:
    ms = [x * 1000 for x in seconds]
    return (
        f"p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
        f"p99 {percentile(ms, 99):.0f} ms, mean {statistics.fmean(ms):.0f} ms"
    )


class ErrorLog(logging.Handler):
    """Keeps the bot's error records: a run with engine or handler failures does not count."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def run(args: argparse.Namespace) -> int:
    import httpx

    from bot.content import load_content
    from bot.platforms.telegram import TelegramAdapter, TelegramSettings
    from bot.runtime import Runtime
    from bot.store import SqliteStore

    errors = ErrorLog()
    logging.getLogger("bot").addHandler(errors)
    messages = tuple((SEQUENCE * (args.messages // len(SEQUENCE) + 1))[: args.messages])
    content = load_content()
    per_message = await expected_replies(content, messages)
    expected = [text for replies in per_message for text in replies]
    one_each = all(len(r) == 1 for r in per_message)
    if not one_each:
        print("note: not exactly one reply per message; latency is not measured")

    fake = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--fake",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert fake.stdout is not None and fake.stdin is not None
    ports = json.loads(await asyncio.wait_for(fake.stdout.readline(), 30))
    control = f"http://127.0.0.1:{ports['control']}"
    total = args.users * len(expected)

    timers = Timers()
    instrument_adapter(TelegramAdapter, timers)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "sessions.sqlite3", dt.timedelta(days=30))
        runtime = Runtime(content, store, secret=b"bench")
        instrument(runtime, timers)
        settings = TelegramSettings(
            bot_token=ports["token"],
            base_url=f"http://127.0.0.1:{ports['api']}",
            poll_timeout=1,
            rate_limit=args.rate_limit,
            max_concurrent=args.concurrency,
        )
        adapter = TelegramAdapter(runtime, settings)
        stop = asyncio.Event()
        task = asyncio.create_task(adapter.serve(stop))
        await asyncio.wait_for(adapter.ready.wait(), 30)

        users = [FIRST_USER + i for i in range(args.users)]
        async with httpx.AsyncClient(timeout=args.timeout + 30) as client:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if args.think > 0:
                await client.post(
                    f"{control}/converse",
                    json={
                        "users": users,
                        "messages": list(messages),
                        "counts": [len(r) for r in per_message],
                        "think": args.think,
                    },
                )
            else:
                # Message k of every user, then message k+1: chats interleave in the queue.
                for text in messages:
                    batch = [(u, text) for u in users]
                    await client.post(f"{control}/push", json={"messages": batch})
            done = await client.get(
                f"{control}/wait", params={"count": total, "timeout": args.timeout}
            )
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            data = (await client.get(f"{control}/results")).json()

        stop.set()
        await task
        await runtime.close()
    fake.stdin.close()
    await fake.wait()

    # -- checks ---------------------------------------------------------------------------
    per_chat: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for chat_id, visible, at in data["sent"]:
        per_chat[chat_id].append((visible.strip(), at))
    wrong = [u for u in users if [t for t, _ in per_chat.get(u, [])] != expected]
    latencies: list[float] = []
    if one_each:
        for u in users:
            pairs = zip(data["injected"][str(u)], per_chat.get(u, []), strict=False)
            latencies += [got_at - sent_at for sent_at, (_, got_at) in pairs]

    answered = sum(len(v) for v in per_chat.values())
    mode = f"users pause {args.think:g} s on average" if args.think > 0 else "burst"
    print(f"users x messages        {args.users} x {len(messages)} = {args.users * len(messages)}")
    print(f"load                    {mode}; flood limits applied: {args.rate_limit}")
    print(f"replies expected/got    {total} / {answered} (server saw {done.json()['sent']})")
    print(f"chats wrong or out of order: {len(wrong)}")
    print(f"spec violations         {len(data['violations'])} {data['violations'][:3]}")
    print(f"wall time               {wall:.2f} s")
    # With pausing users the rate is what they offer, not what the bot could take.
    what = " (offered by the users)" if args.think > 0 else ""
    print(f"throughput              {answered / wall:.0f} messages/s{what}")
    if latencies:
        print(f"latency, queued->reply  {spread(latencies)}")
    if timers.handling:
        print(f"handling time/update    {spread(timers.handling)}")
    updates = max(timers.calls, 1)
    engine = timers.engine
    store = max(timers.runtime - timers.engine, 0.0)
    rest = max(cpu - timers.runtime, 0.0)
    print(f"bot CPU                 {cpu:.2f} s ({cpu / updates * 1000:.2f} ms per update)")
    print(
        "per update              "
        f"engine {engine / updates * 1000:.2f} ms ({engine / cpu:.1%}), "
        f"runtime+store {store / updates * 1000:.2f} ms ({store / cpu:.1%}), "
        f"adapter+python-telegram-bot+HTTP {rest / updates * 1000:.2f} ms ({rest / cpu:.1%})"
    )
    print(f"errors logged by the bot {len(errors.records)}", end="")
    print(f" (first: {errors.records[0].getMessage()})" if errors.records else "")
    ok = not wrong and answered == total and not data["violations"] and not errors.records
    print("RESULT", "ok" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="each user waits for the answer, then pauses this long on average (0: burst)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="TELEGRAM_MAX_CONCURRENT")
    parser.add_argument("--rate-limit", action="store_true", help="apply Telegram's flood limits")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after (seconds)")
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        asyncio.run(serve_fake())
        return 0
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
