"""Two ``python -m bot run`` replicas in webhook mode sharing one Redis: behind a round-robin
proxy, with some updates delivered twice (once to each replica, as Telegram retries), every
update is answered exactly once and each chat's answers come in the order it wrote."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from fake_bot_api import FakeBotApi, FakeChat, FakeUser
from fixtures.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
SECRET_TOKEN = "webhook-s3cret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET_TOKEN}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replica_env(
    api: FakeBotApi, redis: RedisServer, prefix: str, port: int, data: Path
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_", "BOT_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{api.port}",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram",
        TELEGRAM_WEBHOOK_PORT=str(port),
        TELEGRAM_WEBHOOK_SECRET=SECRET_TOKEN,
        TELEGRAM_REQUEST_TIMEOUT="5",
        TELEGRAM_RATE_LIMIT="false",
        BOT_STORE=redis.url,
        BOT_STORE_PREFIX=prefix,
        BOT_SECRET="replicas-share-this-secret-0123456789",
        BOT_DATA_DIR=str(data),
        BOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


async def wait_listening(port: int, timeout: float = 30.0) -> None:
    """Until something accepts connections on ``port`` (the replica's webhook server)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


@asynccontextmanager
async def replicas(
    api: FakeBotApi, redis: RedisServer, tmp_path: Path, prefix: str, count: int = 2
) -> AsyncIterator[list[int]]:
    """``count`` bot processes sharing ``redis`` (keys under ``prefix``); yields their webhook
    ports, then stops them with SIGTERM (they finish what they are doing) and checks they
    exited cleanly."""
    ports = [free_port() for _ in range(count)]
    logs = [tmp_path / f"replica-{i}.log" for i in range(count)]
    procs: list[asyncio.subprocess.Process] = []
    try:
        for i, port in enumerate(ports):
            with logs[i].open("wb") as out:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        "run",
                        cwd=ROOT,
                        env=replica_env(api, redis, prefix, port, tmp_path / f"data-{i}"),
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=out,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
        try:
            await api.wait_until(lambda: len(api.calls_of("setWebhook")) >= count, timeout=60)
            for port in ports:
                await wait_listening(port)
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


class RoundRobinProxy:
    """What Telegram and a load balancer do together: each POST goes to the next replica; an
    update marked for redelivery is posted to the other replica too (as if the first answer
    had been lost), at the same time or after the first delivery."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self._next = itertools.cycle(range(len(self.ports)))
        self.delivered: dict[int, list[int]] = {}
        """update_id -> the replicas it was posted to."""
        self.again_at_once: set[int] = set()
        self.again_after: set[int] = set()
        self.statuses: list[int] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> RoundRobinProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _post(self, replica: int, body: bytes, headers: dict[str, str]) -> int:
        assert self._session is not None
        url = f"http://127.0.0.1:{self.ports[replica]}/telegram"
        async with self._session.post(url, data=body, headers=headers) as response:
            self.statuses.append(response.status)
            return response.status

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        update_id = (await request.json())["update_id"]
        headers = {
            "Content-Type": request.headers["Content-Type"],
            **{k: v for k, v in request.headers.items() if k.startswith("X-Telegram")},
        }
        first = next(self._next)
        other = (first + 1) % len(self.ports)
        self.delivered.setdefault(update_id, []).append(first)
        if update_id in self.again_at_once:
            self.delivered[update_id].append(other)
            status, _ = await asyncio.gather(
                self._post(first, body, headers), self._post(other, body, headers)
            )
        else:
            status = await self._post(first, body, headers)
            if update_id in self.again_after:
                self.delivered[update_id].append(other)
                await self._post(other, body, headers)
        return web.Response(status=status)


def question(api: FakeBotApi, user: FakeUser, chat: FakeChat, n: int) -> dict[str, Any]:
    """Message ``n`` of a chat: a question to the bot in a group, which it answers as a reply
    to exactly that message, so each answer names the update it answers."""
    texts = ("Wie widerspreche ich?", "/help@TestBot", "Was ist mit WhatsApp?", "/menu@TestBot")
    text = texts[n % len(texts)]
    if not text.startswith("/"):
        text = f"@TestBot Frage {n}: {text}"
    return api.message(user, text, chat=chat)


async def test_two_replicas_answer_each_update_once_and_in_order(
    api: FakeBotApi, redis_service: RedisServer, tmp_path: Path
) -> None:
    chats = [FakeChat(id=-1000 - i, type="supergroup", title=f"Gruppe {i}") for i in range(6)]
    users = [FakeUser(id=7000 + i, first_name=f"U{i}") for i in range(len(chats))]
    per_chat = 8
    prefix = f"r{uuid.uuid4().hex[:8]}:"
    running = replicas(api, redis_service, tmp_path, prefix)
    async with running as ports, RoundRobinProxy(ports) as proxy:
        # Built up front, in the order each chat writes them; update ids rise across chats.
        series = {
            chat.id: [question(api, user, chat, n) for n in range(per_chat)]
            for chat, user in zip(chats, users, strict=True)
        }
        # In half of the chats the first answer is slow to send, so the chat's next updates
        # reach the other replica while the first is still being answered.
        for chat in chats[::2]:
            api.fail("sendMessage", "slow", delay=0.3, count=1, chat_id=chat.id)
        ids = [u["update_id"] for updates in series.values() for u in updates]
        proxy.again_at_once = set(ids[::5])
        proxy.again_after = set(ids[2::5])

        async def chat_writes(updates: list[dict[str, Any]]) -> None:
            # Like Telegram: a chat's next update goes out once the previous one is accepted.
            async with aiohttp.ClientSession() as session:
                for update in updates:
                    url = f"http://127.0.0.1:{proxy.port}/telegram"
                    async with session.post(url, json=update, headers=HEADERS) as response:
                        assert response.status == 200

        await asyncio.gather(*(chat_writes(updates) for updates in series.values()))

        def answered() -> int:
            return sum(1 for s in api.sent if s.params.get("reply_parameters"))

        total = len(chats) * per_chat
        try:
            await api.wait_until(lambda: answered() >= total, timeout=60)
        except TimeoutError:
            raise AssertionError(f"{answered()} of {total} updates answered") from None

    # Both replicas have stopped, after finishing all they had taken: the counts are final.
    assert proxy.statuses == [200] * len(proxy.statuses)
    assert len(proxy.statuses) == total + len(proxy.again_at_once) + len(proxy.again_after)
    assert {r for to in proxy.delivered.values() for r in to} == {0, 1}
    for chat in chats:
        asked = [u["message"]["message_id"] for u in series[chat.id]]
        answers = [
            s.params["reply_parameters"]["message_id"]
            for s in api.sent_to(chat.id)
            if s.params.get("reply_parameters")
        ]
        assert answers == asked, f"chat {chat.id}: asked {asked}, answered {answers}"
    # Both replicas kept their sessions in the one Redis: one per user and chat.
    client = redis_service.client()
    # (A user's sessions are the fields of one hash, one field per chat.)
    sessions = sum(int(client.hlen(k)) for k in client.scan_iter(match=f"{prefix}h:*"))
    client.close()
    assert sessions == len(chats)
