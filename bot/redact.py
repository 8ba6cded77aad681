"""Secrets never reach a log: a filter on every handler that blanks them out.

Libraries log what they see: httpx writes every request URL at INFO, and a Telegram Bot
API URL holds the bot token (``/bot123456:SECRET/getUpdates``); a traceback can hold a
Matrix access token or password. Logs go to aggregators and support tickets, and the token
is full control of the bot, so the filter sits on the handlers (where every record passes,
whichever logger made it) rather than on single loggers.

Two layers: the exact secrets the bot was configured with (registered with
:func:`protect`), and patterns for secrets of these kinds however they got in (a Bot API
token anywhere in a URL, an ``access_token`` query parameter or JSON field, an
``Authorization: Bearer`` header however a library spells it, a Synapse token). Each pattern
matches the secret's own shape only, so that file names (``content/bot.yaml``) and prose
stay readable.

The same filter keeps what users sent out of library log lines: python-telegram-bot passes
whole updates and API parameters as arguments of its log records (at DEBUG, and when an
update cannot be processed); those arguments are replaced with their type name. matrix-nio
writes Matrix user ids (``@alice:example.org``) into its INFO and WARNING lines; they are
replaced with ``@[user]``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping

MARK = "[REDACTED]"
"""What a secret is replaced with."""

_PATTERNS = (
    # Bot API tokens are "<bot id>:<35 characters>" anywhere ...
    (re.compile(r"(?<![A-Za-z0-9])\d{3,}:[A-Za-z0-9_-]{20,}"), MARK),
    # ... and in Bot API URLs ("/bot<token>/getMe", "/file/bot<token>/...") any length.
    (re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_-]+"), MARK),
    # A Matrix access token as a query parameter, JSON field or dict entry.
    (re.compile(r"(access_token[\"']?\s*[=:]\s*[\"']?)[^&\"'\s,}]+"), rf"\1{MARK}"),
    # "Authorization: Bearer x" as headers are spelled: HTTP lines, dicts
    # ({'Authorization': 'Bearer x'}), header tuples ((b'authorization', b'Bearer x')).
    # Header names are case-insensitive, and libraries lower-case them: so is the match.
    (
        re.compile(r"((?i:authorization)[\"']?\s*[=:,]\s*b?[\"']?(?i:bearer)\s+)[^\"'\s,;)}\]]+"),
        rf"\1{MARK}",
    ),
    # Synapse's access and refresh tokens have a shape of their own: syt_<...>, syr_<...>.
    (re.compile(r"(?<![A-Za-z0-9])sy[tr]_[A-Za-z0-9_]{8,}"), MARK),
)

_LIBRARIES_WITH_USER_DATA = ("telegram", "nio")
"""Loggers whose record arguments may be updates or API parameters (user ids, texts)."""

_MATRIX_LIBRARIES = ("nio",)
"""Loggers that write Matrix user ids into their messages."""

_MATRIX_USER = re.compile(r"(?<![\w@])@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(?::\d+)?")
"""A Matrix user id, ``@localpart:server[:port]``."""

USER = "@[user]"
"""What a Matrix user id in a library's log line is replaced with."""


def _opaque(value: object) -> object:
    """``value`` if it cannot hold what a user sent, else its type name."""
    if value is None or isinstance(value, int | float | BaseException):
        return value
    if isinstance(value, str) and len(value) <= 64:
        return value  # endpoint names, short reasons
    return f"<{type(value).__name__}>"


_lock = threading.Lock()
_secrets: set[str] = set()


def protect(*secrets: str | None) -> None:
    """Never log these values (tokens, passwords), from now on; empty values are ignored."""
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= 4)


def redact(text: str) -> str:
    """``text`` with every registered secret and every token-like value blanked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MARK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack so that no secret is left in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and record.name.startswith(_LIBRARIES_WITH_USER_DATA):
            if isinstance(record.args, Mapping):
                record.args = {k: _opaque(v) for k, v in record.args.items()}
            else:
                record.args = tuple(_opaque(a) for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log it as written, redacted
            message = str(record.msg)
        if record.name.startswith(_MATRIX_LIBRARIES):
            message = _MATRIX_USER.sub(USER, message)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
