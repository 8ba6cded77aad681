"""What every command needs of the settings, without pydantic-settings (a fifth of a second
to import): the error type, the defaults, the secret, and hiding passwords in URLs.

:mod:`bot.config` builds the validated settings on these; short-lived commands such as
``ask`` use them directly when the environment sets nothing they need validated.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SESSION_TTL = dt.timedelta(days=30)
"""``BOT_SESSION_TTL`` when it is not set."""


class ConfigError(Exception):
    """A setting is wrong: the message names the variable, what is wrong and the fix.

    ``python -m bot`` prints it as one line and exits with status 2, without a traceback."""


def default_data_dir() -> Path:
    """``BOT_DATA_DIR`` when it is not set: ``./data``."""
    return Path.cwd() / "data"


def load_secret(secret: str | None, data_dir: Path) -> bytes:
    """The key for pseudonymous ids: ``secret`` (``BOT_SECRET``), else the one generated once
    into ``data_dir``."""
    if secret:
        return secret.encode()
    path = data_dir / "secret"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    # Created 0600 in one step so the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value


_USERINFO = re.compile(r"(?<=://)([^/@\s]*)@")


def hide_password(text: str) -> str:
    """``text`` with the password of any URL in it (``redis://user:secret@host``) blanked."""

    def blank(match: re.Match[str]) -> str:
        user, sep, _ = match.group(1).partition(":")
        return f"{user}:***@" if sep else match.group(0)

    return _USERINFO.sub(blank, text)


def url_password(url: str | None) -> str | None:
    """The password in ``url`` (e.g. ``BOT_STORE``), or ``None``: to be kept out of logs."""
    if not url:
        return None
    try:
        return urlsplit(url.strip()).password
    except ValueError:
        return None
