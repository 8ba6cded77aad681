"""Load the question set (``tests/qa/*.tsv``) and score a matcher on it.

Shared by the accuracy test and ``bench/qa.py`` so both count the same way.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.matching import Matcher

QUESTION_DIR = Path(__file__).parent
"""Every ``*.tsv`` here is part of the set; one file per topic keeps authors out of each other's way."""


@dataclass(frozen=True)
class Question:
    """One user question and the node that should answer it (``None``: the fallback)."""

    text: str
    lang: str
    node: str | None
    split: str  # "tune" or "holdout"
    line: int


@dataclass(frozen=True)
class Outcome:
    """What the matcher did with one question."""

    question: Question
    got: str | None
    score: float
    detected: str | None

    @property
    def correct(self) -> bool:
        """Right node, or the fallback for an out-of-scope question."""
        return self.got == self.question.node

    @property
    def wrong_confident(self) -> bool:
        """A confident answer that is not the expected one: the failure that matters most."""
        return self.got is not None and self.got != self.question.node


def load_questions(directory: Path = QUESTION_DIR) -> list[Question]:
    """Read every TSV: ``split``, ``lang``, ``node`` (``-`` for out of scope), ``question``."""
    out: list[Question] = []
    for path in sorted(directory.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as f:
            for line, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or row[0].startswith("#") or row[0] == "split":
                    continue
                split, lang, node, text = row
                out.append(Question(text, lang, None if node == "-" else node, split, line))
    return out


def run(matcher: Matcher, questions: Iterable[Question], *, detect: bool) -> list[Outcome]:
    """Match every question; with ``detect`` the language is detected the way the engine does
    for a user who has not chosen one (falling back to the content's default language)."""
    default = matcher.content.meta.default_language
    outcomes = []
    for q in questions:
        detected = matcher.detect_language(q.text) if detect else None
        lang = (detected or default) if detect else q.lang
        result = matcher.match(q.text, lang)
        outcomes.append(Outcome(q, result.node if result.matched else None, result.score, detected))
    return outcomes


@dataclass(frozen=True)
class Summary:
    """Figures over a group of outcomes."""

    n_in: int
    n_out: int
    accuracy: float  # in scope: right node
    fallback: float  # out of scope: abstained
    wrong_confident: float  # over all questions
    abstained_in: float  # in scope but abstained
    mcc: float  # matched vs should-match

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Summary:
        """Summarise ``outcomes``."""
        ins = [o for o in outcomes if o.question.node is not None]
        outs = [o for o in outcomes if o.question.node is None]
        tp = sum(o.got is not None for o in ins)
        fn = len(ins) - tp
        fp = sum(o.got is not None for o in outs)
        tn = len(outs) - fp
        denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return cls(
            n_in=len(ins),
            n_out=len(outs),
            accuracy=_share(sum(o.correct for o in ins), len(ins)),
            fallback=_share(tn, len(outs)),
            wrong_confident=_share(sum(o.wrong_confident for o in outcomes), len(outcomes)),
            abstained_in=_share(fn, len(ins)),
            mcc=(tp * tn - fp * fn) / denom if denom else 0.0,
        )


def _share(k: int, n: int) -> float:
    return k / n if n else 1.0
