"""The shipped vectors file: rows found by key and read when an index asks for them."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from bot.matching import shipped
from bot.matching.shipped import ShippedVectors, shipped_path, text_key, write_shipped

MODEL = "test-model"


def _unit_rows(count: int, width: int = 384, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, width)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _written(tmp_path: Path, texts: list[str], seed: int = 0) -> tuple[Path, np.ndarray]:
    vectors = _unit_rows(len(texts), seed=seed)
    path = shipped_path(tmp_path / "content", MODEL)
    assert write_shipped(path, MODEL, texts, vectors) == len(texts)
    return path, vectors


def _cosines(codes: np.ndarray, scales: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    rows = codes.astype(np.float32) * scales[:, None]
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return np.sum(rows * vectors, axis=1)


def test_rows_are_read_by_key_in_the_order_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"Frage {i}" for i in range(50)]
    path, vectors = _written(tmp_path, texts)
    monkeypatch.setattr(shipped, "_BLOCK_ROWS", 7)  # rows from several blocks, some skipped
    asked = [texts[41], "nicht im File", texts[3], texts[41], texts[49], texts[0]]
    found, codes, scales = ShippedVectors(path).read([text_key(MODEL, t) for t in asked])
    assert found.tolist() == [True, False, True, True, True, True]
    expected = vectors[[41, 3, 41, 49, 0]]
    assert codes.dtype == np.int8 and codes.shape == (5, 384)
    assert (_cosines(codes, scales, expected) > 0.999).all()


def test_what_the_file_has(tmp_path: Path) -> None:
    path, _ = _written(tmp_path, ["a", "b", "c"])
    vectors = ShippedVectors(path)
    keys = [text_key(MODEL, t) for t in ("b", "z", "a")]
    assert vectors.has(keys).tolist() == [True, False, True]
    assert vectors.width == 384
    assert vectors.has([text_key("another model", "a")]).tolist() == [False]


def test_a_file_replaced_while_running_is_read_afresh(tmp_path: Path) -> None:
    path, _ = _written(tmp_path, ["alt", "beide"])
    vectors = ShippedVectors(path)
    assert vectors.has([text_key(MODEL, "alt")]).all()
    _, fresh = _written(tmp_path, ["neu", "beide"], seed=1)
    keys = [text_key(MODEL, t) for t in ("alt", "neu", "beide")]
    found, codes, scales = vectors.read(keys)
    assert found.tolist() == [False, True, True]
    # "beide" is row 0 of the new file, "neu" row 1 (sorted by key): each from the new file.
    order = sorted(["neu", "beide"], key=lambda t: text_key(MODEL, t))
    expected = fresh[[order.index("neu"), order.index("beide")]]
    assert (_cosines(codes, scales, expected) > 0.999).all()


@pytest.mark.parametrize(
    "body",
    [None, b"not a numpy file", "unsorted", "short codes"],
    ids=["missing", "garbage", "keys out of order", "fewer rows than keys"],
)
def test_a_file_that_is_no_shipped_vectors_has_no_rows(
    tmp_path: Path, body: bytes | str | None
) -> None:
    path = tmp_path / "vectors.npz"
    keys = [text_key(MODEL, t) for t in ("a", "b")]
    if isinstance(body, bytes):
        path.write_bytes(body)
    elif body == "unsorted":
        np.savez(
            path,
            keys=np.array(sorted(keys, reverse=True), "S32"),
            codes=np.ones((2, 4), np.int8),
            scales=np.ones(2, np.float16),
        )
    elif body == "short codes":
        np.savez(
            path,
            keys=np.array(sorted(keys), "S32"),
            codes=np.ones((1, 4), np.int8),
            scales=np.ones(2, np.float16),
        )
    vectors = ShippedVectors(path)
    assert vectors.has(keys).tolist() == [False, False]
    assert vectors.read(keys)[0].tolist() == [False, False]
    assert vectors.width == 0


def test_only_the_keys_and_the_rows_asked_for_stay_in_memory(tmp_path: Path) -> None:
    """Every row of the seven languages' texts, held by each process, took 13 MiB; a dict of
    their keys 4.5 MiB more."""
    texts = [f"Frage {i}" for i in range(5000)]
    path, _ = _written(tmp_path, texts)
    gc.collect()
    tracemalloc.start()
    try:
        vectors = ShippedVectors(path)
        found, codes, scales = vectors.read([text_key(MODEL, t) for t in texts[:10]])
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.all() and codes.shape == (10, 384) and scales.shape == (10,)
    every_row = 5000 * 384
    assert held < 5000 * 32 + every_row / 4, f"{held} bytes held"
