"""Telegram webhook throughput with one and with two replicas sharing one Redis.

    .venv/bin/python bench/replicas.py [--chats 40] [--messages 10]

Starts a Redis-protocol server (as the tests do), the spec-checked fake Bot API and a
round-robin proxy in this process, and ``python -m bot run`` replicas in webhook mode with
``BOT_STORE`` on that Redis. Each chat posts its messages one after another through the
proxy, each once the previous one was acknowledged (as Telegram does), all chats at once.
Throughput is updates answered per second, from the first post to the last answer; both runs
happen in one invocation, then the ratio is printed. Every update must be answered exactly
once and each chat in order, or the run fails.

The machine's cores are shared by everything here (replicas, Redis, fake API, proxy and the
load itself), so the ratio says how much a second replica gains on this machine, not on
machines of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "telegram"))


async def run_once(count: int, chats: int, messages: int, redis: Any, workdir: Path) -> float:
    """Updates answered per second with ``count`` replicas."""
    import aiohttp
    from fake_bot_api import FakeBotApi, FakeChat, FakeUser
    from test_replicas import HEADERS, RoundRobinProxy, question, replicas

    async with FakeBotApi(validate_responses=False) as api:
        prefix = f"bench{uuid.uuid4().hex[:8]}:"
        groups = [FakeChat(id=-5000 - i, type="supergroup", title=f"G{i}") for i in range(chats)]
        users = [FakeUser(id=9000 + i) for i in range(chats)]
        tmp = workdir / f"replicas-{count}"
        tmp.mkdir()
        async with (
            replicas(api, redis, tmp, prefix, count) as ports,
            RoundRobinProxy(ports) as proxy,
        ):
            series = {
                g.id: [question(api, u, g, n) for n in range(messages)]
                for g, u in zip(groups, users, strict=True)
            }
            total = chats * messages

            def answered() -> int:
                return sum(1 for s in api.sent if s.params.get("reply_parameters"))

            async def chat_writes(
                updates: list[dict[str, Any]], session: aiohttp.ClientSession
            ) -> None:
                for update in updates:
                    url = f"http://127.0.0.1:{proxy.port}/telegram"
                    async with session.post(url, json=update, headers=HEADERS) as response:
                        assert response.status == 200

            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                started = time.perf_counter()
                await asyncio.gather(*(chat_writes(u, session) for u in series.values()))
                await api.wait_until(lambda: answered() >= total, timeout=600)
                elapsed = time.perf_counter() - started
        for group in groups:
            asked = [u["message"]["message_id"] for u in series[group.id]]
            got = [
                s.params["reply_parameters"]["message_id"]
                for s in api.sent_to(group.id)
                if s.params.get("reply_parameters")
            ]
            assert got == asked, f"chat {group.id}: asked {asked}, answered {got}"
    return total / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    from fixtures.redis_server import redis_server, server_binary

    binary = server_binary()
    if binary is None:
        raise SystemExit("no redis-server found (pip install '.[test]')")
    with redis_server(binary) as redis, tempfile.TemporaryDirectory() as workdir:
        results = {}
        for count in (1, 2):
            results[count] = await run_once(count, args.chats, args.messages, redis, Path(workdir))
    print(
        f"webhook, {args.chats} chats x {args.messages} messages, "
        "each chat in order, every update answered once"
    )
    for count, rate in results.items():
        print(f"  {count} replica(s): {rate:7.1f} updates/s answered")
    print(f"  ratio 2/1: {results[2] / results[1]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
