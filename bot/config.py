"""Core settings, read from the environment (``BOT_*``) and validated by pydantic-settings.

Platform adapters read their own settings (``TELEGRAM_*``, ``MATRIX_*``) in their modules.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings every deployment shares.

    ``BOT_SESSION_TTL`` takes seconds or an ISO 8601 duration such as ``P30D``.
    """

    model_config = SettingsConfigDict(env_prefix="BOT_", extra="ignore")

    content_dir: Path | None = None
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "data")
    secret: str | None = None
    session_ttl: dt.timedelta = dt.timedelta(days=30)
    log_level: str = "INFO"

    def load_secret(self) -> bytes:
        """The key for pseudonymous ids: ``BOT_SECRET``, else one generated once and kept."""
        if self.secret:
            return self.secret.encode()
        path = self.data_dir / "secret"
        if path.exists():
            return path.read_bytes().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32).encode()
        # Created 0600 in one step so the key is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(value)
        return value
