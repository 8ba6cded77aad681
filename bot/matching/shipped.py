"""The vectors shipped with the content: ``vectors/<model>.npz`` beside its YAML files.

Written by ``python -m bot embed`` (:func:`write_shipped`): an uncompressed ``.npz`` of the
texts' keys (:func:`text_key`, sorted), their vectors as int8 codes and one scale per row.

Read by :class:`ShippedVectors` a language at a time: only the keys stay in memory (a
sorted array, searched by bisection); the rows a language's index needs are read from the
file when it is built, a block at a time, and kept by that index alone. Holding every row
(the seven languages' texts, some 35,000 of them) and a dictionary of their keys took 17 MiB
in every process, most of whom answer in one or two languages.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from bot.files import replace_file

SHIPPED_DIR = "vectors"
"""Where in a content directory its shipped vectors are: ``vectors/<model>.npz``."""

_KEY = "S32"
"""A key as stored: the 32 hexadecimal digits of :func:`text_key`."""

_NO_SCALES = np.zeros(0, np.float32)

_BLOCK_ROWS = 4096
"""Rows of codes read from the file at a time (1.5 MiB of 384 numbers each)."""


def text_key(model: str, text: str) -> str:
    """The key of ``text`` embedded by ``model``, in the shipped file and the local cache."""
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()[:32]


def shipped_path(content_dir: Path | str, model: str) -> Path:
    """The shipped vectors of the content in ``content_dir`` for ``model``."""
    return Path(content_dir) / SHIPPED_DIR / f"{model}.npz"


def quantize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``matrix``'s rows as int8 codes and one float32 scale each (row ``i`` is about
    ``codes[i] * scales[i]``), as the shipped vectors are stored."""
    if not len(matrix):
        return np.zeros(matrix.shape, np.int8), np.zeros(0, np.float32)
    scales = np.abs(matrix).max(axis=1) / 127.0
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    codes = np.rint(matrix / scales[:, None]).clip(-127, 127).astype(np.int8)
    return codes, scales


def write_shipped(path: Path, model: str, texts: Sequence[str], vectors: np.ndarray) -> int:
    """Write ``vectors`` of ``texts`` (embedded by ``model``) to ``path`` as shipped vectors;
    returns how many rows were written. Written atomically, in a stable order (by key), so
    the file changes only where the texts did."""
    by_key = {text_key(model, t): v for t, v in zip(texts, vectors, strict=True)}
    keys = sorted(by_key)
    matrix = np.array([by_key[k] for k in keys], np.float32).reshape(len(keys), -1)
    codes, scales = quantize(matrix)
    # Shipped with the content: readable like its YAML files. Not compressed: int8 codes
    # hardly shrink (7 % smaller), inflating them took ten times as long as reading them,
    # and a compressed member cannot be read a block at a time where the rows are.
    replace_file(
        path,
        lambda f: np.savez(
            f, keys=np.array(keys, dtype=_KEY), codes=codes, scales=scales.astype(np.float16)
        ),
        mode=0o644,
    )
    return len(keys)


class ShippedVectors:
    """The rows of one shipped file, found by key and read when asked for.

    A missing or unreadable file has no rows (the texts are embedded instead: slower, never
    an error). A file replaced while the bot runs (``embed`` after a content change) is
    read afresh: each read takes keys and rows from one open file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._keys = np.zeros(0, _KEY)
        self._width = 0
        self._stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    @property
    def width(self) -> int:
        """How many numbers a row has (0 without rows)."""
        with self._lock:
            self._current()
            return self._width

    def has(self, keys: Sequence[str]) -> np.ndarray:
        """Per key, whether the file has its row."""
        with self._lock:
            self._current()
            return self._find(keys) >= 0

    def read(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which of ``keys`` the file has (a mask), and the codes and scales of those, in the
        order of ``keys``."""
        none = (np.zeros(len(keys), bool), np.zeros((0, self._width), np.int8), _NO_SCALES)
        if self.path is None or not keys:
            return none
        try:
            with self._lock, zipfile.ZipFile(self.path) as archive:
                self._current(archive)
                rows = self._find(keys)
                found = rows >= 0
                wanted, inverse = np.unique(rows[found], return_inverse=True)
                with archive.open("codes.npy") as f:
                    codes = _read_rows(f, wanted, self._width)
                with archive.open("scales.npy") as f:
                    scales = np.lib.format.read_array(f, allow_pickle=False)[wanted]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return none
        return found, codes[inverse], scales[inverse].astype(np.float32)

    def _find(self, keys: Sequence[str]) -> np.ndarray:
        """Per key, its row in the file, or -1."""
        stored = self._keys
        if not len(stored) or not keys:
            return np.full(len(keys), -1, np.int64)
        asked = np.array(keys, dtype=_KEY)
        at = np.minimum(np.searchsorted(stored, asked), len(stored) - 1)
        return np.where(stored[at] == asked, at, -1)

    def _current(self, archive: zipfile.ZipFile | None = None) -> None:
        """Read the keys if the file is new or changed since they were read (``archive``:
        the file as open now, else the one at :attr:`path`)."""
        if self.path is None:
            return
        try:
            opened = archive.fp if archive is not None else None
            info = os.fstat(opened.fileno()) if opened is not None else os.stat(self.path)
            stamp: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._keys, self._width = np.zeros(0, _KEY), 0
        if stamp is None:
            return
        try:
            if archive is not None:
                self._keys, self._width = _keys_of(archive)
            else:
                with zipfile.ZipFile(self.path) as opened_now:
                    self._keys, self._width = _keys_of(opened_now)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return


def _keys_of(archive: zipfile.ZipFile) -> tuple[np.ndarray, int]:
    """The keys of a shipped file and the width of its rows (none if it is not one)."""
    with archive.open("keys.npy") as f:
        keys = np.lib.format.read_array(f, allow_pickle=False)
    with archive.open("codes.npy") as f:
        shape = _codes_header(f)
    with archive.open("scales.npy") as f:
        scales = np.lib.format.read_array(f, allow_pickle=False)
    ordered = keys.ndim == 1 and bool(np.all(keys[:-1] < keys[1:]))
    if not (ordered and len(shape) == 2 and shape[0] == len(keys) == len(scales)):
        return np.zeros(0, _KEY), 0
    return keys.astype(_KEY), int(shape[1])


def _codes_header(f: IO[bytes]) -> tuple[int, ...]:
    """The shape of the int8 matrix whose ``.npy`` file ``f`` is, read up to its rows."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if fortran or dtype != np.int8:
        raise ValueError("shipped codes are not int8 rows")
    return tuple(shape)


def _read_rows(f: IO[bytes], rows: np.ndarray, width: int) -> np.ndarray:
    """Rows ``rows`` (ascending) of the int8 matrix in the ``.npy`` file ``f``."""
    _codes_header(f)
    out = np.empty((len(rows), width), np.int8)
    start = 0
    while len(rows) and start <= rows[-1]:
        block = np.frombuffer(f.read(_BLOCK_ROWS * width), np.int8).reshape(-1, width)
        lo, hi = np.searchsorted(rows, [start, start + len(block)])
        out[lo:hi] = block[rows[lo:hi] - start]
        if len(block) < _BLOCK_ROWS:
            if hi < len(rows):
                raise ValueError("shipped codes end before their keys")
            break
        start += _BLOCK_ROWS
    return out
