"""The calibrated decision's inputs: features, and products of two of them."""

from __future__ import annotations

import math

import pytest

from bot.matching.decision import (
    AS_BEFORE,
    DEFAULT,
    ELSEWHERE,
    FUSED,
    LEXICAL,
    OTHER_LANGUAGES,
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
