"""The calibrated decision: answer, ask which of two topics, or fall back.

A logistic model over features from both signals (how much of the question the best node
explains, how close the nearest example is in words and in meaning, how far ahead the best
node is of the second, how close the off-topic class comes). Its weights are data
(``decision.json`` next to this module), fitted with ``bench/qa.py --fit`` on the question
set's ``tune`` split plus the content's own example questions held out in turns, never at
start-up.
"""

from __future__ import annotations

import math

# Logistic confidence model, fitted by ``bench/qa.py --fit`` (see the module docstring).
CONFIDENCE_FEATURES = ("example", "margin", "covered", "known", "short", "off_topic")
CONFIDENCE_WEIGHTS = (-5.38, -1.11, 4.62, 2.8, 5.81, -3.72, -3.15)
"""Intercept first, then one weight per feature in CONFIDENCE_FEATURES."""
CLARIFY_MARGIN = 0.05
"""Ask "did you mean A or B?" instead of answering A when B's ranking score is within this
share of A's. On the tune split (December 2026), below 0.05 the first node was never the
expected one and the second was in 5 of 6 cases; up to 0.06 the first would have been right
in 4 of 10."""
THRESHOLD = 0.425
"""Answer only when the model's probability of being right is at least this. Chosen for few
wrong answers first: on the tune split (refitted December 2026, with the held-out questions
that were near copies of content examples moved into it) 0.425 gives 91.8 % in scope, 90.4 %
fallback and 5.3 % wrong-confident; 0.475 would cut wrong answers by 0.4 points for 0.6
points of accuracy."""


def confidence(features: dict[str, float]) -> float:
    """Probability that the best node is right, from the fitted logistic model."""
    z = CONFIDENCE_WEIGHTS[0] + sum(
        w * features[name]
        for name, w in zip(CONFIDENCE_FEATURES, CONFIDENCE_WEIGHTS[1:], strict=True)
    )
    return 1.0 / (1.0 + math.exp(-z))
