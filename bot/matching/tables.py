"""Sparse term-by-document weight tables: Okapi BM25 and tf-idf cosine, built with numpy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_EMPTY_COLS = np.zeros(0, dtype=np.int64)
_EMPTY_VALUES = np.zeros(0)


class Table:
    """Per term, its weight in every document (a sparse matrix, one row per term).

    A question's score for every document is the sum of its terms' rows: one array
    addition per term instead of a pass over every document.
    """

    def __init__(
        self,
        rows: list[int] | np.ndarray,
        cols: list[int] | np.ndarray,
        weights: np.ndarray,
        shape: tuple[int, int],
    ) -> None:
        r = np.array(rows, dtype=np.int64)
        order = np.argsort(r, kind="stable")
        self.cols = np.array(cols, dtype=np.int64)[order]
        self.values = weights[order]
        self.starts = np.searchsorted(r[order], np.arange(shape[0] + 1))
        self.size = shape[1]

    def row(self, term: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Row ``term``: the documents that have it and its weight in each."""
        if term is None:
            return _EMPTY_COLS, _EMPTY_VALUES
        lo, hi = self.starts[term], self.starts[term + 1]
        return self.cols[lo:hi], self.values[lo:hi]

    def sum_rows(self, terms: Sequence[int]) -> np.ndarray:
        """The sum of rows ``terms`` (repeats count again), as one dense array: the slices of
        every row gathered at once and added up by ``bincount``."""
        if not terms:
            return np.zeros(self.size)
        ids = np.array(terms, dtype=np.int64)
        lo, hi = self.starts[ids], self.starts[ids + 1]
        counts = hi - lo
        total = int(counts.sum())
        # Positions lo..hi-1 of every row, back to back, without a loop over the rows.
        offsets = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)
        return np.bincount(self.cols[offsets], self.values[offsets], minlength=self.size)

    def add(self, out: np.ndarray, term: int | None) -> None:
        """Add row ``term`` (a term no document has: ``None``) to ``out``."""
        if term is not None:
            lo, hi = self.starts[term], self.starts[term + 1]
            out[self.cols[lo:hi]] += self.values[lo:hi]

    @staticmethod
    def bm25(
        docs: list[list[str]],
        split: Callable[[str], Sequence[str]] | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> tuple[dict[str, int], Table]:
        """Term ids and Okapi BM25 weights of ``docs`` (lists of words, each word split into
        terms by ``split``, else a term itself), as rank-bm25's ``BM25Okapi`` computes them:
        IDF ``log((N - df + 0.5) / (df + 0.5))``, negative ones (terms in more than half the
        documents) raised to ``epsilon`` times the mean IDF."""
        terms: dict[str, int] = {}
        known: dict[str, tuple[int, ...]] = {}
        flat: list[int] = []
        lengths: list[int] = []
        for doc in docs:
            before = len(flat)
            for word in doc:
                ids = known.get(word)
                if ids is None:
                    parts = split(word) if split else (word,)
                    ids = known[word] = tuple(terms.setdefault(t, len(terms)) for t in parts)
                flat.extend(ids)
            lengths.append(len(flat) - before)
        size = max(len(terms), 1)
        doc_of = np.repeat(np.arange(len(docs)), lengths)
        keys, tf = np.unique(doc_of * size + np.array(flat, dtype=np.int64), return_counts=True)
        r, c = keys % size, keys // size
        df = np.bincount(r, minlength=len(terms))
        idf = np.log(len(docs) - df + 0.5) - np.log(df + 0.5)
        if len(idf):
            idf[idf < 0] = epsilon * float(idf.mean())
        length = np.maximum(np.array(lengths, dtype=float), 1.0)  # as if empty had one word
        norm = k1 * (1 - b + b * length / length.mean())
        weights = idf[r] * tf * (k1 + 1) / (tf + norm[c])
        return terms, Table(r, c, weights, (len(terms), len(docs)))

    @staticmethod
    def cosine(docs: list[list[str]]) -> tuple[dict[str, int], Table, np.ndarray]:
        """Term ids, tf-idf weights of short texts (binary tf, each text scaled to unit
        length) and each term's IDF, which the question's own length needs."""
        terms: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for d, doc in enumerate(docs):
            for t in set(doc):
                rows.append(terms.setdefault(t, len(terms)))
                cols.append(d)
        r, c = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        df = np.bincount(r, minlength=len(terms))
        idf = np.log((len(docs) + 1) / (df + 0.5))
        lengths = np.sqrt(np.bincount(c, weights=idf[r] ** 2, minlength=len(docs)))
        weights = idf[r] ** 2 / np.where(lengths > 0, lengths, 1.0)[c]
        return terms, Table(rows, cols, weights, (len(terms), len(docs))), idf
