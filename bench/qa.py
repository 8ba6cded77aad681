"""Question-answering quality and speed on the repository's question set.

Prints, per language and per split (``tune`` / ``holdout``), top-1 accuracy on in-scope
questions, the wrong-confident rate, the fallback rate on out-of-scope questions and
Matthews correlation (matched vs should-match); then language detection accuracy,
matching speed and the confusion list of misses.

    .venv/bin/python bench/qa.py [--detect] [--threshold 0.5] [--no-misses]
    .venv/bin/python bench/qa.py --fit [--keep-lexical] [--write]
    .venv/bin/python bench/qa.py --fit-skips [--skips-for all|fitted|others] [--write]
    .venv/bin/python bench/qa.py --fit-languages [--write]
    .venv/bin/python bench/qa.py --fit-own [--write]

``--fit`` refits the matcher's two confidence models (words only, and words fused with the
dense signal) and the dense signal's weight in the ranking, and prints them with a table of
thresholds: per split, in-scope accuracy, out-of-scope fallback and wrong-confident answers;
``--write`` stores them in ``bot/matching/decision.json``. It learns only from the ``tune``
split and from the content's own example questions, each matched by an index built without
it (five folds), with the out-of-scope questions weighted up to a fair share of traffic; the
``holdout`` split is shown, never fitted. ``--fit-skips`` fits only where the dense signal
is not computed (the words alone sure enough, or too unsure for it to matter), for the
confidence models as shipped. The threshold is the one with the most right
answers on ``tune`` with at most 2 % wrong-confident answers and at least 95 % fallback,
each tune question scored by a model fitted without it (five folds), and the table shows
those scores: a model is surer of the questions it was fitted on. Messages the matcher decides without the model (greetings, a node's own wording) count as
answered.

``--fit-languages`` chooses the decision for French, Spanish, Italian, Dutch and Polish on
their own tune sets (``tests/qa/languages-tune/``): see :func:`fit_languages`. ``--fit-own``
refits the fused model that decides them today on those tune sets: see :func:`fit_own`.

No fit reads the newest fresh batch (``*-fresh-N.tsv`` with the highest N), the gauge nothing
is fitted on (:func:`asked_questions.fittable`).

``--detect`` lets the matcher detect each question's language the way the engine does
for a user who has not chosen one; without it the question's own language is used.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dataclasses  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402

import numpy as np  # noqa: E402
from asked_questions import fittable  # noqa: E402

from bot.content import Content, load_content  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from bot.matching.decision import (  # noqa: E402
    FUSED,
    FUSION,
    LEXICAL,
    Decision,
    Fusion,
    Model,
    value,
)
from bot.matching.semantic import EmbeddingCache, default_cache_dir  # noqa: E402
from tests.qa.qa_set import (  # noqa: E402
    NEAR_COPY,
    Outcome,
    Question,
    Summary,
    load_questions,
    near_copies,
    run,
    warm,
)

FOLDS = 5
FRESH = "questions-fresh-"
"""The fresh German and English tune batches (``questions-fresh-*.tsv``), written from the topic
list alone: the classified model is fitted and judged on them (``bench/fit_classified.py``). The
fused model is fitted on them too: fitted on the rest of the tune split alone (questions the
content was edited for over many rounds) it was sure of far too much, 42 of 605 fresh
questions answered wrong instead of 18."""
OUT_OF_SCOPE_SHARE = 0.2
"""In the fit, the out-of-scope tune questions weigh as much as this share of all rows."""
SKIP_TOLERANCE = 1
"""``--fit-skips``: how many tune questions each figure may lose where the meaning is skipped."""


def _without(content: Content, examples: set[tuple[str, str, str]]) -> Content:
    """``content`` minus some example questions, given as (node, language, question)."""
    nodes = {}
    for node_id, node in content.nodes.items():
        questions = {
            lang: tuple(q for q in qs if (node_id, lang, q) not in examples)
            for lang, qs in node.questions.items()
        }
        nodes[node_id] = node.model_copy(update={"questions": questions})
    return Content(content.meta, nodes, content.source_dir)


def _features(matcher: Matcher, q: Question) -> tuple[list[float], str | None] | None:
    """The confidence features and the best node, as the matcher sees ``q``; no features
    for a verdict that needs none (a greeting, a text typed like an example)."""
    decided = matcher.decided(q.text, q.lang)
    if decided is not None:
        return [], decided.node
    ranking = matcher.ranking(q.text, q.lang)
    if ranking is None or not ranking.answerable:
        return None
    best = matcher.indexes[q.lang].node_ids[int(ranking.order[0])]
    model = FUSED if "dense" in ranking.features else LEXICAL
    return [value(ranking.features, name) for name in model.features], best


def _logistic(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, l2: float = 1.0
) -> np.ndarray:
    """Newton's method for weighted, L2-regularised logistic regression (intercept not
    penalised)."""
    x = np.hstack([np.ones((len(x), 1)), x])
    s = np.ones(len(x)) if weights is None else weights
    w = np.zeros(x.shape[1])
    penalty = l2 * np.diag([0.0] + [1.0] * (x.shape[1] - 1))
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (s * (p - y)) + penalty @ w
        hessian = x.T @ (x * (s * p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, gradient)
    return w


def _matcher(content: Content, semantic: bool) -> Matcher:
    """A matcher with the shipped embedder (its vectors of our questions cached) or none."""
    matcher = Matcher(content) if semantic else Matcher(content, embedder=None)
    matcher.cascade = False
    if semantic and matcher.embedder is None:
        raise SystemExit("the embedder does not load here: cannot fit the fused model")
    return matcher


def _examples(content: Content, languages: Collection[str] | None = None) -> list[Question]:
    """The content's example questions (in ``languages``, default all), each a question
    its node answers, shuffled the same way every run (the folds depend on the order)."""
    examples = [
        Question(text, lang, node.id, "examples", 0)
        for node in content.nodes.values()
        if node.id != content.meta.root
        for lang, texts in node.questions.items()
        if languages is None or lang in languages
        for text in texts
    ]
    random.Random(7).shuffle(examples)
    return examples


def _rows(content: Content, semantic: bool) -> list[tuple[Question, list[float], str | None]]:
    """Features and best node of every content example (each matched by an index built
    without it, five folds) and of every question of the repository's set."""
    rows = _held_out_rows(content, _examples(content), semantic)
    matcher = _matcher(content, semantic)
    questions = fittable(load_questions())
    warm(matcher, [q.text for q in questions])
    for q in questions:
        f = _features(matcher, q)
        rows.append((q, *f) if f else (q, [], None))
    return rows


Rows = list[tuple[Question, list[float], str | None]]


def _held_out_rows(content: Content, examples: list[Question], semantic: bool) -> Rows:
    """Features and best node of ``examples``, each matched by an index built without it
    (five folds)."""
    rows: Rows = []
    for fold in range(FOLDS):
        part = examples[fold::FOLDS]
        held = _without(content, {(q.node or "", q.lang, q.text) for q in part})
        matcher = _matcher(held, semantic)
        if matcher.embedder is not None:
            # The examples' vectors are in the content's cache already (same model, prefix).
            texts = sorted({q.text for q in part})
            cache = EmbeddingCache(default_cache_dir(matcher.embedder.name))
            matcher.embedder.recent_limit = 100_000
            matcher.embedder.remember(texts, cache.vectors(matcher.embedder, texts))
        rows += [(q, *f) for q in part if (f := _features(matcher, q))]
    return rows


def _out_of_fold(rows: Rows) -> list[float] | None:
    """Each row's probability by a model fitted without it: the tune split and the content's
    examples in :data:`FOLDS` folds (each predicted by the model fitted on the others), the
    holdout split by the model fitted on all of them. ``None`` where there is too little to
    fit on.

    A threshold chosen on the probabilities of the very rows the model was fitted on sits
    lower than the model earns: fitted on the tune split, it is surer of the tune split's
    questions than of any others."""
    fitted = [i for i, r in enumerate(rows) if r[0].split in ("tune", "examples") and r[1]]
    if len(fitted) < 10 * FOLDS:
        return None
    random.Random(11).shuffle(fitted)
    everything = _fit_weights([r for r in rows if r[0].split in ("tune", "examples")])
    out = [_probability(everything, f, top) for _, f, top in rows]
    for fold in range(FOLDS):
        held = set(fitted[fold::FOLDS])
        w = _fit_weights([rows[i] for i in fitted if i not in held])
        for i in held:
            out[i] = _probability(w, rows[i][1], rows[i][2])
    return out


def _choose_threshold(
    w: np.ndarray,
    rows: list[tuple[Question, list[float], str | None]],
    probabilities: list[float] | None = None,
) -> tuple[float, str]:
    """The threshold with the most right answers on the tune split among those with at most
    2 % wrong-confident answers and at least 95 % fallback (else the fewest wrong answers),
    and the table of every threshold per split.

    ``probabilities``: each row's, in place of ``w``'s (:func:`_out_of_fold`)."""
    if probabilities is None:
        probabilities = [_probability(w, f, top) for _, f, top in rows]
    by_row = {id(r): p for r, p in zip(rows, probabilities, strict=True)}
    lines = [
        "accuracy in scope / fallback out of scope / wrong-confident over all, per split:",
        f"{'threshold':>9} " + " ".join(f"{s:>22}" for s in ("tune", "examples", "holdout")),
    ]
    best: tuple[tuple[float, ...], float] | None = None
    for threshold in np.arange(0.3, 0.925, 0.025):
        cells = []
        for split in ("tune", "examples", "holdout"):
            group = [r for r in rows if r[0].split == split]
            right = wrong = fell_back = 0
            for row in group:
                q, _, top = row
                got = top if by_row[id(row)] >= threshold else None
                right += got == q.node and q.node is not None
                wrong += got is not None and got != q.node
                fell_back += got is None and q.node is None
            n_in = sum(q.node is not None for q, _, _ in group)
            n_out = len(group) - n_in
            out = f"{fell_back / n_out:.1%}" if n_out else "-"
            cells.append(f"{right / n_in:>8.1%}/{out:>6}/{wrong / len(group):>5.1%}")
            if split == "tune":
                ok = wrong / len(group) <= 0.02 and (not n_out or fell_back / n_out >= 0.95)
                key = (float(ok), right / n_in if ok else -wrong / len(group))
                if best is None or key > best[0]:
                    best = (key, float(threshold))
        lines.append(f"{threshold:>9.3f} " + " ".join(cells))
    assert best is not None
    return round(best[1], 3), "\n".join(lines)


def first_right(matcher: Matcher, questions: list[Question]) -> int:
    """How many of ``questions`` (each in scope) the ranking puts the right node first for."""
    right = 0
    for q in questions:
        ranking = matcher.ranking(q.text, q.lang)
        if ranking is not None:
            right += matcher.indexes[q.lang].node_ids[int(ranking.order[0])] == q.node
    return right


def _fusion_grid(content: Content) -> Fusion:
    """The dense weight with the most right first places on the tune split (ranking only)."""
    from bot.matching import decision

    tune = [q for q in fittable(load_questions()) if q.split == "tune" and q.node is not None]
    matcher = _matcher(content, True)
    warm(matcher, [q.text for q in tune])
    scored = []
    for weight in (0.5, 1.0, 2.0, 3.0, 4.0):
        fusion = dataclasses.replace(FUSION, dense_weight=weight)
        decision.DEFAULT = dataclasses.replace(decision.DEFAULT, fusion=fusion)
        right = first_right(matcher, tune)
        print(f"dense weight {weight}: {right / len(tune):.1%} first place right on tune")
        scored.append((right, -weight, fusion))
    decision.DEFAULT = dataclasses.replace(decision.DEFAULT, fusion=FUSION)
    return max(scored, key=lambda s: s[:2])[2]


def _words_sure(
    fitted: dict[str, tuple[np.ndarray, float, Rows]], margin_at: int, clarify_margin: float
) -> float:
    """The lowest probability of the words-only model from which the dense signal is skipped
    without changing a single figure on the tune split (right, fallback, wrong-confident):
    where the words alone are that sure, the meaning would not change the decision.

    ``fitted``: per model ("lexical", "fused"), its weights, threshold and rows."""
    w_lex, _, lex_rows = fitted["lexical"]
    w_fused, threshold, fused_rows = fitted["fused"]
    words = {(q.split, q.text, q.lang): (f, top) for q, f, top in lex_rows}

    def figures(bar: float) -> tuple[int, int, int]:
        right = fell_back = wrong = 0
        for q, f, top in fused_rows:
            if q.split != "tune":
                continue
            lf, lt = words.get((q.split, q.text, q.lang), ([], None))
            if lf and _probability(w_lex, lf, lt) >= bar and lf[margin_at] >= clarify_margin:
                got = lt  # decided by the words alone, the dense signal not computed
            else:
                got = top if _probability(w_fused, f, top) >= threshold else None
            right += got == q.node and q.node is not None
            fell_back += got is None and q.node is None
            wrong += got is not None and got != q.node
        return right, fell_back, wrong

    reference = figures(1.01)
    chosen = 1.01
    for bar in (0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6):
        same = figures(bar) == reference
        print(f"dense signal skipped from words-only probability {bar}: tune unchanged: {same}")
        if not same:
            break
        chosen = bar
    return chosen


def _fit_weights(train: Rows) -> np.ndarray:
    """The logistic model's weights on ``train`` (rows without features left out)."""
    train = [r for r in train if r[1]]
    x = np.array([r[1] for r in train])
    y = np.array([float(r[2] == r[0].node) for r in train])
    # The content's examples are all in scope and outnumber the tune split's out-of-scope
    # questions many times; weighted up, those count as much as a fair share of traffic.
    out_of_scope = np.array([r[0].node is None for r in train])
    scale = OUT_OF_SCOPE_SHARE * len(train) / max(int(out_of_scope.sum()), 1)
    return _logistic(x, y, np.where(out_of_scope, scale, 1.0))


def fit(content: Content, write: bool, keep_lexical: bool = False) -> int:
    """Fit both confidence models (lexical only, and fused) on ``tune`` and held-out
    examples; print weights and tables; with ``write``, store them in decision.json.

    ``keep_lexical``: the words-only model stays as shipped (its table is still printed).
    Refitted with the threshold rule below, it answered 7 points fewer held-out questions
    in words-only mode in December 2026 than the shipped one."""
    from bot.matching import decision

    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    # The model learns from the examples of every language, each ranked the way the fitted
    # languages are (not with the parameters kept for the others).
    decision.FITTED_LANGUAGES = frozenset()
    fusion = _fusion_grid(content)
    decision.DEFAULT = dataclasses.replace(decision.DEFAULT, fusion=fusion)
    data["fusion"] = dataclasses.asdict(fusion)
    fitted: dict[str, tuple[np.ndarray, float, Rows]] = {}
    for key, semantic, model in (("lexical", False, LEXICAL), ("fused", True, FUSED)):
        rows = _rows(content, semantic)
        w = _fit_weights([r for r in rows if r[0].split in ("tune", "examples")])
        threshold, table = _choose_threshold(w, rows, _out_of_fold(rows))
        if keep_lexical and key == "lexical":
            w = np.array(LEXICAL.weights)
            threshold, table = LEXICAL.threshold, _choose_threshold(w, rows)[1]
        fitted[key] = (w, threshold, rows)
        print(f"\n{key}: features {model.features}")
        print(f"weights {tuple(round(float(v), 3) for v in w)}, threshold {threshold}")
        print(table)
        data[key] = {
            "features": list(model.features),
            "weights": [round(float(v), 4) for v in w],
            "threshold": threshold,
        }
    margin_at = LEXICAL.features.index("margin")
    data["fusion"]["words_sure"] = _words_sure(fitted, margin_at, data["clarify_margin"])
    if write:
        decision.PARAMETERS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written to {decision.PARAMETERS}")
        print("then fit where the dense signal is skipped: bench/qa.py --fit-skips --write")
    return 0


def fit_skips(content: Content, write: bool, which: str = "all") -> int:
    """Fit only where the dense signal is skipped (``words_sure``, ``words_hopeless``), for
    the shipped confidence models as they are, by matching the tune questions as the bot does
    with each bar; with ``write``, store those two: for German and English on the tune split,
    for the other languages (``other_languages``) on their own tune sets (``which``: "fitted",
    "others" or "all" of these).

    German and English keep ``words_hopeless`` 0.2 since December 2026, where the rule now
    gives 0.1: that computes the meaning for more questions (``ask`` answered 173 instead of
    186 questions a second) for two more right answers on the tune split and none on the
    measured sets (one conversation turn more answered wrong).

    A bar is kept while the tune figures (right answers, fallbacks, wrong answers) each
    differ by at most :data:`SKIP_TOLERANCE` questions from those with the dense signal
    computed wherever the words leave any doubt: demanding the very same verdict for every
    question computes the meaning for most of them (each embedding is the slow part of a
    reply) to save one answer in five hundred."""
    from bot.matching import decision

    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    matcher = Matcher(content)
    if matcher.embedder is None:
        raise SystemExit("the embedder does not load here: cannot fit where it is skipped")

    def install_default(fusion: Fusion) -> None:
        decision.DEFAULT = dataclasses.replace(decision.DEFAULT, fusion=fusion)

    if which in ("all", "fitted"):
        shipped = decision.DEFAULT
        tune = [q for q in fittable(load_questions()) if q.split == "tune"]
        try:
            sure, hopeless = _skip_bars(matcher, tune, FUSION, install_default)
        finally:
            decision.DEFAULT = shipped
        data["fusion"]["words_sure"], data["fusion"]["words_hopeless"] = sure, hopeless
        print(f"German and English: words_sure {sure}, words_hopeless {hopeless}")

    others = decision.OTHER_LANGUAGES
    if others and which in ("all", "others"):
        own = next(iter(others.values()))

        def install_own(fusion: Fusion) -> None:
            decision.OTHER_LANGUAGES = dict.fromkeys(
                others, dataclasses.replace(own, fusion=fusion)
            )

        tune = [q for q in fittable(load_questions(LANGUAGES_TUNE)) if q.lang in others]
        try:
            sure, hopeless = _skip_bars(matcher, tune, own.fusion, install_own)
        finally:
            decision.OTHER_LANGUAGES = others
        fusion = data["other_languages"]["fusion"]
        fusion["words_sure"], fusion["words_hopeless"] = sure, hopeless
        print(f"{', '.join(sorted(others))}: words_sure {sure}, words_hopeless {hopeless}")
    if write:
        decision.PARAMETERS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written to {decision.PARAMETERS}")
    return 0


def _skip_bars(
    matcher: Matcher,
    tune: list[Question],
    fusion: Fusion,
    install: Callable[[Fusion], None],
) -> tuple[float, float]:
    """``words_sure`` and ``words_hopeless`` for ``tune`` (see :func:`fit_skips`); ``install``
    puts a fusion with the bars tried where the matcher reads it."""

    def verdicts(sure: float, hopeless: float) -> tuple[int, int, int]:
        install(dataclasses.replace(fusion, words_sure=sure, words_hopeless=hopeless))
        outcomes = run(matcher, tune, detect=False)
        right = sum(o.correct and o.question.node is not None for o in outcomes)
        fell_back = sum(o.correct and o.question.node is None for o in outcomes)
        return right, fell_back, sum(o.wrong_confident for o in outcomes)

    reference = verdicts(1.01, 0.0)

    def unchanged(figures: tuple[int, int, int]) -> bool:
        return all(abs(a - b) <= SKIP_TOLERANCE for a, b in zip(figures, reference, strict=True))

    sure = 1.01
    for bar in (0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6):
        same = unchanged(verdicts(bar, 0.0))
        print(f"dense signal skipped from words-only probability {bar}: tune unchanged: {same}")
        if not same:
            break
        sure = bar
    hopeless = 0.0
    for bar in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        same = unchanged(verdicts(sure, bar))
        print(f"dense signal skipped below words-only probability {bar}: tune unchanged: {same}")
        if not same:
            break
        hopeless = bar
    return sure, hopeless


OTHER_LANGUAGES = ("es", "fr", "it", "nl", "pl")
"""``--fit-languages``: the languages fitted on their own tune sets."""
LANGUAGES_TUNE = ROOT / "tests" / "qa" / "languages-tune"
WRONG_AT_MOST, FALLBACK_AT_LEAST = 0.02, 0.95
"""``--fit-languages``: what each language's tune set must keep (the targets on the measured
sets are 3 % and 95 %; the tune sets ran lower in wrong answers than the measured ones)."""
THRESHOLDS = tuple(round(float(t), 3) for t in np.arange(0.3, 0.925, 0.025))

COPIES = (1.01, 0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92)
"""``--fit-own``: the cosines from which a near copy of an example answers (``dense_copy``)
that are tried; 1.01, never."""

Verdict = tuple[Question, str | None, float, dict[float, str | None]]
"""A tune question; the answer with the fused model's threshold at 0; its confidence; the
answer with that threshold above 1 (the same where the fused model did not decide), by the
cosine from which a near copy answers (``dense_copy``)."""


def _verdicts(
    content: Content,
    decide: Decision,
    questions: list[Question],
    copies: Collection[float] | None = None,
) -> list[Verdict]:
    """Every question matched as the bot matches it (language detected, the dense signal
    skipped where the words decide), with ``decide`` for the other languages; by the answer
    at the two ends of the fused model's threshold, any threshold between follows; the upper
    end with a near copy answering from each of ``copies`` (default: ``decide``'s own)."""
    from bot.matching import decision

    copies = (decide.fusion.dense_copy,) if copies is None else tuple(copies)
    matcher = Matcher(content)

    def answers(threshold: float, copy: float) -> list[Outcome]:
        fused = dataclasses.replace(decide.fused, threshold=threshold)
        fusion = dataclasses.replace(decide.fusion, dense_copy=copy)
        chosen = dataclasses.replace(decide, fused=fused, fusion=fusion)
        decision.OTHER_LANGUAGES = dict.fromkeys(OTHER_LANGUAGES, chosen)
        return run(matcher, questions, detect=True)

    low = answers(0.0, copies[0])
    highs = {copy: answers(1.01, copy) for copy in copies}
    return [
        (a.question, a.got, a.score, {copy: highs[copy][i].got for copy in copies})
        for i, a in enumerate(low)
    ]


def _language_figures(
    verdicts: list[Verdict], threshold: float, copy: float | None = None
) -> dict[str, tuple[int, ...]]:
    """Per language at ``threshold`` and a near copy answering from ``copy`` (default: the
    first matched): right in scope, wrong answers, off-topic fallbacks, questions in scope,
    questions off topic."""
    return tally(
        (q, low if score >= threshold else highs[next(iter(highs)) if copy is None else copy])
        for q, low, score, highs in verdicts
    )


def tally(answers: Iterable[tuple[Question, str | None]]) -> dict[str, tuple[int, ...]]:
    """Per language of the questions, given the node each got (``None``: a fallback): right
    in scope, wrong answers, off-topic fallbacks, questions in scope, questions off topic."""
    figures: dict[str, list[int]] = {}
    for q, got in answers:
        f = figures.setdefault(q.lang, [0, 0, 0, 0, 0])
        f[0] += got == q.node and q.node is not None
        f[1] += got is not None and got != q.node
        f[2] += got is None and q.node is None
        f[3] += q.node is not None
        f[4] += q.node is None
    return {lang: tuple(f) for lang, f in sorted(figures.items())}


def _language_threshold(verdicts: list[Verdict]) -> tuple[float, float, bool, int, str]:
    """The threshold and near-copy cosine with the most right answers over the tune sets
    among those where every language keeps :data:`WRONG_AT_MOST` and
    :data:`FALLBACK_AT_LEAST` (else the fewest wrong answers; of equals, the lowest threshold
    and the highest cosine); whether they keep them; their right answers; the table of every
    threshold at that cosine, and the best of every cosine."""
    langs = sorted({q.lang for q, *_ in verdicts})
    copies = list(verdicts[0][3])
    best: tuple[tuple[float, int], float, float] | None = None
    tables: dict[float, list[str]] = {}
    summary = ["near copy answering from / best threshold / right / bars kept:"]
    for copy in copies:
        lines = tables[copy] = [
            f"right in scope / wrong-confident over all / off-topic fallback, per language "
            f"(near copy from {copy}):",
            f"{'threshold':>9} " + " ".join(f"{lang:>18}" for lang in langs) + "  all right",
        ]
        here: tuple[tuple[float, int], float] | None = None
        for threshold in THRESHOLDS:
            figures = _language_figures(verdicts, threshold, copy)
            ok = all(
                wrong <= WRONG_AT_MOST * (n_in + n_out) and fell_back >= FALLBACK_AT_LEAST * n_out
                for _, wrong, fell_back, n_in, n_out in figures.values()
            )
            right = sum(f[0] for f in figures.values())
            wrong = sum(f[1] for f in figures.values())
            key = (float(ok), right if ok else -wrong)
            if here is None or key > here[0]:
                here = (key, threshold)
            if best is None or key > best[0]:
                best = (key, threshold, copy)
            cells = [
                f"{r / n_in:>6.1%}/{w / (n_in + n_out):>4.1%}/{fb / n_out:>6.1%}"
                for r, w, fb, n_in, n_out in figures.values()
            ]
            mark = "ok" if ok else "  "
            lines.append(f"{threshold:>9.3f} " + " ".join(cells) + f"  {right:>5} {mark}")
        assert here is not None
        (kept, most), at = here
        summary.append(f"{copy:>9} {at:>6} {most:>5} {bool(kept)}")
    assert best is not None
    (kept, most), chosen, copy = best
    table = "\n".join(tables[copy] + (summary if len(copies) > 1 else []))
    return chosen, copy, bool(kept), int(most), table


def _other_language_rows(content: Content, tune: list[Question]) -> Rows:
    """Features and best node of the other languages' content examples (each matched by an
    index built without it, five folds) and of their tune questions (in the language
    detected, as the bot reads them), ranked with the fused parameters of German and
    English (the shared model's features)."""
    from bot.matching import decision

    examples = _examples(content, OTHER_LANGUAGES)
    fitted = decision.FITTED_LANGUAGES
    decision.FITTED_LANGUAGES = frozenset()  # every language ranked with those parameters
    try:
        matcher = _matcher(content, True)
        assert matcher.embedder is not None  # these languages are decided with the meaning
        rows = _held_out_rows(content, examples, True)
        warm(matcher, [q.text for q in tune])
        default = content.meta.default_language
        for q in tune:
            lang = matcher.detect_language(q.text) or default
            f = _features(matcher, dataclasses.replace(q, lang=lang))
            rows.append((q, *f) if f else (q, [], None))
    finally:
        decision.FITTED_LANGUAGES = fitted
    return rows


def fit_languages(content: Content, write: bool) -> int:
    """Choose the decision for the other languages (:data:`OTHER_LANGUAGES`) on their own
    tune sets (``tests/qa/languages-tune/``), by a rule set before any figure was seen.

    Three candidates: the earlier parameters (``elsewhere``), the German and English fit,
    each with a threshold of its own for these languages; and one fused model shared by the
    five, fitted like ``--fit`` on their tune sets and their content examples (features as
    the German and English fit ranks them). Each one's threshold is the one with the most
    right answers over the five tune sets where every language keeps at most 2 % wrong-
    confident answers and at least 95 % off-topic fallback, the shared model's judged on its
    verdicts for tune questions it was not fitted on (five folds). The candidate with the
    most right answers that keeps those bars wins, ties to the one with fewer fitted
    parameters; ``--write`` stores it as ``other_languages`` in decision.json."""
    from bot.matching import decision

    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    tune = [q for q in fittable(load_questions(LANGUAGES_TUNE)) if q.lang in OTHER_LANGUAGES]
    candidates: list[tuple[str, Decision, float, bool, int]] = []
    for name, decide in (("earlier", decision.ELSEWHERE), ("de/en", decision.DEFAULT)):
        threshold, _, ok, right, table = _language_threshold(_verdicts(content, decide, tune))
        print(f"\n{name}: threshold {threshold} ({'keeps' if ok else 'misses'} the bars)")
        print(table)
        candidates.append((name, decide, threshold, ok, right))

    rows = _other_language_rows(content, tune)
    order = list(range(len(tune)))
    random.Random(7).shuffle(order)
    unseen: list[Verdict] = []
    for fold in range(FOLDS):
        held = [tune[i] for i in order[fold::FOLDS]]
        left_out = set(held)
        w = _fit_weights([r for r in rows if r[0] not in left_out])
        model = Model(FUSED.features, tuple(float(v) for v in w), 0.5)
        unseen += _verdicts(content, dataclasses.replace(decision.DEFAULT, fused=model), held)
    threshold, _, ok, right, table = _language_threshold(unseen)
    print(f"\nshared, on tune questions it was not fitted on: threshold {threshold}")
    print(table)
    w = _fit_weights(rows)
    model = Model(FUSED.features, tuple(round(float(v), 4) for v in w), threshold)
    shared = dataclasses.replace(decision.DEFAULT, fused=model)
    candidates.append(("shared", shared, threshold, ok, right))
    print(f"shared, fitted on all: weights {model.weights}")
    print(_language_threshold(_verdicts(content, shared, tune))[4])

    name, decide, threshold, ok, right = max(
        candidates, key=lambda c: (c[3], c[4] if c[3] else 0, -candidates.index(c))
    )
    print(f"\nchosen: {name}, threshold {threshold}, {right} right on tune, bars kept: {ok}")
    data["other_languages"] = {
        "languages": list(OTHER_LANGUAGES),
        "chosen": name,
        "lexical": dataclasses.asdict(decide.lexical),
        "fused": {**dataclasses.asdict(decide.fused), "threshold": threshold},
        "fusion": dataclasses.asdict(decide.fusion),
        "clarify_margin": decide.clarify_margin,
    }
    decision.OTHER_LANGUAGES = {}
    if write:
        decision.PARAMETERS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written to {decision.PARAMETERS}")
    return 0


OWN_FEATURES = (
    ("earlier", ()),
    ("earlier+closest", ("dense_top3", "topical")),
)
"""``--fit-own``: the candidate models, as extra features on top of the earlier fused model's."""
OWN_WEIGHTS = (1.0, 4.0)
"""``--fit-own``: the dense signal's weights in the ranking tried (the earlier parameters',
and the German and English fit's)."""


def _own_rows(content: Content, tune: list[Question], names: tuple[str, ...]) -> Rows:
    """Features ``names`` and best node of every tune question as the bot reads it (language
    detected, ranked with the parameters :data:`bot.matching.decision.OTHER_LANGUAGES` holds
    for it), the dense signal computed for every one of them."""
    matcher = _matcher(content, True)
    warm(matcher, [q.text for q in tune])
    return read_rows(
        matcher,
        tune,
        lambda features: [value(features, n) for n in names] if "dense" in features else None,
    )


def read_rows(
    matcher: Matcher,
    questions: list[Question],
    row: Callable[[dict[str, float]], list[float] | None],
) -> Rows:
    """Every question as the bot reads it (language detected) with the features ``row``
    makes of its ranking's, and the ranking's best node; left out where no model decides it
    (a greeting, a node's own wording), the ranking answers nothing, or ``row`` gives
    ``None``."""
    default = matcher.content.meta.default_language
    rows: Rows = []
    for q in questions:
        lang = matcher.detect_language(q.text) or default
        if matcher.decided(q.text, lang) is not None:
            continue  # no model decides it
        ranking = matcher.ranking(q.text, lang)
        if ranking is None or not ranking.answerable:
            continue
        features = row(ranking.features)
        if features is None:
            continue
        best = matcher.indexes[lang].node_ids[int(ranking.order[0])]
        rows.append((q, features, best))
    return rows


def _own_weights(rows: Rows) -> np.ndarray:
    """The logistic model's weights on ``rows`` (right best node or not), unweighted."""
    return _logistic(
        np.array([r[1] for r in rows]), np.array([float(r[2] == r[0].node) for r in rows])
    )


def fit_own(content: Content, write: bool) -> int:
    """Refit the decision of French, Spanish, Italian, Dutch and Polish (today the earlier
    parameters, ``elsewhere``) on their own tune sets, by a rule set before any figure was
    seen.

    Candidates: the shipped decision as it is; and, for each dense weight in the ranking
    (:data:`OWN_WEIGHTS`), a fused model refitted on the tune questions ranked with it, with
    the earlier model's features or those plus the mean closeness of the best node's few
    closest examples and the number of topical words (:data:`OWN_FEATURES`). Each is judged
    on verdicts as the bot decides (language detected, the dense signal skipped where the
    words decide), a refitted one's for tune questions it was not fitted on (five folds), at
    the threshold and near-copy cosine (``dense_copy``, :data:`COPIES`;
    :meth:`bot.matching.decision.Fusion.near_copy`) with the most right answers where every
    language keeps at most 2 % wrong-confident answers and at least 95 % off-topic fallback
    on its tune set. The candidate with the most right answers over the five tune sets that
    keeps those bars is chosen (of equals, the one listed first: the shipped model, the lower
    weight, the fewer features); ``--write`` stores it (a refitted one fitted on all tune
    questions) as ``other_languages`` in decision.json. The earlier parameters still decide
    follow-ups."""
    from bot.matching import decision

    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    tune = [q for q in fittable(load_questions(LANGUAGES_TUNE)) if q.lang in OTHER_LANGUAGES]
    earlier = decision.ELSEWHERE
    shipped = _verdicts(content, earlier, tune, COPIES)
    threshold, copy, ok, right, table = _language_threshold(shipped)
    at_shipped = sum(f[0] for f in _language_figures(shipped, earlier.fused.threshold).values())
    print(f"shipped: {at_shipped} right at {earlier.fused.threshold} without near copies")
    print(f"shipped: threshold {threshold}, near copy from {copy}: {right} right, bars kept: {ok}")
    print(table)
    fusion = dataclasses.replace(earlier.fusion, dense_copy=copy)
    chosen = dataclasses.replace(
        earlier, fused=dataclasses.replace(earlier.fused, threshold=threshold), fusion=fusion
    )
    candidates: list[tuple[bool, int, str, Decision]] = [(ok, right, "shipped", chosen)]

    order = list(range(len(tune)))
    random.Random(7).shuffle(order)
    for weight in OWN_WEIGHTS:
        ranked = dataclasses.replace(
            earlier, fusion=dataclasses.replace(earlier.fusion, dense_weight=weight)
        )
        for name, extra in OWN_FEATURES:
            names = (*earlier.fused.features, *extra)
            label = f"dense weight {weight}, {name}"
            decision.OTHER_LANGUAGES = dict.fromkeys(OTHER_LANGUAGES, ranked)
            rows = _own_rows(content, tune, names)
            unseen: list[Verdict] = []
            for fold in range(FOLDS):
                held = [tune[i] for i in order[fold::FOLDS]]
                left_out = set(held)
                w = _own_weights([r for r in rows if r[0] not in left_out])
                model = Model(names, tuple(float(v) for v in w), 0.5)
                unseen += _verdicts(content, dataclasses.replace(ranked, fused=model), held, COPIES)
            threshold, copy, ok, right, table = _language_threshold(unseen)
            print(f"\n{label}, on tune questions it was not fitted on: threshold {threshold}")
            print(f"near copy from {copy}: {right} right, bars kept: {ok}\n{table}")
            w = _own_weights(rows)
            model = Model(names, tuple(round(float(v), 4) for v in w), threshold)
            print(f"{label}, fitted on all: weights {model.weights}")
            fusion = dataclasses.replace(ranked.fusion, dense_copy=copy)
            fitted = dataclasses.replace(ranked, fused=model, fusion=fusion)
            candidates.append((ok, right, label, fitted))
    decision.OTHER_LANGUAGES = {}

    ok, right, label, best = max(
        candidates, key=lambda c: (c[0], c[1] if c[0] else 0, -candidates.index(c))
    )
    print(
        f"\nchosen: {label}, threshold {best.fused.threshold}, near copy from "
        f"{best.fusion.dense_copy}: {right} right on tune, bars kept: {ok}"
    )
    data["other_languages"] = {
        "languages": list(OTHER_LANGUAGES),
        "chosen": f"own tune sets, {label}",
        "lexical": dataclasses.asdict(best.lexical),
        "fused": dataclasses.asdict(best.fused),
        "fusion": dataclasses.asdict(best.fusion),
        "clarify_margin": best.clarify_margin,
    }
    if write:
        decision.PARAMETERS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written to {decision.PARAMETERS}")
    return 0


def _probability(w: np.ndarray, features: list[float], best: str | None) -> float:
    """The fitted model's probability; without features, the verdict needed no model (1) or
    there was nothing to rank (0)."""
    if features:
        return float(1 / (1 + np.exp(-(w[0] + np.dot(w[1:], features)))))
    return 1.0 if best else 0.0


def _row(label: str, outcomes: list[Outcome]) -> str:
    s = Summary.of(outcomes)
    return (
        f"{label:<14} {s.n_in:>4} {s.accuracy:>8.1%} {s.abstained_in:>9.1%} "
        f"{s.n_out:>4} {s.fallback:>9.1%} {s.wrong_confident:>10.1%} {s.mcc:>6.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detect", action="store_true", help="detect the language per question")
    parser.add_argument("--threshold", type=float, default=None, help="override the threshold")
    parser.add_argument("--content", type=Path, default=ROOT / "content", help="content tree")
    parser.add_argument("--no-misses", action="store_true", help="skip the confusion list")
    parser.add_argument("--fit", action="store_true", help="refit the confidence models")
    parser.add_argument(
        "--keep-lexical", action="store_true", help="with --fit: keep the words-only model"
    )
    parser.add_argument(
        "--fit-skips",
        action="store_true",
        help="refit only where the dense signal is skipped, for the shipped models",
    )
    parser.add_argument(
        "--skips-for",
        choices=["all", "fitted", "others"],
        default="all",
        help="with --fit-skips: German and English (fitted), the other languages, or both",
    )
    parser.add_argument(
        "--fit-languages",
        action="store_true",
        help="choose the decision for fr/es/it/nl/pl on their own tune sets",
    )
    parser.add_argument(
        "--fit-own",
        action="store_true",
        help="refit the fused model of fr/es/it/nl/pl on their own tune sets",
    )
    parser.add_argument("--write", action="store_true", help="with a --fit option: store")
    parser.add_argument(
        "--questions",
        type=Path,
        default=None,
        help="a directory of question files instead of tests/qa, e.g. tests/qa/independent",
    )
    parser.add_argument(
        "--split",
        choices=["tune", "holdout", "copy", "all"],
        default="all",
        help="which split's misses to list (figures always show both)",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    # Without the asked questions: they are the tune questions, and an index holding the very
    # questions it is scored (or fitted) on would measure nothing.
    content = load_content(args.content).without_asked()
    if args.fit:
        return fit(content, args.write, args.keep_lexical)
    if args.fit_skips:
        return fit_skips(content, args.write, args.skips_for)
    if args.fit_languages:
        return fit_languages(content, args.write)
    if args.fit_own:
        return fit_own(content, args.write)
    t1 = time.perf_counter()
    matcher = (
        Matcher(content) if args.threshold is None else Matcher(content, threshold=args.threshold)
    )
    t2 = time.perf_counter()
    questions = load_questions(args.questions) if args.questions else load_questions()
    outcomes = run(matcher, questions, detect=args.detect)

    mode = "detected language" if args.detect else "question's own language"
    print(f"{len(questions)} questions, threshold {matcher.threshold}, matching in the {mode}\n")
    print(
        f"{'group':<14} {'in':>4} {'accuracy':>8} {'abstained':>9} {'out':>4} "
        f"{'fallback':>9} {'wrong-conf':>10} {'MCC':>6}"
    )
    for split in ("tune", "holdout", "copy", None):
        for lang in ("de", "en", None):
            group = [
                o
                for o in outcomes
                if (split is None or o.question.split == split)
                and (lang is None or o.question.lang == lang)
            ]
            if group:
                print(_row(f"{split or 'all'}/{lang or 'all'}", group))
        print()

    detected = [matcher.detect_language(q.text) for q in questions]
    right = sum(d == q.lang for d, q in zip(detected, questions, strict=True))
    unsure = sum(d is None for d in detected)
    print(
        f"language detection: {right / len(questions):.1%} right, {unsure / len(questions):.1%} "
        f"undecided, {(len(questions) - right - unsure) / len(questions):.1%} wrong"
    )

    whole = Summary.of(outcomes)
    print(
        f"clarifying questions: {whole.clarified:.1%} of all questions, "
        f"{whole.clarified_right:.0%} of those in scope offered the expected topic"
    )
    copies = near_copies(questions, content)
    verbatim = sum(c.verbatim for c in copies)
    print(
        f"overlap with the content's example questions: {verbatim} of {len(questions)} "
        f"verbatim (same words, any case or punctuation), {len(copies)} near copies "
        f"(similarity >= {NEAR_COPY}); measured: "
        f"{sum(c.question.split == 'holdout' for c in copies)}"
    )

    texts = [(q.text, q.lang) for q in questions]
    fresh = Matcher(content, threshold=matcher.threshold)  # no warm caches
    rounds = 0
    start = time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for text, lang in texts:
            fresh.detect_language(text)
            fresh.match(text, lang)
        rounds += 1
    elapsed = time.perf_counter() - start
    print(
        f"speed: {rounds * len(texts) / elapsed:,.0f} questions/s (detect + match, one core; "
        f"repeats after the first round hit caches)"
    )
    cold = Matcher(content, threshold=matcher.threshold)
    start = time.perf_counter()
    for text, lang in texts:
        cold.detect_language(text)
        cold.match(text, lang)
    print(
        f"speed, first pass on a fresh index: {len(texts) / (time.perf_counter() - start):,.0f} "
        "questions/s"
    )
    print(f"content load+validate {t1 - t0:.3f} s, index build {t2 - t1:.3f} s\n")

    if not args.no_misses:
        misses = [
            o
            for o in outcomes
            if not o.correct and (args.split == "all" or o.question.split == args.split)
        ]
        print(f"misses ({len(misses)}):")
        for o in sorted(misses, key=lambda o: (o.question.node or "~", o.question.text)):
            kind = "WRONG" if o.wrong_confident else "abstain"
            print(
                f"  [{o.question.split[0]}/{o.question.lang}] {kind:<7} {o.question.text!r}\n"
                f"      expected {o.question.node or 'fallback'}, got {o.got or 'fallback'} "
                f"({o.score:.3f})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
