"""How Telegram updates come in: long polling that loses nothing, and a webhook that refuses
what Telegram did not send.

**Polling.** python-telegram-bot's updater confirms a batch of updates (``getUpdates`` with
a higher ``offset``) as soon as it fetches the next one, so a process killed with ``kill -9``
lost every update fetched but not yet answered. :class:`Poller` confirms an update only once
it has been answered: the offset it sends is the lowest update still being handled, and the
ids answered above it are appended to a small file (:class:`AnsweredLog`), so that after a
restart the updates Telegram delivers again are answered if they were not and skipped if they
were. An update is recorded as answered the moment its answer has been written to the connection
(:class:`AnswerMarkingRequest`): not before, so that a kill while it waits for a connection does
not lose it, and not when Telegram's reply arrives, so that a kill during that round trip does
not answer it twice; a request that surely did not arrive (refused, no
connection) takes the record back. Holding back the offset has one cost: ``getUpdates`` returns the updates still in
progress with every call, so while some are in progress the poller asks at most every
:data:`BUSY_POLL_INTERVAL` seconds instead of waiting in a long poll.

An update that cannot be read (a message without ``date``, ``message`` as a string) is
skipped: confirmed, counted as an error and logged by its id only, never its content.

**Webhook.** :class:`WebhookServer` (aiohttp) checks ``X-Telegram-Bot-Api-Secret-Token``
before it reads a byte of the body (403), refuses bodies over :data:`MAX_BODY` by their
``Content-Length`` and while streaming (413), answers invalid JSON with 400 and never logs a
body. An update that is valid JSON but not a readable update is acknowledged and skipped as
in polling, so Telegram does not send it again and again.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import json
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    Conflict,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest, RequestData
from telegram.warnings import PTBUserWarning
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
    wait_random,
)

from bot.files import replace_file

log = logging.getLogger(__name__)

BUSY_POLL_INTERVAL = 0.5
"""Longest pause between two ``getUpdates`` while updates are being answered (then Telegram
answers at once, with the updates in progress, instead of waiting for new ones)."""

BATCH = 100
"""Updates per ``getUpdates`` (Telegram's maximum)."""

MAX_BODY = 1024 * 1024
"""Largest webhook body accepted (bytes). Telegram's updates are a few kilobytes."""

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# getUpdates goes through do_api_request so that one unreadable update can be skipped
# instead of failing the whole batch; PTB warns that get_updates exists.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)


def read_update(data: object, bot: Bot) -> Update | None:
    """The update in ``data``, or ``None`` if it is not one python-telegram-bot can read."""
    if not isinstance(data, dict):
        return None
    try:
        update = Update.de_json(data, bot)
    except Exception:  # whatever the JSON holds: KeyError, TypeError, AttributeError, ...
        return None
    return update


def update_id_of(data: object) -> int | None:
    """The ``update_id`` of a raw update, if it has a usable one."""
    if isinstance(data, dict):
        uid = data.get("update_id")
        if isinstance(uid, int) and not isinstance(uid, bool):
            return uid
    return None


# --------------------------------------------------------------------------------------
# Polling
# --------------------------------------------------------------------------------------


class AnsweredLog:
    """The ids of updates answered but not yet confirmed to Telegram, kept in a file.

    One id a line, appended with a plain ``write`` as soon as an update is answered, so a
    process killed right after still has it on disk (the kernel holds the page). Ids below
    the confirmed offset are never delivered again and are dropped when the file is
    rewritten. Holds update ids only, never what an update contained. ``path=None`` keeps
    the ids in memory only.
    """

    REWRITE_AFTER = 1000
    """Appended lines after which the file is rewritten with the ids still needed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ids: set[int] = set()
        self._appended = 0
        self._fd: int | None = None
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = path.read_text(encoding="ascii", errors="ignore")
        except FileNotFoundError:
            text = ""
        # Only whole lines: one cut short by a kill is not read.
        for line in text.split("\n")[:-1]:
            if line.isdigit():
                self.ids.add(int(line))
            elif line.startswith("-") and line[1:].isdigit():
                self.ids.discard(int(line[1:]))
        if text and not text.endswith("\n"):
            # Drop the cut line, so that the next id is not glued to it.
            os.truncate(path, len(text[: text.rfind("\n") + 1].encode("ascii", "ignore")))
        self._open()

    def _open(self) -> None:
        assert self.path is not None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def add(self, update_id: int) -> None:
        """Record ``update_id`` as answered."""
        if update_id in self.ids:
            return
        self.ids.add(update_id)
        self._write(f"{update_id}\n")

    def retract(self, update_id: int) -> None:
        """Take back :meth:`add`: the answer did not reach Telegram after all."""
        if update_id not in self.ids:
            return
        self.ids.discard(update_id)
        self._write(f"-{update_id}\n")

    def _write(self, line: str) -> None:
        if self._fd is not None:
            os.write(self._fd, line.encode())
            self._appended += 1

    def confirmed(self, offset: int) -> None:
        """Telegram confirmed every update below ``offset``: forget those ids."""
        self.ids = {i for i in self.ids if i >= offset}
        if self._fd is not None and self._appended >= self.REWRITE_AFTER:
            assert self.path is not None
            kept = "".join(f"{i}\n" for i in sorted(self.ids)).encode("ascii")
            replace_file(self.path, lambda f: f.write(kept))
            os.close(self._fd)
            self._open()
            self._appended = 0

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


CURRENT_UPDATE: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "telegram_update", default=None
)
"""The id of the update whose handling is running in this task (set by the adapter)."""

ANSWERING_METHODS = frozenset({"sendMessage", "answerInlineQuery"})
"""Bot API methods that deliver an answer to the user."""


class AnswerMarkingRequest(HTTPXRequest):
    """python-telegram-bot's HTTP client, recording an update as answered as its answer leaves.

    Records into :attr:`answered` (set in polling mode) the update of :data:`CURRENT_UPDATE`
    the moment the answering request's body has been written to the connection (httpcore's
    ``trace`` extension, set on the request by an httpx request hook): a process killed while
    the request still waited for a connection or was being written has not answered, so the
    update is answered after a restart; one killed after it has, so the update is skipped.
    The record is taken back when Telegram refused the request (429, 5xx, 4xx). A timeout
    after the body left keeps it (the answer most likely arrived; the adapter resends it
    anyway while it runs).
    """

    answered: AnsweredLog | None = None

    def __init__(self, *, httpx_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        more = dict(httpx_kwargs or {})
        hooks = dict(more.pop("event_hooks", None) or {})
        hooks["request"] = [*hooks.get("request", ()), self._trace_answer]
        super().__init__(httpx_kwargs={**more, "event_hooks": hooks}, **kwargs)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        """Send one HTTP request (see ``HTTPXRequest.do_request``)."""
        update_id = CURRENT_UPDATE.get()
        answered = self.answered
        if answered is None or update_id is None or url.rsplit("/", 1)[-1] not in ANSWERING_METHODS:
            return await super().do_request(url, method, request_data, *args, **kwargs)
        sent: list[bool] = []
        token = _ANSWER_SENT.set((answered, update_id, sent))
        try:
            code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        finally:
            _ANSWER_SENT.reset(token)
        if code >= 300 and sent:
            answered.retract(update_id)
        return code, payload

    @staticmethod
    async def _trace_answer(request: httpx.Request) -> None:
        """httpx request hook: an answer being sent gets the trace that records it."""
        marking = _ANSWER_SENT.get()
        if marking is None:
            return
        answered, update_id, sent = marking

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith(".send_request_body.complete") and not sent:
                answered.add(update_id)
                sent.append(True)

        request.extensions = {**request.extensions, "trace": trace}


_ANSWER_SENT: contextvars.ContextVar[tuple[AnsweredLog, int, list[bool]] | None] = (
    contextvars.ContextVar("answer_sent", default=None)
)
"""Set while :meth:`AnswerMarkingRequest.do_request` sends an answer: where to record it
once its body has left, and whether it has."""


class _Transient:
    """Which ``getUpdates`` failures are worth asking again (after a pause)."""

    def __call__(self, exc: BaseException) -> bool:
        if isinstance(exc, BadRequest):
            return False
        # Conflict: another poller or a webhook, e.g. the previous process still stopping.
        return isinstance(exc, NetworkError | Conflict | RetryAfter | TimeoutError)


class Poller:
    """Fetches updates with ``getUpdates`` and confirms each only once it is answered.

    ``put`` hands an update to the application; :meth:`finished` must be called when it has
    been handled (answered, or given up on). ``skipped`` is called with the id of each update
    that could not be read.
    """

    def __init__(
        self,
        bot: Bot,
        put: Callable[[Update], Awaitable[None]],
        answered: AnsweredLog,
        *,
        timeout: int,
        request_timeout: float,
        allowed_updates: Sequence[str],
        skipped: Callable[[int], None],
        retry_wait_max: float = 30.0,
    ) -> None:
        self._bot = bot
        self._put = put
        self._answered = answered
        self._timeout = timeout
        self._request_timeout = request_timeout
        self._allowed = list(allowed_updates)
        self._skipped = skipped
        self._wait = wait_exponential(multiplier=0.2, max=retry_wait_max) + wait_random(0, 0.2)
        self._pending: set[int] = set()
        self._highest: int | None = None
        self._confirmed: int | None = None
        self._progress = asyncio.Event()

    # -- bookkeeping ---------------------------------------------------------------------

    def offset(self) -> int | None:
        """What to send as ``offset``: the lowest update in progress, else one past the
        highest seen (``None`` before the first batch: Telegram starts where it stopped)."""
        if self._pending:
            return min(self._pending)
        return None if self._highest is None else self._highest + 1

    def _known(self, update_id: int) -> bool:
        if update_id in self._pending or update_id in self._answered.ids:
            return True
        return self._confirmed is not None and update_id < self._confirmed

    async def finished(self, update: object) -> None:
        """``update`` has been handled: it may be confirmed from now on."""
        if isinstance(update, Update) and update.update_id in self._pending:
            self._pending.discard(update.update_id)
            self._answered.add(update.update_id)
            self._progress.set()

    @property
    def in_progress(self) -> int:
        """Updates handed to the application and not yet handled."""
        return len(self._pending)

    # -- the loop --------------------------------------------------------------------------

    async def _fetch(self, offset: int | None, timeout: int) -> list[Any]:
        kwargs: dict[str, Any] = {"timeout": timeout, "limit": BATCH}
        if offset is not None:
            kwargs["offset"] = offset
        if self._allowed:
            kwargs["allowed_updates"] = self._allowed
        result = await self._bot.do_api_request(
            "getUpdates",
            api_kwargs=kwargs,
            read_timeout=timeout + self._request_timeout,
        )
        if offset is not None:
            self._confirmed = offset
            self._answered.confirmed(offset)
        return result if isinstance(result, list) else []

    def _retry_wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryAfter):
            from bot.platforms.telegram_ratelimit import retry_after_seconds

            return retry_after_seconds(exc) + 0.1
        return float(self._wait(state))

    async def _fetch_retrying(self, offset: int | None, timeout: int) -> list[Any]:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_Transient()),
            wait=self._retry_wait,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "getUpdates failed (%s); asking again",
                type(s.outcome.exception()).__name__ if s.outcome else "?",
            ),
        )
        async for attempt in retrying:
            with attempt:
                return await self._fetch(offset, timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    async def take(self, batch: Iterable[Any]) -> int:
        """Hand the new updates of ``batch`` to the application; returns how many were new."""
        new = 0
        for data in batch:
            update_id = update_id_of(data)
            if update_id is None:
                continue  # nothing to confirm it by; the next offset passes it anyway
            if self._highest is None or update_id > self._highest:
                self._highest = update_id
            if self._known(update_id):
                continue
            new += 1
            update = read_update(data, self._bot)
            if update is None:
                log.warning("update %d could not be read; skipped", update_id)
                self._answered.add(update_id)
                self._skipped(update_id)
                continue
            self._pending.add(update_id)
            await self._put(update)
        return new

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; returns with the updates in progress untouched."""
        while not stop.is_set():
            busy = bool(self._pending)
            self._progress.clear()
            fetch = asyncio.ensure_future(
                self._fetch_retrying(self.offset(), 0 if busy else self._timeout)
            )
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                await asyncio.gather(fetch, return_exceptions=True)
                return
            new = await self.take(fetch.result())
            if new == 0 and self._pending:
                # Telegram only gave back updates still in progress: wait until one is
                # answered (so the offset can move) or a moment has passed.
                progress = asyncio.ensure_future(self._progress.wait())
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait(
                    {progress, stopping},
                    timeout=BUSY_POLL_INTERVAL,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                progress.cancel()
                stopping.cancel()

    def close(self) -> None:
        """Close the answered log (after :meth:`confirm`)."""
        self._answered.close()

    async def confirm(self) -> None:
        """Tell Telegram which updates are answered (at shutdown, after the last ones)."""
        offset = self.offset()
        if offset is None:
            return
        try:
            await self._bot.do_api_request(
                "getUpdates",
                api_kwargs={"offset": offset, "timeout": 0, "limit": 1},
                read_timeout=self._request_timeout,
            )
            self._confirmed = offset
            self._answered.confirmed(offset)
        except TelegramError as exc:
            # They are in the answered log: a restart skips them.
            log.warning("could not confirm the last updates: %s", exc)


# --------------------------------------------------------------------------------------
# Webhook
# --------------------------------------------------------------------------------------


class WebhookServer:
    """Receives Telegram's POSTs on ``listen:port/path`` and hands updates to ``put``."""

    def __init__(
        self,
        bot: Bot,
        put: Callable[[Update], Awaitable[None]],
        *,
        secret: str,
        listen: str,
        port: int,
        path: str,
        skipped: Callable[[int | None], None],
        max_body: int = MAX_BODY,
    ) -> None:
        self._bot = bot
        self._put = put
        self._secret = secret.encode()
        self._skipped = skipped
        self._max_body = max_body
        self.listen = listen
        self.port = port
        app = web.Application(client_max_size=max_body)
        app.router.add_post("/" + path.strip("/"), self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        """Listen; with port 0 :attr:`port` is the one the system chose."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        bound = self._runner.addresses
        if bound:
            self.port = int(bound[0][1])

    async def stop(self) -> None:
        """Stop accepting requests (those being answered finish first)."""
        await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        # Checked before the body is read: a forged request costs nothing but its headers.
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="forbidden\n")
        length = request.content_length
        if length is not None and length > self._max_body:
            return web.Response(status=413, text="too large\n")
        body = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > self._max_body:
                # Chunked, or a Content-Length that lied: stop reading here.
                return web.Response(status=413, text="too large\n")
        try:
            data = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON\n")
        update = read_update(data, self._bot)
        if update is None:
            update_id = update_id_of(data)
            if update_id is None:
                log.warning("webhook update could not be read (no update id); skipped")
            else:
                log.warning("update %d could not be read; skipped", update_id)
            self._skipped(update_id)
            # Acknowledged: Telegram would otherwise deliver it again and again.
            return web.Response(text="skipped\n")
        await self._put(update)
        return web.Response(text="ok\n")
