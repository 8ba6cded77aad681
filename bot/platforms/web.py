"""Web chat adapter: the bot on a web page and embedded in other sites, on aiohttp.

It only translates: a page's messages (over a WebSocket, or a plain HTML form when the
browser runs no JavaScript) become engine events, the runtime's replies become HTML. What it
does on top of translating:

- Serves the chat page (``/``), its script and style sheet as files (a strict
  Content-Security-Policy allows nothing inline), and ``widget.js``, which opens the chat in
  an iframe on another site. ``WEB_ALLOWED_ORIGINS`` names the sites that may frame the page
  (the CSP's ``frame-ancestors``) and open its WebSocket (an ``Origin`` check).
- Keeps nothing that identifies a visitor: no cookies, no third-party assets, no IP address
  stored or logged. The page makes a random session id and keeps it in ``sessionStorage``
  (gone when the tab closes); the runtime keys sessions by a keyed hash of it, as on every
  platform. The address is used only as a key of the in-memory flood limiter, hashed with a
  key that lives as long as the process.
- Handles each page message once and in order: messages carry a sequence number; a page that
  reconnects sends again what was not answered, and a message already handled is not handled
  again. With a store that replicas share (Redis), the replicas agree through the store's
  :class:`~bot.store.Coordinator`: a lock per session and a mark per message.
- Shuts down gracefully: no new connections, answers in flight are sent, then every page is
  told to reconnect (close code 1001), which a page behind a load balancer does to another
  replica.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from limits import parse as parse_rate
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import parse_listen
from bot.events import Choice, Command, Event, Start, Text
from bot.platforms.web_page import (
    PageWords,
    load_assets,
    pick_language,
    render_page,
    reply_json,
)
from bot.ratelimit import PerKeyLimiter
from bot.runtime import Conversation, Runtime

log = logging.getLogger(__name__)

PLATFORM = "web"

MAX_FRAME = 16 * 1024
"""Largest WebSocket message, in bytes; a longer one closes the connection (1009)."""
MAX_FORM = 16 * 1024
"""Largest form post, in bytes; a longer one is refused with 413."""
HELLO_TIMEOUT = 30.0
"""Seconds a new WebSocket may take to say which session it is."""
RECENT_ANSWERS = 2_000
"""Sessions whose last answer is kept in memory, to resend it to a page that reconnects
(a few KiB each; a page reconnects within seconds)."""
RECENT_SESSIONS = 100_000
"""Sessions whose last message number is kept in memory (about 150 bytes each), so that a
form sent again much later (the back button) is not handled twice."""

_SESSION = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
# Option ids are node ids or "@word" / "@word:arg" (see bot.events), as on Telegram.
_OPTION_ID = re.compile(r"^(?:[a-z0-9][a-z0-9-]{0,63}|@[a-z]{1,16}(?::[a-z0-9-]{1,32})?)$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_äöüÄÖÜß]{1,32})(?:\s+(.*))?$", re.DOTALL)
_LANG = re.compile(r"^[a-z]{2,3}$")


class _WithoutAddress(logging.Filter):
    """aiohttp logs the client's address, with a traceback, for a request it cannot parse;
    this keeps one line without the address."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Error handling request"):
            exc = record.exc_info[1] if record.exc_info else None
            record.msg = "unreadable request refused: %s"
            record.args = (type(exc).__name__ if exc else "unknown",)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_server_log = logging.getLogger(f"{__name__}.server")
_server_log.addFilter(_WithoutAddress())


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


class WebSettings(BaseSettings):
    """Web chat settings, read from ``WEB_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="WEB_", extra="ignore", use_attribute_docstrings=True
    )

    listen: str | None = None
    """Serve the web chat on host:port (a bare port means 127.0.0.1); off if unset."""
    allowed_origins: str = ""
    """Sites that may embed the chat (widget.js, iframe), e.g. https://ngo.example, comma
    separated; the chat's own address always may. Empty: no other site."""
    max_message: int = 1000
    """Longest message a visitor may send, in characters."""
    address_rate: str = "120/minute"
    """Messages and connections per network address (held in memory only), e.g. 120/minute."""
    trust_forwarded: bool = False
    """Take the visitor's address from X-Forwarded-For (last entry) and the host from
    X-Forwarded-Host: set it only behind a reverse proxy that sets them."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        host, port = parse_listen(value)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        origins = []
        for item in re.split(r"[\s,]+", value.strip()):
            if not item:
                continue
            parts = urlsplit(item)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError(
                    f"{item!r} is not an origin; use scheme://host[:port], "
                    "e.g. https://ngo.example, comma separated"
                )
            if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
                raise ValueError(
                    f"{item!r} has more than scheme://host[:port]; leave out the path, "
                    "e.g. https://ngo.example"
                )
            origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
        return " ".join(origins)

    @field_validator("max_message")
    @classmethod
    def _max_message(cls, value: int) -> int:
        if not 1 <= value <= 4000:
            raise ValueError("use a number of characters from 1 to 4000")
        return value

    @field_validator("address_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError("use a rate such as 120/minute or 10/second") from None
        return value.strip()

    def origins(self) -> tuple[str, ...]:
        """``WEB_ALLOWED_ORIGINS`` as a tuple of ``scheme://host[:port]``."""
        return tuple(self.allowed_origins.split())

    def address(self) -> tuple[str, int]:
        """``WEB_LISTEN`` as ``(host, port)``."""
        if not self.listen:
            raise ValueError("WEB_LISTEN is not set")
        return parse_listen(self.listen)


# --------------------------------------------------------------------------------------
# Once and in order
# --------------------------------------------------------------------------------------


Answer = list[dict[str, Any]]


class Sequencer:
    """Handles each session's numbered messages once and in order.

    A page numbers its messages and, after reconnecting, sends again those it got no answer
    to. In one process a lock per session and the last handled number do; with replicas
    sharing a store, the store's coordinator holds the session across replicas and marks
    each message as taken, so a message sent again to another replica is not handled twice.
    The last answer of each session stays in memory to be resent to a page that lost it.
    """

    def __init__(
        self, runtime: Runtime, answers: int = RECENT_ANSWERS, sessions: int = RECENT_SESSIONS
    ) -> None:
        self._runtime = runtime
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._seen: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._answers: collections.OrderedDict[str, tuple[int, Answer]] = collections.OrderedDict()
        self._limits = (answers, sessions)

    def forget(self, name: str) -> None:
        """Drop what is kept about session ``name`` (after ``/forget``)."""
        self._seen.pop(name, None)
        self._answers.pop(name, None)

    def _remember(self, name: str, seq: int, answer: Answer) -> None:
        self._seen[name] = seq
        self._seen.move_to_end(name)
        self._answers[name] = (seq, answer)
        self._answers.move_to_end(name)
        answers, sessions = self._limits
        while len(self._seen) > sessions:
            self._seen.popitem(last=False)
        while len(self._answers) > answers:
            self._answers.popitem(last=False)

    async def run(
        self, name: str, seq: int, handle: Callable[[], Awaitable[Answer]]
    ) -> tuple[Answer, bool]:
        """Run ``handle`` for message ``seq`` of session ``name`` unless it ran before.

        Returns the answer and whether it is new; for a message handled before, the answer
        kept for it (empty when another replica handled it or it is no longer kept).
        """
        lock = self._locks.get(name)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[name] = lock
        async with lock:
            coordinator = self._runtime.coordinator
            release = None
            if coordinator is not None:
                try:
                    release = await coordinator.acquire(f"web:{name}")
                except TimeoutError:
                    log.warning("web session still held elsewhere after waiting; going ahead")
            try:
                last = self._seen.get(name)
                if last is not None and seq <= last:
                    kept = self._answers.get(name)
                    return (kept[1] if kept is not None and kept[0] == seq else []), False
                if coordinator is not None and not await coordinator.first_time(
                    f"web:{name}:{seq}"
                ):
                    return [], False
                answer = await handle()
                self._remember(name, seq, answer)
                return answer, True
            finally:
                if release is not None:
                    await release()


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class BadInput(Exception):
    """A message the page should not have sent; ``key`` names the page text explaining it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class Incoming:
    """One visitor message, checked: the event, whether it erases the session."""

    event: Event
    forgets: bool = False


class WebChat:
    """The web chat for one :class:`Runtime`: page, WebSocket, form posts, widget."""

    def __init__(self, runtime: Runtime, settings: WebSettings) -> None:
        if not runtime.content.meta.web_page:
            # Optional for chat-only trees; the page cannot be shown without its words.
            raise ValueError(
                "the content has no 'web_page' section, which the web chat needs for its page's "
                "own words: add it to bot.yaml (see content/bot.yaml)"
            )
        self.runtime = runtime
        self.settings = settings
        self.assets = load_assets()
        self.sequencer = Sequencer(runtime)
        self.limiter = PerKeyLimiter(settings.address_rate)
        # The address is hashed with a key that never leaves this process, so even the
        # limiter's memory holds no IP address.
        self._address_key = secrets.token_bytes(32)
        self._sockets: set[web.WebSocketResponse] = set()
        self._busy: weakref.WeakKeyDictionary[web.WebSocketResponse, bool] = (
            weakref.WeakKeyDictionary()
        )
        self._stopping = False
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- setup ------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_FORM, middlewares=[self._headers, self._errors])
        app.router.add_get("/", self._page)
        app.router.add_post("/", self._form)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/forget", self._forget_page)
        for name in self.assets:
            app.router.add_get(f"/{name}", self._asset)
        return app

    async def start(self) -> None:
        """Start listening; with port 0, :attr:`port` is the one the system chose."""
        host, port = self.settings.address()
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=10.0, logger=_server_log
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses
        self.port = int(bound[0][1]) if bound else port
        where = f"[{host}]" if ":" in host else host
        log.info("web chat on http://%s:%d/", where, self.port)

    async def stop(self) -> None:
        """Finish answers in flight, tell every page to reconnect, stop listening."""
        self._stopping = True
        for ws in list(self._sockets):
            if not self._busy.get(ws):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"restarting")
        # An answer still not done after this is cut off: its page sends the message again.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(15):
                while any(self._busy.get(ws) for ws in self._sockets):
                    await asyncio.sleep(0.01)
        if self._runner is not None:
            await self._runner.cleanup()

    # -- middlewares --------------------------------------------------------------------

    def _csp(self) -> str:
        ancestors = " ".join(("'self'", *self.settings.origins()))
        return (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}"
        )

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        if response.prepared:
            return response  # a WebSocket: its headers went out with the upgrade
        h = response.headers
        h.setdefault("Content-Security-Policy", self._csp())
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
            "interest-cohort=(), browsing-topics=()"
        )
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        if "Cache-Control" not in h:
            h["Cache-Control"] = "no-store"
        if isinstance(response, web.HTTPException):
            raise response
        return response

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400 and not exc.text:
                exc.text = f"{exc.status}: {exc.reason}\n"
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            # Logged without the request (it may carry what the visitor typed).
            log.exception("web request failed")
            self.runtime.record_error(PLATFORM)
            raise web.HTTPInternalServerError(
                text="500: something went wrong on our side; try again\n"
            ) from None

    # -- helpers ------------------------------------------------------------------------

    def _address(self, request: web.Request) -> str:
        """A keyed hash of the visitor's network address, for the flood limiter only."""
        address = request.remote or ""
        if self.settings.trust_forwarded:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded.strip():
                address = forwarded.split(",")[-1].strip()
        return hashlib.blake2b(address.encode(), key=self._address_key, digest_size=16).hexdigest()

    def _host(self, request: web.Request) -> str:
        host = request.headers.get("Host", "")
        if self.settings.trust_forwarded:
            host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip()
        return host.lower()

    def _origin_allowed(self, request: web.Request) -> bool:
        """A WebSocket from the chat's own page, or from a site allowed to embed it.

        Browsers always send ``Origin`` with a WebSocket; programs that do not are let in
        (they could send any ``Origin``), as are the page itself and WEB_ALLOWED_ORIGINS."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        parts = urlsplit(origin.strip().lower())
        if parts.netloc and parts.netloc == self._host(request):
            return True
        return f"{parts.scheme}://{parts.netloc}" in self.settings.origins()

    def _languages(self) -> dict[str, str]:
        content = self.runtime.content
        return {code: content.string("language_name", code) for code in content.languages}

    def _words(self, lang: str) -> PageWords:
        content = self.runtime.content
        # A reload may have dropped the language a page was opened in.
        return PageWords.of(
            content, lang if lang in content.languages else content.meta.default_language
        )

    def _page_language(self, request: web.Request, chosen: str | None = None) -> str:
        content = self.runtime.content
        for candidate in (chosen, request.query.get("lang")):
            if candidate and candidate in content.languages:
                return candidate
        return pick_language(
            request.headers.get("Accept-Language"),
            content.languages,
            content.meta.default_language,
        )

    def _translate(
        self,
        kind: str,
        *,
        text: str | None = None,
        option: str | None = None,
        lang: str | None = None,
        locale: str | None = None,
    ) -> Incoming:
        """A page message as an engine event; raises :class:`BadInput` for a wrong one."""
        content = self.runtime.content
        if kind == "start":
            language = lang if lang in content.languages else None
            return Incoming(Start(language=language, locale=locale))
        if kind == "forget":
            return Incoming(Command(name="forget", locale=locale), forgets=True)
        if kind == "lang":
            if not lang or not _LANG.match(lang):
                raise BadInput("bad")
            return Incoming(Command(name="lang", args=lang, locale=locale))
        if kind == "choice":
            if not option or not _OPTION_ID.match(option):
                raise BadInput("bad")
            return Incoming(Choice(option=option, locale=locale))
        if kind == "text":
            body = (text or "").strip()
            if not body:
                raise BadInput("empty")
            if len(body) > self.settings.max_message:
                raise BadInput("too_long")
            command = _COMMAND.match(body)
            if command is not None:
                name, args = command.group(1).lower(), (command.group(2) or "").strip()
                canonical = content.command_name(name)
                if canonical == "start" or name == "start":
                    return Incoming(Start(locale=locale))
                return Incoming(
                    Command(name=name, args=args, locale=locale), forgets=canonical == "forget"
                )
            return Incoming(Text(text=body, locale=locale))
        raise BadInput("bad")

    async def _handle(self, session: str, seq: int, incoming: Incoming) -> tuple[Answer, bool]:
        conversation = Conversation(platform=PLATFORM, chat_id=session, user_id=session)
        name = self.runtime.pseudonym(PLATFORM, session)

        async def handle() -> Answer:
            replies = await self.runtime.handle(conversation, incoming.event)
            return [reply_json(r) for r in replies]

        answer, fresh = await self.sequencer.run(name, seq, handle)
        if incoming.forgets:
            self.sequencer.forget(name)
        return answer, fresh

    # -- pages --------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        lang = self._page_language(request)
        page = render_page(
            words=self._words(lang),
            languages=self._languages(),
            session=secrets.token_urlsafe(16),
            seq=1,
            assets=self.assets,
            max_message=self.settings.max_message,
        )
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def _forget_page(self, request: web.Request) -> web.Response:
        """``GET /forget``: the page's ``/forget`` is a button (a form post); say so."""
        raise web.HTTPMethodNotAllowed(
            "GET",
            ["POST"],
            text="405: use the page's Forget button, or type /forget in the chat\n",
        )

    async def _form(self, request: web.Request) -> web.Response:
        """A form post from a page without JavaScript: handle it, answer with the page."""
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise web.HTTPUnsupportedMediaType(text="415: send the chat form\n")
        form = await request.post()
        session = str(form.get("session", ""))
        seq_text = str(form.get("seq", ""))
        if not _SESSION.match(session) or not seq_text.isdigit() or len(seq_text) > 9:
            raise web.HTTPBadRequest(text="400: the form has no valid session; reload the page\n")
        seq = int(seq_text)
        chosen = str(form.get("lang", "")) or None
        shown = str(form.get("hl", ""))
        lang = self._page_language(request, chosen if chosen in self._languages() else shown)
        locale = request.headers.get("Accept-Language")
        option = form.get("option")
        action = str(form.get("action", ""))
        said: str | None = None
        try:
            if option is not None:
                incoming = self._translate("choice", option=str(option), locale=locale)
            elif chosen is not None:
                incoming = self._translate("lang", lang=chosen, locale=locale)
            elif action == "start":
                incoming = self._translate("start", lang=lang, locale=locale)
            elif action == "forget":
                incoming = self._translate("forget", locale=locale)
            else:
                said = str(form.get("text", ""))
                incoming = self._translate("text", text=said, locale=locale)
        except BadInput as exc:
            page = render_page(
                words=self._words(lang),
                languages=self._languages(),
                session=session,
                seq=seq,
                assets=self.assets,
                notice=self._words(lang)(exc.key, max=self.settings.max_message),
                max_message=self.settings.max_message,
            )
            status = 413 if exc.key == "too_long" else 400
            return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
        if not self.limiter.allow(self._address(request)):
            raise web.HTTPTooManyRequests(
                text=self._words(lang)("slow") + "\n", headers={"Retry-After": "60"}
            )
        answer, _ = await self._handle(session, seq, incoming)
        if incoming.forgets:
            # A new conversation: a new id, so nothing links it to the erased one.
            session, seq = secrets.token_urlsafe(16), 0
        if answer:
            lang = answer[-1]["lang"] if answer[-1]["lang"] in self._languages() else lang
        page = render_page(
            words=self._words(lang),
            languages=self._languages(),
            session=session,
            seq=seq + 1,
            assets=self.assets,
            said=said,
            replies=answer,
            max_message=self.settings.max_message,
        )
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.path.lstrip("/")
        asset = self.assets[name]
        headers = {"Cache-Control": "public, max-age=86400"}
        if name == "widget.js":
            # Loaded by other sites' pages: readable cross-origin, and short-lived in caches
            # so that a fix reaches the embedding sites soon.
            headers = {
                "Cache-Control": "public, max-age=3600",
                "Cross-Origin-Resource-Policy": "cross-origin",
            }
        return web.Response(
            body=asset.body, headers={**headers, "Content-Type": asset.content_type}
        )

    # -- WebSocket ----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            raise web.HTTPServiceUnavailable(text="503: restarting; connect again\n")
        if not self._origin_allowed(request):
            raise web.HTTPForbidden(
                text="403: this site may not use the chat (WEB_ALLOWED_ORIGINS)\n"
            )
        address = self._address(request)
        if not self.limiter.allow(address):
            raise web.HTTPTooManyRequests(
                text="429: too many connections\n", headers={"Retry-After": "60"}
            )
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME)
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="400: this address speaks WebSocket only\n")
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await self._converse(ws, request, address)
        finally:
            self._sockets.discard(ws)
        return ws

    async def _converse(
        self, ws: web.WebSocketResponse, request: web.Request, address: str
    ) -> None:
        locale = request.headers.get("Accept-Language")
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                first = await ws.receive()
        except TimeoutError:
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"say hello")
            return
        hello = _json(first)
        session = hello.get("session") if hello else None
        if (
            not hello
            or hello.get("kind") != "hello"
            or not isinstance(session, str)
            or not _SESSION.match(session)
        ):
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"expected hello")
            return
        lang = hello.get("lang") if isinstance(hello.get("lang"), str) else None
        page_lang = lang or ""
        await _send(ws, {"type": "ready"})
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                await _send(
                    ws, {"type": "error", "code": "bad", "message": self._words(page_lang)("bad")}
                )
                continue
            data = _json(message)
            if data and data.get("kind") == "hello":
                # A new conversation on the same connection (after Forget: a new id).
                fresh_id = data.get("session")
                if isinstance(fresh_id, str) and _SESSION.match(fresh_id):
                    session = fresh_id
                    await _send(ws, {"type": "ready"})
                else:
                    await _send(
                        ws,
                        {"type": "error", "code": "bad", "message": self._words(page_lang)("bad")},
                    )
                continue
            seq = data.get("seq") if data else None
            if not data or not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 10**9:
                await _send(
                    ws, {"type": "error", "code": "bad", "message": self._words(page_lang)("bad")}
                )
                continue
            try:
                incoming = self._translate(
                    str(data.get("kind", "")),
                    text=_str(data.get("text")),
                    option=_str(data.get("option")),
                    lang=_str(data.get("lang")),
                    locale=locale,
                )
            except BadInput as exc:
                await _send(
                    ws,
                    {
                        "type": "error",
                        "seq": seq,
                        "code": exc.key,
                        "message": self._words(page_lang)(exc.key, max=self.settings.max_message),
                    },
                )
                continue
            if not self.limiter.allow(address):
                await _send(
                    ws,
                    {
                        "type": "error",
                        "seq": seq,
                        "code": "slow",
                        "message": self._words(page_lang)("slow"),
                    },
                )
                continue
            self._busy[ws] = True
            try:
                answer, fresh = await self._handle(session, seq, incoming)
                if answer:
                    page_lang = answer[-1]["lang"]
                await _send(
                    ws,
                    {
                        "type": "answer",
                        "seq": seq,
                        "replies": answer,
                        "again": not fresh,
                        "forgotten": incoming.forgets,
                    },
                )
            finally:
                self._busy[ws] = False
            if self._stopping:
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"restarting")
                break


async def _send(ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
    """Send ``data``; a page that went away meanwhile gets it again after reconnecting."""
    with contextlib.suppress(ConnectionResetError):
        await ws.send_json(data)


def _json(message: Any) -> dict[str, Any] | None:
    """A WebSocket text message's JSON object, or ``None``."""
    if getattr(message, "type", None) != WSMsgType.TEXT:
        return None
    try:
        data = json.loads(message.data)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Platform entry point for ``python -m bot run`` (``WEB_LISTEN`` set)."""
    from bot.config import ConfigError

    settings = WebSettings()
    try:
        chat = WebChat(runtime, settings)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        await chat.start()
    except OSError as exc:
        raise ConfigError(
            f"WEB_LISTEN: cannot listen on {settings.listen} ({exc.strerror}); choose a free port"
        ) from None
    runtime.readiness.connected(PLATFORM)
    try:
        await stop.wait()
    finally:
        runtime.readiness.disconnected(PLATFORM)
        await chat.stop()
