"""A fake Telegram Bot API server for tests and benchmarks, checked against the published spec.

The real python-telegram-bot ``Application`` talks to it over loopback HTTP through
``base_url``. Every request is checked against ``telegram-bot-api.json`` (the machine
readable Bot API spec next to this file): the method must exist, required parameters must
be present, parameter types must match (including JSON-serialized objects, checked field by
field and recursively), and a few rules the real API enforces beyond types (HTML entity
parsing, message length, callback data size, command names, answering a callback query
once) are checked too. A request the real API would reject is answered with the same kind
of error *and* recorded in :attr:`FakeBotApi.violations`, so a test can fail on it even when
the code under test swallowed the error.

Answers are synthesised as objects shaped as the spec defines and are themselves checked
against the spec, so the fake cannot drift from what a real server returns.

Tests drive it by injecting updates (served through ``getUpdates`` long polling), by
scheduling faults (429 with ``retry_after``, 5xx, hanging requests) and by waiting, with
timeouts, for the messages the bot sent.

429s behave as Telegram's do: once a chat was answered ``429 retry_after=N``, every request
for that chat is refused for N seconds (a chat's limit), and :meth:`FakeBotApi.flood` refuses
every sending request of the bot for N seconds (Telegram's flood control for the whole bot).
A client that asks again for a chat before the time it was given is recorded as a violation.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

SPEC_PATH = Path(__file__).with_name("telegram-bot-api.json")

_SCALARS = {"Integer", "Float", "String", "Boolean", "InputFile"}
_DISCRIMINATOR = re.compile(r"(?:must be|always) [“\"]?([a-z_]+)[”\"]?")
_DISCRIMINATOR_FIELDS = {"type", "status", "source"}
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
MAX_MESSAGE_LENGTH = 4096
_UNLIMITED = {"getUpdates", "getMe", "deleteWebhook", "setWebhook", "getWebhookInfo"}
"""Methods Telegram's flood limits leave alone (in this fake)."""


class Rejected(Exception):
    """A request the real Bot API would refuse; carries the HTTP code and description."""

    def __init__(
        self, code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = dict(parameters or {})


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (the spec's ``InputFile``)."""

    filename: str
    size: int


# --------------------------------------------------------------------------------------
# Spec checking
# --------------------------------------------------------------------------------------


class Spec:
    """The Bot API spec, able to check parameters and objects against it."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.version: str = data["version"]
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]
        # Method names are case-insensitive in the real API.
        self._method_by_lower = {name.lower(): name for name in self.methods}

    def method_name(self, name: str) -> str | None:
        """The canonical spelling of a method, or ``None`` if the API has no such method."""
        return self._method_by_lower.get(name.lower())

    # -- requests ----------------------------------------------------------------------

    def check_request(
        self, method: str, params: Mapping[str, Any], *, form: bool
    ) -> dict[str, Any]:
        """Check the parameters of a call and return them decoded to JSON-like values.

        ``form`` says the values came form-encoded (or in a query string / multipart body):
        then every value is a string, and non-string parameters hold JSON, as the real API
        expects. Raises :class:`Rejected` for anything the real API would refuse.
        """
        spec = self.methods[method]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        # File parts referenced as attach://<name> are not parameters themselves.
        params = {k: v for k, v in params.items() if k in fields or not isinstance(v, UploadedFile)}
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise Rejected(400, f"Bad Request: unknown parameter(s) {unknown} for {method}")
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            types = fields[name]["types"]
            if form and isinstance(value, str):
                value = self._decode_form_value(value, types, name)
            errors = self.check_value(value, types, name)
            if errors:
                raise Rejected(400, "Bad Request: " + "; ".join(errors))
            decoded[name] = value
        missing = [n for n, f in fields.items() if f["required"] and n not in decoded]
        if missing:
            raise Rejected(400, f"Bad Request: required parameter(s) missing: {missing}")
        return decoded

    @staticmethod
    def _decode_form_value(value: str, types: list[str], name: str) -> Any:
        if "String" in types or types == ["InputFile"]:
            # Strings are sent verbatim; "InputFile or String" carries an id, URL or attach://.
            return value
        if types in (["Integer"], ["Float"], ["Boolean"]):
            kind = types[0]
            try:
                if kind == "Integer":
                    if not re.fullmatch(r"-?\d+", value):
                        raise ValueError(value)
                    return int(value)
                if kind == "Float":
                    return float(value)
            except ValueError:
                raise Rejected(400, f"Bad Request: {name} must be {kind}, got {value!r}") from None
            if value.lower() in ("true", "1"):
                return True
            if value.lower() in ("false", "0"):
                return False
            raise Rejected(400, f"Bad Request: {name} must be Boolean, got {value!r}")
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise Rejected(
                400, f"Bad Request: can't parse {name} as JSON-serialized {types}"
            ) from None

    # -- values and objects ---------------------------------------------------------------

    def check_value(self, value: Any, types: Iterable[str], path: str) -> list[str]:
        """Errors of ``value`` against a union of spec types (empty list: it conforms)."""
        types = list(types)
        all_errors: list[str] = []
        for type_name in types:
            errors = self._check_one(value, type_name, path)
            if not errors:
                return []
            all_errors.extend(errors)
        if len(types) > 1:
            return [f"{path}: {_short(value)} is none of {types} ({'; '.join(all_errors[:3])})"]
        return all_errors

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}, got {_short(value)}"]
            inner = type_name.removeprefix("Array of ")
            errors: list[str] = []
            for i, item in enumerate(value):
                errors.extend(self._check_one(item, inner, f"{path}[{i}]"))
            return errors
        if type_name == "Integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif type_name == "Float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif type_name == "String":
            ok = isinstance(value, str)
        elif type_name == "Boolean":
            ok = isinstance(value, bool)
        elif type_name == "InputFile":
            ok = isinstance(value, UploadedFile)
        else:
            return self.check_object(value, type_name, path)
        return [] if ok else [f"{path}: expected {type_name}, got {_short(value)}"]

    def check_object(self, value: Any, type_name: str, path: str) -> list[str]:
        """Errors of ``value`` as an object of spec type ``type_name``."""
        spec = self.types.get(type_name)
        if spec is None:
            return [f"{path}: type {type_name} is not in the spec"]
        if not isinstance(value, dict):
            return [f"{path}: expected {type_name} object, got {_short(value)}"]
        subtypes = spec.get("subtypes")
        if subtypes:
            for sub in subtypes:
                if not self.check_object(value, sub, path):
                    return []
            return [f"{path}: object matches no variant of {type_name}: {_short(value)}"]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        errors = [f"{path}.{k}: not a field of {type_name}" for k in value if k not in fields]
        for name, f in fields.items():
            if name not in value:
                if f["required"]:
                    errors.append(f"{path}.{name}: required field of {type_name} missing")
                continue
            errors.extend(self.check_value(value[name], f["types"], f"{path}.{name}"))
            if name in _DISCRIMINATOR_FIELDS:
                m = _DISCRIMINATOR.search(f["description"])
                if m and value[name] != m.group(1):
                    errors.append(f"{path}.{name}: must be {m.group(1)!r} for {type_name}")
        return errors

    def returns(self, method: str) -> list[str]:
        """The spec's return types of a method."""
        return list(self.methods[method]["returns"])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------------------
# Telegram HTML, as the real API parses it
# --------------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*(/?)>"
)
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def parse_telegram_html(html: str) -> str:
    """Return the visible text of Telegram HTML, or raise :class:`Rejected` as the API does.

    Strict on what the real API refuses: unsupported tags, unbalanced tags, and ``<`` or
    ``&`` that are neither a tag nor one of the supported entities.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(html):
        ch = html[pos]
        if ch == "<":
            m = _TAG.match(html, pos)
            if not m:
                raise Rejected(
                    400,
                    f"Bad Request: can't parse entities: unexpected '<' at offset {pos}",
                )
            closing, tag, _attrs, _selfclose = m.groups()
            tag = tag.lower()
            if tag not in _ALLOWED_TAGS:
                raise Rejected(
                    400,
                    f'Bad Request: can\'t parse entities: unsupported start tag "{tag}" '
                    f"at byte offset {len(html[:pos].encode())}",
                )
            if closing:
                if not stack or stack[-1] != tag:
                    raise Rejected(
                        400,
                        f"Bad Request: can't parse entities: can't find start tag for \"{tag}\"",
                    )
                stack.pop()
            else:
                stack.append(tag)
            pos = m.end()
        elif ch == "&":
            m = _ENTITY.match(html, pos)
            if not m:
                raise Rejected(
                    400, f"Bad Request: can't parse entities: unescaped '&' at offset {pos}"
                )
            name = m.group(1)
            if name.startswith("#x"):
                out.append(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                out.append(chr(int(name[1:])))
            else:
                out.append(_NAMED[name])
            pos = m.end()
        else:
            out.append(ch)
            pos += 1
    if stack:
        raise Rejected(
            400, f"Bad Request: can't parse entities: can't find end tag for \"{stack[-1]}\""
        )
    return "".join(out)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user would see, after the API's entity parsing."""
    if parse_mode is None:
        return text
    if parse_mode.upper() == "HTML":
        return parse_telegram_html(text)
    if parse_mode in ("Markdown", "MarkdownV2"):
        return text  # not used by the bot; accepted without a deep check
    raise Rejected(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")


def check_message_text(text: str, parse_mode: str | None, what: str = "message text") -> str:
    """Check a message text as the API does; return its visible form."""
    shown = visible_text(text, parse_mode).strip()
    if not shown:
        raise Rejected(400, f"Bad Request: {what} is empty")
    if utf16_len(shown) > MAX_MESSAGE_LENGTH:
        raise Rejected(400, f"Bad Request: {what} is too long")
    return shown


def check_reply_markup(markup: Mapping[str, Any] | None) -> None:
    """Rules of inline keyboards the real API enforces beyond the types."""
    if not markup or "inline_keyboard" not in markup:
        return
    for row in markup["inline_keyboard"]:
        for button in row:
            actions = [k for k in _BUTTON_ACTIONS if k in button]
            if len(actions) != 1:
                raise Rejected(
                    400,
                    "Bad Request: inline keyboard button must have exactly one action, "
                    f"got {actions}",
                )
            if not button["text"]:
                raise Rejected(400, "Bad Request: inline keyboard button text is empty")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise Rejected(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://", url):
                raise Rejected(400, "Bad Request: BUTTON_URL_INVALID")


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made (after decoding), with the time it arrived."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    description: str = ""


@dataclass
class Sent:
    """A message the bot sent (or edited), as Telegram would show it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    visible: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    params: dict[str, Any]
    at: float

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons, row by row flattened."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback data of every callback button, in order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclass
class Fault:
    """A scheduled failure for the next ``count`` calls of ``method``."""

    method: str
    # "429", "5xx", "hang" (never answered in time, not processed), "slow" (processed,
    # answered late), "drop" (connection closed without an answer, not processed)
    kind: str
    count: int = 1
    retry_after: int = 1
    status: int = 502
    delay: float = 30.0
    chat_id: int | None = None
    """Only calls for this chat (``None``: any call of ``method``)."""
    hits: int = 0


@dataclass
class FakeUser:
    """A Telegram user the tests act as."""

    id: int
    first_name: str = "Alice"
    language_code: str | None = "de"
    username: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        """The user as a Bot API ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class FakeChat:
    """A chat (private, group or supergroup) the bot is in."""

    id: int
    type: str = "private"
    title: str | None = None
    first_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The chat as a Bot API ``Chat`` object."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title is not None:
            data["title"] = self.title
        if self.first_name is not None:
            data["first_name"] = self.first_name
        return data


@dataclass
class _ChatState:
    chat: FakeChat
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    bot_member: bool = True


class FakeBotApi:
    """A spec-checked Bot API server on 127.0.0.1.

    Use as ``async with FakeBotApi() as api:`` and give ``api.base_url`` (and
    ``api.token``) to python-telegram-bot.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-token",
        bot_username: str = "TestBot",
        spec: Spec | None = None,
        validate_responses: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.spec = spec or Spec()
        self.validate_responses = validate_responses
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self._pending_callbacks: set[str] = set()
        self._pending_inline: set[str] = set()
        self._chats: dict[int, _ChatState] = {}
        self._paused: dict[str | None, tuple[float, float]] = {}
        self._raw: set[int] = set()
        """Chat id (``None``: the whole bot) -> (since, until): 429 for every request."""
        self._told: dict[str, tuple[float, float]] = {}
        """Chat id ("" for none) -> (when, until when) a 429 answer told the client to wait."""
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self.confirmed = 0
        """The highest update id the bot confirmed (via ``getUpdates``' offset): updates up
        to it are never delivered again, the ones after it are, to the next poller."""
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free port on 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = server.sockets  # type: ignore[attr-defined]
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What to pass as python-telegram-bot's ``base_url`` (the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- HTTP ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            # Recorded, so a test can see the bot was refused (and stopped asking).
            name = request.match_info["method"]
            self.calls.append(Call(name, {}, time.monotonic(), 401, "Unauthorized"))
            return _error(401, "Unauthorized")
        method = self.spec.method_name(request.match_info["method"])
        if method is None:
            self._violate(f"unknown method {request.match_info['method']!r}")
            return _error(404, "Not Found")
        raw, form = await _read_params(request)
        call = Call(method=method, params=dict(raw), at=time.monotonic())
        self.calls.append(call)
        try:
            params = self.spec.check_request(method, raw, form=form)
            call.params = params
            self._check_rules(method, params)
        except Rejected as exc:
            self._violate(f"{method}: {exc.description}")
            return await self._finish(call, _error(exc.code, exc.description, exc.parameters))

        paused = self._pause_for(method, params)
        if paused is not None:
            return await self._finish(call, paused)
        fault = self._take_fault(method, params)
        if fault is not None and fault.kind == "slow":
            # Processed normally, only late: the answer is still awaited by the client.
            await asyncio.sleep(fault.delay)
        elif fault is not None and fault.kind == "drop":
            # The connection breaks before any answer: the client sees a network error.
            call.status = 0
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("fault: connection dropped")
        elif fault is not None:
            return await self._apply_fault(call, fault)
        try:
            result = await self._dispatch(method, params)
        except Rejected as exc:
            # A refusal that depends on state (chat migrated, bot kicked, ...), which a
            # correct client meets in normal operation: not a violation.
            return await self._finish(call, _error(exc.code, exc.description, exc.parameters))
        if self.validate_responses:
            checked = result
            if method == "getUpdates":
                # Malformed on purpose (push_raw): the point is how the client copes.
                checked = [u for u in result if u["update_id"] not in self._raw]
            errors = self.spec.check_value(checked, self.spec.returns(method), f"{method}()")
            if errors:
                raise AssertionError(f"fake answer does not match the spec: {errors}")
        return await self._finish(call, web.json_response({"ok": True, "result": result}))

    async def _finish(self, call: Call, response: web.Response) -> web.Response:
        call.status = response.status
        if response.status != 200 and response.body is not None:
            body = json.loads(bytes(response.body))  # type: ignore[arg-type]
            call.description = body.get("description", "")
        async with self._changed:
            self._changed.notify_all()
        return response

    def _violate(self, message: str) -> None:
        self.violations.append(message)

    def _pause_for(self, method: str, params: Mapping[str, Any]) -> web.Response | None:
        """The 429 for a request to a chat (or bot) that is paused, else ``None``."""
        if method in _UNLIMITED:
            return None
        now = time.monotonic()
        chat = str(params["chat_id"]) if "chat_id" in params else None
        told = self._told.get(chat or "")
        # Requests already on their way when the 429 went out are not the client's fault.
        if told is not None and told[0] + 0.3 < now < told[1] - 0.05:
            self._violate(
                f"{method}: asked again {told[1] - now:.1f} s before retry_after had passed"
            )
        for key in (chat, None) if chat is not None else (None,):
            if key not in self._paused:
                continue
            _since, until = self._paused[key]
            if now < until:
                return self._too_many(chat, until - now)
        return None

    def _too_many(self, chat: str | None, seconds: float) -> web.Response:
        retry_after = max(1, int(seconds + 0.999))
        now = time.monotonic()
        earlier = self._told.get(chat or "")
        if earlier is None or earlier[1] < now + retry_after:
            self._told[chat or ""] = (now, now + retry_after)
        return _error(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def flood(self, retry_after: int) -> None:
        """Telegram's flood control for the whole bot: every sending request gets 429 for
        ``retry_after`` seconds from now."""
        now = time.monotonic()
        self._paused[None] = (now, now + retry_after)

    def _take_fault(self, method: str, params: Mapping[str, Any]) -> Fault | None:
        chat = str(params.get("chat_id", ""))
        for fault in self.faults:
            if fault.chat_id is not None and str(fault.chat_id) != chat:
                continue
            if fault.method == method and fault.hits < fault.count:
                fault.hits += 1
                return fault
        return None

    async def _apply_fault(self, call: Call, fault: Fault) -> web.Response:
        if fault.kind == "429":
            # From now on the chat is paused for retry_after seconds, as Telegram does.
            chat = call.params.get("chat_id")
            key = None if chat is None else str(chat)
            now = time.monotonic()
            if key is not None:
                self._paused[key] = (now, now + fault.retry_after)
            return await self._finish(call, self._too_many(key, fault.retry_after))
        if fault.kind == "5xx":
            return await self._finish(call, _error(fault.status, "Internal Server Error"))
        if fault.kind == "hang":
            # The request is never processed: the client's read timeout fires first.
            await asyncio.sleep(fault.delay)
            return await self._finish(call, _error(504, "Gateway Timeout"))
        raise AssertionError(f"unknown fault kind {fault.kind}")

    # -- fault and update injection ---------------------------------------------------------

    def fail(self, method: str, kind: str, **options: Any) -> Fault:
        """Make the next calls of ``method`` fail; see :class:`Fault` for ``kind``."""
        fault = Fault(method=method, kind=kind, **options)
        self.faults.append(fault)
        return fault

    def add_chat(self, chat: FakeChat) -> None:
        """Make a chat known to the server (messages to unknown chats are refused)."""
        if chat.id not in self._chats:
            self._chats[chat.id] = _ChatState(chat)

    def push_raw(self, payload: Any) -> int:
        """Queue an update exactly as given, unchecked (a malformed update, as a buggy or
        hostile server might send); it gets the next ``update_id``, which is returned."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._raw.add(update_id)
        self._updates.append({"update_id": update_id, **payload})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def push_update(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an update (without ``update_id``; it is assigned) for ``getUpdates``."""
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        errors = self.spec.check_object(update, "Update", "update")
        if errors:
            raise AssertionError(f"test built an update the API would never send: {errors}")
        self._updates.append(update)
        for key in ("message", "edited_message"):
            if key in update:
                msg = update[key]
                self._remember(msg["chat"]["id"], msg)
        if "callback_query" in update:
            self._pending_callbacks.add(update["callback_query"]["id"])
        if "inline_query" in update:
            self._pending_inline.add(update["inline_query"]["id"])
        asyncio.get_running_loop().create_task(self._notify())
        return update

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _remember(self, chat_id: int, message: dict[str, Any]) -> None:
        state = self._chats.setdefault(chat_id, _ChatState(FakeChat(**message["chat"])))
        state.messages[message["message_id"]] = message
        state.next_message_id = max(state.next_message_id, message["message_id"] + 1)

    def _new_message_id(self, chat_id: int) -> int:
        state = self._chats[chat_id]
        mid = state.next_message_id
        state.next_message_id += 1
        return mid

    # -- update builders ----------------------------------------------------------------

    def message(
        self,
        user: FakeUser,
        text: str | None = None,
        *,
        chat: FakeChat | None = None,
        reply_to: int | None = None,
        extra: Mapping[str, Any] | None = None,
        edited: bool = False,
    ) -> dict[str, Any]:
        """Inject a message from ``user`` (in their private chat unless ``chat`` is given).

        Commands and ``@mentions`` get the entities the real API attaches. Returns the update.
        """
        chat = chat or FakeChat(id=user.id, type="private", first_name=user.first_name)
        self.add_chat(chat)
        msg: dict[str, Any] = {
            "message_id": self._new_message_id(chat.id),
            "from": user.to_api(),
            "chat": chat.to_api(),
            "date": int(time.time()),
        }
        if text is not None:
            msg["text"] = text
            entities = _entities(text)
            if entities:
                msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = self._chats[chat.id].messages[reply_to]
        if extra:
            msg.update(extra)
        if edited:
            msg["edit_date"] = int(time.time())
            return self.push_update({"edited_message": msg})
        return self.push_update({"message": msg})

    def press(
        self, user: FakeUser, sent: Sent, data: str | None = None, *, chat_instance: str = "ci-1"
    ) -> dict[str, Any]:
        """Inject a callback query: ``user`` presses a button of ``sent`` (or sends ``data``)."""
        if data is None:
            raise ValueError("give the callback data to send")
        message = self._chats[sent.chat_id].messages[sent.message_id]
        query = {
            "id": str(next(self._ids) + 10_000),
            "from": user.to_api(),
            "message": message,
            "chat_instance": chat_instance,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def inline_query(self, user: FakeUser, query: str) -> dict[str, Any]:
        """Inject an inline query ``@bot <query>`` typed by ``user``."""
        payload = {
            "id": str(next(self._ids) + 20_000),
            "from": user.to_api(),
            "query": query,
            "offset": "",
            "chat_type": "private",
        }
        return self.push_update({"inline_query": payload})

    def membership(self, user: FakeUser, chat: FakeChat, old: str, new: str) -> dict[str, Any]:
        """Inject ``my_chat_member``: ``user`` changed the bot's status in ``chat``."""
        self.add_chat(chat)
        state = self._chats[chat.id]
        state.bot_member = new in ("member", "administrator", "creator", "restricted")
        bot = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Test",
            "username": self.bot_username,
        }
        payload = {
            "chat": chat.to_api(),
            "from": user.to_api(),
            "date": int(time.time()),
            "old_chat_member": _member(old, bot),
            "new_chat_member": _member(new, bot),
        }
        return self.push_update({"my_chat_member": payload})

    def migrate(self, user: FakeUser, group: FakeChat, supergroup: FakeChat) -> None:
        """Inject the two service messages of a group becoming a supergroup."""
        self.add_chat(group)
        self.add_chat(supergroup)
        self._chats[group.id].migrated_to = supergroup.id
        self.message(user, chat=group, extra={"migrate_to_chat_id": supergroup.id})
        self.message(user, chat=supergroup, extra={"migrate_from_chat_id": group.id})

    # -- waiting ------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, or fail after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def wait_sent(
        self, chat_id: int, count: int = 1, *, since: int = 0, timeout: float = 5.0
    ) -> list[Sent]:
        """Wait until ``count`` messages were sent to ``chat_id`` after index ``since``."""

        def ready() -> bool:
            return len(self.sent_to(chat_id, since)) >= count

        try:
            await self.wait_until(ready, timeout)
        except TimeoutError:
            got = [s.visible[:60] for s in self.sent_to(chat_id, since)]
            raise AssertionError(
                f"expected {count} message(s) to {chat_id}, got {len(got)}: {got}"
            ) from None
        return self.sent_to(chat_id, since)

    async def wait_until_answered(
        self, chat_id: int, update: Mapping[str, Any], *, timeout: float = 5.0
    ) -> Sent:
        """Wait for the message that replies to ``update``'s message (groups reply to the
        question they answer) and return it."""
        message_id = update["message"]["message_id"]

        def answer() -> Sent | None:
            for sent in self.sent_to(chat_id):
                if (sent.params.get("reply_parameters") or {}).get("message_id") == message_id:
                    return sent
            return None

        try:
            await self.wait_until(lambda: answer() is not None, timeout)
        except TimeoutError:
            raise AssertionError(f"message {message_id} in {chat_id} was not answered") from None
        found = answer()
        assert found is not None
        return found

    def sent_to(self, chat_id: int, since: int = 0) -> list[Sent]:
        """Messages sent to ``chat_id`` (``since``: index into :attr:`sent`)."""
        return [s for s in self.sent[since:] if s.chat_id == chat_id and s.method == "sendMessage"]

    def calls_of(self, method: str) -> list[Call]:
        """Calls of ``method`` so far, including refused ones."""
        return [c for c in self.calls if c.method == method]

    @property
    def unanswered_callbacks(self) -> set[str]:
        """Callback queries the bot has not answered yet."""
        return set(self._pending_callbacks)

    # -- method implementations ------------------------------------------------------------

    def _check_rules(self, method: str, p: dict[str, Any]) -> None:
        """Rules beyond types that the real API enforces on these methods."""
        if method in ("sendMessage", "editMessageText"):
            check_message_text(p["text"], p.get("parse_mode"))
        if "reply_markup" in p:
            check_reply_markup(p["reply_markup"])
        if method == "setMyCommands":
            if len(p["commands"]) > 100:
                raise Rejected(400, "Bad Request: too many commands")
            for cmd in p["commands"]:
                if not _COMMAND_NAME.match(cmd["command"]):
                    raise Rejected(400, "Bad Request: BOT_COMMAND_INVALID")
                if not 1 <= len(cmd["description"]) <= 256:
                    raise Rejected(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            code = p.get("language_code", "")
            if code and not re.fullmatch(r"[a-z]{2}", code):
                raise Rejected(400, "Bad Request: invalid language code")
        if method == "answerInlineQuery":
            results = p["results"]
            if len(results) > 50:
                raise Rejected(400, "Bad Request: RESULTS_TOO_MUCH")
            ids = [r["id"] for r in results]
            if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
                raise Rejected(400, "Bad Request: RESULT_ID_INVALID")
            for r in results:
                content = r.get("input_message_content", {})
                if "message_text" in content:
                    check_message_text(content["message_text"], content.get("parse_mode"))
                if "reply_markup" in r:
                    check_reply_markup(r["reply_markup"])
        if method == "answerCallbackQuery":
            if p["callback_query_id"] not in self._pending_callbacks:
                raise Rejected(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid",
                )
            if len(p.get("text", "")) > 200:
                raise Rejected(400, "Bad Request: callback answer text too long")
        if method == "answerInlineQuery" and p["inline_query_id"] not in self._pending_inline:
            raise Rejected(400, "Bad Request: query is too old or query ID is invalid")

    def _chat(self, chat_id: Any) -> _ChatState:
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            raise Rejected(400, "Bad Request: chat not found") from None
        state = self._chats.get(key)
        if state is None:
            raise Rejected(400, "Bad Request: chat not found")
        if state.migrated_to is not None:
            raise Rejected(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        if not state.bot_member:
            raise Rejected(403, "Forbidden: bot was kicked from the group chat")
        return state

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Test Bot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _dispatch(self, method: str, p: dict[str, Any]) -> Any:
        handler = getattr(self, f"_m_{method}", None)
        if handler is not None:
            return await handler(p)
        return self._synthesise(self.spec.returns(method)[0])

    async def _m_getMe(self, p: dict[str, Any]) -> Any:
        return self._bot_user()

    async def _m_getUpdates(self, p: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise Rejected(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get("offset")
        if offset is not None:
            # Confirm everything below the offset, as the real API does.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.confirmed = max(self.confirmed, offset - 1)
        timeout = p.get("timeout", 0)
        limit = p.get("limit", 100)
        if not self._updates and timeout > 0:
            try:
                async with asyncio.timeout(timeout):
                    async with self._changed:
                        await self._changed.wait_for(lambda: bool(self._updates))
            except TimeoutError:
                pass
        return self._updates[:limit]

    async def _m_deleteWebhook(self, p: dict[str, Any]) -> Any:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    async def _m_setWebhook(self, p: dict[str, Any]) -> Any:
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            self._violate("setWebhook: secret_token may hold only A-Z, a-z, 0-9, _ and -")
            raise Rejected(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(p)
        return True

    async def _m_getWebhookInfo(self, p: dict[str, Any]) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _m_setMyCommands(self, p: dict[str, Any]) -> Any:
        scope = json.dumps(p.get("scope", {"type": "default"}), sort_keys=True)
        self.commands[(scope, p.get("language_code", ""))] = p["commands"]
        return True

    async def _m_getMyCommands(self, p: dict[str, Any]) -> Any:
        scope = json.dumps(p.get("scope", {"type": "default"}), sort_keys=True)
        return self.commands.get((scope, p.get("language_code", "")), [])

    async def _m_sendMessage(self, p: dict[str, Any]) -> Any:
        state = self._chat(p["chat_id"])
        message: dict[str, Any] = {
            "message_id": self._new_message_id(state.chat.id),
            "from": self._bot_user_short(),
            "chat": state.chat.to_api(),
            "date": int(time.time()),
            "text": visible_text(p["text"], p.get("parse_mode")),
        }
        if "reply_markup" in p:
            message["reply_markup"] = p["reply_markup"]
        if "message_thread_id" in p:
            # Posted into a forum topic (the fake does not model which chats are forums).
            message["message_thread_id"] = p["message_thread_id"]
            message["is_topic_message"] = True
        reply = p.get("reply_parameters")
        if reply is not None:
            target = state.messages.get(reply["message_id"])
            if target is None and not reply.get("allow_sending_without_reply"):
                raise Rejected(400, "Bad Request: message to be replied not found")
            if target is not None:
                message["reply_to_message"] = target
        state.messages[message["message_id"]] = message
        self._record("sendMessage", state.chat.id, message["message_id"], p)
        return message

    async def _m_editMessageText(self, p: dict[str, Any]) -> Any:
        if "inline_message_id" in p:
            return True
        if "chat_id" not in p or "message_id" not in p:
            raise Rejected(400, "Bad Request: message identifier is not specified")
        state = self._chat(p["chat_id"])
        message = state.messages.get(p["message_id"])
        if message is None:
            raise Rejected(400, "Bad Request: message to edit not found")
        text = visible_text(p["text"], p.get("parse_mode"))
        if message.get("text") == text and message.get("reply_markup") == p.get("reply_markup"):
            raise Rejected(400, "Bad Request: message is not modified")
        message["text"] = text
        message.pop("reply_markup", None)
        if "reply_markup" in p:
            message["reply_markup"] = p["reply_markup"]
        self._record("editMessageText", state.chat.id, p["message_id"], p)
        return message

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> Any:
        if "inline_message_id" in p:
            return True
        state = self._chat(p["chat_id"])
        message = state.messages.get(p["message_id"])
        if message is None:
            raise Rejected(400, "Bad Request: message to edit not found")
        if message.get("reply_markup") == p.get("reply_markup"):
            raise Rejected(400, "Bad Request: message is not modified")
        message.pop("reply_markup", None)
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        return message

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        self._pending_callbacks.discard(p["callback_query_id"])
        self.callback_answers[p["callback_query_id"]] = p
        return True

    async def _m_answerInlineQuery(self, p: dict[str, Any]) -> Any:
        self._pending_inline.discard(p["inline_query_id"])
        self.inline_answers[p["inline_query_id"]] = p
        return True

    async def _m_sendChatAction(self, p: dict[str, Any]) -> Any:
        self._chat(p["chat_id"])
        return True

    async def _m_leaveChat(self, p: dict[str, Any]) -> Any:
        self._chat(p["chat_id"]).bot_member = False
        return True

    def _bot_user_short(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Test Bot",
            "username": self.bot_username,
        }

    def _record(self, method: str, chat_id: int, message_id: int, p: dict[str, Any]) -> None:
        self.sent.append(
            Sent(
                method=method,
                chat_id=chat_id,
                message_id=message_id,
                text=p["text"],
                visible=visible_text(p["text"], p.get("parse_mode")),
                parse_mode=p.get("parse_mode"),
                reply_markup=p.get("reply_markup"),
                params=p,
                at=time.monotonic(),
            )
        )

    def _synthesise(self, type_name: str) -> Any:
        """A minimal value of a spec type, for methods the tests do not model."""
        if type_name.startswith("Array of "):
            return []
        defaults: dict[str, Any] = {
            "Integer": 0,
            "Float": 0.0,
            "String": "",
            "Boolean": True,
        }
        if type_name in defaults:
            return defaults[type_name]
        spec = self.spec.types[type_name]
        if spec.get("subtypes"):
            return self._synthesise(spec["subtypes"][0])
        obj: dict[str, Any] = {}
        for f in spec.get("fields", []):
            if f["required"]:
                obj[f["name"]] = self._synthesise(f["types"][0])
                if f["name"] in _DISCRIMINATOR_FIELDS:
                    m = _DISCRIMINATOR.search(f["description"])
                    if m:
                        obj[f["name"]] = m.group(1)
        return obj


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": False,
                "can_manage_video_chats": False,
                "can_restrict_members": False,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        )
    if status == "kicked":
        member["until_date"] = 0
    return member


def _entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` and ``mention`` entities, as Telegram's servers attach them."""
    entities = []
    for m in re.finditer(
        r"(?<!\S)(/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)|(@[A-Za-z0-9_]{5,32})", text
    ):
        kind = "bot_command" if m.group(1) else "mention"
        start = utf16_len(text[: m.start()])
        entities.append({"type": kind, "offset": start, "length": utf16_len(m.group(0))})
    return entities


def _error(
    code: int, description: str, parameters: Mapping[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = dict(parameters)
    return web.json_response(body, status=code)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], bool]:
    """Parameters from query string and body; ``True`` if values are form-encoded strings."""
    params: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return params, True
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="JSON body must be an object")
        params.update(body)
        return params, False
    if ctype == "multipart/form-data":
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not hasattr(part, "filename"):
                continue
            if part.filename:
                data = await part.read()
                params[part.name or ""] = UploadedFile(part.filename, len(data))
            else:
                params[part.name or ""] = await part.text()
        return params, True
    form = await request.post()
    params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params, True
