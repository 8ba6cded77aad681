"""The calibrated decision: answer, ask which of two topics, or fall back.

A logistic model over features from both signals (how much of the question the best node
explains, how close the nearest example is in words and in meaning, how far ahead the best
node is of the second, how close the off-topic class comes). Its weights are data
(``decision.json`` next to this module), fitted with ``bench/qa.py --fit`` on the question
set's ``tune`` split plus the content's own example questions held out in turns, never at
start-up.
"""

from __future__ import annotations

import contextvars
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

PARAMETERS = Path(__file__).with_name("decision.json")
"""The fitted parameters (``bench/qa.py --fit --write`` rewrites them)."""


@dataclass(frozen=True)
class Model:
    """A logistic model: intercept first, then one weight per feature; and the probability
    from which the matcher answers."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        """Probability that the best node is right."""
        return 1.0 / (1.0 + math.exp(-max(min(self.log_odds(features), 50.0), -50.0)))

    def log_odds(self, features: dict[str, float]) -> float:
        """The model's log-odds that the best node is right."""
        return self.weights[0] + sum(
            w * value(features, name)
            for name, w in zip(self.features, self.weights[1:], strict=True)
        )


def value(features: dict[str, float], name: str) -> float:
    """One input of a model: a feature, or the product of two named ``a*b``.

    Products let a linear model weigh one signal by another: a close example in meaning
    says more where the words agree, a small margin matters less where several of the
    node's examples are close (on the tune split, cross-validated, the products raise the
    right answers at the same share of wrong ones by three to four points)."""
    first, times, second = name.partition("*")
    found = features[first]
    return found * features[second] if times else found


@dataclass(frozen=True)
class Fusion:
    """How the dense signal joins the lexical ranking.

    A cosine counts from ``dense_floor`` up (below it any two questions are alike: e5's
    cosines of unrelated questions sit around 0.7-0.8), scaled to 0..1 and weighted
    ``dense_weight`` against the lexical ranking (whose best node scores about 4). A node
    whose closest example is at least ``dense_sure`` alike, and closer than any off-topic
    request by ``dense_off_gap``, may answer however few words it shares (the model still
    decides)."""

    dense_weight: float
    dense_floor: float
    dense_sure: float
    dense_off_gap: float
    words_sure: float = 1.01
    """From this probability of the words-only model on, the dense signal is not computed:
    the lowest bar at which skipping it changes each figure on the tune split (right,
    fallback, wrong-confident) by at most one question (``bench/qa.py --fit-skips``), so
    meaning is only computed where it can change the decision."""
    words_hopeless: float = 0.0
    """Below this probability of the words-only model, the dense signal is not computed
    either: the highest bar at which skipping it changes each figure on the tune split by
    at most one question, so meaning is not computed for questions it would leave
    unanswered anyway (most of them off topic)."""
    classifier_weight: float = 0.0
    """How much the node classifier's probability (0..1, :mod:`bot.matching.classifier`)
    adds to a node's place in the ranking, where the classifier has spoken."""
    dense_copy: float = 1.01
    """From this cosine on, a question is answered as a near copy of one of the best node's
    examples, whatever the model's probability (:meth:`near_copy`); above 1, never."""

    def lift(self, cosines: np.ndarray) -> np.ndarray:
        """Cosines scaled from the floor: 0 below it, 1 for the same text."""
        arr = np.asarray(cosines, dtype=float)
        return np.clip((arr - self.dense_floor) / (1.0 - self.dense_floor), 0.0, None)

    def rescues(self, features: dict[str, float]) -> bool:
        """Whether the dense signal alone makes the best node a candidate answer."""
        return features["dense"] >= self.dense_sure and features["dense_off"] <= -self.dense_off_gap

    def near_copy(self, features: dict[str, float]) -> bool:
        """Whether the question says what one of the best node's examples says, so that it is
        answered however few words it has: its closest example in meaning is at least
        ``dense_copy`` alike, the node closest in meaning is the ranking's best (``agree_dense``)
        and the off-topic requests are farther by ``dense_off_gap``.

        The model weighs a short question's few words against its closeness in meaning and
        refuses "c'est quoi le droit d'opposition" though it is 0.997 alike to an example
        ("Qu'est-ce que le droit d'opposition ?"); where meaning and ranking agree on so close
        a node, the node is right almost always. ``dense_copy`` is the lowest cosine at which
        the tune sets keep their bars (``bench/qa.py --fit-own``)."""
        return (
            features.get("dense", 0.0) >= self.dense_copy
            and features.get("agree_dense", 0.0) == 1.0
            and features.get("dense_off", 0.0) <= -self.dense_off_gap
        )


@dataclass(frozen=True)
class Decision:
    """One set of fitted parameters: the lexical-only model (where no embedder loads), the
    model over both signals, how they are fused, and the margin under which the matcher asks
    which of two topics is meant."""

    lexical: Model
    fused: Model
    fusion: Fusion
    clarify_margin: float
    classified: Model | None = None
    """The fused model's log-odds (``fused``) weighed with what the node classifier says
    (``clf``, ``clf_off``, ``clf_agree``: :func:`bot.matching.lexical.classifier_features`),
    where it has said it; ``None``: the fused model decides alone."""

    @property
    def uses_classifier(self) -> bool:
        """Whether the node classifier has a say in the ranking or the decision."""
        return self.classified is not None or self.fusion.classifier_weight > 0

    def without_classifier(self) -> Decision:
        """This decision with the node classifier given no say (:attr:`uses_classifier`)."""
        fusion = replace(self.fusion, classifier_weight=0.0)
        return replace(self, classified=None, fusion=fusion)

    def model_for(self, features: dict[str, float]) -> Model:
        """The model that decides with these features: the classified one when the node
        classifier has spoken, the fused one when the dense signal is there."""
        if "clf" in features and self.classified is not None:
            return self.classified
        return self.fused if "dense" in features else self.lexical

    def confidence(self, features: dict[str, float]) -> float:
        """Probability that the best node is right, from the fitted logistic model."""
        model = self.model_for(features)
        if model is self.classified:
            features = {**features, "fused": stacked(self.fused.log_odds(features))}
        return model.probability(features)


FUSED_BOUND = 12.0
"""The fused model's log-odds as the classified model reads them, bounded: beyond a
probability of 0.99999 more certainty says nothing new."""


def stacked(log_odds: float) -> float:
    """The fused model's ``log_odds`` as a feature of the classified model."""
    return max(-FUSED_BOUND, min(FUSED_BOUND, log_odds))


def _decision(data: dict[str, Any]) -> Decision:
    def model(key: str) -> Model:
        m = data[key]
        return Model(tuple(m["features"]), tuple(m["weights"]), float(m["threshold"]))

    fusion = Fusion(**data["fusion"])
    classified = model("classified") if data.get("classified") else None
    return Decision(
        model("lexical"), model("fused"), fusion, float(data["clarify_margin"]), classified
    )


def _load() -> tuple[Decision, frozenset[str], Decision, dict[str, Decision]]:
    data = json.loads(PARAMETERS.read_text(encoding="utf-8"))
    default = _decision(data)
    elsewhere = _decision(data["elsewhere"]) if "elsewhere" in data else default
    others = data.get("other_languages")
    own = _decision(others) if others else default
    own_fit = {lang: own for lang in others["languages"]} if others else {}
    return default, frozenset(data.get("fitted_languages", ())), elsewhere, own_fit


DEFAULT, FITTED_LANGUAGES, ELSEWHERE, OTHER_LANGUAGES = _load()
"""The parameters fitted on the question set's tune split (its languages:
``FITTED_LANGUAGES``); those fitted on the other languages' own tune sets
(``other_languages`` in the file, by language: ``bench/qa.py --fit-languages``); and the
earlier set (``elsewhere`` in the file), which decides follow-ups (:data:`AS_BEFORE`) and any
language neither fit covers. A model fitted on German and English questions answered more of
the other languages' questions but also more wrongly. ``bench/qa.py --fit`` rewrites the
first only."""
LEXICAL, FUSED, FUSION = DEFAULT.lexical, DEFAULT.fused, DEFAULT.fusion
CONFIDENCE_FEATURES = LEXICAL.features
THRESHOLD = LEXICAL.threshold


V = TypeVar("V")


@contextmanager
def setting(var: contextvars.ContextVar[V], value: V) -> Iterator[None]:
    """``var`` set to ``value`` for the ``with`` block, as it was again after it (also when
    the block raises)."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


AS_BEFORE: contextvars.ContextVar[bool] = contextvars.ContextVar("as_before", default=False)
"""Set while a follow-up is read with the page just read: the rules for follow-ups
(:mod:`bot.matching.context`, the matcher's ``ALONE_SURE``) were set with the earlier
parameters (``elsewhere`` in the file), and neither fit has follow-ups."""


AT_PAGE: contextvars.ContextVar[bool] = contextvars.ContextVar("at_page", default=False)
"""Set while a message is read at a page the user has read: the node classifier is not
asked then. The rules that weigh a reading alone against the page
(:mod:`bot.matching.context`, the matcher's ``ALONE_SURE``) were set on the fused model's
probabilities and ranking, not on the classified model's surer ones (which answered "muss
ich für die Seite extra widersprechen?" after the business pages alone, with the page on
linked accounts)."""


def for_language(lang: str) -> Decision:
    """The parameters that decide questions in ``lang`` (see :data:`AS_BEFORE`)."""
    if AS_BEFORE.get():
        return ELSEWHERE
    if lang in FITTED_LANGUAGES or not FITTED_LANGUAGES:
        return DEFAULT
    return OTHER_LANGUAGES.get(lang, ELSEWHERE)


def confidence(features: dict[str, float]) -> float:
    """Probability that the best node is right, by the fitted languages' model."""
    return DEFAULT.confidence(features)
