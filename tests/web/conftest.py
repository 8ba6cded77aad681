"""The web chat on loopback: an in-process server on the small test tree, and a page client
that speaks the page's WebSocket protocol."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fixtures.tree import AFTER, TTL, write_tree

from bot.content import load_content
from bot.platforms.web import WebChat, WebSettings
from bot.ratelimit import PerKeyLimiter
from bot.runtime import Runtime
from bot.store import MemoryStore

WAIT = 10.0


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("tree"))


def make_runtime(tree: Path, **kwargs: Any) -> Runtime:
    return Runtime(
        load_content(tree), MemoryStore(TTL), b"web-test-secret", clock=lambda: AFTER, **kwargs
    )


async def start_chat(runtime: Runtime, **settings: Any) -> WebChat:
    chat = WebChat(runtime, WebSettings(**{"listen": "127.0.0.1:0", **settings}))
    await chat.start()
    return chat


@pytest.fixture
async def chat(tree: Path) -> AsyncIterator[WebChat]:
    """A web chat with generous flood limits (the tests that need them set their own)."""
    runtime = make_runtime(tree, limiter=PerKeyLimiter("1000/minute"))
    chat = await start_chat(runtime, address_rate="1000/minute")
    yield chat
    await chat.stop()
    await runtime.close()


def base(chat: WebChat) -> str:
    return f"http://127.0.0.1:{chat.port}"


def session_id() -> str:
    return os.urandom(16).hex()


class Page:
    """What the page's script does over the WebSocket: hello, numbered messages, answers."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: str) -> None:
        self.ws = ws
        self.session = session
        self.seq = 0

    async def send(self, kind: str, seq: int | None = None, **fields: Any) -> int:
        if seq is None:
            self.seq += 1
            seq = self.seq
        await self.ws.send_str(json.dumps({"kind": kind, "seq": seq, **fields}))
        return seq

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            message = await self.ws.receive()
        assert message.type == aiohttp.WSMsgType.TEXT, message
        data: dict[str, Any] = json.loads(message.data)
        return data

    async def ask(self, kind: str, **fields: Any) -> dict[str, Any]:
        seq = await self.send(kind, **fields)
        data = await self.receive()
        assert data.get("seq") == seq, data
        return data


async def open_page(
    http: aiohttp.ClientSession,
    url: str,
    session: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    lang: str = "de",
) -> Page:
    """Connect like the page does and say hello; the server answers ``ready``."""
    ws = await http.ws_connect(url.replace("http", "ws", 1) + "/ws", headers=headers)
    page = Page(ws, session or session_id())
    await ws.send_str(json.dumps({"kind": "hello", "session": page.session, "lang": lang}))
    assert (await page.receive()) == {"type": "ready"}
    return page
