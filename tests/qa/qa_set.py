"""Load the question set (``tests/qa/*.tsv``) and score a matcher on it.

Shared by the accuracy test and ``bench/qa.py`` so both count the same way.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.content import Content
from bot.matching import Matcher
from bot.matching.semantic import EmbeddingCache, default_cache_dir

QUESTION_DIR = Path(__file__).parent
"""Every ``*.tsv`` here is part of the set; one file per topic keeps authors out of each other's way.
The fresh batches ``questions-fresh-*.tsv`` (all ``tune``) were written later, from the topic
list and facts.md, without the content's examples; each was first run unfitted, and nothing in
the content was edited for it until a newer batch took its place as the unfitted gauge (the
batches up to the fifth are open to fitting since the sixth was written: see
languages-tune/README.md).
The fused model and the classified model are fitted on them (``bench/qa.py --fit``,
``bench/fit_classified.py``, which judges its threshold on them out of fold)."""
INDEPENDENT_DIR = QUESTION_DIR / "independent"
"""Sets written by people who never saw the content's example questions: measured, never fitted."""
LANGUAGE_DIR = QUESTION_DIR / "languages"
"""The measured sets of French, Spanish, Italian, Dutch and Polish (``test_languages.py``)."""

SPLITS = ("tune", "holdout", "copy")
"""``tune``: the confidence model is fitted on it; ``holdout``: measured only; ``copy``: a near
copy of a content example, neither measured nor fitted (it would only measure recall)."""
MEASURED = "holdout"

NEAR_COPY = 85
"""Letter-for-letter similarity (rapidfuzz ratio, 0-100, on lower-cased words) from which a
question counts as a near copy of a content example. 85 catches rewordings such as
"Wie widersprech ich bei facebook" ~ "Wie widerspreche ich bei Facebook?"."""


@dataclass(frozen=True)
class Question:
    """One user question and the node that should answer it (``None``: the fallback)."""

    text: str
    lang: str
    node: str | None
    split: str  # one of SPLITS
    line: int
    file: str = ""


@dataclass(frozen=True)
class Outcome:
    """What the matcher did with one question."""

    question: Question
    got: str | None
    score: float
    detected: str | None
    clarify: tuple[str, ...] = ()  # the two topics a clarifying question offers instead

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
                if split not in SPLITS:
                    raise ValueError(f"{path}:{line}: split {split!r} is not one of {SPLITS}")
                node_or_none = None if node == "-" else node
                out.append(Question(text, lang, node_or_none, split, line, path.name))
    return out


def measured_questions() -> list[Question]:
    """What the accuracy test measures: the held-out split of the repository's set and the
    independent sets, never anything the confidence model was fitted on."""
    questions = load_questions() + load_questions(INDEPENDENT_DIR)
    return [q for q in questions if q.split == MEASURED]


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def examples(content: Content) -> list[tuple[str, str]]:
    """Every example question of the content as ``(node id, question)``."""
    return [(nid, q) for nid, n in content.nodes.items() for qs in n.questions.values() for q in qs]


@dataclass(frozen=True)
class Copy:
    """A question too close to one of the content's example questions."""

    question: Question
    node: str
    example: str
    similarity: float

    @property
    def verbatim(self) -> bool:
        """The same words, ignoring case and punctuation."""
        return self.similarity == 100


def near_copies(questions: Iterable[Question], content: Content) -> list[Copy]:
    """The questions whose words are at least ``NEAR_COPY`` similar to a content example in
    their own language (a Dutch example like a German question measures nothing of it)."""
    pools: dict[str, list[tuple[str, str]]] = {}
    for nid, node in content.nodes.items():
        for lang, qs in node.questions.items():
            pools.setdefault(lang, []).extend((nid, q) for q in qs)
    choices = {lang: [_words(q) for _, q in pool] for lang, pool in pools.items()}
    found = []
    for q in questions:
        pool = pools.get(q.lang, [])
        hit = process.extractOne(
            _words(q.text), choices.get(q.lang, []), scorer=fuzz.ratio, score_cutoff=NEAR_COPY
        )
        if hit is not None:
            _, similarity, index = hit
            found.append(Copy(q, pool[index][0], pool[index][1], similarity))
    return found


QUESTION_CACHE = "qa-questions"
"""The question sets' vectors are kept in this subdirectory of the embedding cache (our own
questions, never a user's): measuring embeds each question once, not on every run."""


def warm(matcher: Matcher, texts: Iterable[str]) -> None:
    """Let ``matcher``'s embedder find the vectors of ``texts`` without embedding them
    again on the next run (nothing to do without an embedder)."""
    embedder = matcher.embedder
    if embedder is None:
        return
    # As the matcher reads them (a long message's asking sentences), in every language.
    wanted = sorted({matcher.meaning_text(t, lang) for t in texts for lang in matcher.indexes})
    cache = EmbeddingCache(default_cache_dir().parent / QUESTION_CACHE / embedder.name)
    embedder.recent_limit = max(embedder.recent_limit, len(wanted) + 4096)
    embedder.remember(wanted, cache.vectors(embedder, wanted))


def run(matcher: Matcher, questions: Iterable[Question], *, detect: bool) -> list[Outcome]:
    """Match every question; with ``detect`` the language is detected the way the engine does
    for a user who has not chosen one (falling back to the content's default language)."""
    default = matcher.content.meta.default_language
    questions = list(questions)
    warm(matcher, [q.text for q in questions])
    outcomes = []
    for q in questions:
        detected = matcher.detect_language(q.text) if detect else None
        lang = (detected or default) if detect else q.lang
        result = matcher.match(q.text, lang)
        got = result.node if result.matched else None
        outcomes.append(Outcome(q, got, result.score, detected, result.clarify))
    return outcomes


@dataclass(frozen=True)
class Summary:
    """Figures over a group of outcomes."""

    n_in: int
    n_out: int
    accuracy: float  # in scope: right node
    fallback: float  # out of scope: abstained
    wrong_confident: float  # over all questions
    abstained_in: float  # in scope but abstained (clarifying questions included)
    mcc: float  # matched vs should-match
    clarified: float = 0.0  # over all questions: asked which of two topics was meant
    clarified_right: float = 1.0  # of those in scope: the expected topic was offered

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
            clarified=_share(sum(bool(o.clarify) for o in outcomes), len(outcomes)),
            clarified_right=_share(
                sum(o.question.node in o.clarify for o in ins if o.clarify),
                sum(bool(o.clarify) for o in ins),
            ),
        )


def _share(k: int, n: int) -> float:
    return k / n if n else 1.0
