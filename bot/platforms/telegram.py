"""Telegram adapter (python-telegram-bot 22.x).

It only translates: Telegram updates become engine events, the runtime's replies become
Bot API calls. No dialogue logic lives here. What it does on top of translating:

- Decides whether a group message is addressed to the bot (commands, replies to the bot,
  mentions) and stays silent otherwise.
- Renders replies as Telegram HTML with inline keyboards, share and private-chat buttons,
  splits over-long texts, and turns off link previews.
- Keeps updates of one chat in order while different chats run concurrently.
- In webhook mode with a shared store (Redis), lets several replicas serve one bot: each
  update is answered once and each chat in order (:class:`ReplicaQueue`).
- Survives Telegram's limits and hiccups: :class:`ChatRateLimiter` keeps to the flood limits
  and resends after ``429 retry_after``, pausing only the chat Telegram named (or everything,
  when the 429 is the bot's flood control); network errors, timeouts and 5xx answers are
  retried with exponential backoff (tenacity). Nothing is retried after an answer that says
  the request itself was wrong.
- Fetches updates itself (``bot.platforms.telegram_updates``): in polling mode an update is
  confirmed to Telegram only once it is answered, so ``kill -9`` loses nothing; in webhook
  mode forged, oversized and malformed requests are refused. Unreadable updates are skipped.
- Shuts down gracefully: stops fetching, finishes the updates in flight, then returns.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from telegram import (
    BotCommand,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType, ParseMode
from telegram.error import ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)
from telegram.request import HTTPXRequest
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot import redact
from bot.content.markup import to_plain, to_telegram_html
from bot.events import (
    Choice,
    Command,
    Event,
    Joined,
    Option,
    Reply,
    Start,
    Text,
    Unsupported,
)
from bot.platforms.telegram_ratelimit import ChatRateLimiter, retry_after_seconds
from bot.platforms.telegram_updates import (
    CURRENT_UPDATE,
    AnsweredLog,
    AnswerMarkingRequest,
    Poller,
    WebhookServer,
)
from bot.runtime import Conversation, Runtime
from bot.store.base import Coordinator, Release

log = logging.getLogger(__name__)

PLATFORM = "telegram"
MAX_TEXT = 4096
"""Telegram's limit for one message, in UTF-16 code units after entity parsing."""
MAX_CALLBACK_DATA = 64
MAX_INLINE_RESULTS = 10

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "inline_query", "my_chat_member")
"""Update kinds the bot asks for; edited messages are requested only to be ignored on purpose."""

# Option ids are node ids or "@word" / "@word:arg" (see bot.events). Everything else that
# arrives as callback data was not made by this bot.
_OPTION_ID = re.compile(r"^(?:[a-z0-9][a-z0-9-]{0,63}|@[a-z]{1,16}(?::[a-z0-9-]{1,56})?)$")
_START_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?$", re.DOTALL)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")

_UNSUPPORTED_KINDS = (
    "sticker",
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)
_PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
_GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}

T = TypeVar("T")


_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


def _error(field: str, message: str) -> ValidationError:
    """A pydantic error for one field, so every bad setting reads the same way."""
    return ValidationError.from_exception_data(
        "TelegramSettings",
        [
            {
                "type": "value_error",
                "loc": (field,),
                "input": None,
                "ctx": {"error": ValueError(message)},
            }
        ],
    )


class TelegramSettings(BaseSettings):
    """Telegram settings, read from ``TELEGRAM_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="TELEGRAM_", extra="ignore", use_attribute_docstrings=True
    )

    bot_token: SecretStr | None = None
    """The token from @BotFather."""
    bot_token_file: Path | None = None
    """A file holding the token (e.g. a container secret); used when ``bot_token`` is unset."""
    base_url: str | None = None
    """A self-hosted Bot API server, e.g. ``http://localhost:8081``; default: the official one."""
    mode: Literal["polling", "webhook"] = "polling"
    """polling (no public address needed) or webhook (Telegram posts to webhook_url)."""
    webhook_url: str | None = None
    """The public HTTPS URL Telegram posts updates to (webhook mode)."""
    webhook_listen: str = "127.0.0.1"
    """Address the webhook server listens on (behind a reverse proxy)."""
    webhook_port: int = 8443
    """Port the webhook server listens on."""
    webhook_path: str = "telegram"
    """URL path of the webhook."""
    webhook_secret: SecretStr | None = None
    """Checked against Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header (webhook mode);
    unset, one is derived from ``BOT_SECRET`` and registered with ``setWebhook``."""
    poll_timeout: int = 30
    """Seconds one long-polling ``getUpdates`` call may wait for updates."""
    rate_limit: bool = True
    """Keep to Telegram's flood limits (about 30 messages/s, 20/min per group)."""
    max_concurrent: int = 64
    """Updates processed at once (different chats; one chat is always processed in order)."""
    send_retries: int = 8
    """How often a send is retried after network errors, timeouts, 5xx or 429; with the
    exponential backoff the default rides out about a minute of Telegram being unreachable."""
    request_timeout: float = 15.0
    """Seconds to wait for an answer to one Bot API call."""
    retry_wait_max: float = 30.0
    """Longest wait between two retries, in seconds."""

    def token(self) -> str:
        """The bot token, from ``TELEGRAM_BOT_TOKEN`` or ``TELEGRAM_BOT_TOKEN_FILE``."""
        if self.bot_token is not None and self.bot_token.get_secret_value().strip():
            return self.bot_token.get_secret_value().strip()
        if self.bot_token_file is not None:
            token = self.bot_token_file.read_text(encoding="utf-8").strip()
            redact.protect(token)
            if token:
                return token
        raise ValueError("set TELEGRAM_BOT_TOKEN or TELEGRAM_BOT_TOKEN_FILE")

    def check(self) -> None:
        """Raise ``ValueError``-based pydantic errors for settings that cannot work together."""
        try:
            token = self.token()
        except OSError as exc:
            raise _error(
                "bot_token_file", f"cannot read it ({exc.strerror}); check the path"
            ) from None
        except ValueError:
            raise _error("bot_token", "it is empty; set the token from @BotFather") from None
        if not _TOKEN.match(token):
            raise _error(
                "bot_token",
                "it does not look like a bot token (digits:letters); copy it from @BotFather",
            )
        if self.mode == "webhook" and not self.webhook_url:
            raise _error("webhook_url", "webhook mode needs the public HTTPS URL Telegram posts to")
        if self.webhook_url and not self.webhook_url.startswith("https://"):
            raise _error("webhook_url", "Telegram only posts to https:// URLs")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise _error("base_url", "use an http:// or https:// URL")

    @property
    def configured(self) -> bool:
        """Whether a token is configured at all (``python -m bot run`` starts Telegram then)."""
        return bool(self.bot_token and self.bot_token.get_secret_value().strip()) or (
            self.bot_token_file is not None
        )

    def api_urls(self) -> tuple[str, str] | None:
        """``(base_url, base_file_url)`` for python-telegram-bot, or ``None`` for the official API."""
        if not self.base_url:
            return None
        root = self.base_url.rstrip("/")
        root = root.removesuffix("/bot")
        return f"{root}/bot", f"{root}/file/bot"


# --------------------------------------------------------------------------------------
# Rendering helpers (pure)
# --------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def split_markup(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Render neutral markup to Telegram HTML chunks that each fit in one message.

    Splits at paragraph breaks first, then at line breaks, then between words; each chunk
    is rendered on its own, so tags never straddle two messages. Markup never spans lines,
    so rendering line groups separately gives the same HTML as rendering the whole.
    """

    def fits(part: str) -> bool:
        return utf16_len(to_telegram_html(part)) <= limit

    whole = to_telegram_html(text)
    if utf16_len(whole) <= limit:
        return [whole] if text.strip() else []
    pieces: list[str] = []
    for paragraph in text.split("\n\n"):
        if fits(paragraph):
            pieces.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            if fits(line):
                pieces.append(line)
                continue
            pieces.extend(_split_words(line, fits, limit))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        joined = f"{current}\n\n{piece}" if current else piece
        if fits(joined):
            current = joined
        else:
            if current:
                chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return [to_telegram_html(c) for c in chunks if c.strip()]


def _split_words(line: str, fits: Callable[[str], bool], limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            parts.append(current)
        while not fits(word):
            # A single "word" longer than a message: cut it; escaping can only grow it,
            # so a quarter of the limit always fits.
            cut = max(1, limit // 4)
            parts.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        parts.append(current)
    return parts


def deep_link(username: str, node: str) -> str:
    """``https://t.me/<bot>?start=<node>``: opens the bot at that topic."""
    return f"https://t.me/{username}?start={node}"


def share_link(username: str, node: str, title: str) -> str:
    """A Telegram share dialog pre-filled with the deep link to ``node``."""
    return f"https://t.me/share/url?url={quote(deep_link(username, node), safe='')}&text={quote(title, safe='')}"


def parse_callback_data(data: str | None) -> str | None:
    """The option id in callback data, or ``None`` if this bot cannot have made it."""
    if data is None or len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_DATA:
        return None
    return data if _OPTION_ID.match(data) else None


# --------------------------------------------------------------------------------------
# Ordering: one chat in order, chats in parallel
# --------------------------------------------------------------------------------------


def _order_key(update: object) -> object:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return ("other", None)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Processes updates concurrently across chats but strictly in order within one chat.

    The base class's semaphore is made large enough never to block, so updates reach
    :meth:`do_process_update` in the order the application started them; each then queues
    behind the previous update of its chat before taking one of ``limit`` working slots.
    """

    def __init__(
        self, limit: int, finished: Callable[[object], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(max_concurrent_updates=1_000_000)
        self._limit = limit
        self._finished = finished
        self._slots: asyncio.Semaphore | None = None
        self._tails: dict[object, asyncio.Future[None]] = {}

    async def initialize(self) -> None:
        """Create the working slots (bound to the running loop)."""
        self._slots = asyncio.Semaphore(self._limit)

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` after the previous update of the same chat has finished."""
        key = _order_key(update)
        previous = self._tails.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = done
        started = False
        try:
            if previous is not None:
                # asyncio.wait does not cancel ``previous`` if this task is cancelled.
                await asyncio.wait({previous})
            if self._slots is None:
                self._slots = asyncio.Semaphore(self._limit)
            async with self._slots:
                started = True
                await coroutine
        finally:
            if not started and asyncio.iscoroutine(coroutine):
                coroutine.close()
            if self._finished is not None:
                await self._finished(update)
            done.set_result(None)
            if self._tails.get(key) is done:
                del self._tails[key]


# --------------------------------------------------------------------------------------
# Replicas: each update answered once, each chat in order, across processes
# --------------------------------------------------------------------------------------


class ReplicaQueue(asyncio.Queue[object]):
    """The update queue of one of several webhook replicas that share a :class:`Coordinator`.

    python-telegram-bot's webhook server puts each update here before it answers Telegram's
    POST, so this is where replicas agree, while Telegram still waits:

    - an update id seen before, by any replica (Telegram redelivering after a timeout or an
      error), is dropped;
    - otherwise the replica takes the update's chat lock, waiting while another replica
      holds it, and keeps it until the update has been handled (:meth:`finished`).

    Telegram sends a chat's next update once the previous one was acknowledged, so holding
    the chat from acknowledgement to answer keeps every chat in order across replicas, and
    the session is never read and written by two replicas at once.
    """

    def __init__(self, coordinator: Coordinator, bot_id: str, name_of: Callable[[Update], str]):
        super().__init__()
        self._coordinator = coordinator
        self._bot_id = bot_id
        self._name_of = name_of
        self._held: dict[int, Release] = {}

    async def put(self, item: object) -> None:
        """Queue ``item`` unless it is an update another replica (or this one) already took."""
        if isinstance(item, Update):
            if not await self._coordinator.first_time(f"tg:{self._bot_id}:{item.update_id}"):
                log.debug("update delivered again, already taken: dropped")
                return
            try:
                self._held[item.update_id] = await self._coordinator.acquire(self._name_of(item))
            except TimeoutError:
                # A replica that died holding the chat: answering out of order beats not at all.
                log.warning("chat still held elsewhere after waiting; handling the update anyway")
        await super().put(item)

    async def finished(self, update: object) -> None:
        """The update has been handled (or dropped): let the next one of its chat in."""
        if isinstance(update, Update):
            release = self._held.pop(update.update_id, None)
            if release is not None:
                await release()

    async def release_all(self) -> None:
        """Give back the chats of updates taken but never handled (at shutdown)."""
        held, self._held = self._held, {}
        for release in held.values():
            await release()


# --------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------


def is_transient(exc: BaseException) -> bool:
    """Errors worth resending: flood limits, network trouble, timeouts, Telegram's 5xx.

    ``BadRequest`` is a ``NetworkError`` subclass in python-telegram-bot but means the
    request itself was refused, so it is never retried.
    """
    if isinstance(exc, RetryAfter):
        return True
    return is_network_trouble(exc)


def is_network_trouble(exc: BaseException) -> bool:
    """Network errors, timeouts and 5xx: worth resending (429s aside)."""
    from telegram.error import BadRequest

    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


class _RetryWait:
    """Wait ``retry_after`` on 429, else exponential backoff with jitter."""

    def __init__(self, maximum: float) -> None:
        self._backoff = wait_exponential(multiplier=0.2, max=maximum) + wait_random(0, 0.2)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryAfter):
            return retry_after_seconds(exc) + 0.1
        return float(self._backoff(state))


# --------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------


def quiet_library_logs() -> None:
    """Keep python-telegram-bot's DEBUG records out of the log, whatever ``BOT_LOG_LEVEL``.

    At DEBUG it logs every update it receives and every request's parameters: user ids,
    names and what they typed. Its INFO and above say what the library does, not what it
    carried (and :mod:`bot.redact` blanks the arguments of those records too).
    """
    library = logging.getLogger("telegram")
    if library.getEffectiveLevel() < logging.INFO:
        library.setLevel(logging.INFO)


class TelegramAdapter:
    """Connects one :class:`Runtime` to one Telegram bot."""

    def __init__(
        self, runtime: Runtime, settings: TelegramSettings, state_dir: Path | None = None
    ) -> None:
        """``state_dir`` keeps the ids of answered updates (polling), so that a restart
        after ``kill -9`` answers none twice; ``None`` keeps them in memory only."""
        self.runtime = runtime
        self.settings = settings
        self._state_dir = state_dir
        quiet_library_logs()
        self._replicas: ReplicaQueue | None = None
        if runtime.coordinator is not None and settings.mode == "webhook":
            # Only webhooks can be spread over replicas: Telegram lets one poller at a time.
            bot_id = settings.token().split(":", 1)[0]
            self._replicas = ReplicaQueue(runtime.coordinator, bot_id, self._chat_name)
        self._poller: Poller | None = None
        self.webhook: WebhookServer | None = None
        """The webhook server (webhook mode, once started)."""
        self.application = self._build_application()
        self._username = ""
        self._bot_id = 0
        self.ready = asyncio.Event()
        """Set once updates are being received (polling started or webhook listening)."""

    # -- setup ------------------------------------------------------------------------

    def _build_application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        s = self.settings
        replicas = self._replicas
        processor = ChatOrderedProcessor(s.max_concurrent, self._finished)
        t = s.request_timeout
        self._request = AnswerMarkingRequest(
            connection_pool_size=s.max_concurrent + 8,
            read_timeout=t,
            write_timeout=t,
            connect_timeout=t,
            pool_timeout=t,
        )
        polling = HTTPXRequest(
            connection_pool_size=2,
            read_timeout=t,
            write_timeout=t,
            connect_timeout=t,
            pool_timeout=t,
        )
        builder = (
            ApplicationBuilder()
            .token(s.token())
            # Updates are fetched by telegram_updates (Poller, WebhookServer), not PTB's updater.
            .updater(None)
            .concurrent_updates(processor)
            .request(self._request)
            .get_updates_request(polling)
        )
        urls = s.api_urls()
        if urls is not None:
            builder = builder.base_url(urls[0]).base_file_url(urls[1])
        if replicas is not None:
            builder = builder.update_queue(replicas)
        if s.rate_limit:
            limiter = ChatRateLimiter(
                overall_max_rate=30,
                overall_time_period=1,
                group_max_rate=20,
                group_time_period=60,
                max_retries=s.send_retries,
            )
            builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
        app = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    async def _setup(self) -> None:
        bot = self.application.bot
        self._username = bot.username
        self._bot_id = bot.id
        content = self.runtime.content
        default = content.meta.default_language
        for lang in (None, *content.languages):
            commands = [
                BotCommand(name, description[:256])
                for name, description in content.commands(lang or default)
                if _COMMAND_NAME.match(name)
            ]
            try:
                await self._retry(_bind(bot.set_my_commands, commands, language_code=lang))
            except TelegramError as exc:
                # The menu of commands is a convenience; the bot works without it.
                log.warning("setMyCommands(%s) failed: %s", lang, exc)

    # -- lifecycle --------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then stop fetching, finish in-flight updates, return."""
        app = self.application
        async with app:
            await self._setup()
            await app.start()
            try:
                if self.settings.mode == "webhook":
                    await self._serve_webhook(stop)
                else:
                    await self._serve_polling(stop)
            finally:
                # Fetching has stopped: let the application drain its queue and finish
                # the updates being processed, then confirm them (polling).
                if app.running:
                    await app.stop()
                if self._poller is not None:
                    await self._poller.confirm()
                    self._poller.close()
                if self._replicas is not None:
                    await self._replicas.release_all()
        self.runtime.readiness.disconnected(PLATFORM)
        log.info("Telegram bot stopped")

    def _running(self) -> None:
        log.info("Telegram bot @%s running (%s)", self._username, self.settings.mode)
        self.ready.set()
        self.runtime.readiness.connected(PLATFORM)

    async def _serve_polling(self, stop: asyncio.Event) -> None:
        s = self.settings
        bot = self.application.bot
        # A webhook left from an earlier deployment would make getUpdates fail.
        await self._retry(bot.delete_webhook)
        path = self._state_dir / "answered-updates" if self._state_dir is not None else None
        answered = AnsweredLog(path)
        self._request.answered = answered
        self._poller = Poller(
            bot,
            self.application.update_queue.put,
            answered,
            timeout=s.poll_timeout,
            request_timeout=s.request_timeout,
            allowed_updates=ALLOWED_UPDATES,
            skipped=self._skipped,
            retry_wait_max=s.retry_wait_max,
        )
        self._running()
        await self._poller.run(stop)

    async def _serve_webhook(self, stop: asyncio.Event) -> None:
        s = self.settings
        if not s.webhook_url:
            raise ValueError("TELEGRAM_WEBHOOK_URL is required in webhook mode")
        if s.webhook_secret is not None and s.webhook_secret.get_secret_value():
            secret = s.webhook_secret.get_secret_value()
        else:
            # Never without a secret: forged POSTs would make the bot message any chat.
            # Derived from BOT_SECRET, so replicas sharing it register and check the same.
            secret = self.runtime.pseudonym(PLATFORM, "webhook-secret")
        redact.protect(secret)
        server = WebhookServer(
            self.application.bot,
            self.application.update_queue.put,
            secret=secret,
            listen=s.webhook_listen,
            port=s.webhook_port,
            path=s.webhook_path,
            skipped=self._skipped,
        )
        await server.start()
        self.webhook = server
        try:
            await self._retry(
                _bind(
                    self.application.bot.set_webhook,
                    s.webhook_url,
                    allowed_updates=list(ALLOWED_UPDATES),
                    secret_token=secret,
                )
            )
            self._running()
            await stop.wait()
        finally:
            await server.stop()

    def _skipped(self, update_id: int | None) -> None:
        """An update that could not be read was confirmed without an answer."""
        self.runtime.record_error(PLATFORM)

    async def _finished(self, update: object) -> None:
        """An update has been handled: it may be confirmed, its chat's lock given back."""
        if self._poller is not None:
            await self._poller.finished(update)
        if self._replicas is not None:
            await self._replicas.finished(update)

    def _chat_name(self, update: Update) -> str:
        """The pseudonymous name replicas lock an update's chat (or user) under."""
        # ("chat", id) or ("user", id): the same key the in-process ordering uses.
        return "tg-chat:" + self.runtime.pseudonym(PLATFORM, repr(_order_key(update)))

    # -- update dispatch -----------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Which update the answers sent from this task belong to (see AnswerMarkingRequest).
        CURRENT_UPDATE.set(update.update_id)
        if update.callback_query is not None:
            await self._on_callback(update.callback_query)
        elif update.message is not None:
            await self._on_message(update.message)
        elif update.inline_query is not None:
            await self._on_inline_query(update.inline_query)
        elif update.my_chat_member is not None:
            await self._on_membership(update.my_chat_member)
        # Edited messages, channel posts and anything else: ignored on purpose.

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Never log update contents: they hold user ids and message text.
        err = context.error
        log.error("error while handling an update: %r", err, exc_info=err)
        self.runtime.record_error(PLATFORM)

    async def _handle(self, chat_id: int, user_id: int, event: Event) -> list[Reply]:
        conv = Conversation(platform=PLATFORM, chat_id=str(chat_id), user_id=str(user_id))
        return list(await self.runtime.handle(conv, event))

    async def _on_message(self, msg: Message) -> None:
        user = msg.from_user
        chat = msg.chat
        if user is None or user.is_bot or chat.type == ChatType.CHANNEL:
            return
        if msg.via_bot is not None and msg.via_bot.id == self._bot_id:
            return  # one of our inline answers, posted by a user: not a question to us
        if msg.migrate_to_chat_id is not None or msg.migrate_from_chat_id is not None:
            await self._on_migration(msg)
            return
        group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        locale = user.language_code
        event: Event | None
        if msg.text is None:
            kind = next((k for k in _UNSUPPORTED_KINDS if getattr(msg, k, None)), None)
            if kind is None:
                return  # service messages (members joined, title changed, ...)
            if group and not (self._is_reply_to_bot(msg) or self._mentions_bot(msg)):
                return
            event = Unsupported(kind=kind, group=group, locale=locale)
        else:
            event = self._text_event(msg, group=group, locale=locale)
            if event is None:
                return
        replies = await self._handle(chat.id, user.id, event)
        await self._send_replies(
            chat.id,
            replies,
            group=group,
            reply_to=msg.message_id if group else None,
            thread=_topic(msg),
        )

    def _text_event(self, msg: Message, *, group: bool, locale: str | None) -> Event | None:
        text = msg.text or ""
        command = _COMMAND.match(text.strip())
        if command is not None:
            name, target, args = (
                command.group(1).lower(),
                command.group(2),
                (command.group(3) or "").strip(),
            )
            if target is not None and target.lower() != self._username.lower():
                return None  # a command for another bot
            if group and target is None and self.runtime.content.command_name(name) is None:
                # "/foo" without "@bot" in a group may be meant for any bot in it: only
                # commands this bot has are taken as addressed to it.
                return None
            if name == "start":
                node = args if _START_PAYLOAD.match(args) else None
                return Start(node=node, group=group, locale=locale)
            return Command(name=name, args=args, group=group, locale=locale)
        if group:
            mentioned = self._mentions_bot(msg)
            if not mentioned and not self._is_reply_to_bot(msg):
                return None
            text = re.sub(rf"@{re.escape(self._username)}\b", " ", text, flags=re.IGNORECASE)
            text = " ".join(text.split())
            if not text:
                return Start(group=group, locale=locale)
        return Text(text=text, group=group, locale=locale)

    def _mentions_bot(self, msg: Message) -> bool:
        handle = f"@{self._username}".lower()
        kinds: list[str | None] = [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
        # The text's mentions, then a photo or file caption's (two dicts: an entity is keyed by
        # type, offset and length, so one in the text and one in a caption could collide).
        found = itertools.chain(
            msg.parse_entities(kinds).items(), msg.parse_caption_entities(kinds).items()
        )
        for entity, text in found:
            if entity.type == MessageEntityType.MENTION and text.lower() == handle:
                return True
            if (
                entity.type == MessageEntityType.TEXT_MENTION
                and entity.user
                and entity.user.id == self._bot_id
            ):
                return True
        return False

    def _is_reply_to_bot(self, msg: Message) -> bool:
        replied = msg.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == self._bot_id)

    async def _on_callback(self, query: CallbackQuery) -> None:
        # Answer first, exactly once, so the client's spinner stops whatever happens next.
        try:
            await self._retry(query.answer)
        except TelegramError as exc:
            log.warning("answerCallbackQuery failed: %s", exc)
        message = query.message
        user = query.from_user
        if message is None:
            return  # a button under an inline-mode message: those are URL buttons only
        chat = message.chat
        group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        option = parse_callback_data(query.data)
        # Malformed or forged data becomes an option no content defines, which the engine
        # answers with its friendly "outdated option" note and the menu.
        event = Choice(option=option or "@invalid", group=group, locale=user.language_code)
        replies = await self._handle(chat.id, user.id, event)
        await self._send_replies(
            chat.id, replies, group=group, thread=_topic(message) if group else None
        )

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        chat = change.chat
        old, new = change.old_chat_member.status, change.new_chat_member.status
        if new in _GONE:
            # Removed from a group, or a user blocked the bot: forget that chat entirely.
            await self.runtime.forget_chat(PLATFORM, str(chat.id))
            return
        if new in _PRESENT and old in _GONE and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            user = change.from_user
            event = Joined(group=True, locale=user.language_code)
            replies = await self._handle(chat.id, user.id, event)
            await self._send_replies(chat.id, replies, group=True)

    async def _on_migration(self, msg: Message) -> None:
        # A group became a supergroup and got a new id. Sessions only hold a place in the
        # dialogue, so the old chat's sessions are forgotten rather than copied: members
        # simply start again in the supergroup, and nothing stays behind under the old id.
        old_id = msg.chat.id if msg.migrate_to_chat_id is not None else msg.migrate_from_chat_id
        if old_id is not None:
            await self.runtime.forget_chat(PLATFORM, str(old_id))

    # -- inline mode ----------------------------------------------------------------------

    async def _on_inline_query(self, query: InlineQuery) -> None:
        # Which topics to offer is the engine's decision; this only turns them into cards.
        text = query.query[:256]
        replies = await self.runtime.inline(text, locale=query.from_user.language_code)
        content = self.runtime.content
        results = []
        for reply in replies:
            node = content.nodes.get(reply.node) if reply.node else None
            if node is None or not self._username:
                continue
            target = reply.private_node or node.id
            button = InlineKeyboardButton(
                content.string("open_private", reply.language),
                url=deep_link(self._username, target),
            )
            results.append(
                InlineQueryResultArticle(
                    id=node.id,
                    title=node.title[reply.language],
                    description=_snippet(to_plain(reply.text)),
                    input_message_content=InputTextMessageContent(
                        (split_markup(reply.text) or ["…"])[0],
                        parse_mode=ParseMode.HTML,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    ),
                    reply_markup=InlineKeyboardMarkup([[button]]),
                )
            )
            if len(results) >= MAX_INLINE_RESULTS:
                break
        # Personal cache: the answers' language follows the user's Telegram language.
        await self._retry(_bind(query.answer, results, cache_time=300, is_personal=True))

    # -- sending ------------------------------------------------------------------------

    def _keyboard(self, reply: Reply, *, group: bool) -> InlineKeyboardMarkup | None:
        content = self.runtime.content
        lang = reply.language
        rows = _button_rows(reply.options, back=content.string("back", lang))
        if reply.private_node and self._username:
            rows.insert(
                0,
                [
                    InlineKeyboardButton(
                        content.string("open_private", lang),
                        url=deep_link(self._username, reply.private_node),
                    )
                ],
            )
        elif reply.node and reply.node != content.meta.root and self._username:
            # Any answer can be shared: the link opens the topic in the recipient's own
            # private chat with the bot, so even personal steps stay private.
            node = content.nodes.get(reply.node)
            if node is not None:
                link = share_link(self._username, reply.node, node.title[lang])
                rows.append([InlineKeyboardButton(content.string("share", lang), url=link)])
        return InlineKeyboardMarkup(rows) if rows else None

    async def _send_replies(
        self,
        chat_id: int,
        replies: Sequence[Reply],
        *,
        group: bool,
        reply_to: int | None = None,
        thread: int | None = None,
    ) -> None:
        for reply in replies:
            chunks = split_markup(reply.text) or ["…"]
            keyboard = self._keyboard(reply, group=group)
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                sent_to = await self._send(
                    chat_id,
                    chunk,
                    keyboard if last else None,
                    reply_to if i == 0 else None,
                    thread,
                )
                if sent_to != chat_id:
                    chat_id, thread = sent_to, None  # the group became a supergroup
            reply_to = None

    async def _send(
        self,
        chat_id: int,
        html: str,
        keyboard: InlineKeyboardMarkup | None,
        reply_to: int | None,
        thread: int | None = None,
    ) -> int:
        """Send one message; returns the chat id it went to (it changes on migration).

        ``thread`` keeps the answer in the forum topic the question came from.
        """
        bot = self.application.bot
        for _ in range(2):
            try:
                reply = (
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to
                    else None
                )
                await self._retry(
                    _bind(
                        bot.send_message,
                        chat_id,
                        html,
                        parse_mode=ParseMode.HTML,
                        # Never a preview: answers, details and source lists carry several
                        # links, and a card for one of them would push the text off a phone
                        # screen (and a form link previews as a login page).
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                        reply_markup=keyboard,
                        reply_parameters=reply,
                        message_thread_id=thread,
                    )
                )
                return chat_id
            except ChatMigrated as exc:
                # The group became a supergroup while we were answering: send it there.
                chat_id = int(exc.new_chat_id)
                reply_to = thread = None
            except Forbidden as exc:
                # Blocked by the user or removed from the group; the membership update
                # that follows makes the runtime forget the chat.
                log.info("message not delivered: %s", exc)
                return chat_id
            except TelegramError as exc:
                log.error("message not delivered: %r", exc)
                return chat_id
        return chat_id

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one Bot API call, resending after transient errors (see :func:`is_transient`).

        With the rate limiter on, it resends after a 429 itself (pausing only that chat):
        resending here too would wait the pause twice.
        """
        retrying = AsyncRetrying(
            retry=retry_if_exception(
                is_network_trouble if self.settings.rate_limit else is_transient
            ),
            wait=_RetryWait(self.settings.retry_wait_max),
            stop=stop_after_attempt(self.settings.send_retries + 1),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable")  # pragma: no cover


_PAIRED = (("@more:", "@sources:"), ("@back", "@page:", "@menu"))
"""Option ids that share a row of buttons: "Mehr | Quellen" and "Zurück | Menü" each take one
line of a phone screen instead of two."""


def _button_rows(options: Sequence[Option], *, back: str) -> list[list[InlineKeyboardButton]]:
    """One row per option, except neighbours of the same pair (see ``_PAIRED``); options whose
    data Telegram would refuse are left out (the whole message would fail). ``back`` is the
    label of "Zurück": a page option pairs with "Menü" only as that, not as "Weitere Themen"."""
    rows: list[list[InlineKeyboardButton]] = []
    group = -1
    for o in options:
        if not 0 < len(o.id.encode()) <= MAX_CALLBACK_DATA:
            continue
        button = InlineKeyboardButton(o.label[:64] or o.id, callback_data=o.id)
        mine = next((i for i, ids in enumerate(_PAIRED) if o.id.startswith(ids)), -1)
        if o.id.startswith("@page:") and o.label != back:
            mine = -1
        if mine >= 0 and mine == group and len(rows[-1]) < 2:
            rows[-1].append(button)
        else:
            rows.append([button])
        group = mine
    return rows


def _bind(
    function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
) -> Callable[[], Awaitable[T]]:
    """A zero-argument call of ``function`` for :meth:`TelegramAdapter._retry` (a fresh
    coroutine per attempt)."""
    return functools.partial(function, *args, **kwargs)


def _topic(message: object) -> int | None:
    """The forum topic a message belongs to, or ``None`` outside forum topics."""
    if getattr(message, "is_topic_message", False):
        thread = getattr(message, "message_thread_id", None)
        return int(thread) if thread is not None else None
    return None


def _snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the Telegram bot until ``stop`` is set (the platform contract of ``python -m bot run``)."""
    from bot.config import Settings

    settings = TelegramSettings()
    state_dir = Path(Settings().data_dir) / PLATFORM
    await TelegramAdapter(runtime, settings, state_dir).serve(stop)
