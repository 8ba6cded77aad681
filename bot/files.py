"""Files written whole or not at all: what the bot keeps on disk is never read half-written.

Shared by the content cache, the embedding cache and Telegram's record of answered updates;
it imports nothing of the bot's own, so every layer may use it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def replace_file(path: Path, write: Callable[[IO[bytes]], object], mode: int | None = None) -> None:
    """Write ``path`` through ``write`` into a temporary file beside it, then put it in
    place: readers see the old file or the whole new one, never a part, and a crash leaves
    no temporary file behind. ``mode`` sets the new file's permissions (else the 0600 of a
    temporary file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
