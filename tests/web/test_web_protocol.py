"""The web chat over HTTP and WebSocket on loopback: headers, the page protocol, once and in
order after reconnecting, limits, bad requests, the form round trip and a graceful stop."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.events import Event, Reply
from bot.platforms.web import MAX_FRAME, WebChat
from bot.ratelimit import PerKeyLimiter
from bot.runtime import Conversation

from .conftest import base, make_runtime, open_page, session_id, start_chat

# -- the page and its headers ------------------------------------------------------------


async def test_page_has_strict_headers_no_cookies_and_nothing_from_elsewhere(
    chat: WebChat,
) -> None:
    async with aiohttp.ClientSession() as http, http.get(base(chat) + "/") as response:
        assert response.status == 200
        page = await response.text()
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "style-src 'self';" in csp and "unsafe" not in csp
    assert "frame-ancestors 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in headers
    # No inline script or style (the CSP would block it), nothing loaded from another site.
    assert re.findall(r"<script[^>]*>([^<]*)</script>", page) == [""]
    assert "style=" not in page and "<style" not in page
    assert re.findall(r'(?:src|href)="([^"]+)"', page) == [
        f"chat.css?v={chat.assets['chat.css'].version}",
        f"app.js?v={chat.assets['app.js'].version}",
        "#text",
    ]
    assert "<button" in page and 'name="session"' in page


async def test_assets_are_files_with_their_types_and_widget_loads_cross_site(
    chat: WebChat,
) -> None:
    async with aiohttp.ClientSession() as http:
        for name, kind in (("app.js", "text/javascript"), ("chat.css", "text/css")):
            async with http.get(f"{base(chat)}/{name}") as response:
                assert response.status == 200
                assert response.content_type == kind
                assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
        async with http.get(base(chat) + "/widget.js") as response:
            assert response.status == 200
            assert response.content_type == "text/javascript"
            assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
            assert "iframe" in await response.text()


@pytest.mark.parametrize(
    ("accept", "query", "lang"),
    [
        ("en-US,en;q=0.9", "", "en"),
        ("sv-SE, de;q=0.5, en;q=0.4", "", "de"),
        ("sv", "", "de"),
        ("de", "?lang=en", "en"),
        ("en", "?lang=xx", "en"),
    ],
)
async def test_page_language_from_accept_language_or_the_link(
    chat: WebChat, accept: str, query: str, lang: str
) -> None:
    headers = {"Accept-Language": accept}
    async with (
        aiohttp.ClientSession() as http,
        http.get(base(chat) + "/" + query, headers=headers) as response,
    ):
        page = await response.text()
    assert f'<html lang="{lang}">' in page
    other = "en" if lang == "de" else "de"
    assert f'name="lang" value="{other}"' in page


async def test_allowed_origins_may_frame_the_page_and_open_the_socket(tree: Path) -> None:
    runtime = make_runtime(tree)
    chat = await start_chat(runtime, allowed_origins="https://ngo.example, http://localhost:8000")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base(chat) + "/") as response:
                csp = response.headers["Content-Security-Policy"]
            assert csp.endswith("frame-ancestors 'self' https://ngo.example http://localhost:8000")
            url = base(chat).replace("http", "ws") + "/ws"
            for origin in ("https://ngo.example", f"http://127.0.0.1:{chat.port}"):
                ws = await http.ws_connect(url, headers={"Origin": origin})
                await ws.close()
            for origin in ("https://evil.example", "https://ngo.example.evil.example", "null"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(url, headers={"Origin": origin})
                assert refused.value.status == 403
    finally:
        await chat.stop()
        await runtime.close()


# -- the conversation --------------------------------------------------------------------


async def test_start_question_and_options_render_escaped_html(chat: WebChat) -> None:
    async with aiohttp.ClientSession() as http:
        page = await open_page(http, base(chat))
        greeting = await page.ask("start", lang="de")
        assert greeting["type"] == "answer" and greeting["again"] is False
        [reply] = greeting["replies"]
        assert reply["html"].startswith("<p>WILLKOMMEN-DE")
        assert [o["id"] for o in reply["options"]][:3] == ["objection", "deadline", "my-case"]
        answer = await page.ask("text", text="Wie widerspreche ich der KI-Nutzung?")
        [reply] = answer["replies"]
        assert (
            '<a href="https://example.org/form?a=1&amp;b=2" target="_blank" '
            'rel="noopener noreferrer">Formular</a>'
        ) in reply["html"]
        assert reply["options"][0] == {"id": "objection-instagram", "label": "Bei Instagram"}
        picked = await page.ask("choice", option="objection-instagram")
        assert "INSTAGRAM-DE" in picked["replies"][0]["html"]
        # What a visitor types is never markup: it reaches the engine as text, not the page.
        odd = await page.ask("text", text="<img src=x onerror=alert(1)> **hi**")
        assert "<img" not in odd["replies"][0]["html"]
        english = await page.ask("lang", lang="en")
        assert english["replies"][0]["lang"] == "en"
        await page.ws.close()


class Counting:
    """Counts the events the runtime handles per session (the engine runs once each)."""

    def __init__(self, handle: Callable[[Conversation, Event], Awaitable[list[Reply]]]) -> None:
        self.handle = handle
        self.events: list[tuple[str, str]] = []

    async def __call__(self, conversation: Conversation, event: Event) -> list[Reply]:
        self.events.append((conversation.chat_id, type(event).__name__))
        return await self.handle(conversation, event)


async def test_reconnecting_page_continues_and_nothing_is_handled_twice(chat: WebChat) -> None:
    counting = Counting(chat.runtime.handle)
    chat.runtime.handle = counting  # type: ignore[method-assign]
    session = session_id()
    async with aiohttp.ClientSession() as http:
        page = await open_page(http, base(chat), session)
        await page.ask("start", lang="de")
        first = await page.ask("choice", option="objection")
        await page.ws.close()
        # The page reloads (or the connection dropped): it sends again what it has no answer
        # to, here message 2, whose answer was lost; then goes on where it was.
        again = await open_page(http, base(chat), session)
        resent = await again.ask("choice", seq=2, option="objection")
        assert resent["again"] is True and resent["replies"] == first["replies"]
        old = await again.ask("start", seq=1, lang="de")
        assert old["again"] is True and old["replies"] == []
        again.seq = 2
        on = await again.ask("choice", option="objection-instagram")
        assert "INSTAGRAM-DE" in on["replies"][0]["html"]
        await again.ws.close()
    assert counting.events == [(session, "Start"), (session, "Choice"), (session, "Choice")]


async def test_messages_of_one_session_are_answered_in_order(chat: WebChat) -> None:
    async with aiohttp.ClientSession() as http:
        page = await open_page(http, base(chat))
        # Sent at once, without waiting: each answer comes in the order sent, and each choice
        # finds the place the previous one led to.
        await page.send("start", lang="de")
        await page.send("choice", option="objection")
        await page.send("choice", option="objection-instagram")
        await page.send("text", text="/back")
        answers = [await page.receive() for _ in range(4)]
        assert [a["seq"] for a in answers] == [1, 2, 3, 4]
        texts = [a["replies"][0]["html"] for a in answers]
        assert "WILLKOMMEN-DE" in texts[0] and "WIDERSPRUCH-DE" in texts[1]
        assert "INSTAGRAM-DE" in texts[2] and "WIDERSPRUCH-DE" in texts[3]
        await page.ws.close()


async def test_forget_erases_the_session_by_button_and_by_command(chat: WebChat) -> None:
    async with aiohttp.ClientSession() as http:
        page = await open_page(http, base(chat))
        await page.ask("start", lang="de")
        assert await chat.runtime.store.count() == 1
        forgotten = await page.ask("forget")
        assert forgotten["forgotten"] is True
        assert "VERGESSEN-DE" in forgotten["replies"][0]["html"]
        assert await chat.runtime.store.count() == 0
        # The page goes on under a new id, on the same connection, from message 1.
        await page.ws.send_str(json.dumps({"kind": "hello", "session": session_id()}))
        assert await page.receive() == {"type": "ready"}
        page.seq = 0
        again = await page.ask("start", lang="de")
        assert again["again"] is False and "WILLKOMMEN-DE" in again["replies"][0]["html"]
        assert await chat.runtime.store.count() == 1
        await page.ask("forget")
        other = await open_page(http, base(chat))
        await other.ask("start", lang="de")
        typed = await other.ask("text", text="/vergessen")
        assert typed["forgotten"] is True
        assert await chat.runtime.store.count() == 0
        await page.ws.close()
        await other.ws.close()


# -- limits and bad input ------------------------------------------------------------------


async def test_bad_messages_get_a_clear_error_and_are_not_handled(chat: WebChat) -> None:
    counting = Counting(chat.runtime.handle)
    chat.runtime.handle = counting  # type: ignore[method-assign]
    async with aiohttp.ClientSession() as http:
        page = await open_page(http, base(chat))
        too_long = await page.ask("text", text="x" * 1001)
        assert too_long["type"] == "error" and too_long["code"] == "too_long"
        assert "1000" in too_long["message"]
        assert (await page.ask("text", text="   "))["code"] == "empty"
        assert (await page.ask("choice", option="<script>"))["code"] == "bad"
        assert (await page.ask("dance"))["code"] == "bad"
        assert (await page.ask("lang", lang="../../etc"))["code"] == "bad"
        for raw in ("not json", "[1, 2]", '{"kind": "text", "text": "hi"}', '{"seq": true}'):
            await page.ws.send_str(raw)
            error = await page.receive()
            assert error["type"] == "error" and error["code"] == "bad", raw
        await page.ws.send_bytes(b"\x00\x01")
        assert (await page.receive())["code"] == "bad"
        assert counting.events == []
        # A frame past the cap ends the connection (1009), as browsers expect.
        await page.ws.send_str("x" * (MAX_FRAME + 1))
        async with asyncio.timeout(10):
            closing = await page.ws.receive()
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert page.ws.close_code == 1009


async def test_a_socket_that_does_not_say_hello_is_closed(chat: WebChat) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base(chat).replace("http", "ws") + "/ws")
        await ws.send_str('{"kind": "hello", "session": "short"}')
        async with asyncio.timeout(10):
            message = await ws.receive()
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 1008


async def test_flood_limits_per_session_and_per_address(tree: Path) -> None:
    runtime = make_runtime(tree, limiter=PerKeyLimiter("3/minute"))
    chat = await start_chat(runtime, address_rate="8/minute")
    try:
        async with aiohttp.ClientSession() as http:
            page = await open_page(http, base(chat))  # 1 for the address
            await page.ask("start", lang="de")  # a start counts towards the limit too
            for _ in range(2):
                await page.ask("text", text="Frist")
            slowed = await page.ask("text", text="Frist")
            assert "LANGSAM-DE" in slowed["replies"][0]["html"]
            assert (await page.ask("text", text="Frist"))["replies"] == []
            assert (await page.ask("text", text="Frist"))["replies"] == []
            # 7 used by this address: one more connection, then it is refused.
            other = await open_page(http, base(chat))
            refused = await other.ask("text", text="Frist")
            assert refused["type"] == "error" and refused["code"] == "slow"
            with pytest.raises(aiohttp.WSServerHandshakeError) as blocked:
                await http.ws_connect(base(chat).replace("http", "ws") + "/ws")
            assert blocked.value.status == 429
            form = {"session": session_id(), "seq": "1", "text": "Frist"}
            async with http.post(base(chat) + "/", data=form) as response:
                assert response.status == 429
                assert response.headers["Retry-After"] == "60"
    finally:
        await chat.stop()
        await runtime.close()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nothing-here", {}, 404),
        ("GET", "/ws", {}, 400),
        ("GET", "/forget", {}, 405),
        ("PUT", "/", {}, 405),
        ("POST", "/", {"json": {"text": "hi"}}, 415),
        ("POST", "/", {"data": {"text": "hi"}}, 400),
        ("POST", "/", {"data": {"session": "x" * 10, "seq": "1", "text": "hi"}}, 400),
        ("POST", "/", {"data": {"session": "a" * 32, "seq": "-1", "text": "hi"}}, 400),
        ("POST", "/", {"data": {"session": "a" * 32, "seq": "1", "text": " "}}, 400),
        ("POST", "/", {"data": {"session": "a" * 32, "seq": "1", "text": "x" * 1001}}, 413),
        ("POST", "/", {"data": {"session": "a" * 32, "seq": "1", "option": "<b>"}}, 400),
        ("POST", "/", {"data": {"session": "a" * 32, "text": "x" * 20_000}}, 413),
    ],
)
async def test_every_bad_request_gets_a_clear_status_never_a_traceback(
    chat: WebChat,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base(chat) + path, **kwargs) as response,
    ):
        text = await response.text()
    assert response.status == status, text
    assert "Traceback" not in text and "Traceback" not in caplog.text
    assert text.strip()
    assert "Content-Security-Policy" in response.headers


# -- the form round trip (no JavaScript) ---------------------------------------------------


def hidden(page: str, name: str, index: int = -1) -> str:
    return re.findall(rf'name="{name}" value="([^"]*)"', page)[index]


async def test_form_round_trip_without_javascript(chat: WebChat) -> None:
    counting = Counting(chat.runtime.handle)
    chat.runtime.handle = counting  # type: ignore[method-assign]
    async with aiohttp.ClientSession() as http:
        async with http.get(base(chat) + "/") as response:
            first = await response.text()
        session = hidden(first, "session")
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", session)
        assert 'name="action" value="start"' in first
        assert counting.events == []  # a page view keeps nothing

        form = {"session": session, "seq": "1", "text": "Wie widerspreche ich der KI-Nutzung?"}
        async with http.post(base(chat) + "/", data=form) as response:
            assert response.status == 200
            answer = await response.text()
        assert "<p>Wie widerspreche ich der KI-Nutzung?</p>" in answer
        assert "WIDERSPRUCH-DE" in answer and 'rel="noopener noreferrer"' in answer
        assert '<button type="submit" name="option" value="objection-instagram">' in answer
        assert hidden(answer, "session") == session and hidden(answer, "seq") == "2"

        # The browser sends the same form again (reload, back button): answered, not redone.
        async with http.post(base(chat) + "/", data=form) as response:
            assert "WIDERSPRUCH-DE" in await response.text()

        pick = {"session": session, "seq": "2", "option": "objection-instagram"}
        async with http.post(base(chat) + "/", data=pick) as response:
            assert "INSTAGRAM-DE" in await response.text()

        switch = {"session": session, "seq": "3", "lang": "en"}
        async with http.post(base(chat) + "/", data=switch) as response:
            english = await response.text()
        assert '<html lang="en">' in english and "LANGUAGE-EN" in english

        forget = {"session": session, "seq": "4", "action": "forget"}
        async with http.post(base(chat) + "/", data=forget) as response:
            gone = await response.text()
        assert "FORGOTTEN-EN" in gone
        assert hidden(gone, "session") != session and hidden(gone, "seq") == "1"
        assert await chat.runtime.store.count() == 0
    assert [kind for _, kind in counting.events] == ["Text", "Choice", "Command", "Command"]


# -- privacy and stopping --------------------------------------------------------------------


async def test_no_message_text_session_id_or_address_in_the_logs(
    chat: WebChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = session_id()
    async with aiohttp.ClientSession() as http:
        page = await open_page(http, base(chat), session)
        await page.ask("start", lang="de")
        await page.ask("text", text="Geheimnis-4711 Wie widerspreche ich?")
        form = {"session": session, "seq": "3", "text": "Formular-0815"}
        async with http.post(base(chat) + "/", data=form) as response:
            assert response.status == 200
        await page.ws.close()
    # A request aiohttp cannot parse: refused, logged without the address or a traceback.
    reader, writer = await asyncio.open_connection("127.0.0.1", chat.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n")
    await writer.drain()
    async with asyncio.timeout(10):
        assert b" 400 Bad Request" in (await reader.read())
    writer.close()
    assert "unreadable request refused" in caplog.text
    for secret in ("Geheimnis-4711", "Formular-0815", session, "127.0.0.1", "Traceback"):
        assert secret not in caplog.text


async def test_stop_sends_answers_in_flight_then_tells_pages_to_reconnect(tree: Path) -> None:
    runtime = make_runtime(tree)
    chat = await start_chat(runtime)
    entered, release = asyncio.Event(), asyncio.Event()
    handle = runtime.handle

    async def slow(conversation: Conversation, event: Event) -> list[Reply]:
        entered.set()
        await release.wait()
        return await handle(conversation, event)

    runtime.handle = slow  # type: ignore[method-assign]
    async with aiohttp.ClientSession() as http:
        busy = await open_page(http, base(chat))
        idle = await open_page(http, base(chat))
        await busy.send("start", lang="de")
        await entered.wait()
        stopping = asyncio.create_task(chat.stop())
        async with asyncio.timeout(10):
            closed = await idle.ws.receive()
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert idle.ws.close_code == 1001
        assert not stopping.done()
        release.set()
        answer = await busy.receive()
        assert "WILLKOMMEN-DE" in answer["replies"][0]["html"]
        async with asyncio.timeout(10):
            await busy.ws.receive()
        assert busy.ws.close_code == 1001
        async with asyncio.timeout(20):
            await stopping
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(base(chat) + "/")
    await runtime.close()


async def test_healthz_waits_for_the_web_chat_and_metrics_count_it(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.observability import Metrics
    from bot.platforms.web import serve

    monkeypatch.setenv("WEB_LISTEN", "127.0.0.1:0")
    runtime = make_runtime(tree)
    metrics = Metrics(["web"])
    runtime.observer = metrics
    runtime.readiness.expect(["web"])
    assert runtime.readiness.missing() == ["web not connected"]
    assert b'bot_updates_total{platform="web"} 0.0' in await metrics.render(runtime)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(runtime, stop))
    async with asyncio.timeout(10):
        while runtime.readiness.missing():
            await asyncio.sleep(0.01)
    stop.set()
    async with asyncio.timeout(20):
        await serving
    assert runtime.readiness.missing() == ["web not connected"]
    await runtime.close()
