"""Two ``python -m bot run`` web replicas sharing one Redis, as behind a load balancer that
does not keep a page on one replica: messages of one session reach both, some of them twice
at once (a page that reconnected and sends again what it has no answer to). Every message is
handled exactly once, and each session's in the order it was sent."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from fixtures.redis_server import RedisServer

from .conftest import session_id

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 12

# Each step only makes sense where the previous one left the session: handled out of order,
# a choice finds other options and gets the "outdated option" note instead.
PATH: list[tuple[dict[str, Any], str]] = [
    ({"kind": "start", "lang": "de"}, "WILLKOMMEN-DE"),
    ({"kind": "choice", "option": "objection"}, "WIDERSPRUCH-DE"),
    ({"kind": "choice", "option": "objection-instagram"}, "INSTAGRAM-DE"),
    ({"kind": "text", "text": "/back"}, "WIDERSPRUCH-DE"),
    ({"kind": "choice", "option": "objection-instagram"}, "INSTAGRAM-DE"),
    ({"kind": "text", "text": "/menu"}, "WILLKOMMEN-DE"),
    ({"kind": "choice", "option": "deadline"}, "NACHHER-DE"),
    ({"kind": "choice", "option": "@menu"}, "WILLKOMMEN-DE"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def replicas(
    redis: RedisServer, tree: Path, tmp_path: Path, count: int = 2
) -> AsyncIterator[list[tuple[int, int]]]:
    """``count`` processes; yields their (web, metrics) ports; stops them with SIGTERM."""
    ports = [(free_port(), free_port()) for _ in range(count)]
    logs = [tmp_path / f"replica-{i}.log" for i in range(count)]
    prefix = f"web-{uuid.uuid4().hex[:8]}:"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_"))}
    base = {k: v for k, v in base.items() if not k.startswith(("BOT_", "WEB_"))}
    procs: list[asyncio.subprocess.Process] = []
    try:
        for i, (web_port, http_port) in enumerate(ports):
            env = {
                **base,
                "WEB_LISTEN": f"127.0.0.1:{web_port}",
                "WEB_ADDRESS_RATE": "10000/minute",
                "BOT_HTTP_LISTEN": str(http_port),
                "BOT_STORE": redis.url,
                "BOT_STORE_PREFIX": prefix,
                "BOT_SECRET": "web-replicas-share-this-secret-0123",
                "BOT_CONTENT_DIR": str(tree),
                "BOT_DATA_DIR": str(tmp_path / f"data-{i}"),
                "PYTHONUNBUFFERED": "1",
            }
            with logs[i].open("wb") as out:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                        stdin=asyncio.subprocess.DEVNULL, stdout=out,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as http:
                for _, http_port in ports:
                    await wait_healthy(http, http_port)
        except TimeoutError:
            raise AssertionError(
                "the replicas did not start:\n" + "\n".join(log.read_text() for log in logs)
            ) from None
        yield ports
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            codes = [await proc.wait() for proc in procs]
        assert codes == [0] * count, "\n".join(log.read_text() for log in logs)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    for log in logs:
        assert "Traceback" not in log.read_text(), log.read_text()


async def wait_healthy(http: aiohttp.ClientSession, port: int, timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def exchange(
    http: aiohttp.ClientSession, port: int, session: str, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One connection: hello, the messages at once, every answer."""
    async with http.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send_str(json.dumps({"kind": "hello", "session": session, "lang": "de"}))
        assert json.loads((await ws.receive(timeout=30)).data) == {"type": "ready"}
        for message in messages:
            await ws.send_str(json.dumps(message))
        return [json.loads((await ws.receive(timeout=60)).data) for _ in messages]


async def converse(
    http: aiohttp.ClientSession, ports: list[int], answers: dict[tuple[str, int], list[Any]]
) -> None:
    """One page: the path two messages at a time, each pair to the other replica than the
    last, every second pair sent to both replicas at once. The pairs sent to one replica only
    go to the first of ``ports``: which replica wins a pair sent to both is a race."""
    session = session_id()
    numbered = [{**fields, "seq": seq} for seq, (fields, _) in enumerate(PATH, 1)]
    for leg, start in enumerate(range(0, len(numbered), 2)):
        pair = numbered[start : start + 2]
        first, other = ports[leg % 2], ports[(leg + 1) % 2]
        legs = [exchange(http, first, session, pair)]
        if leg % 2 == 1:
            legs.append(exchange(http, other, session, pair))
        for got in await asyncio.gather(*legs):
            for answer in got:
                assert answer["type"] == "answer", answer
                answers[(session, answer["seq"])].append(answer)


async def handled(http: aiohttp.ClientSession, port: int) -> float:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    match = re.search(r'^bot_updates_total\{platform="web"\} (\S+)$', text, re.M)
    assert match, text
    return float(match.group(1))


async def test_two_replicas_handle_each_message_once_and_in_order(
    redis_service: RedisServer, tree: Path, tmp_path: Path
) -> None:
    answers: dict[tuple[str, int], list[Any]] = defaultdict(list)
    async with replicas(redis_service, tree, tmp_path) as ports:
        web_ports = [web for web, _ in ports]
        async with aiohttp.ClientSession() as http:
            # Half the pages start at each replica, so that both handle messages whoever wins
            # the races.
            pages = [web_ports[i % 2 :] + web_ports[: i % 2] for i in range(SESSIONS)]
            await asyncio.gather(*(converse(http, page, answers) for page in pages))
            counts = [await handled(http, metrics) for _, metrics in ports]
    assert len(answers) == SESSIONS * len(PATH)
    for (_, seq), got in answers.items():
        fresh = [a for a in got if not a["again"]]
        assert len(fresh) == 1, got
        [reply] = fresh[0]["replies"]
        assert PATH[seq - 1][1] in reply["html"], (seq, reply["html"])
    # Counted by the replicas themselves: each message handled by exactly one of them, and
    # both did work.
    assert sum(counts) == SESSIONS * len(PATH)
    assert all(count > 0 for count in counts)
    doubled = sum(1 for got in answers.values() if len(got) == 2)
    assert doubled == SESSIONS * 4  # legs 1 and 3 went to both replicas
