"""A node classifier over the dense signal: which node's examples a question's meaning is
most like, learned from all of them at once.

The nearest example (:meth:`bot.matching.semantic.SemanticIndex.scores`) says how close one
example comes; a softmax regression over the same vectors, fitted on every example of every
node of one language (and the off-topic requests as one more class), learns which directions
of meaning tell the nodes apart. On the tune sets (all seven languages, 2,751 questions) its
first place was right for 90.4 % of the questions in scope against 81.2 % for the nearest
example; its probabilities, next to the fused ranking's confidence, let the decision answer
more questions at the same share of wrong ones.

Fitting takes a second or two per language on one core, so the weights are kept on disk like
the vectors (:class:`ClassifierStore`), keyed by the model, the texts and how each was
labelled: shipped with the content (``python -m bot embed``), or fitted once and cached.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.files import replace_file

log = logging.getLogger(__name__)

SCALE = 20.0
"""The vectors are unit length and their cosines lie close together (0.7 to 1.0 for most
questions): scaled up, a linear layer reaches confident probabilities with small weights."""
L2 = 1e-3
"""Weight decay: keeps the classes of a few examples from being fitted to exactly those.
Lighter decay and more steps (3e-5 and 1,200) make a better classifier on its own, not a
better bot: of the asked questions, each fifth held out, it put 89.2 % (German) and 90.4 %
(Italian) first right against 84.3 and 85.0 % (``bench/classifier_settings.py``), but in
the ranking the right node came first for 896 of 949 German and English tune questions
against 893, and with the decision refitted for each it answered 874 right (28 wrong)
against 869 (27), and in the other languages 4,421 (165) against 4,436 (168)
(``bench/fit_classified.py``)."""
STEPS = 300
"""Full-batch Adam steps; the tune sets' first places stopped improving from about 200."""
RATE = 0.025
"""Adam's step size."""
FIT_AT_ONCE = 20_000
"""A fit with more texts times positions than this (about a tenth of a second) may be left to
a thread (:meth:`Classifiers.attach`); the shipped content's take a second or two per
language, a test's few texts are fitted at once."""
CLASSIFIERS_DIR = "classifiers"
"""The folder of stored classifiers, beside the vectors they were fitted on."""
KEPT = 28
"""Classifiers a cache folder keeps: the seven languages of the running content and of a few
versions before it (a replica still serving the one before a reload)."""
VERSION = "softmax-1"
"""Part of every key: a change to how the classifier is fitted makes the stored ones stale."""


@dataclass(frozen=True)
class NodeClassifier:
    """A linear layer and softmax over a language's positions (its nodes, then the off-topic
    class)."""

    weights: np.ndarray  # (width, positions), float32
    bias: np.ndarray  # (positions,), float32

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        """Per position, the probability that the question of this unit ``vector`` is its."""
        z = (vector * SCALE) @ self.weights + self.bias
        z = np.exp(z - z.max())
        out: np.ndarray = z / z.sum()
        return out


def fit(matrix: np.ndarray, owners: np.ndarray, size: int) -> NodeClassifier:
    """A classifier of ``size`` positions from the unit rows of ``matrix``, row ``i`` an
    example of position ``owners[i]``. Deterministic: zero start, full batches, a fixed
    number of steps. Each position counts as much as any other however many examples it has
    (a node with forty examples would otherwise draw the questions of its neighbours)."""
    x = np.ascontiguousarray(matrix, dtype=np.float32) * np.float32(SCALE)
    width = x.shape[1]
    targets = np.zeros((len(owners), size), np.float32)
    targets[np.arange(len(owners)), owners] = 1.0
    counts = np.bincount(owners, minlength=size).astype(np.float32)
    # Per row, as a column: each position weighs alike, the whole batch sums to one.
    row_weight = ((len(owners) / (size * np.maximum(counts, 1.0)))[owners] / len(owners))[:, None]
    weights = np.zeros((width, size), np.float32)
    bias = np.zeros(size, np.float32)
    m_w, v_w = np.zeros_like(weights), np.zeros_like(weights)
    m_b, v_b = np.zeros_like(bias), np.zeros_like(bias)
    beta1, beta2 = 0.9, 0.999
    for step in range(1, STEPS + 1):
        z = x @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - targets) * row_weight
        g_w = x.T @ g + np.float32(L2) * weights
        g_b = g.sum(axis=0)
        for param, grad, m, v in ((weights, g_w, m_w, v_w), (bias, g_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            param -= np.float32(RATE) * m_hat / (np.sqrt(v_hat) + np.float32(1e-8))
    # Stored as float16 (:func:`write`): rounded here too, so that a classifier fitted in
    # this process decides exactly as the same one read back from disk.
    return NodeClassifier(_rounded(weights), _rounded(bias))


def _rounded(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float16).astype(np.float32)


def classifier_key(model: str, texts: Sequence[Sequence[str]]) -> str:
    """The key of the classifier fitted on ``texts`` (per position, its texts) embedded by
    ``model``."""
    digest = hashlib.sha256(f"{VERSION}\n{model}\n".encode())
    for position, group in enumerate(texts):
        for text in group:
            if text.strip():
                digest.update(f"{position}\t{text}\n".encode())
    return digest.hexdigest()[:32]


class ClassifierStore:
    """Fitted classifiers on disk, one ``.npz`` file per key (no pickle): the shipped ones in
    the content's ``vectors/classifiers`` folder, read first and written only by ``python -m
    bot embed``; those fitted here in the embedding cache's folder. Unreadable or unwritable
    files only cost a fit."""

    def __init__(self, directory: Path | None, shipped: Path | None = None) -> None:
        self.directory = directory
        self.shipped = shipped

    def get(self, key: str) -> NodeClassifier | None:
        """The stored classifier of ``key``, if any."""
        for folder in (self.shipped, self.directory):
            if folder is not None and (found := read(_file(folder, key))) is not None:
                return found
        return None

    def put(self, key: str, classifier: NodeClassifier) -> None:
        """Keep ``classifier`` in the cache folder, and only the :data:`KEPT` newest there:
        each content change leaves its languages' old ones behind (an error is logged, never
        raised)."""
        if self.directory is None:
            return
        try:
            write(_file(self.directory, key), classifier)
            stored = sorted(
                self.directory.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True
            )
            for old in stored[KEPT:]:
                old.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("classifier not cached in %s (%s)", self.directory, exc.strerror)


def ship(folder: Path, wanted: Mapping[str, Callable[[], NodeClassifier]]) -> int:
    """Make the shipped ``folder`` hold the classifiers of ``wanted``'s keys and no others,
    each fitted (``wanted[key]()``) only where its file is missing; how many were fitted."""
    fitted = 0
    for key, fit_one in wanted.items():
        path = _file(folder, key)
        if not path.exists():
            write(path, fit_one(), mode=0o644)
            fitted += 1
    keep = {_file(folder, key).name for key in wanted}
    for stale in folder.glob("*.npz"):
        if stale.name not in keep:
            stale.unlink()
    return fitted


def _file(folder: Path, key: str) -> Path:
    return folder / f"{key}.npz"


def read(path: Path) -> NodeClassifier | None:
    """The classifier in ``path``, ``None`` where it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            weights, bias = data["weights"], data["bias"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    if weights.ndim != 2 or bias.shape != (weights.shape[1],):
        return None
    return NodeClassifier(weights.astype(np.float32), bias.astype(np.float32))


def write(path: Path, classifier: NodeClassifier, mode: int | None = None) -> None:
    """Write ``classifier`` to ``path`` atomically, as float16 (half the size; :func:`fit`
    rounds to it as well)."""
    replace_file(
        path,
        lambda f: np.savez(
            f,
            weights=classifier.weights.astype(np.float16),
            bias=classifier.bias.astype(np.float16),
        ),
        mode=mode,
    )


class Classified(Protocol):
    """What :class:`Classifiers` needs of an index: its rows' owners, its number of positions,
    a fit, and a place for the classifier (:class:`bot.matching.semantic.SemanticIndex`)."""

    owners: np.ndarray
    size: int
    classifier: NodeClassifier | None

    def fit_classifier(self) -> NodeClassifier:
        """A classifier fitted on the index's texts."""
        ...


class Classifiers:
    """Gives each index its classifier: the stored one, else one fitted now or, where that
    takes long and may wait, in a thread of its own (one for all languages, so that a reload
    of seven changed languages takes one core, not seven), stored once fitted."""

    def __init__(self, store: ClassifierStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._queue: list[tuple[Classified, str]] = []
        self.fitter: threading.Thread | None = None
        """The thread fitting what waits, while it runs."""

    def attach(self, index: Classified, key: str, *, later: bool = False) -> None:
        """Set ``index.classifier``: the stored one of ``key``, else a fit; with ``later``, a
        fit of more than :data:`FIT_AT_ONCE` is queued and ``index.classifier`` stays
        ``None`` until it is done."""
        index.classifier = self.store.get(key)
        if index.classifier is not None:
            return
        if later and len(index.owners) * index.size > FIT_AT_ONCE:
            with self._lock:
                self._queue.append((index, key))
                if self.fitter is None:
                    self.fitter = threading.Thread(
                        target=self._fit_queued, name="fit-classifiers", daemon=True
                    )
                    self.fitter.start()
            return
        index.classifier = index.fit_classifier()
        self.store.put(key, index.classifier)

    def pending(self) -> bool:
        """Whether classifiers are still being fitted in the background."""
        with self._lock:
            return self.fitter is not None

    def _fit_queued(self) -> None:
        log.info("fitting the node classifiers of the changed content (not stored yet)")
        while True:
            with self._lock:
                if not self._queue:
                    self.fitter = None
                    log.info("node classifiers ready")
                    return
                index, key = self._queue.pop(0)
            classifier = index.fit_classifier()
            self.store.put(key, classifier)
            index.classifier = classifier
