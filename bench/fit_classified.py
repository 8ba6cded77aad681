"""Fit the classified model: the fused model's log-odds weighed with the node classifier's
probabilities (:mod:`bot.matching.classifier`), one per decision, on tune questions only.

Two decisions are fitted: German and English (``DEFAULT`` in ``decision.json``) on the tune
split of ``tests/qa``, and French, Spanish, Italian, Dutch and Polish (``other_languages``) on
``tests/qa/languages-tune``. The rule, set before any figure was seen:

- the model is a logistic regression over the fused model's log-odds, the classifier's
  log-odds for the ranking's best node and for the off-topic class, and whether the
  classifier puts the same node first, fitted on the tune questions whose best node the
  ranking offers (the dense signal computed for each);
- its threshold is chosen on verdicts as the bot reaches them (language detected, the dense
  signal skipped where the words decide) for tune questions it was not fitted on (five
  folds): the most right answers where every language keeps at least 95 % off-topic
  fallback and the group gives no more wrong answers than the shipped decision gives on the
  same questions (the measured sets' wrong answers run several times the tune sets', so a
  fit that buys right answers with wrong ones on the tune sets is not wanted);
- it is kept (``--write``) only where it answers more tune questions right than the shipped
  decision at that bar.

    PYTHONPATH=$PWD .venv/bin/python bench/fit_classified.py [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from qa import FOLDS, LANGUAGES_TUNE, OTHER_LANGUAGES, _logistic  # noqa: E402

from bot.content import Content, load_content  # noqa: E402
from bot.matching import Matcher, decision  # noqa: E402
from bot.matching.decision import Decision, Model, stacked  # noqa: E402
from tests.qa.qa_set import Question, load_questions, run, warm  # noqa: E402

FEATURES = ("fused", "clf", "clf_agree", "clf_off")
THRESHOLDS = [round(float(t), 3) for t in np.arange(0.2, 0.951, 0.025)]
FALLBACK_AT_LEAST = 0.95

Figures = dict[str, tuple[int, int, int, int, int]]
"""Per language: right in scope, wrong answers, off-topic fallbacks, in scope, off topic."""


def _install(group: str, decide: Decision) -> None:
    """Let ``decide`` decide the questions of ``group``."""
    if group == "de/en":
        decision.DEFAULT = decide
    else:
        decision.OTHER_LANGUAGES = dict.fromkeys(OTHER_LANGUAGES, decide)


def _rows(
    matcher: Matcher, decide: Decision, tune: list[Question]
) -> list[tuple[Question, list[float], bool]]:
    """The classified model's features of every tune question as the bot reads it (language
    detected), the dense signal computed for every one; and whether its best node is right."""
    default = matcher.content.meta.default_language
    rows = []
    for q in tune:
        lang = matcher.detect_language(q.text) or default
        if matcher.decided(q.text, lang) is not None:
            continue
        ranking = matcher.ranking(q.text, lang)
        if ranking is None or not ranking.answerable or "clf" not in ranking.features:
            continue
        features = {**ranking.features, "fused": stacked(decide.fused.log_odds(ranking.features))}
        best = matcher.indexes[lang].node_ids[int(ranking.order[0])]
        rows.append((q, [features[n] for n in FEATURES], best == q.node))
    return rows


def _weights(rows: list[tuple[Question, list[float], bool]]) -> np.ndarray:
    return _logistic(np.array([r[1] for r in rows]), np.array([float(r[2]) for r in rows]))


def _figures(matcher: Matcher, group: str, decide: Decision, tune: list[Question]) -> Figures:
    """Per language, the figures of ``tune`` decided by ``decide`` as the bot decides."""
    _install(group, decide)
    figures: dict[str, list[int]] = {}
    for o in run(matcher, tune, detect=True):
        q = o.question
        f = figures.setdefault(q.lang, [0, 0, 0, 0, 0])
        f[0] += o.got == q.node and q.node is not None
        f[1] += o.got is not None and o.got != q.node
        f[2] += o.got is None and q.node is None
        f[3] += q.node is not None
        f[4] += q.node is None
    return {lang: (f[0], f[1], f[2], f[3], f[4]) for lang, f in sorted(figures.items())}


def _sweep(
    matcher: Matcher, group: str, decide: Decision, tune: list[Question]
) -> dict[float, Figures]:
    """Figures at every threshold of ``decide.classified`` (its weights as given)."""
    assert decide.classified is not None
    return {
        t: _figures(
            matcher,
            group,
            dataclasses.replace(
                decide, classified=dataclasses.replace(decide.classified, threshold=t)
            ),
            tune,
        )
        for t in THRESHOLDS
    }


def _total(figures: Figures, column: int) -> int:
    return sum(f[column] for f in figures.values())


def _keeps(figures: Figures, wrong_at_most: int) -> bool:
    return _total(figures, 1) <= wrong_at_most and all(
        fb >= FALLBACK_AT_LEAST * n_out for _, _, fb, _, n_out in figures.values()
    )


def _line(figures: Figures) -> str:
    return (
        " ".join(
            f"{lang} {r / n_in:.1%}/{w / (n_in + n_out):.1%}/{fb / max(n_out, 1):.0%}"
            for lang, (r, w, fb, n_in, n_out) in figures.items()
        )
        + f"  right {_total(figures, 0)} wrong {_total(figures, 1)}"
    )


def fit_group(content: Content, group: str, decide: Decision, tune: list[Question]) -> Decision:
    """The decision of ``group`` with a fitted classified model, or ``decide`` unchanged."""
    as_bot = Matcher(content)
    shipped = _figures(as_bot, group, dataclasses.replace(decide, classified=None), tune)
    print(f"\n{group}: shipped  {_line(shipped)}")
    wrong_at_most = _total(shipped, 1)
    matcher = Matcher(content)
    matcher.cascade = False
    warm(matcher, [q.text for q in tune])
    _install(group, dataclasses.replace(decide, classified=None))
    rows = _rows(matcher, decide, tune)
    order = list(range(len(tune)))
    random.Random(7).shuffle(order)
    unseen: dict[float, dict[str, list[int]]] = {}
    for fold in range(FOLDS):
        held = [tune[i] for i in order[fold::FOLDS]]
        left_out = set(held)
        w = _weights([r for r in rows if r[0] not in left_out])
        model = Model(FEATURES, tuple(float(v) for v in w), 0.5)
        for t, figures in _sweep(
            as_bot, group, dataclasses.replace(decide, classified=model), held
        ).items():
            into = unseen.setdefault(t, {})
            for lang, f in figures.items():
                into[lang] = [a + b for a, b in zip(into.get(lang, [0] * 5), f, strict=True)]
    best: tuple[int, float] | None = None
    for t in THRESHOLDS:
        figures: Figures = {lang: tuple(f) for lang, f in sorted(unseen[t].items())}  # type: ignore[misc]
        ok = _keeps(figures, wrong_at_most)
        print(f"{group}: {t:.3f} {'ok' if ok else '  '} {_line(figures)}")
        if ok and (best is None or _total(figures, 0) > best[0]):
            best = (_total(figures, 0), t)
    if best is None or best[0] <= _total(shipped, 0):
        print(f"{group}: no threshold answers more than the shipped decision; not changed")
        return decide
    w = _weights(rows)
    model = Model(FEATURES, tuple(round(float(v), 4) for v in w), best[1])
    print(f"{group}: chosen threshold {best[1]}, {best[0]} right unseen; weights {model.weights}")
    return dataclasses.replace(decide, classified=model)


def _store(target: dict[str, object], chosen: Decision) -> None:
    if chosen.classified is not None:
        target["classified"] = dataclasses.asdict(chosen.classified)
    else:
        target.pop("classified", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="store in decision.json")
    args = parser.parse_args()
    content = load_content()
    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    de_en = [q for q in load_questions() if q.split == "tune"]
    others = [q for q in load_questions(LANGUAGES_TUNE) if q.lang in OTHER_LANGUAGES]
    default = decision.DEFAULT
    # The other languages are decided by the earlier parameters unless they have their own.
    own = decision.OTHER_LANGUAGES.get(OTHER_LANGUAGES[0], decision.ELSEWHERE)
    fitted = fit_group(content, "de/en", default, de_en)
    decision.DEFAULT = default
    fitted_own = fit_group(content, "others", own, others)
    decision.OTHER_LANGUAGES = {}
    _store(data, fitted)
    if fitted_own.classified is not None or "other_languages" in data:
        data["other_languages"] = {
            **data.get("other_languages", {}),
            "languages": list(OTHER_LANGUAGES),
            "lexical": dataclasses.asdict(fitted_own.lexical),
            "fused": dataclasses.asdict(fitted_own.fused),
            "fusion": dataclasses.asdict(fitted_own.fusion),
            "clarify_margin": fitted_own.clarify_margin,
        }
        _store(data["other_languages"], fitted_own)
    if args.write:
        decision.PARAMETERS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written to {decision.PARAMETERS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
