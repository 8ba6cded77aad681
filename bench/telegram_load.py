"""Load benchmark of the Telegram adapter against the spec-checked fake Bot API.

    .venv/bin/python bench/telegram_load.py [--users 1000] [--messages 10] [--rate-limit]

Simulated users each send a fixed sequence of messages (commands, button numbers, free-text
questions). The fake Bot API runs in a separate process on 127.0.0.1, so the CPU time this
process spends is the bot's alone: python-telegram-bot, the adapter, the runtime with its
SQLite store, and the engine. The run checks that every message was answered exactly once
and in order per chat (each chat's replies must equal the replies a reference run of the
same sequence produces), then prints throughput, latency percentiles (update queued at the
fake server -> reply received by it) and where the bot's time went.

By default Telegram's flood limits are not applied (``--rate-limit`` applies them): with
them the throughput is capped at about 30 messages per second by design, which says
nothing about the bot's own capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
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

    api = FakeBotApi(validate_responses=False)
    await api.start()
    injected: dict[int, list[float]] = defaultdict(list)

    async def push(request: web.Request) -> web.Response:
        body = await request.json()
        for user_id, text in body["messages"]:
            user = FakeUser(id=user_id, language_code="de")
            api.message(user, text)
            injected[user_id].append(time.monotonic())
        return web.json_response({"queued": len(body["messages"])})

    async def wait(request: web.Request) -> web.Response:
        count = int(request.query["count"])
        timeout = float(request.query["timeout"])
        try:
            await api.wait_until(lambda: len(api.sent) >= count, timeout)
        except TimeoutError:
            pass
        return web.json_response({"sent": len(api.sent)})

    async def results(request: web.Request) -> web.Response:
        sent = [(s.chat_id, s.visible, s.at) for s in api.sent if s.method == "sendMessage"]
        return web.json_response(
            {"sent": sent, "injected": injected, "violations": api.violations[:20]}
        )

    control = web.Application(client_max_size=256 * 1024 * 1024)
    control.router.add_post("/push", push)
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
    await runner.cleanup()
    await api.stop()


# --------------------------------------------------------------------------------------
# The bot side
# --------------------------------------------------------------------------------------


class Timers:
    """Wall time spent inside the engine and inside the runtime (engine + store + locks)."""

    def __init__(self) -> None:
        self.engine = 0.0
        self.runtime = 0.0
        self.calls = 0


def instrument(runtime: Any, timers: Timers) -> None:
    """Wrap the runtime's and engine's entry points with timers."""
    engine_handle = runtime.engine.handle
    runtime_handle = runtime.handle

    def timed_engine(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return engine_handle(*args, **kwargs)
        finally:
            timers.engine += time.perf_counter() - start

    async def timed_runtime(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await runtime_handle(*args, **kwargs)
        finally:
            timers.runtime += time.perf_counter() - start
            timers.calls += 1

    runtime.engine.handle = timed_engine
    runtime.handle = timed_runtime


async def expected_replies(content: Any, messages: tuple[str, ...]) -> list[str]:
    """What one user should see, from a reference run of the runtime alone."""
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
        for reply in replies:
            out.extend(parse_telegram_html(chunk).strip() for chunk in split_markup(reply.text))
    await runtime.close()
    return out


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def run(args: argparse.Namespace) -> int:
    import httpx

    from bot.content import load_content
    from bot.platforms.telegram import TelegramAdapter, TelegramSettings
    from bot.runtime import Runtime
    from bot.store import SqliteStore

    messages = tuple((SEQUENCE * (args.messages // len(SEQUENCE) + 1))[: args.messages])
    content = load_content()
    expected = await expected_replies(content, messages)
    if len(expected) != len(messages):
        print("note: the sequence does not give one reply per message; checking replies as a whole")

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

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "sessions.sqlite3", dt.timedelta(days=30))
        runtime = Runtime(content, store, secret=b"bench")
        timers = Timers()
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
    if len(expected) == len(messages):
        for u in users:
            for sent_at, (_, got_at) in zip(data["injected"][str(u)], per_chat.get(u, []), strict=False):
                latencies.append(got_at - sent_at)

    answered = sum(len(v) for v in per_chat.values())
    print(f"users x messages        {args.users} x {len(messages)} = {args.users * len(messages)}")
    print(f"replies expected/got    {total} / {answered} (server saw {done.json()['sent']})")
    print(f"chats wrong or out of order: {len(wrong)}")
    print(f"spec violations         {len(data['violations'])} {data['violations'][:3]}")
    print(f"flood limits applied    {args.rate_limit}")
    print(f"wall time               {wall:.2f} s")
    print(f"throughput              {answered / wall:.0f} messages/s")
    if latencies:
        ms = [x * 1000 for x in latencies]
        print(
            "latency (queued -> reply) "
            f"p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
            f"p99 {percentile(ms, 99):.0f} ms, mean {statistics.fmean(ms):.0f} ms"
        )
    per_update = cpu / max(timers.calls, 1) * 1000
    print(f"bot CPU                 {cpu:.2f} s ({per_update:.2f} ms per update)")
    engine = timers.engine
    store = max(timers.runtime - timers.engine, 0.0)
    rest = max(cpu - timers.runtime, 0.0)
    print(
        f"share of bot time       engine {engine / cpu:.1%}, runtime+store {store / cpu:.1%}, "
        f"adapter+python-telegram-bot+HTTP {rest / cpu:.1%}"
    )
    ok = not wrong and answered == total and not data["violations"]
    print("RESULT", "ok" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64, help="TELEGRAM_MAX_CONCURRENT")
    parser.add_argument("--rate-limit", action="store_true", help="apply Telegram's flood limits")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (seconds)")
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        asyncio.run(serve_fake())
        return 0
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
