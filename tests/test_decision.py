"""The calibrated decision's inputs: features, and products of two of them."""

from __future__ import annotations

import dataclasses
import math
from unittest import mock

import numpy as np
import pytest

from bot.matching.decision import (
    AS_BEFORE,
    DEFAULT,
    ELSEWHERE,
    FUSED,
    LEXICAL,
    OTHER_LANGUAGES,
    Fusion,
    Model,
    for_language,
    value,
)


def test_a_product_input_multiplies_two_features() -> None:
    features = {"dense": 0.9, "margin": 0.5}
    assert value(features, "dense") == 0.9
    assert value(features, "dense*margin") == pytest.approx(0.45)
    model = Model(("dense", "dense*margin"), (0.0, 1.0, 2.0), 0.5)
    assert model.probability(features) == pytest.approx(1 / (1 + math.exp(-1.8)))


def test_every_fitted_input_names_features_the_ranking_gives() -> None:
    lexical = {"example", "margin", "covered", "known", "short", "off_topic", "topical"}
    fused = lexical | {
        "dense",
        "dense_margin",
        "dense_off",
        "agree_words",
        "agree_dense",
        "dense_top3",
    }
    others = OTHER_LANGUAGES.get("fr", ELSEWHERE)
    models = [LEXICAL, FUSED, ELSEWHERE.lexical, ELSEWHERE.fused, others.lexical, others.fused]
    for model, known in zip(models, [lexical, fused] * 3, strict=True):
        assert len(model.weights) == len(model.features) + 1
        for name in model.features:
            assert set(name.split("*")) <= known, name


def test_the_languages_of_the_tune_split_have_their_own_fit() -> None:
    """German and English questions are decided by the model fitted on them; French,
    Spanish, Italian, Dutch and Polish by the one chosen on their own tune sets
    (``bench/qa.py --fit-languages``); follow-ups and any other language by the earlier
    parameters."""
    assert for_language("de") is DEFAULT
    assert for_language("en") is DEFAULT
    for lang in ("es", "fr", "it", "nl", "pl"):
        assert for_language(lang) is OTHER_LANGUAGES.get(lang, ELSEWHERE)
    assert for_language("xx") is ELSEWHERE
    token = AS_BEFORE.set(True)
    try:
        assert for_language("de") is ELSEWHERE
        assert for_language("fr") is ELSEWHERE
    finally:
        AS_BEFORE.reset(token)


def _copy_of(**changes: float) -> dict[str, float]:
    """The features of a short question that says what one of the best node's examples says
    (0.99 alike, the best node also the closest in meaning, the off-topic requests far)."""
    return {"dense": 0.99, "agree_dense": 1.0, "dense_off": -0.1, **changes}


def test_a_near_copy_of_an_example_answers() -> None:
    fusion = dataclasses.replace(ELSEWHERE.fusion, dense_copy=0.95)
    assert fusion.near_copy(_copy_of())
    assert fusion.near_copy(_copy_of(dense=0.95))
    assert not fusion.near_copy(_copy_of(dense=0.949)), "not alike enough"


def test_a_near_copy_does_not_answer_where_the_off_topic_requests_are_as_close() -> None:
    fusion = dataclasses.replace(ELSEWHERE.fusion, dense_copy=0.95)
    assert not fusion.near_copy(_copy_of(dense_off=0.0))
    assert not fusion.near_copy(_copy_of(dense_off=-fusion.dense_off_gap / 2))


def test_a_near_copy_does_not_answer_where_another_node_is_closest_in_meaning() -> None:
    fusion = dataclasses.replace(ELSEWHERE.fusion, dense_copy=0.95)
    assert not fusion.near_copy(_copy_of(agree_dense=0.0))


def test_near_copies_answer_only_where_a_fit_says_so() -> None:
    """Off unless fitted: never without the meaning, never for follow-ups (the earlier
    parameters)."""
    assert not Fusion(1.0, 0.8, 0.92, 0.02).near_copy(_copy_of(dense=1.0))
    assert not ELSEWHERE.fusion.near_copy(_copy_of(dense=1.0))
    fitted = dataclasses.replace(ELSEWHERE.fusion, dense_copy=0.95)
    assert not fitted.near_copy({"example": 1.0}), "words only: no meaning"


def test_the_matcher_answers_a_near_copy_the_model_would_refuse() -> None:
    """The decision's rule in the matcher: a ranking whose best node the model is unsure of
    is answered where it is a near copy, not where the off-topic requests are as close."""
    from bot.content import load_content
    from bot.matching import Matcher, decision
    from bot.matching.lexical import Ranking

    matcher = Matcher(load_content(), embedder=None)
    features = {
        "example": 0.5,
        "margin": 0.2,
        "covered": 1.0,
        "known": 1.0,
        "short": 1.0,
        "off_topic": 0.1,
        "dense_margin": 0.05,
        "agree_words": 1.0,
        **_copy_of(),
    }
    fusion = dataclasses.replace(ELSEWHERE.fusion, dense_copy=0.95)
    unsure = dataclasses.replace(ELSEWHERE.fused, threshold=1.01)
    decide = dataclasses.replace(ELSEWHERE, fused=unsure, fusion=fusion)
    index = matcher.indexes["fr"]
    best = index.node_ids.index("how-to-object")
    order = np.array([best, *(i for i in range(len(index.node_ids)) if i != best)])

    def ranked(**changes: float) -> Ranking:
        scores = np.zeros(len(index.node_ids))
        return Ranking(order, scores, {**features, **changes}, False, (best,), 0.1, fusion)

    shipped = decision.OTHER_LANGUAGES
    decision.OTHER_LANGUAGES = {"fr": decide}
    try:
        for changes, answered in (
            ({}, True),
            ({"dense_off": 0.0}, False),
            ({"agree_dense": 0.0}, False),
        ):
            with mock.patch.object(Matcher, "ranking", return_value=ranked(**changes)):
                # Not "c'est quoi le droit d'opposition": a reader's asked question word
                # for word, it is decided before any ranking.
                result = matcher.match("c'est quoi au juste le droit d'opposition", "fr")
            assert result.matched is answered, changes
            assert result.score < 1.01
    finally:
        decision.OTHER_LANGUAGES = shipped
