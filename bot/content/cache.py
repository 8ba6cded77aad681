"""A cache of the validated content: starting or reloading unchanged content skips parsing
and validating it.

One file, ``<directory>/content-<key>.pickle``, where the key is a SHA-256 of every content
file (its name as problems show it, and its bytes), of the code that reads and validates
content, and of the Python and pydantic versions. Any change gives another key, so a cache of
other content or other code is never read; writing a new file removes the older ones.

Unpickling can run code, so a file is only unpickled when its HMAC (keyed by the bot's
secret) matches: a file that was changed, or written with another secret, is refused and
rebuilt. Only valid content is cached; content that became invalid is loaded (and refused)
as without a cache.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path

import pydantic

from bot.content.loader import META_FILE, NODES_DIR, _display, default_content_dir, load_content
from bot.content.models import Content

log = logging.getLogger(__name__)

_CODE = Path(__file__).resolve().parent
_PREFIX = "content-"
_SUFFIX = ".pickle"


def _code_digest() -> bytes:
    """What the cached objects depend on besides the content: our models and rules."""
    digest = hashlib.sha256(f"{sys.version}\0{pydantic.VERSION}\0".encode())
    for path in sorted(_CODE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def content_key(directory: Path) -> str:
    """The cache key of the content in ``directory``: changes whenever a file of it does.

    Raises :class:`OSError` when a file cannot be read (loading then reports it)."""
    digest = hashlib.sha256(_code_digest())
    digest.update(str(directory).encode() + b"\0")
    nodes = directory / NODES_DIR
    files = [directory / META_FILE, *(sorted(nodes.rglob("*.yaml")) if nodes.is_dir() else [])]
    for path in files:
        # Problems and nodes name files as seen from the working directory: part of the key.
        digest.update(_display(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class ContentCache:
    """Validated content kept in ``directory``, signed with ``secret``."""

    def __init__(self, directory: Path, secret: bytes) -> None:
        self.directory = directory
        self._key = hmac.new(secret, b"content cache", hashlib.sha256).digest()

    def load(self, content_dir: Path | str | None = None) -> Content:
        """The content in ``content_dir`` (default: the shipped content), from the cache if
        it holds these very files, else loaded, validated and cached.

        Raises :class:`bot.content.ContentError` like :func:`bot.content.load_content`.
        """
        directory = Path(content_dir) if content_dir else default_content_dir()
        try:
            key = content_key(directory)
        except OSError:
            return load_content(directory)  # it names the file that cannot be read
        path = self.directory / f"{_PREFIX}{key}{_SUFFIX}"
        cached = self._read(path)
        if cached is not None:
            return cached
        content = load_content(directory)
        try:
            unchanged = content_key(directory) == key
        except OSError:
            unchanged = False
        if unchanged:  # files changed while loading: the next load caches them
            self._write(path, content)
        return content

    def _read(self, path: Path) -> Content | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        signature, body = data[:32], data[32:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            log.warning("content cache %s is not signed with this bot's secret; rebuilding", path)
            return None
        try:
            content = pickle.loads(body)  # signed by us: checked above
        except Exception:
            log.warning("content cache %s cannot be read; rebuilding", path, exc_info=True)
            return None
        return content if isinstance(content, Content) else None

    def _write(self, path: Path, content: Content) -> None:
        body = pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL)
        signature = hmac.new(self._key, body, hashlib.sha256).digest()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=_SUFFIX)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(signature + body)
                os.replace(tmp, path)  # readers see the old file or the whole new one
            finally:
                Path(tmp).unlink(missing_ok=True)
            for old in self.directory.glob(f"{_PREFIX}*{_SUFFIX}"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as exc:
            # A read-only data dir costs speed, never the content.
            log.debug("content cache not written to %s: %s", self.directory, exc)
