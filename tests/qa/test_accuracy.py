"""Answer quality on the repository's question set (``questions.tsv``).

In-scope questions must reach their node (top-1 accuracy >= 92 %), out-of-scope ones must
fall back (>= 90 %). Languages are detected the way the engine does for a user who has not
chosen one, so detection errors count as misses too. On failure the misses are listed.
Timing and per-language figures live in ``bench/qa.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.content import load_content
from bot.matching import Matcher

from .qa_set import Outcome, Summary, load_questions, run

MIN_ACCURACY = 0.92
MIN_FALLBACK = 0.90


@pytest.fixture(scope="module")
def outcomes() -> Iterator[list[Outcome]]:
    """Every question of the set, matched once for all tests of this module."""
    content = load_content()
    yield run(Matcher(content), load_questions(), detect=True)


def _misses(outcomes: list[Outcome]) -> str:
    lines = [
        f"  {o.question.text!r} ({o.question.lang}): expected {o.question.node or 'fallback'}, "
        f"got {o.got or 'fallback'} ({o.score:.3f}, language {o.detected})"
        for o in outcomes
        if not o.correct
    ]
    return "\n".join(lines)


def test_question_set_is_big_and_varied() -> None:
    questions = load_questions()
    in_scope = [q for q in questions if q.node is not None]
    assert len(questions) >= 300
    assert len(questions) - len(in_scope) >= 60
    german = sum(q.lang == "de" for q in questions)
    assert 0.5 <= german / len(questions) <= 0.7
    assert {q.split for q in questions} == {"tune", "holdout"}


def test_every_expected_node_exists() -> None:
    content = load_content()
    missing = {q.node for q in load_questions() if q.node and q.node not in content.nodes}
    assert not missing, f"questions expect unknown nodes: {sorted(missing)}"


def test_in_scope_accuracy(outcomes: list[Outcome]) -> None:
    ins = [o for o in outcomes if o.question.node is not None]
    summary = Summary.of(ins)
    assert summary.accuracy >= MIN_ACCURACY, (
        f"top-1 accuracy {summary.accuracy:.1%} < {MIN_ACCURACY:.0%}; misses:\n{_misses(ins)}"
    )


def test_out_of_scope_fallback(outcomes: list[Outcome]) -> None:
    outs = [o for o in outcomes if o.question.node is None]
    summary = Summary.of(outs)
    assert summary.fallback >= MIN_FALLBACK, (
        f"fallback rate {summary.fallback:.1%} < {MIN_FALLBACK:.0%}; misses:\n{_misses(outs)}"
    )
