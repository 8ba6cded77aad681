"""The runtime: load a session, run the engine, save or erase, hand replies to the platform.

It owns everything the sans-I/O engine must not: the clock, the store, pseudonymous keys
(HMAC of platform and ids with a secret, so no raw user id is ever stored), per-session
ordering, inbound flood protection and erasure hooks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError, Settings, hide_password
from bot.content import Content
from bot.content.cache import ContentCache
from bot.engine import Engine
from bot.events import Event, Forget, Reply
from bot.health import Observer, Readiness
from bot.matchercache import load_with_matcher
from bot.ratelimit import InboundLimiter, PerKeyLimiter
from bot.state import SessionState
from bot.store import Coordinator, MemoryStore, SessionKey, SessionStore, SqliteStore

log = logging.getLogger(__name__)

UNAVAILABLE = {
    "de": "Gerade gibt es ein technisches Problem. Versuch es bitte gleich noch einmal.",
    "en": "There's a technical problem right now. Please try again in a moment.",
}
"""Said when no answer can be computed (the session cannot be loaded), unless the content
has its own ``unavailable`` string."""

STORE_CHECK_EVERY = 2.0
"""Seconds a store health check's result is reused, so a busy ``/healthz`` costs little."""
STORE_CHECK_TIMEOUT = 1.0
"""Seconds a store health check may take; a slower store counts as failing."""

ErasureHook = Callable[[str, str], Awaitable[None]]
"""Called as ``hook(scope, key)`` after an erasure; scope is ``"user"`` or ``"chat"``."""


@dataclass(frozen=True)
class Conversation:
    """Who is talking where: one user in one chat on one platform (raw ids, never stored)."""

    platform: str
    chat_id: str
    user_id: str


def utc_now() -> dt.datetime:
    """The current time in UTC (the runtime's default clock)."""
    return dt.datetime.now(dt.UTC)


class Runtime:
    """Connects platforms to the engine and the session store."""

    def __init__(
        self,
        content: Content,
        store: SessionStore,
        secret: bytes,
        *,
        engine: Engine | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        limiter: InboundLimiter | None = None,
        languages: Collection[str] | None = None,
    ) -> None:
        """``languages``: the languages whose matching is made ready before serving (default:
        all); the others are made ready when first asked (the console's one user)."""
        self.store = store
        # Tree and engine (with its matcher) live in one tuple, so a reload swaps them at once.
        engine = engine or Engine(content, session_ttl=store.ttl)
        # The dense signal's model and vectors now, not when the first user asks (in the
        # background when the content has many texts without vectors yet).
        engine.prepare(background=True, languages=languages)
        self._served = (content, engine)
        self.readiness = Readiness()
        """Platforms report here when they are connected (``/healthz`` reads it)."""
        self.readiness.content_loaded = True
        self.observer: Observer | None = None
        """Receives per-event aggregates (metrics); ``None`` when nobody collects them."""
        self.clock = clock
        self.limiter = limiter or PerKeyLimiter()
        self._secret = secret
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._erasure_hooks: list[ErasureHook] = []
        self.coordinator: Coordinator | None = store.coordinator()
        """How replicas sharing the store split the work; ``None`` for a single process."""
        self._store_checked = -STORE_CHECK_EVERY
        self._store_problem: list[str] = []
        self._store_checking = asyncio.Lock()

    @property
    def content(self) -> Content:
        """The content tree in service."""
        return self._served[0]

    @property
    def engine(self) -> Engine:
        """The engine (and matcher) built from :attr:`content`."""
        return self._served[1]

    def swap(self, engine: Engine) -> None:
        """Serve new events from ``engine`` (a reloaded tree with its matcher).

        One reference is replaced, so an event sees either the old tree and matcher or the
        new ones, never a mix; events already running finish on the engine they started with.
        """
        self._served = (engine.content, engine)

    def record_error(self, platform: str) -> None:
        """A platform failed to handle or answer an update (counted in the metrics)."""
        if self.observer is not None:
            self.observer.error(platform)

    def _store_failed(self, operation: str, platform: str, exc: Exception, outcome: str) -> None:
        # The reason comes from the store (SQLite or Redis), never from what a user sent.
        reason = " ".join(hide_password(str(exc)).split()) or type(exc).__name__
        log.error(
            "%s a session failed (%s: %s); %s", operation, type(exc).__name__, reason, outcome
        )
        self.record_error(platform)
        if self.observer is not None:
            self.observer.store_error(operation)

    async def store_problems(self) -> list[str]:
        """What is wrong with the session store, for ``/healthz``; empty when it works.

        The store's own check, bounded by :data:`STORE_CHECK_TIMEOUT` and reused for
        :data:`STORE_CHECK_EVERY` seconds.
        """
        async with self._store_checking:
            if time.monotonic() - self._store_checked < STORE_CHECK_EVERY:
                return self._store_problem
            try:
                await asyncio.wait_for(self.store.check(), STORE_CHECK_TIMEOUT)
            except Exception as exc:
                reason = " ".join(hide_password(str(exc)).split()) or type(exc).__name__
                if isinstance(exc, TimeoutError):
                    reason = f"no answer within {STORE_CHECK_TIMEOUT:g} s"
                self._store_problem = [f"session store failing ({reason})"]
            else:
                self._store_problem = []
            self._store_checked = time.monotonic()
            return self._store_problem

    @staticmethod
    def _language(content: Content, state: SessionState | None, event: Event) -> str:
        # A new session's language from the platform's hint ("de-AT" -> "de"), as a guess.
        hint = getattr(event, "language", None) or (event.locale or "").split("-")[0].lower()
        wanted = state.language if state else hint
        if wanted not in content.languages:
            return content.meta.default_language
        return str(wanted)

    def _unavailable(self, content: Content, lang: str) -> Reply:
        if "unavailable" in content.meta.strings:
            text = content.string("unavailable", lang)
        else:
            text = UNAVAILABLE.get(lang, UNAVAILABLE["en"])
        return Reply(text=text, language=lang)

    @classmethod
    async def from_settings(cls, settings: Settings | None = None) -> Runtime:
        """A runtime with the configured content and store (``BOT_STORE``).

        Raises :class:`ConfigError` if the store is a Redis server that cannot be reached.
        """
        settings = settings or Settings()
        content, matcher = load_with_matcher(settings.content_dir, content_cache(settings))
        store = await open_store(settings)
        engine = Engine(content, matcher, session_ttl=store.ttl)
        return cls(content, store, settings.load_secret(), engine=engine)

    # -- keys ----------------------------------------------------------------------------

    def pseudonym(self, *parts: str) -> str:
        """A keyed hash of ``parts``, for names shared between replicas (e.g. chat locks)."""
        return self._hash("p", *parts)

    def _hash(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def key(self, conv: Conversation) -> SessionKey:
        """The pseudonymous keys for ``conv``."""
        return SessionKey(
            session=self._hash("s", conv.platform, conv.chat_id, conv.user_id),
            user=self._hash("u", conv.platform, conv.user_id),
            chat=self._hash("c", conv.platform, conv.chat_id),
        )

    # -- handling ------------------------------------------------------------------------

    async def handle(self, conv: Conversation, event: Event) -> list[Reply]:
        """Run ``event`` for ``conv`` and return the replies to send, in order."""
        if self.observer is None:
            return await self._handle(conv, event)
        started = time.perf_counter()
        replies = await self._handle(conv, event)
        self.observer.handled(conv.platform, replies, time.perf_counter() - started)
        return replies

    async def _handle(self, conv: Conversation, event: Event) -> list[Reply]:
        key = self.key(conv)
        # One tree for the whole event, even if a reload swaps the engine meanwhile.
        content, engine = self._served
        # Every event counts, /start and commands too, per user (not per chat): a flooder
        # in a group is slowed down without silencing the others in it.
        if not self.limiter.allow(key.user):
            if self.limiter.should_warn(key.user):
                # Warned once per window, so this one read costs nothing under a flood.
                try:
                    state = await self.store.get(key, self.clock())
                except Exception:
                    state = None  # the note in the default language will do
                lang = self._language(content, state, event)
                return [Reply(text=content.string("rate_limited", lang), language=lang)]
            return []
        lock = self._locks.get(key.session)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key.session] = lock
        async with lock:
            now = self.clock()
            try:
                state = await self.store.get(key, now)
            except Exception as exc:
                # Without the session there is no telling what a "1" or a button means.
                self._store_failed("loading", conv.platform, exc, "asked to try again")
                return [self._unavailable(content, self._language(content, None, event))]
            try:
                if not event.platform:
                    event = dataclasses.replace(event, platform=conv.platform)
                new_state, actions = engine.handle(state, event, now)
            except Exception:
                # The engine is meant never to raise; if it does, the user still gets an answer.
                log.exception("engine failed on %s", type(event).__name__)
                self.record_error(conv.platform)
                lang = self._language(content, state, event)
                return [Reply(text=content.string("fallback", lang), language=lang)]
            replies: list[Reply] = []
            for action in actions:
                if isinstance(action, Forget):
                    try:
                        await self.forget_user(conv)
                    except Exception as exc:
                        # Saying "forgotten" would be untrue: ask to try again instead.
                        self._store_failed("erasing", conv.platform, exc, "asked to try again")
                        return [self._unavailable(content, self._language(content, state, event))]
                elif isinstance(action, Reply):
                    replies.append(action)
            if new_state is not None:
                try:
                    await self.store.put(key, new_state)
                except Exception as exc:
                    # The answer is computed: the user gets it even if their place is not kept.
                    self._store_failed("saving", conv.platform, exc, "the reply is sent anyway")
            return replies

    async def inline(self, text: str, *, locale: str | None = None) -> list[Reply]:
        """Answers to offer for ``text`` outside a conversation (e.g. Telegram inline mode).

        Nothing is loaded or stored: there is no session, only a question.
        """
        return list(self.engine.inline(text, locale=locale, now=self.clock()))

    # -- erasure -------------------------------------------------------------------------

    def add_erasure_hook(self, hook: ErasureHook) -> None:
        """Run ``hook`` after every erasure (e.g. to drop platform-side caches)."""
        self._erasure_hooks.append(hook)

    async def forget_user(self, conv: Conversation) -> int:
        """Erase every session of ``conv``'s user on that platform."""
        key = self.key(conv)
        count = await self.store.delete_user(key.user)
        self.limiter.forget(key.user)
        for hook in self._erasure_hooks:
            await hook("user", key.user)
        return count

    async def forget_chat(self, platform: str, chat_id: str) -> int:
        """Erase every session in a chat (e.g. the bot was removed from a group)."""
        chat = self._hash("c", platform, chat_id)
        count = await self.store.delete_chat(chat)
        for hook in self._erasure_hooks:
            await hook("chat", chat)
        return count

    async def purge_expired(self) -> int:
        """Erase sessions past their idle time; platforms call this periodically."""
        return await self.store.purge_expired(self.clock())

    async def close(self) -> None:
        """Close the store."""
        await self.store.close()


def content_cache(settings: Settings) -> ContentCache:
    """The validated content and its matcher kept in ``<BOT_DATA_DIR>/cache``, signed with the
    bot's secret: a restart or a reload of unchanged content skips parsing and validating it
    and building the matcher.

    The same one for the same directory and secret: start-up and the reloader share it, so
    a reload of unchanged content gets what is in service (see :class:`ContentCache`)."""
    global _CACHE
    where, secret = settings.data_dir / "cache", settings.load_secret()
    if _CACHE is None or _CACHE[0] != (where, secret):
        _CACHE = ((where, secret), ContentCache(where, secret))
    return _CACHE[1]


_CACHE: tuple[tuple[Path, bytes], ContentCache] | None = None


async def open_store(settings: Settings) -> SessionStore:
    """The session store ``BOT_STORE`` names; a Redis server must answer at once.

    Raises :class:`ConfigError` naming ``BOT_STORE`` (password hidden) when it does not.
    """
    if settings.store == "memory":
        return MemoryStore(settings.session_ttl)
    url = settings.redis_url
    if url is None:
        return SqliteStore(settings.data_dir / "sessions.sqlite3", settings.session_ttl)
    if not settings.secret:
        # A secret generated into each replica's own data dir would give every replica other
        # pseudonyms for the same user: their sessions would never meet.
        raise ConfigError(
            "BOT_SECRET: not set, but BOT_STORE is a Redis that replicas share; "
            "set the same BOT_SECRET on every replica (e.g. openssl rand -hex 32)"
        )
    # Imported only here: redis-py is not needed by a bot that keeps its sessions in SQLite.
    from redis.exceptions import RedisError

    from bot.store.redis import RedisStore

    store = RedisStore(url, settings.session_ttl, prefix=settings.store_prefix)
    try:
        await store.ping()
    except (RedisError, OSError) as exc:
        await store.close()
        reason = " ".join(hide_password(str(exc)).split()) or type(exc).__name__
        raise ConfigError(
            f"BOT_STORE: cannot reach Redis at {hide_password(url)} ({reason}); "
            "start Redis there, fix the URL or its password, or unset BOT_STORE for SQLite"
        ) from None
    log.info("sessions in Redis at %s", hide_password(url))
    return store
