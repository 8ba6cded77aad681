"""Matrix adapter: matrix-nio ``AsyncClient`` with end-to-end encryption.

The adapter only translates: Matrix room events become engine events (``Start``,
``Text``, ``Command``, ``Unsupported``, ``Joined``) and the runtime's ``Reply`` actions
become ``m.notice`` messages. It never decides what to say.

Delivery guarantees come from three pieces of state kept in ``<data dir>/matrix``:

* the access token and device id (``credentials.json``), so a restart is the same
  device and the same crypto identity (nio's crypto store lives beside it);
* the sync token, saved only after every event of a sync batch was handled, so a
  crash re-reads the batch instead of dropping it;
* the ids of handled events, so a re-read batch is not answered twice. Replies are also
  sent with transaction ids derived from the event they answer, so the homeserver
  itself drops a repeat of a reply that was sent just before a crash.

See docs/matrix.md for the operator's view (environment variables, trust policy).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import hashlib
import html
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Awaitable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomMemberEvent,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import redact
from bot.content.markup import to_matrix_html, to_plain
from bot.events import Choice, Command, Event, Joined, Reply, Start, Text, Unsupported

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

PLATFORM = "matrix"
TrustPolicy = Literal["tofu", "all", "verified-only"]

# Message types that carry something other than text; the engine answers them with
# its "unsupported" string in direct chats.
_UNSUPPORTED_KINDS = {
    "m.image": "photo",
    "m.file": "file",
    "m.audio": "voice",
    "m.video": "video",
    "m.location": "location",
    "m.sticker": "sticker",
}
_HANDLED_KEEP_SECONDS = 14 * 24 * 3600

# Reactions that pick an option: keycap digits (with or without the emoji variation
# selector), the keycap ten, and plain digits.
_REACTION_NUMBERS = {
    **{f"{n}\ufe0f\u20e3": n for n in range(10)},
    **{f"{n}\u20e3": n for n in range(10)},
    **{str(n): n for n in range(1, 11)},
    "\U0001f51f": 10,
}


class MatrixSettings(BaseSettings):
    """Matrix settings from ``MATRIX_*`` environment variables (see docs/matrix.md)."""

    model_config = SettingsConfigDict(
        env_prefix="MATRIX_", extra="ignore", use_attribute_docstrings=True
    )

    homeserver: str = Field(description="Homeserver base URL, e.g. https://matrix.example.org")
    user_id: str = Field(description="The bot's full Matrix id, e.g. @metabot:example.org")
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "Meta AI objection bot"
    display_name: str | None = None
    prefix: str = "!meta"
    trust: TrustPolicy = "tofu"
    trusted_devices: str = ""
    blocked_devices: str = ""
    allowed: str = ""
    ignore_users: str = ""
    private_invite: bool = True
    store_dir: Path | None = None
    sync_timeout_ms: int = Field(default=30_000, ge=0)
    timeline_limit: int = Field(default=100, ge=1)
    retry_max_wait: float = Field(default=30.0, gt=0)
    request_timeout: float = Field(default=60.0, gt=0)
    shutdown_grace: float = Field(default=10.0, ge=0)
    pickle_key: SecretStr | None = None

    @field_validator("prefix")
    @classmethod
    def _prefix_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("MATRIX_PREFIX must not be empty")
        return value

    @classmethod
    def configured(cls, environ: dict[str, str] | None = None) -> bool:
        """Whether the environment asks for the Matrix adapter at all."""
        env = os.environ if environ is None else environ
        return bool(env.get("MATRIX_HOMESERVER") and env.get("MATRIX_USER_ID"))

    def allow_list(self) -> AllowList:
        """The parsed ``MATRIX_ALLOWED`` list."""
        return AllowList.parse(self.allowed)

    def ignore_list(self) -> AllowList:
        """The parsed ``MATRIX_IGNORE_USERS`` list (other bots, bridges)."""
        return AllowList.parse(self.ignore_users)

    def trusted_device_set(self) -> set[tuple[str, str]]:
        """``MATRIX_TRUSTED_DEVICES`` as ``{(user_id, device_id_or_ed25519_key)}``."""
        return _device_set(self.trusted_devices, "MATRIX_TRUSTED_DEVICES")

    def blocked_device_set(self) -> set[tuple[str, str]]:
        """``MATRIX_BLOCKED_DEVICES`` as ``{(user_id, device_id_or_ed25519_key)}``."""
        return _device_set(self.blocked_devices, "MATRIX_BLOCKED_DEVICES")


def _device_set(value: str, variable: str) -> set[tuple[str, str]]:
    result = set()
    for item in _split_list(value):
        user, _, device = item.partition("/")
        if user.startswith("@") and device:
            result.add((user, device))
        else:
            log.warning("ignoring malformed %s entry %r", variable, item)
    return result


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]


def server_of(user_id: str) -> str:
    """The server name part of a Matrix user id (``@alice:example.org`` -> ``example.org``)."""
    return user_id.partition(":")[2].lower()


@dataclass(frozen=True)
class AllowList:
    """Who may invite the bot: user ids and whole homeservers. Empty means everyone."""

    users: frozenset[str] = frozenset()
    servers: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str) -> AllowList:
        """Parse ``"example.org, @alice:other.org"``: ``@`` entries are users, others servers."""
        users, servers = set(), set()
        for item in _split_list(value):
            if item.startswith("@"):
                users.add(item)
            else:
                servers.add(item.lstrip(":").lower())
        return cls(frozenset(users), frozenset(servers))

    def allows(self, user_id: str) -> bool:
        """Whether an invite from ``user_id`` is accepted."""
        if not self.users and not self.servers:
            return True
        return self.lists(user_id)

    def lists(self, user_id: str) -> bool:
        """Whether ``user_id`` or its homeserver is on the list (an empty list lists nobody)."""
        return user_id in self.users or server_of(user_id) in self.servers


# -- reading messages --------------------------------------------------------------------


def strip_reply_fallback(body: str) -> str:
    """Drop the quoted ``> ...`` lines older clients put in front of a reply's body."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and not lines[i].strip():
        i += 1
    return "\n".join(lines[i:])


@dataclass(frozen=True)
class Addressing:
    """Who the bot is in a room, for deciding whether a group message is meant for it."""

    user_id: str
    display_name: str | None
    prefix: str

    def _names(self) -> list[str]:
        # The full id first, so that "@metabot:example.org" is not cut after "@metabot".
        names = [self.user_id, self.user_id[1:].partition(":")[0]]
        if self.display_name:
            names.insert(1, self.display_name)
        return [n for n in names if n]

    def _strip_mention(self, text: str) -> tuple[str, bool]:
        """Remove the first mention of the bot; report whether there was one."""
        for name in self._names():
            pattern = re.compile(
                r"(?<![\w@])@?" + re.escape(name) + r"(?![\w-])\s*[:,]?\s*", re.IGNORECASE
            )
            match = pattern.search(text)
            if match:
                return (text[: match.start()] + text[match.end() :]).strip(), True
        return text, False

    def strip_prefix(self, text: str) -> tuple[str, bool]:
        """Remove the command prefix (``!meta``) if the text starts with it."""
        stripped = text.lstrip()
        if stripped[: len(self.prefix)].lower() == self.prefix.lower():
            rest = stripped[len(self.prefix) :]
            if not rest or rest[0].isspace() or rest[0] in ":,":
                return rest.lstrip(" :,\t\n"), True
        return text, False

    def mentioned(self, content: dict[str, Any]) -> bool:
        """Whether the message mentions the bot (``m.mentions``, a pill, or its name)."""
        mentions = content.get("m.mentions")
        if isinstance(mentions, dict) and self.user_id in (mentions.get("user_ids") or []):
            return True
        formatted = content.get("formatted_body")
        if isinstance(formatted, str):
            unquoted = formatted.replace("%40", "@").replace("%3A", ":").replace("%3a", ":")
            if f"matrix.to/#/{self.user_id}" in unquoted:
                return True
        body = content.get("body")
        return isinstance(body, str) and self._strip_mention(body)[1]

    def for_bot(self, content: dict[str, Any], direct: bool, reply_to_bot: bool) -> str | None:
        """The text meant for the bot, or ``None`` if a group message is not addressed to it.

        In direct chats every message is for the bot. In groups a message is for the bot
        when it starts with the prefix, mentions the bot, or replies to one of its messages;
        the prefix and the mention are removed from the returned text.
        """
        body = content.get("body")
        if not isinstance(body, str):
            return None
        text = strip_reply_fallback(body).strip()
        text, has_prefix = self.strip_prefix(text)
        if direct or has_prefix:
            return text
        if self.mentioned(content):
            return self._strip_mention(text)[0]
        if reply_to_bot:
            return text
        return None


def to_event(text: str, content_commands: Any, *, group: bool, from_prefix: bool = False) -> Event:
    """Turn text meant for the bot into an engine event.

    ``/word args`` is always a command. Without a slash, a first word that names a
    command (``!meta forget``) is one too, but only after the prefix, so that a
    question starting with such a word in a direct chat stays a question. Empty text
    (just the prefix or a bare mention) starts the conversation.
    """
    text = text.strip()
    if not text:
        return Start(group=group)
    word, _, args = text.partition(" ")
    if word.startswith("/") and len(word) > 1:
        name = word[1:].split("@", 1)[0].lower()
        return Command(name=content_commands(name) or name, args=args.strip(), group=group)
    if from_prefix:
        name = content_commands(word.lower())
        if name:
            return Command(name=name, args=args.strip(), group=group)
    return Text(text=text, group=group)


# -- writing messages ----------------------------------------------------------------------


def render_reply(
    reply: Reply, *, private_link: str | None = None, private_label: str | None = None
) -> dict[str, Any]:
    """Render a reply as ``m.notice`` content: plain ``body`` plus HTML ``formatted_body``.

    Options are appended as a numbered list; answering with the number chooses one.
    """
    body = to_plain(reply.text).strip()
    formatted = to_matrix_html(reply.text).strip()
    if reply.options:
        body += "\n\n" + "\n".join(f"{i}. {o.label}" for i, o in enumerate(reply.options, 1))
        items = "".join(f"<li>{html.escape(o.label, quote=False)}</li>" for o in reply.options)
        formatted += f"<ol>{items}</ol>"
    if private_link and private_label:
        body += f"\n\n{private_label}: {private_link}"
        formatted += (
            f'<p><a href="{html.escape(private_link, quote=True)}">'
            f"{html.escape(private_label, quote=False)}</a></p>"
        )
    return {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
    }


# -- talking to the homeserver ---------------------------------------------------------

_T = TypeVar("_T")

# What a request to an unreachable or silent homeserver raises once nio is told not to
# retry by itself (``max_timeouts=0``): the adapter retries, with its own back-off and a
# log line that says what happened.
TRANSPORT_ERRORS = (aiohttp.ClientConnectionError, TimeoutError)


class Stopped(Exception):
    """The stop event was set while waiting for the homeserver."""


def describe_failure(exc: BaseException, waited: float) -> str:
    """What went wrong with a request, in words: "connection refused", "no answer within 5s"."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "cannot resolve the host name"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {waited:.0f}s"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the connection was closed before an answer came"
    if isinstance(exc, OSError) and exc.errno == errno.ECONNRESET:
        return "connection reset"
    return f"{type(exc).__name__}: {exc}"


async def until_stopped(work: Awaitable[_T], stop: asyncio.Event) -> _T:
    """Await ``work`` unless ``stop`` is set first; then cancel it and raise :class:`Stopped`."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Stopped
    return task.result()


def device_key(device: Any) -> str:
    """A stable hash naming one device with its identity key (no user id on disk)."""
    raw = f"{device.user_id}\x00{device.device_id}\x00{device.ed25519}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _txn_id(event_id: str, index: int) -> str:
    # Deterministic per answered event: a reply re-sent after a crash reuses the
    # transaction id and the homeserver returns the first event instead of a duplicate.
    digest = hashlib.sha256(f"{event_id}\x00{index}".encode()).hexdigest()[:32]
    return f"mb{digest}"


# -- persistent adapter state ------------------------------------------------------------


class AdapterState:
    """Sync token, handled and own sent event ids, pending private-chat offers (SQLite)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY, at REAL NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sent (event_id TEXT PRIMARY KEY, at REAL NOT NULL,"
            " options TEXT)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sent)")}
        if "options" not in columns:  # a state file from before options were kept
            self._db.execute("ALTER TABLE sent ADD COLUMN options TEXT")
        # A direct chat the bot opened to show a personal node: the node (and language)
        # to start with once the invited user joins. Room ids only, no user ids.
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS offers (room_id TEXT PRIMARY KEY, node TEXT NOT NULL,"
            " language TEXT, at REAL NOT NULL)"
        )
        # Devices the adapter itself blacklisted (verified-only policy, MATRIX_BLOCKED_DEVICES),
        # as hashes: only these are lifted again when the reason goes away. A device
        # blacklisted in the crypto store by anything else stays blacklisted.
        self._db.execute("CREATE TABLE IF NOT EXISTS blocked (device TEXT PRIMARY KEY)")

    def get(self, key: str) -> str | None:
        """A stored value."""
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        """Store a value."""
        self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def is_handled(self, event_id: str) -> bool:
        """Whether the event was answered (or deliberately skipped) before."""
        row = self._db.execute("SELECT 1 FROM handled WHERE event_id = ?", (event_id,)).fetchone()
        return row is not None

    def mark_handled(self, event_id: str) -> None:
        """Remember that the event was dealt with."""
        self._db.execute(
            "INSERT OR IGNORE INTO handled (event_id, at) VALUES (?, ?)", (event_id, time.time())
        )

    def add_sent(self, event_id: str, options: tuple[str, ...] = ()) -> None:
        """Remember one of the bot's own messages and the ids of the options it listed.

        Replies to it are recognised by its id; a number replied or reacted to it picks
        from its own list, whatever the bot said to that user since.
        """
        self._db.execute(
            "INSERT OR IGNORE INTO sent (event_id, at, options) VALUES (?, ?, ?)",
            (event_id, time.time(), json.dumps(list(options))),
        )

    def sent_options(self, event_id: str) -> tuple[str, ...]:
        """The option ids one of the bot's messages listed (empty if none or unknown)."""
        row = self._db.execute(
            "SELECT options FROM sent WHERE event_id = ?", (event_id,)
        ).fetchone()
        if row is None or not row[0]:
            return ()
        return tuple(str(o) for o in json.loads(row[0]))

    def is_sent(self, event_id: str) -> bool:
        """Whether ``event_id`` is one of the bot's own messages."""
        row = self._db.execute("SELECT 1 FROM sent WHERE event_id = ?", (event_id,)).fetchone()
        return row is not None

    def put_offer(self, room_id: str, node: str, language: str | None) -> None:
        """Remember which node to show when the user joins the direct chat ``room_id``."""
        self._db.execute(
            "INSERT OR REPLACE INTO offers (room_id, node, language, at) VALUES (?, ?, ?, ?)",
            (room_id, node, language, time.time()),
        )

    def offer(self, room_id: str) -> tuple[str, str | None] | None:
        """The pending offer in ``room_id`` as ``(node, language)``, if any."""
        row = self._db.execute(
            "SELECT node, language FROM offers WHERE room_id = ?", (room_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def drop_offer(self, room_id: str) -> None:
        """Forget the offer in ``room_id`` (shown, declined or the room is gone)."""
        self._db.execute("DELETE FROM offers WHERE room_id = ?", (room_id,))

    def block(self, device: str) -> None:
        """Remember that the adapter blacklisted ``device`` (a :func:`device_key`)."""
        self._db.execute("INSERT OR IGNORE INTO blocked (device) VALUES (?)", (device,))

    def blocked_by_us(self, device: str) -> bool:
        """Whether the adapter blacklisted ``device`` itself."""
        row = self._db.execute("SELECT 1 FROM blocked WHERE device = ?", (device,)).fetchone()
        return row is not None

    def unblock(self, device: str) -> None:
        """Forget the adapter's own blacklisting of ``device``."""
        self._db.execute("DELETE FROM blocked WHERE device = ?", (device,))

    def prune(self) -> None:
        """Drop old bookkeeping; sync tokens make older events unreachable anyway."""
        cutoff = time.time() - _HANDLED_KEEP_SECONDS
        self._db.execute("DELETE FROM handled WHERE at < ?", (cutoff,))
        self._db.execute("DELETE FROM sent WHERE at < ?", (cutoff,))
        self._db.execute("DELETE FROM offers WHERE at < ?", (cutoff,))

    def close(self) -> None:
        """Close the database."""
        self._db.close()


# -- the bot -------------------------------------------------------------------------------


class MatrixBot:
    """One Matrix account driven by a :class:`bot.runtime.Runtime`."""

    def __init__(self, runtime: Runtime, settings: MatrixSettings, store_dir: Path) -> None:
        # At DEBUG, nio logs every response (messages, user ids) and peewee every query of
        # the crypto store: never written, whatever BOT_LOG_LEVEL says.
        for name in ("nio", "peewee"):
            library = logging.getLogger(name)
            if library.getEffectiveLevel() < logging.INFO:
                library.setLevel(logging.INFO)
        self.runtime = runtime
        self.settings = settings
        self.store_dir = Path(store_dir)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.store_dir.chmod(0o700)
        crypto_dir = self.store_dir / "crypto"
        crypto_dir.mkdir(exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,
            # Connection errors and timeouts surface at once instead of nio's silent retry
            # loop ("Timed out, sleeping for 30s", also for a refused connection): the
            # adapter retries itself, can be stopped meanwhile and logs what happened.
            max_timeouts=0,
            max_timeout_retry_wait_time=settings.retry_max_wait,
            request_timeout=settings.request_timeout,
            **(
                {"pickle_key": settings.pickle_key.get_secret_value()}
                if settings.pickle_key
                else {}
            ),
        )
        self.client = AsyncClient(
            settings.homeserver.rstrip("/"),
            settings.user_id,
            store_path=str(crypto_dir),
            config=config,
        )
        self.state = AdapterState(self.store_dir / "state.sqlite")
        self.allow = settings.allow_list()
        self.ignored = settings.ignore_list()
        self.trusted = settings.trusted_device_set()
        self.blocked = settings.blocked_device_set()
        self._crypto_lock = asyncio.Lock()
        self._reply_senders: dict[tuple[str, str], bool] = {}
        self._inviters: dict[str, str] = {}
        self._display_name: str | None = settings.display_name
        self.synced = asyncio.Event()
        """Set after the first successful sync; tests and the runner can wait for it."""

    @property
    def user_id(self) -> str:
        """The bot's Matrix id."""
        return self.settings.user_id

    # -- login ---------------------------------------------------------------------------

    def _credentials_path(self) -> Path:
        return self.store_dir / "credentials.json"

    def _save_credentials(self) -> None:
        path = self._credentials_path()
        tmp = path.with_suffix(".tmp")
        data = {
            "homeserver": self.settings.homeserver,
            "user_id": self.client.user_id,
            "device_id": self.client.device_id,
            "access_token": self.client.access_token,
        }
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        tmp.replace(path)

    def _load_credentials(self) -> dict[str, str] | None:
        path = self._credentials_path()
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            log.warning("ignoring unreadable %s", path)
            return None
        if (
            data.get("user_id") != self.user_id
            or data.get("homeserver") != self.settings.homeserver
        ):
            return None
        return {k: str(v) for k, v in data.items()}

    async def login(self) -> None:
        """Restore the saved device, or log in once and save it."""
        settings = self.settings
        if settings.access_token is not None:
            token = settings.access_token.get_secret_value()
            self.client.access_token = token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse) or not who.device_id:
                raise RuntimeError(f"MATRIX_ACCESS_TOKEN rejected or has no device: {who}")
            self.client.restore_login(who.user_id, who.device_id, token)
            self._save_credentials()
            return
        saved = self._load_credentials()
        if saved:
            redact.protect(saved["access_token"])
            self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
            who = await self.client.whoami()
            if isinstance(who, WhoamiResponse):
                return
            log.warning("saved Matrix login no longer valid (%s), logging in again", who)
        if settings.password is None:
            raise RuntimeError("set MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")
        resp = await self.client.login(
            settings.password.get_secret_value(),
            device_name=settings.device_name,
            # Logging in again with the saved device id keeps the crypto identity.
            **({"device_id": saved["device_id"]} if saved else {}),
        )
        if not isinstance(resp, LoginResponse):
            raise RuntimeError(f"Matrix login failed: {resp}")
        redact.protect(resp.access_token)
        self._save_credentials()

    # -- main loop -----------------------------------------------------------------------

    def _sync_filter(self) -> dict[str, Any]:
        return {
            "room": {
                "timeline": {"limit": self.settings.timeline_limit},
                "state": {"lazy_load_members": False},
                "ephemeral": {"types": []},
            },
            "presence": {"types": []},
            "account_data": {"types": []},
        }

    def _backoff(self, failures: int) -> float:
        return float(min(self.settings.retry_max_wait, 0.5 * 2 ** min(failures, 8)))

    async def _connect(self, stop: asyncio.Event) -> None:
        """Log in, retrying while the homeserver cannot be reached; raises :class:`Stopped`."""
        failures = 0
        while True:
            log.info("logging in to %s as %s", self.settings.homeserver, self.user_id)
            began = time.monotonic()
            try:
                await until_stopped(self.login(), stop)
                break
            except TRANSPORT_ERRORS as exc:
                failures += 1
                wait = self._backoff(failures)
                log.warning(
                    "cannot log in to %s: %s; retrying in %.1fs",
                    self.settings.homeserver,
                    describe_failure(exc, time.monotonic() - began),
                    wait,
                )
                await self._pause(stop, wait)
        if self.settings.display_name:
            with contextlib.suppress(Exception):
                await until_stopped(self.client.set_displayname(self.settings.display_name), stop)
        if stop.is_set():
            raise Stopped

    @staticmethod
    async def _pause(stop: asyncio.Event, seconds: float) -> None:
        """Wait ``seconds`` unless stopped first (then raise :class:`Stopped`)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        if stop.is_set():
            raise Stopped

    async def run(self, stop: asyncio.Event) -> None:
        """Log in, sync and answer until ``stop`` is set.

        Every wait for the homeserver (login, sync, back-off) ends as soon as ``stop`` is
        set; replies being sent get ``shutdown_grace`` seconds (see :meth:`_finish`).
        """
        try:
            await self._connect(stop)
            await self._sync_loop(stop)
        except Stopped:
            log.info("stopped")

    async def _sync_loop(self, stop: asyncio.Event) -> None:
        token = self.state.get("next_batch")
        first = True
        failures = 0
        # A full-state sync has no timeout of its own in nio; a silent homeserver must not
        # keep the bot waiting forever.
        deadline = self.settings.sync_timeout_ms / 1000 + self.settings.request_timeout
        while not stop.is_set():
            began = time.monotonic()
            try:
                resp = await until_stopped(
                    asyncio.wait_for(
                        self.client.sync(
                            timeout=0 if first else self.settings.sync_timeout_ms,
                            sync_filter=self._sync_filter(),
                            since=token,
                            # After a restart nio knows no rooms: ask for the full state once.
                            full_state=first,
                        ),
                        deadline,
                    ),
                    stop,
                )
                if isinstance(resp, SyncResponse):
                    await self._crypto_housekeeping()
            except TRANSPORT_ERRORS as exc:
                resp = describe_failure(exc, time.monotonic() - began)
            if not isinstance(resp, SyncResponse):
                failures += 1
                self.runtime.readiness.disconnected(PLATFORM)
                wait = self._backoff(failures)
                log.warning("sync failed (%s); retrying in %.1fs", resp, wait)
                await self._pause(stop, wait)
                continue
            failures = 0
            self.runtime.readiness.connected(PLATFORM)
            # On the very first start there is no token: everything in this batch is
            # history and is never answered; invites are still accepted.
            began = time.monotonic()
            try:
                done = await self._finish(self._handle_sync(resp, history=token is None), stop)
            except TRANSPORT_ERRORS as exc:
                # The batch is read again from the same token; what was answered is marked.
                failures += 1
                self.runtime.readiness.disconnected(PLATFORM)
                wait = self._backoff(failures)
                log.warning(
                    "lost the homeserver while answering (%s); reading the batch again in %.1fs",
                    describe_failure(exc, time.monotonic() - began),
                    wait,
                )
                await self._pause(stop, wait)
                continue
            if not done:
                break  # stopped mid-batch: the token stays, the batch is re-read next time
            token = resp.next_batch
            self.state.put("next_batch", token)
            if first:
                self.state.prune()
                first = False
                self.synced.set()
            with contextlib.suppress(*TRANSPORT_ERRORS):
                await until_stopped(self._crypto_housekeeping(), stop)

    async def _finish(self, work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
        """Run ``work``; on ``stop`` give it ``shutdown_grace`` seconds, then cancel it.

        Returns whether the work completed. Handling is not cut short at once so that
        replies already being sent go out; it is cut short eventually so that a shutdown
        during a homeserver outage (where nio retries forever) still ends.
        """
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=self.settings.shutdown_grace)
            if not task.done():
                log.warning("shutting down with replies still unsent; they follow on restart")
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return False
            task.result()
            return True
        finally:
            stopper.cancel()

    async def close(self) -> None:
        """Close the HTTP session and the state database."""
        await self.client.close()
        self.state.close()

    async def _crypto_housekeeping(self) -> None:
        async with self._crypto_lock:
            client = self.client
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()

    # -- sync handling -------------------------------------------------------------------

    async def _handle_sync(self, resp: SyncResponse, *, history: bool) -> None:
        for room_id, info in resp.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id in resp.rooms.leave:
            # Kicked, banned or left: nothing of that chat is kept.
            self.state.drop_offer(room_id)
            await self.runtime.forget_chat(PLATFORM, room_id)
        jobs = []
        for room_id, info in resp.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            jobs.append(self._handle_room(room, info.timeline.events, history=history))
        # Rooms are independent: answer them concurrently; inside a room, in order.
        results = await asyncio.gather(*jobs, return_exceptions=True)
        lost: BaseException | None = None
        for result in results:
            if isinstance(result, TRANSPORT_ERRORS):
                lost = result
            elif isinstance(result, BaseException):
                log.error("error while handling a room", exc_info=result)
        if lost is not None:
            # The homeserver went away mid-batch: the caller keeps the old sync token, so
            # the batch is read again and what is not marked handled yet is answered then.
            raise lost
        for room_id in list(resp.rooms.join):
            room = self.client.rooms.get(room_id)
            if room is not None and self._alone(room):
                log.info("leaving %s: nobody else is there", room_id)
                await self.client.room_leave(room_id)
                self.state.drop_offer(room_id)
                await self.runtime.forget_chat(PLATFORM, room_id)

    def _alone(self, room: MatrixRoom) -> bool:
        others = [u for u in room.users if u != self.user_id]
        invited = [u for u in room.invited_users if u != self.user_id]
        return not others and not invited

    def _who(self, user_id: str) -> str:
        """A user as a log line may name them: their pseudonymous key, never the Matrix id."""
        from bot.runtime import Conversation

        key = self.runtime.key(Conversation(platform=PLATFORM, chat_id="", user_id=user_id))
        return "user " + key.user[:12]

    def _direct(self, room: MatrixRoom) -> bool:
        # Element and most clients treat a room with the bot and one person as a direct
        # chat; counting members survives restarts without reading m.direct account data.
        members = set(room.users) | set(room.invited_users)
        return len(members) <= 2

    async def _on_invite(self, room_id: str, invite_state: Iterable[Any]) -> None:
        inviter = None
        direct = False
        for event in invite_state:
            if (
                isinstance(event, InviteMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
                direct = bool((event.content or {}).get("is_direct"))
        if inviter is None:
            return
        if not self.allow.allows(inviter) or self.ignored.lists(inviter):
            log.info("rejecting invite to %s from %s (not allowed)", room_id, self._who(inviter))
            await self.client.room_leave(room_id)
            return
        resp = await self.client.join(room_id)
        if isinstance(resp, JoinError):
            log.warning("could not join %s: %s", room_id, resp)
            return
        self._inviters[room_id] = inviter
        log.info("joined %s (direct=%s)", room_id, direct)

    async def _handle_room(self, room: MatrixRoom, events: list[Any], *, history: bool) -> None:
        # Events before the bot's own join are history it was never part of.
        start = 0
        for i, event in enumerate(events):
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                start = i + 1
                if not history:
                    await self._greet(room, event)
        seen: set[str] = set()
        for event in events[start:]:
            event_id = getattr(event, "event_id", None)
            if not event_id or history or event_id in seen:
                continue
            seen.add(event_id)
            if self.state.is_handled(event_id):
                continue  # answered before: in an earlier sync, or before a restart
            try:
                await self._handle_event(room, event)
            except TRANSPORT_ERRORS:
                # Not marked: the batch is read again once the homeserver is back, and the
                # reply goes out then (with the same transaction id).
                raise
            except Exception:
                # Marked handled all the same: a message that breaks the adapter must
                # not be retried forever. (Cancellation is no Exception: a shutdown
                # mid-reply leaves the event unmarked, so it is answered after restart.)
                log.exception("failed to handle %s in %s", event_id, room.room_id)
            self.state.mark_handled(event_id)

    async def _greet(self, room: MatrixRoom, join: RoomMemberEvent) -> None:
        if self.state.is_handled(join.event_id):
            return
        if self.state.offer(room.room_id) is not None:
            # A direct chat the bot opened itself: it speaks once the invited user joins.
            self.state.mark_handled(join.event_id)
            return
        direct = self._direct(room)
        others = [u for u in room.users if u != self.user_id] + list(room.invited_users)
        # Kept in memory only: the adapter stores no raw user ids on disk.
        inviter = self._inviters.pop(room.room_id, None) or (others[0] if others else self.user_id)
        event: Event = Start(group=False) if direct else Joined(group=True)
        try:
            await self._answer(room, join.event_id, inviter, event, source=None)
        except TRANSPORT_ERRORS:
            raise  # greeted when the batch is read again
        except Exception:
            log.exception("failed to greet in %s", room.room_id)
        self.state.mark_handled(join.event_id)

    async def _handle_event(self, room: MatrixRoom, event: Any) -> None:
        sender = getattr(event, "sender", None)
        if not sender or sender == self.user_id:
            return  # the bot's own messages, also those sent from its other devices
        if self.ignored.lists(sender):
            return  # other bots and bridges (MATRIX_IGNORE_USERS)
        if isinstance(event, RoomMemberEvent):
            await self._on_member(room, event)
            return
        if isinstance(event, MegolmEvent):
            # Not decryptable (yet): ask the sender's devices for the key; the message
            # itself is lost to us, which is the point of encryption.
            log.warning(
                "cannot decrypt %s in %s from %s", event.event_id, room.room_id, self._who(sender)
            )
            with contextlib.suppress(Exception):
                await self.client.request_room_key(event)
            return
        source: dict[str, Any] = getattr(event, "source", {}) or {}
        if source.get("type") == "m.reaction":
            await self._on_reaction(room, event, sender, source.get("content") or {})
            return
        if source.get("type") not in ("m.room.message", "m.sticker"):
            return
        content = source.get("content") or {}
        msgtype = content.get("msgtype") if source.get("type") == "m.room.message" else "m.sticker"
        if msgtype == "m.notice":
            return  # other bots talk in notices; answering them would loop
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            return  # an edit of an earlier message, which was answered already
        if getattr(event, "decrypted", False) and not await self._trusted_sender(event):
            log.warning(
                "ignoring %s from an untrusted device of %s", event.event_id, self._who(sender)
            )
            return
        direct = self._direct(room)
        group = not direct
        if msgtype in ("m.text", "m.emote"):
            reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
            falling_back = relates.get("is_falling_back", False)
            reply_to_bot = bool(
                reply_to and not falling_back and await self._is_own(room.room_id, reply_to)
            )
            addressing = Addressing(self.user_id, self._own_name(room), self.settings.prefix)
            text = addressing.for_bot(content, direct, reply_to_bot)
            if text is None:
                return
            _, had_prefix = addressing.strip_prefix(strip_reply_fallback(content["body"]).strip())
            engine_event = to_event(
                text, self.runtime.content.command_name, group=group, from_prefix=had_prefix
            )
            if reply_to_bot and reply_to and isinstance(engine_event, Text):
                # A number replied to one of the bot's messages picks from that message.
                engine_event = self._pick(reply_to, engine_event.text, group) or engine_event
        elif msgtype in _UNSUPPORTED_KINDS and direct:
            engine_event = Unsupported(kind=_UNSUPPORTED_KINDS[msgtype], group=group)
        else:
            return
        await self._answer(room, event.event_id, sender, engine_event, source=content)

    def _pick(self, message_id: str, number: str | int, group: bool) -> Choice | None:
        """The option ``number`` of the bot's message ``message_id``, as a choice."""
        if isinstance(number, str):
            number = number.strip()
            if not number.isdecimal():
                return None
        options = self.state.sent_options(message_id)
        index = int(number) - 1
        if not 0 <= index < len(options):
            return None
        return Choice(option=options[index], group=group)

    async def _on_reaction(
        self, room: MatrixRoom, event: Any, sender: str, content: dict[str, Any]
    ) -> None:
        """A number reaction (``2️⃣``) on one of the bot's messages picks that option."""
        relates = content.get("m.relates_to") or {}
        target = relates.get("event_id")
        number = _REACTION_NUMBERS.get(str(relates.get("key", "")).strip())
        if relates.get("rel_type") != "m.annotation" or not target or number is None:
            return
        if getattr(event, "decrypted", False) and not await self._trusted_sender(event):
            return
        choice = self._pick(target, number, not self._direct(room))
        if choice is not None:
            await self._answer(room, event.event_id, sender, choice, source={}, reply_to=target)

    async def _on_member(self, room: MatrixRoom, event: RoomMemberEvent) -> None:
        """The invited user joined a direct chat the bot opened: show the offered node."""
        if event.membership != "join" or event.prev_membership == "join":
            return
        offer = self.state.offer(room.room_id)
        if offer is None or event.state_key != event.sender:
            return
        node, language = offer
        await self._answer(
            room, event.event_id, event.sender, Start(node=node, locale=language), source=None
        )
        self.state.drop_offer(room.room_id)

    def _own_name(self, room: MatrixRoom) -> str | None:
        name = room.user_name(self.user_id) if self.user_id in room.users else None
        return name or self._display_name

    async def _is_own(self, room_id: str, event_id: str) -> bool:
        if self.state.is_sent(event_id):
            return True
        key = (room_id, event_id)
        if key not in self._reply_senders:
            resp = await self.client.room_get_event(room_id, event_id)
            own = isinstance(resp, RoomGetEventResponse) and resp.event.sender == self.user_id
            self._reply_senders[key] = own
        return self._reply_senders[key]

    # -- trust ---------------------------------------------------------------------------

    @staticmethod
    def _listed(device: Any, devices: set[tuple[str, str]]) -> bool:
        return (device.user_id, device.device_id) in devices or (
            device.user_id,
            device.ed25519,
        ) in devices

    def _device_trusted_by_config(self, device: Any) -> bool:
        return self._listed(device, self.trusted)

    async def _trusted_sender(self, event: Any) -> bool:
        """Whether a decrypted message comes from a device the policy accepts.

        A blacklisted device (``MATRIX_BLOCKED_DEVICES``, or blacklisted in the crypto
        store) is never accepted, whatever the policy.
        """
        policy = self.settings.trust
        device = self._sender_device(event)
        if device is None:
            async with self._crypto_lock:
                if self.client.should_query_keys:
                    await self.client.keys_query()
            device = self._sender_device(event)
        if device is None:
            # The sending key belongs to no known device of the claimed sender. "all" takes
            # every message that decrypts; the other policies need to know the device.
            return policy == "all"
        if device.blacklisted or self._listed(device, self.blocked):
            return False
        if policy == "verified-only":
            return self._device_trusted_by_config(device)
        return True

    def _sender_device(self, event: Any) -> Any:
        sender_key = getattr(event, "sender_key", None)
        for device in self.client.device_store.active_user_devices(event.sender):
            if device.curve25519 == sender_key:
                return device
        return None

    def _apply_trust(self, room: MatrixRoom) -> None:
        """Mark the room's devices according to the trust policy before sharing keys.

        Blacklisted devices get no room keys. The adapter blacklists the devices on
        ``MATRIX_BLOCKED_DEVICES`` under every policy and, under ``verified-only``, every
        device not on ``MATRIX_TRUSTED_DEVICES``; it lifts only its own blacklisting, and
        only when the reason is gone (a device taken off the blocked list, or listed as
        trusted). It never un-blacklists a device blacklisted by anything else.
        """
        policy = self.settings.trust
        for user_id in list(room.users):
            for device in self.client.device_store.active_user_devices(user_id):
                key = device_key(device)
                should_block = self._listed(device, self.blocked) or (
                    policy == "verified-only" and not self._device_trusted_by_config(device)
                )
                if should_block:
                    if not device.blacklisted:
                        self.client.blacklist_device(device)
                        self.state.block(key)
                    continue
                if device.blacklisted:
                    if not self.state.blocked_by_us(key):
                        continue  # blacklisted by someone else: stays so
                    self.client.unblacklist_device(device)
                    self.state.unblock(key)
                if policy == "all":
                    continue
                if not device.verified:
                    # tofu: first sight of this device, pin it (nio refuses later key
                    # changes for a known device id, so the pin holds). verified-only:
                    # a listed device.
                    self.client.verify_device(device)

    # -- answering -----------------------------------------------------------------------

    async def _answer(
        self,
        room: MatrixRoom,
        event_id: str,
        sender: str,
        event: Event,
        source: dict[str, Any] | None,
        reply_to: str | None = None,
    ) -> None:
        """Run ``event`` through the runtime and send its replies into ``room``.

        ``event_id`` names what is answered (transaction ids derive from it); in groups
        the first reply quotes ``reply_to`` (default: that event) and mentions the sender.
        ``source`` is the content of the message answered, ``None`` for greetings.
        """
        from bot.runtime import Conversation

        conv = Conversation(platform=PLATFORM, chat_id=room.room_id, user_id=sender)
        replies = await self.runtime.handle(conv, event)
        if not replies:
            return
        relates = (source or {}).get("m.relates_to") or {}
        thread_root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        group = not self._direct(room)
        for index, reply in enumerate(replies):
            link = None
            if group and reply.private_node:
                link = await self._offer_private(sender, reply, f"{event_id}/private/{index}")
            message = self._render(reply, group, link)
            if thread_root:
                message["m.relates_to"] = {
                    "rel_type": "m.thread",
                    "event_id": thread_root,
                    "is_falling_back": index > 0 or source is None,
                    "m.in_reply_to": {"event_id": event_id},
                }
            elif group and index == 0 and source is not None:
                message["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to or event_id}}
            message["m.mentions"] = (
                {"user_ids": [sender]} if group and index == 0 and source is not None else {}
            )
            options = tuple(o.id for o in reply.options)
            await self._send(room, message, _txn_id(event_id, index), options)

    def _render(self, reply: Reply, group: bool, link: str | None) -> dict[str, Any]:
        if "{prefix}" in reply.text:
            # The content cannot know MATRIX_PREFIX; its Matrix strings say {prefix}.
            reply = dataclasses.replace(
                reply, text=reply.text.replace("{prefix}", self.settings.prefix)
            )
        label = None
        if group and reply.private_node and link:
            with contextlib.suppress(Exception):
                label = self.runtime.content.string("open_private", reply.language)
        return render_reply(reply, private_link=link, private_label=label)

    def _direct_room_with(self, user_id: str) -> MatrixRoom | None:
        """A room with just the bot and ``user_id`` (joined or invited), joined ones first."""
        found = None
        for room in self.client.rooms.values():
            if set(room.users) | set(room.invited_users) == {self.user_id, user_id}:
                if user_id not in room.invited_users:
                    return room
                found = found or room
        return found

    async def _offer_private(self, user_id: str, reply: Reply, key: str) -> str:
        """Offer ``reply.private_node`` in a direct chat; return the link for the group.

        An existing direct chat with the user gets the node at once; otherwise the bot
        opens an encrypted direct chat, invites the user and shows the node when they
        join. ``key`` makes the message in an existing chat idempotent (transaction ids).
        """
        profile = f"https://matrix.to/#/{self.user_id}"
        node = reply.private_node
        if not self.settings.private_invite or not node:
            return profile
        via = f"?via={server_of(self.user_id)}"
        room = self._direct_room_with(user_id)
        if room is not None and user_id in room.invited_users:
            self.state.put_offer(room.room_id, node, reply.language)
            return f"https://matrix.to/#/{room.room_id}{via}"
        if room is not None:
            await self._answer(
                room, key, user_id, Start(node=node, locale=reply.language), source=None
            )
            return f"https://matrix.to/#/{room.room_id}{via}"
        resp = await self.client.room_create(
            is_direct=True,
            invite=[user_id],
            preset=RoomPreset.trusted_private_chat,
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        if not isinstance(resp, RoomCreateResponse):
            log.warning("could not open a direct chat: %s", resp)
            return profile
        self.state.put_offer(resp.room_id, node, reply.language)
        return f"https://matrix.to/#/{resp.room_id}{via}"

    async def _send(
        self, room: MatrixRoom, content: dict[str, Any], txn_id: str, options: tuple[str, ...]
    ) -> None:
        room_id = room.room_id
        if room.encrypted:
            async with self._crypto_lock:
                if self.client.should_query_keys:
                    await self.client.keys_query()
                if not room.members_synced:
                    await self.client.joined_members(room_id)
                    if self.client.should_query_keys:
                        await self.client.keys_query()
                self._apply_trust(room)
                if self.client.olm and self.client.olm.should_share_group_session(room_id):
                    await self.client.share_group_session(room_id, ignore_unverified_devices=True)
        local_errors = 0
        failures = 0
        while True:
            began = time.monotonic()
            try:
                resp = await self.client.room_send(
                    room_id,
                    "m.room.message",
                    content,
                    tx_id=txn_id,
                    ignore_unverified_devices=True,
                )
            except LocalProtocolError as exc:
                local_errors += 1
                if local_errors > 5:
                    log.warning("giving up on a reply to %s: %s", room_id, exc)
                    return
                log.warning("cannot send to %s yet: %s", room_id, exc)
                await asyncio.sleep(0.5 * local_errors)
                continue
            except TRANSPORT_ERRORS as exc:
                # The request may have reached the homeserver before the line broke. The
                # same transaction id makes the homeserver return the event it already
                # has instead of posting the reply twice.
                failures += 1
                wait = self._backoff(failures)
                log.warning(
                    "sending to %s failed (%s); retrying in %.1fs with the same transaction id",
                    room_id,
                    describe_failure(exc, time.monotonic() - began),
                    wait,
                )
                await asyncio.sleep(wait)
                continue
            if isinstance(resp, RoomSendResponse):
                self.state.add_sent(resp.event_id, options)
                return
            # 429s are waited out inside nio; anything left is a real refusal (not in
            # the room, forbidden): give up on this message.
            log.warning("sending to %s failed: %s", room_id, resp)
            return


# -- entry point ---------------------------------------------------------------------------


def default_store_dir() -> Path:
    """``<BOT_DATA_DIR>/matrix``."""
    from bot.config import Settings

    return Path(Settings().data_dir) / PLATFORM


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the Matrix bot from ``MATRIX_*`` settings until ``stop`` is set."""
    settings = MatrixSettings()  # values come from the MATRIX_* environment
    bot = MatrixBot(runtime, settings, settings.store_dir or default_store_dir())
    try:
        await bot.run(stop)
    finally:
        await bot.close()
