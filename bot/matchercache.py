"""The content with its matcher, both from the content cache when nothing changed.

Building the matcher's index takes longer than loading the cached content, so ``run`` (at
start-up and on every reload) and ``ask`` keep the whole built :class:`Matcher` next to the
content in the cache (:meth:`ContentCache.load_with`). Its key adds to the content's key the
code the matcher is made of: every module and word list of the ``bot`` package and the
versions of the libraries it builds with, so any change to them builds it afresh.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

import bot
from bot.content import Content, load_content
from bot.content.cache import ContentCache
from bot.matching import Matcher

_PACKAGE = Path(bot.__file__).resolve().parent
_LIBRARIES = ("numpy", "rapidfuzz", "snowballstemmer")
_SUFFIXES = {".py", ".yaml", ".json"}


@functools.cache
def code_version() -> bytes:
    """A digest of the code this process builds matchers with (computed once)."""
    digest = hashlib.sha256()
    for name in _LIBRARIES:
        version = getattr(sys.modules.get(name), "__version__", "")
        digest.update(f"{name}={version}\0".encode())
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in _SUFFIXES and "__pycache__" not in path.parts:
            name = path.relative_to(_PACKAGE).as_posix()
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def load_with_matcher(
    directory: Path | str | None, cache: ContentCache | None = None
) -> tuple[Content, Matcher]:
    """The content in ``directory`` (default: the shipped content) and its matcher, through
    ``cache`` if given.

    Raises :class:`bot.content.ContentError` when the content is invalid.
    """
    if cache is None:
        content = load_content(directory)
        return content, Matcher(content)
    return cache.load_with(directory, Matcher, code_version())
