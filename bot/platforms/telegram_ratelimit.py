"""Outgoing flood limits for the Telegram adapter: one chat's 429 delays that chat only.

python-telegram-bot's ``AIORateLimiter`` pauses every request after any ``429 Too Many
Requests``, so one busy group made every other chat wait out its ``retry_after``.
:class:`ChatRateLimiter` keeps the same budgets (aiolimiter: about 30 messages a second
overall, 20 a minute per group) but keeps Telegram's pauses apart:

- a 429 for a request to a chat pauses that chat until its ``retry_after`` has passed;
- a 429 for a request that names no chat (``answerCallbackQuery``, ``setMyCommands``, ...),
  or 429s for several chats at once, are Telegram's flood control for the whole bot: every
  request waits.

The request is then sent again (tenacity counts the attempts), up to ``max_retries`` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_none

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]

GLOBAL = ""
"""The key of the pause that holds every request."""

CHATS_FOR_GLOBAL = 3
"""How many chats answered 429 within :data:`GLOBAL_WINDOW` before it counts as the bot's
flood control rather than the chats' own limits."""

GLOBAL_WINDOW = 1.0
"""Seconds within which 429s of different chats are taken as one flood-control signal."""

MAX_CHATS_TRACKED = 512
"""Group limiters kept before idle ones are dropped (memory stays bounded)."""


def retry_after_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB gives it as an int or a timedelta."""
    with warnings.catch_warnings():
        # PTB warns that the attribute becomes a timedelta; both forms are handled.
        warnings.simplefilter("ignore")
        after = exc.retry_after
    return after.total_seconds() if isinstance(after, dt.timedelta) else float(after)


def chat_of(data: dict[str, Any]) -> str | None:
    """The chat a request is for (``chat_id``), as a string; ``None`` if it names none."""
    chat = data.get("chat_id")
    return None if chat is None else str(chat)


class ChatRateLimiter(BaseRateLimiter[int]):
    """Per-chat and overall send budgets, and 429 pauses per chat (or global when meant so).

    ``clock`` is a monotonic clock in seconds (replaceable in tests).
    """

    def __init__(
        self,
        *,
        overall_max_rate: float = 30,
        overall_time_period: float = 1,
        group_max_rate: float = 20,
        group_time_period: float = 60,
        max_retries: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._overall = AsyncLimiter(overall_max_rate, overall_time_period)
        self._group_rate = (group_max_rate, group_time_period)
        self._groups: dict[str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._clock = clock
        self._paused_until: dict[str, float] = {}
        """Chat (or :data:`GLOBAL`) -> the monotonic time its 429 pause ends."""
        self._recent: dict[str, float] = {}
        """Chat -> when it last answered 429 (to tell a global flood from one chat's)."""

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    # -- pauses ------------------------------------------------------------------------------

    def paused_for(self, chat: str | None) -> float:
        """Seconds a request to ``chat`` must still wait (0 when it may go now)."""
        now = self._clock()
        until = self._paused_until.get(GLOBAL, 0.0)
        if chat is not None:
            until = max(until, self._paused_until.get(chat, 0.0))
        return max(0.0, until - now)

    def _pause(self, chat: str | None, seconds: float) -> None:
        now = self._clock()
        key = GLOBAL
        if chat is not None:
            self._recent = {c: t for c, t in self._recent.items() if now - t <= GLOBAL_WINDOW}
            self._recent[chat] = now
            if len(self._recent) < CHATS_FOR_GLOBAL:
                key = chat
        until = now + seconds
        if until > self._paused_until.get(key, 0.0):
            self._paused_until[key] = until
        scope = "all chats" if key == GLOBAL else "one chat"
        log.info("Telegram asks to wait %.1f s (%s)", seconds, scope)
        # Pauses that have ended are dropped, so the table holds only chats paused now.
        self._paused_until = {k: t for k, t in self._paused_until.items() if t > now}

    # -- budgets -----------------------------------------------------------------------------

    def _group_limiter(self, chat: str) -> AsyncLimiter:
        limiter = self._groups.get(chat)
        if limiter is None:
            if len(self._groups) >= MAX_CHATS_TRACKED:
                # A limiter back at full capacity remembers nothing worth keeping.
                for key, idle in list(self._groups.items()):
                    if idle.has_capacity(idle.max_rate):
                        del self._groups[key]
            limiter = AsyncLimiter(*self._group_rate)
            self._groups[chat] = limiter
        return limiter

    # -- the request -------------------------------------------------------------------------

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        """Send after the chat's (and the bot's) pause and within budget; resend after 429."""
        chat = chat_of(data)
        # Groups (negative ids) and channels (@names) have a per-minute budget of their own.
        group = chat is not None and (chat.startswith("-") or chat.startswith("@"))
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RetryAfter),
            # The wait is the pause itself, taken before each attempt below, so that
            # every request to a paused chat waits, not only the one that met the 429.
            wait=wait_none(),
            stop=stop_after_attempt((rate_limit_args or self._max_retries) + 1),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                while (wait := self.paused_for(chat)) > 0:
                    await asyncio.sleep(wait)
                try:
                    async with contextlib.AsyncExitStack() as budgets:
                        # The group's minute first: waiting for it holds no overall capacity.
                        if group and chat is not None:
                            await budgets.enter_async_context(self._group_limiter(chat))
                        if chat is not None:
                            await budgets.enter_async_context(self._overall)
                        return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    self._pause(chat, retry_after_seconds(exc) + 0.1)
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
