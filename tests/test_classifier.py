"""The node classifier over the dense signal: fitted, stored, shipped, and weighed by the
decision only where it has spoken."""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from fixtures.tree import write_tree

from bot.content import load_content
from bot.matching import Matcher, classifier, decision, semantic
from bot.matching.classifier import ClassifierStore, classifier_key, fit
from bot.matching.semantic import E5Embedder, EmbeddingCache
from bot.matching.shipped import shipped_path

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _clusters(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit rows around three directions (the third class: a few rows only), and one fresh
    row near each direction."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.normal(size=(16, 3)))[0].T
    owners = np.array([0] * 12 + [1] * 12 + [2] * 3)
    rows = centres[owners] + rng.normal(scale=0.25, size=(len(owners), 16))
    fresh = centres + rng.normal(scale=0.25, size=(3, 16))

    def unit(m: np.ndarray) -> np.ndarray:
        return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)

    return unit(rows), owners, unit(fresh)


def test_a_fit_tells_the_classes_apart_and_gives_the_same_weights_every_time() -> None:
    rows, owners, fresh = _clusters()
    fitted = fit(rows, owners, 3)
    for position, vector in enumerate(fresh):
        p = fitted.probabilities(vector)
        assert p.shape == (3,) and abs(float(p.sum()) - 1.0) < 1e-5
        assert int(np.argmax(p)) == position, "a new row is read as its direction's class"
        assert p[position] > 0.5
    # The small class counts as much as the large ones: its own rows are its.
    assert all(int(np.argmax(fitted.probabilities(r))) == 2 for r in rows[owners == 2])
    again = fit(rows, owners, 3)
    assert np.array_equal(again.weights, fitted.weights) and np.array_equal(again.bias, fitted.bias)


def test_a_stored_classifier_reads_back_exactly_and_a_broken_file_is_only_a_fit(
    tmp_path: Path,
) -> None:
    rows, owners, fresh = _clusters()
    fitted = fit(rows, owners, 3)
    store = ClassifierStore(tmp_path / "cache", shipped=tmp_path / "shipped")
    assert store.get("k") is None
    store.put("k", fitted)
    read = store.get("k")
    assert read is not None
    assert np.array_equal(read.probabilities(fresh[0]), fitted.probabilities(fresh[0]))
    (tmp_path / "cache" / "k.npz").write_bytes(b"not a zip file")
    assert store.get("k") is None
    # The shipped folder is read first and never written.
    classifier.write(tmp_path / "shipped" / "s.npz", fitted)
    assert store.get("s") is not None
    store.put("s", fitted)
    assert [p.name for p in (tmp_path / "shipped").iterdir()] == ["s.npz"]


def test_the_cache_keeps_only_the_newest_classifiers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, owners, _ = _clusters()
    fitted = fit(rows, owners, 3)
    monkeypatch.setattr(classifier, "KEPT", 3)
    store = ClassifierStore(tmp_path)
    for i in range(5):
        store.put(f"k{i}", fitted)
        os.utime(tmp_path / f"k{i}.npz", (1000 + i, 1000 + i))
    store.put("k5", fitted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k3.npz", "k4.npz", "k5.npz"]


def test_the_key_follows_the_texts_and_what_each_is_an_example_of() -> None:
    texts = [["Wie widerspreche ich?"], ["Was ist Meta AI?"], ["Wetter"]]
    key = classifier_key("model", texts)
    assert key == classifier_key("model", [list(t) for t in texts])
    assert key != classifier_key("other model", texts)
    assert key != classifier_key("model", [texts[1], texts[0], texts[2]])
    assert key != classifier_key("model", [*texts[:2], ["Wetter", "Rezept"]])


def test_the_shipped_content_comes_with_its_classifiers(model: E5Embedder) -> None:
    """After a content change, `python -m bot embed` fits them: else every deployment and every
    test run fits them again (a second or two per language)."""
    content = load_content()
    matcher = Matcher(content, embedder=None)
    shipped = shipped_path(content.source_dir, model.name).parent / "classifiers"
    store = ClassifierStore(None, shipped=shipped)
    for lang, index in matcher.indexes.items():
        key = classifier_key(model.name, index.position_texts)
        assert store.get(key) is not None, f"{lang}: no classifier: run `python -m bot embed`"


def test_the_classifier_speaks_to_the_decision_of_a_question_on_its_own(
    model: E5Embedder,
) -> None:
    content = load_content()
    shipped = shipped_path(content.source_dir, model.name)
    matcher = Matcher(content, embedder=model, cache=EmbeddingCache(None, shipped=shipped))
    matcher.cascade = False
    ranking = matcher.ranking("comment je peux dire non à meta ?", "fr")
    assert ranking is not None
    features = ranking.features
    assert {"clf", "clf_off", "clf_agree"} <= set(features)
    decide = decision.for_language("fr")
    assert decide.classified is not None
    assert decide.model_for(features) is decide.classified
    # At a page the user has read, the rules that weigh the page were set without it.
    token = decision.AT_PAGE.set(True)
    try:
        at_page = matcher.ranking("comment je peux dire non à meta ?", "fr")
    finally:
        decision.AT_PAGE.reset(token)
    assert at_page is not None and "clf" not in at_page.features
    # A decision without it (the earlier parameters, which decide follow-ups) does not even
    # ask it.
    assert not decision.ELSEWHERE.uses_classifier
    plain = dataclasses.replace(
        decide,
        classified=None,
        fusion=dataclasses.replace(decide.fusion, classifier_weight=0.0),
    )
    assert not plain.uses_classifier
    # Without the classifier's word the fused model decides, as before.
    without = {k: v for k, v in features.items() if not k.startswith("clf")}
    assert decide.model_for(without) is decide.fused


def test_a_prepared_bot_fits_a_missing_classifier_in_the_background(
    tmp_path: Path, model: E5Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload of changed content swaps in at once; its questions are decided without the
    classifier until it is fitted, then with it, and the fit is kept for the next start."""
    release = threading.Event()
    real_fit = semantic.SemanticIndex.fit_classifier

    def held(self: semantic.SemanticIndex) -> classifier.NodeClassifier:
        assert release.wait(30), "the test never let the fit finish"
        return real_fit(self)

    monkeypatch.setattr(semantic.SemanticIndex, "fit_classifier", held)
    monkeypatch.setattr(classifier, "FIT_AT_ONCE", 0)
    assert decision.for_language("de").uses_classifier
    tree = write_tree(tmp_path / "tree")
    cache_dir = tmp_path / "cache"
    matcher = Matcher(load_content(tree), embedder=model, cache=EmbeddingCache(cache_dir))
    matcher.cascade = False
    matcher.prepare(background=True)
    assert matcher.classifiers_pending()
    assert matcher._classifiers is not None
    fitter = matcher._classifiers.fitter
    assert fitter is not None
    before = matcher.ranking("Wie widerspreche ich bei Instagram?", "de")
    assert before is not None and "clf" not in before.features
    release.set()
    fitter.join(60)
    assert not fitter.is_alive() and not matcher.classifiers_pending()
    after = matcher.ranking("Wie widerspreche ich bei Instagram?", "de")
    assert after is not None and "clf" in after.features
    assert len(list((cache_dir / "classifiers").glob("*.npz"))) == len(matcher.indexes)
    # The next start reads them: nothing is fitted.
    monkeypatch.setattr(semantic.SemanticIndex, "fit_classifier", None)
    again = Matcher(load_content(tree), embedder=model, cache=EmbeddingCache(cache_dir))
    again.prepare(background=True)
    assert not again.classifiers_pending()
    assert all(again.semantic[lang].classifier is not None for lang in again.indexes)
