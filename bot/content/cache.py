"""A cache of the validated content: starting or reloading unchanged content skips parsing
and validating it, and building what is made from it (the matcher).

One file per use, ``<directory>/content-<key>.pickle`` (the content) or
``built-<key>.pickle`` (the content with an object built from it, see
:meth:`ContentCache.load_with`), where the key is a SHA-256 of every content file (its name as
problems show it, and its bytes), of the code that reads and validates content, of the Python
and pydantic versions, and of the version of the code that builds. Any change gives another
key, so a cache of other content or other code is never read; writing a new file removes the
older ones of the same use.

A :class:`Part` of the built object (such as one language's matcher index) is made when
first needed and kept in a file of its own, ``part-<key>.pickle``, named by what it is made
of and shared by every ``built-`` file that names it: the process that makes it first writes
that file (later, when it is made, if it was not made yet when the ``built-`` file was
written), the others read it, and only when they need it. After a content change only the
parts that changed are made again; files of parts no longer named are removed with the old
``built-`` file. A part whose file is missing or not ours is made again.

Unpickling can run code, so a file is only unpickled when its HMAC (keyed by the bot's
secret) matches: a file that was changed, or written with another secret, is refused and
rebuilt. Only valid content is cached; content that became invalid is loaded (and refused)
as without a cache.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import hmac
import io
import logging
import pickle
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import pydantic

from bot.content import questions
from bot.content.loader import (
    COUNTRIES_FILE,
    META_FILE,
    NODES_DIR,
    _display,
    default_content_dir,
    load_content,
)
from bot.content.models import Content
from bot.files import replace_file

log = logging.getLogger(__name__)

_CODE = Path(__file__).resolve().parent
_PREFIX = "content-"
_BUILT_PREFIX = "built-"
_PART_PREFIX = "part-"
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
    # The country table makes nodes too; whether it is there at all is part of the key.
    table = directory / COUNTRIES_FILE
    digest.update(b"countries\0" if table.is_file() else b"no countries\0")
    if table.is_file():
        files.append(table)
    files += questions.files(directory)
    for path in files:
        # Problems and nodes name files as seen from the working directory: part of the key.
        digest.update(_display(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


T = TypeVar("T")


def _relru(wrapped: Callable[..., object], maxsize: int | None, typed: bool) -> object:
    return functools.lru_cache(maxsize=maxsize, typed=typed)(wrapped)


class _Pickler(pickle.Pickler):
    """Pickles what is built from content (e.g. a matcher) whatever its internals: a method
    cached per instance (``self.f = lru_cache()(self._f)``) is stored as the method and made
    a fresh, empty cache again when loaded.

    With ``parts``, a :class:`Part` is stored by its name alone and collected in ``parts``
    (name -> the part); one not made yet is given ``save`` (called with its name and value
    when it is made)."""

    def __init__(
        self,
        file: io.BytesIO,
        parts: dict[str, Part[Any]] | None = None,
        salt: bytes = b"",
        save: Callable[[str, object], None] | None = None,
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._parts = parts
        self._salt = salt
        self._save = save

    def reducer_override(self, obj: object) -> Any:
        # Called only for objects of other types than the built-in ones (not for each of
        # the index's many strings, lists and dicts, as persistent_id would be).
        if isinstance(obj, functools._lru_cache_wrapper):
            wrapped = getattr(obj, "__wrapped__", None)
            if isinstance(wrapped, types.MethodType):
                params = obj.cache_parameters()
                return _relru, (wrapped, params["maxsize"], params["typed"])
        if not isinstance(obj, Part):
            return NotImplemented
        if self._parts is None:
            raise pickle.PicklingError("a part inside a part")
        # The version of the code that built it is part of its name.
        name = obj.name or hashlib.sha256(self._salt + b"\0" + obj.key.encode()).hexdigest()
        self._parts[name] = obj
        if self._save is not None:
            obj.saved_by(functools.partial(self._save, name))
        return _stored_part, (name, obj.key, obj.make)


_FindPart = Callable[[str, str, Callable[[], object]], object]
"""The part named in a cached file: its name, key and how to make it."""

_PARTS: contextvars.ContextVar[_FindPart] = contextvars.ContextVar("parts")
"""How the file being unpickled (in this thread) finds its parts: see :func:`_unpickle`."""


def _stored_part(name: str, key: str, make: Callable[[], object]) -> object:
    """A part named in a cached file (unpickling calls this where the part was)."""
    return _PARTS.get(_no_part)(name, key, make)


def _key_of(directory: Path, version: bytes) -> str:
    key = content_key(directory)
    return hashlib.sha256(f"{key}\0".encode() + version).hexdigest() if version else key


class ContentCache:
    """Validated content kept in ``directory``, signed with ``secret``."""

    def __init__(self, directory: Path, secret: bytes) -> None:
        self.directory = directory
        self._key = hmac.new(secret, b"content cache", hashlib.sha256).digest()
        # What this cache returned last: a reload of unchanged content (SIGHUP) hands the
        # same objects out again instead of reading them back (content is never changed).
        self._last: tuple[Path, tuple[Content, object]] | None = None

    def load(self, content_dir: Path | str | None = None) -> Content:
        """The content in ``content_dir`` (default: the shipped content), from the cache if
        it holds these very files, else loaded, validated and cached.

        Raises :class:`bot.content.ContentError` like :func:`bot.content.load_content`.
        """
        content, _ = self._load(content_dir, _PREFIX, b"", lambda content: None)
        return content

    def load_with(
        self, content_dir: Path | str | None, build: Callable[[Content], T], version: bytes
    ) -> tuple[Content, T]:
        """The content in ``content_dir`` and ``build(content)`` (e.g. its matcher), both from
        the cache if it holds these very files and this ``version`` of the code that builds,
        else loaded, validated, built and cached together (one file, so what the built object
        shares with the content stays shared).

        Raises :class:`bot.content.ContentError` like :func:`bot.content.load_content`.
        """
        return self._load(content_dir, _BUILT_PREFIX, version, build)

    def _load(
        self,
        content_dir: Path | str | None,
        prefix: str,
        version: bytes,
        build: Callable[[Content], T],
    ) -> tuple[Content, T]:
        directory = Path(content_dir) if content_dir else default_content_dir()
        try:
            key = _key_of(directory, version)
        except OSError:
            content = load_content(directory)  # it names the file that cannot be read
            return content, build(content)
        path = self.directory / f"{prefix}{key}{_SUFFIX}"
        if self._last is not None and self._last[0] == path:
            return self._last[1]  # type: ignore[return-value]  # made by _load with this build
        cached = self._read(path)
        if cached is not None:
            self._last = (path, cached)
            return cached  # type: ignore[return-value]  # written by _load with this build
        content = load_content(directory)
        built = build(content)
        try:
            unchanged = _key_of(directory, version) == key
        except OSError:
            unchanged = False
        if unchanged:  # files changed while loading: the next load caches them
            self._write(path, prefix, (content, built), version)
            self._last = (path, (content, built))
        return content, built

    def _signed(self, path: Path) -> bytes | None:
        """The body of ``path`` if its signature is ours, else ``None`` (logged)."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        signature, body = data[:32], data[32:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            log.warning("content cache %s is not signed with this bot's secret; rebuilding", path)
            return None
        return body

    def _read(self, path: Path) -> tuple[Content, object] | None:
        body = self._signed(path)
        if body is None:
            return None
        found: dict[str, Part[object]] = {}

        def part(name: str, key: str, make: Callable[[], object]) -> Part[object]:
            # Read (and its signature checked) on first use: a question in one language
            # needs one language's part. One that is missing is made and written then.
            if name not in found:
                if not isinstance(name, str) or not name.isalnum():
                    raise pickle.UnpicklingError(f"bad part name {name!r}")
                made = found[name] = Part(key, make, name=name)
                made.stored_in(self._part_path(name), self._signed)
                made.saved_by(functools.partial(self._save_part, name))
            return found[name]

        try:
            cached = _unpickle(body, part)  # signed by us: checked above, its parts too
        except Exception:
            log.warning("content cache %s cannot be read; rebuilding", path, exc_info=True)
            return None
        if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], Content):
            return cached
        return None

    def _write(
        self, path: Path, prefix: str, cached: tuple[Content, object], version: bytes = b""
    ) -> None:
        parts: dict[str, Part[Any]] = {}
        try:
            body = _pickled(
                cached, parts if prefix == _BUILT_PREFIX else None, version, self._save_part
            )
            # A part already on disk holds the same object (its name says what it is made of).
            bodies = {
                name: _pickled(part.get(), None)
                for name, part in parts.items()
                if part.made and not self._part_path(name).is_file()
            }
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            # Something built from content that cannot be stored costs speed, never service.
            log.warning("content cache not written: %s cannot be stored (%s)", path.name, exc)
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for name, part in bodies.items():
                self._write_file(self._part_path(name), part)
            self._write_file(path, body)
            for old in self.directory.glob(f"{prefix}*{_SUFFIX}"):
                if old != path:
                    old.unlink(missing_ok=True)
            if prefix == _BUILT_PREFIX:
                for old in self.directory.glob(f"{_PART_PREFIX}*{_SUFFIX}"):
                    if old.name[len(_PART_PREFIX) : -len(_SUFFIX)] not in parts:
                        old.unlink(missing_ok=True)
        except OSError as exc:
            # A read-only data dir costs speed, never the content.
            log.debug("content cache not written to %s: %s", self.directory, exc)

    def _part_path(self, name: str) -> Path:
        return self.directory / f"{_PART_PREFIX}{name}{_SUFFIX}"

    def _save_part(self, name: str, value: object) -> None:
        """Write a part made after its ``built-`` file was written (or read)."""
        path = self._part_path(name)
        if path.is_file():
            return
        try:
            body = _pickled(value, None)
            self.directory.mkdir(parents=True, exist_ok=True)
            self._write_file(path, body)
        except (pickle.PicklingError, TypeError, AttributeError, OSError) as exc:
            log.debug("content cache part %s not written: %s", name, exc)

    def _write_file(self, path: Path, body: bytes) -> None:
        signature = hmac.new(self._key, body, hashlib.sha256).digest()
        replace_file(path, lambda handle: handle.write(signature + body))


def _pickled(
    obj: object,
    parts: dict[str, Part[Any]] | None,
    salt: bytes = b"",
    save: Callable[[str, object], None] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, parts, salt, save).dump(obj)
    return buffer.getvalue()


class Part(Generic[T]):
    """A piece of an object built from content, made by ``make()`` when first needed
    (:meth:`get`), that the content cache keeps in a file of its own named by ``key`` (what
    it is made of, e.g. one language's texts).

    Read from the cache, it is unpickled from that file on first :meth:`get`; without the
    file (or with one that is not ours) it is made and the file written."""

    def __init__(self, key: str, make: Callable[[], T], *, name: str = "") -> None:
        self.key = key
        self.make = make
        self.name = name
        """Its file's name once it is known (read from the cache)."""
        self.made = False
        self._value: T | None = None
        self._lock = threading.Lock()
        self._file: tuple[Path, Callable[[Path], bytes | None]] | None = None
        self._save: Callable[[object], None] | None = None

    def __reduce__(self) -> tuple[Callable[..., Part[T]], tuple[object, ...]]:
        # Pickled other than by the content cache (which stores it by its name): what it
        # is made of, and its value if made.
        return _plain_part, (self.key, self.make, self.made, self._value)

    def stored_in(self, path: Path, read: Callable[[Path], bytes | None]) -> None:
        """Where the cache keeps it: ``read(path)`` gives its checked body or ``None``."""
        self._file = (path, read)

    def readable(self) -> bool:
        """Whether it is not made yet but its file is there to read."""
        return not self.made and self._file is not None and self._file[0].is_file()

    def saved_by(self, save: Callable[[object], None]) -> None:
        """Call ``save`` with the value when it is made (the cache writes its file)."""
        self._save = save

    def put(self, value: T) -> None:
        """Take ``value``, made elsewhere, as the part (unless it is made already)."""
        with self._lock:
            if not self.made:
                self._value, self.made = value, True
                if self._save is not None:
                    self._save(value)

    def get(self) -> T:
        """The part, unpickled or made on the first call (once, whichever thread asks)."""
        if not self.made:
            with self._lock:
                if not self.made:
                    self._value = self._load()
                    self.made = True
        return self._value  # type: ignore[return-value]  # set by _load

    def _load(self) -> T:
        if self._file is not None:
            path, read = self._file
            body = read(path)
            if body is not None:
                try:
                    return _unpickle(body, _no_part)  # type: ignore[return-value]
                except Exception:
                    log.warning(
                        "content cache part %s cannot be read; making it", path.name, exc_info=True
                    )
            with contextlib.suppress(OSError):  # not ours, or unreadable: written below
                path.unlink(missing_ok=True)
        value = self.make()
        if self._save is not None:
            self._save(value)
        return value


def _plain_part(key: str, make: Callable[[], T], made: bool, value: T | None) -> Part[T]:
    part = Part(key, make)
    if made:
        part._value, part.made = value, True
    return part


def _no_part(name: str, key: str, make: Callable[[], object]) -> object:
    raise pickle.UnpicklingError(f"a part inside a part: {name!r}")


def _unpickle(body: bytes, part: _FindPart) -> object:
    token = _PARTS.set(part)
    try:
        return pickle.loads(body)
    finally:
        _PARTS.reset(token)
