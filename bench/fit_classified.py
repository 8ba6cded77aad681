"""Fit the classified model: the decision with the node classifier's word
(:mod:`bot.matching.classifier`), one per decision, judged on tune questions only.

Two decisions are fitted: German and English (``DEFAULT`` in ``decision.json``) on the fresh
tune batches of ``tests/qa`` (``questions-fresh-*.tsv``: the content was never edited for
them; the fused model, whose log-odds the classified model reads, is fitted on them too,
see :data:`qa.FRESH`),
and French, Spanish, Italian, Dutch and Polish (``other_languages``) on
``tests/qa/languages-tune``. The rule, set before any figure was seen:

- the classifier's weight in the ranking is the one of :data:`WEIGHTS` that puts the right
  node first for the most tune questions in scope (of equals, the lowest);
- the classified model is a logistic model over the fused model's log-odds (never fitted on
  these questions) and the classifier's log-odds for the ranking's best node and for the
  off-topic class, and whether it puts the same node first, fitted on the tune questions;
- its threshold is chosen on verdicts as the bot reaches them (language detected, the dense
  signal skipped where the words decide) for tune questions it was not fitted on (five
  folds): the most right answers where the group gives no more wrong answers than the
  shipped decision (without the classifier) gives on the same questions, and every language
  falls back on at least 95 % of its off-topic questions (or, where the shipped decision
  fell back on fewer, on at least as many as it did): the measured sets' wrong answers run
  several times the tune sets', so a fit that buys right answers with wrong ones is not
  wanted;
- it is kept (``--write``) only where it answers more tune questions right than the shipped
  decision; else the shipped decision stays as it is (the classifier's weight too).

Run it after anything that changes the fused model or the classifiers: ``bench/qa.py --fit``
(the classified model reads the fused model's log-odds) and ``python -m bot embed`` after a
content change (the classifiers are fitted on the content's texts).

    PYTHONPATH=$PWD .venv/bin/python bench/fit_classified.py [--write] [--conversations]

``--conversations`` also shows, for German and English, the tune conversations
(``tests/qa/conversations-tune``) as shipped and with the fitted model at a few thresholds:
the rule above looks at single questions only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from qa import (  # noqa: E402
    FOLDS,
    FRESH,
    LANGUAGES_TUNE,
    OTHER_LANGUAGES,
    Rows,
    _matcher,
    _own_weights,
    first_right,
    read_rows,
    tally,
)

from bot.content import Content, load_content  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.matching import Matcher, decision  # noqa: E402
from bot.matching.decision import Decision, Model, stacked  # noqa: E402
from tests.qa.conversation_set import (  # noqa: E402
    Conversation,
    load_conversations,
    run_conversations,
    summary,
)
from tests.qa.qa_set import QUESTION_DIR, Question, load_questions, run, warm  # noqa: E402

STACKED = ("fused", "clf", "clf_agree", "clf_off")
"""The classified model's features: the fused model's log-odds and the classifier's."""
THRESHOLDS = [round(float(t), 3) for t in np.arange(0.2, 0.951, 0.025)]
FALLBACK_AT_LEAST = 0.95
WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)
"""The classifier's weights in the ranking tried."""
CONVERSATIONS_TUNE = QUESTION_DIR / "conversations-tune"
"""German and English: the tune conversations, shown (never fitted) for a few thresholds with
``--conversations``: the first question of a conversation is decided like any single
question, and a fallback there leaves the turns after it without a page to follow up."""
SHOWN = (0.6, 0.7, 0.8, 0.875)
"""Thresholds the conversations are shown for, beside the chosen one and the shipped decision."""

Figures = dict[str, tuple[int, ...]]
"""Per language: right in scope, wrong answers, off-topic fallbacks, in scope, off topic
(:func:`qa.tally`)."""


def _install(group: str, decide: Decision) -> None:
    """Let ``decide`` decide the questions of ``group``."""
    if group == "de/en":
        decision.DEFAULT = decide
    else:
        decision.OTHER_LANGUAGES = dict.fromkeys(OTHER_LANGUAGES, decide)


def _stacked_rows(matcher: Matcher, decide: Decision, tune: list[Question]) -> Rows:
    """The stacked model's features of every tune question as the bot reads it (language
    detected), the dense signal computed for every one."""

    def row(features: dict[str, float]) -> list[float] | None:
        if "clf" not in features:
            return None
        with_fused = {**features, "fused": stacked(decide.fused.log_odds(features))}
        return [with_fused[n] for n in STACKED]

    return read_rows(matcher, tune, row)


def _figures(matcher: Matcher, group: str, decide: Decision, tune: list[Question]) -> Figures:
    """Per language, the figures of ``tune`` decided by ``decide`` as the bot decides."""
    _install(group, decide)
    return tally((o.question, o.got) for o in run(matcher, tune, detect=True))


def _total(figures: Figures, column: int) -> int:
    return sum(f[column] for f in figures.values())


def _keeps(figures: Figures, before: Figures) -> bool:
    """Whether ``figures`` give no more wrong answers than ``before`` and every language
    falls back on 95 % of its off-topic questions, or on as many as before where that was
    less."""
    return _total(figures, 1) <= _total(before, 1) and all(
        fb >= min(FALLBACK_AT_LEAST * n_out, before[lang][2])
        for lang, (_, _, fb, _, n_out) in figures.items()
    )


def _line(figures: Figures) -> str:
    return (
        " ".join(
            f"{lang} {r / n_in:.1%}/{w / (n_in + n_out):.1%}/{fb / max(n_out, 1):.0%}"
            for lang, (r, w, fb, n_in, n_out) in figures.items()
        )
        + f"  right {_total(figures, 0)} wrong {_total(figures, 1)}"
    )


def conversation_line(engine: Engine, conversations: list[Conversation], decide: Decision) -> str:
    """``conversations`` answered by ``engine`` with ``decide`` deciding German and English."""
    _install("de/en", decide)
    f = summary(run_conversations(engine, conversations))
    return (
        f"turns right {f['right']:.1%}, first {f['right_first']:.1%}, "
        f"follow-ups {f['right_follow']:.1%}, wrong {f['wrong_confident']:.1%}"
    )


def weigh(content: Content, group: str, decide: Decision, tune: list[Question]) -> Decision:
    """``decide`` with the classifier's weight in the ranking (:data:`WEIGHTS`) that puts the
    right node first for the most tune questions in scope (of equals, the lowest)."""
    matcher = _matcher(content, True)
    in_scope = [q for q in tune if q.node is not None]
    warm(matcher, [q.text for q in in_scope])
    best: tuple[int, float] | None = None
    for weight in WEIGHTS:
        fusion = dataclasses.replace(decide.fusion, classifier_weight=weight)
        _install(group, dataclasses.replace(decide, fusion=fusion))
        right = first_right(matcher, in_scope)
        print(f"{group}: classifier weight {weight}: {right} of {len(in_scope)} first right")
        if best is None or right > best[0]:
            best = (right, weight)
    assert best is not None
    _install(group, decide)
    return dataclasses.replace(
        decide, fusion=dataclasses.replace(decide.fusion, classifier_weight=best[1])
    )


def fit_group(
    content: Content,
    group: str,
    shipped: Decision,
    tune: list[Question],
    conversations: Decision | None = None,
) -> Decision:
    """The decision of ``group`` with a fitted classified model, or ``shipped`` unchanged.
    With ``conversations`` (the decision as shipped, German and English only), the tune
    conversations are shown for it and for the model at a few thresholds."""
    as_bot = Matcher(content)
    before = _figures(as_bot, group, shipped, tune)
    print(f"\n{group}: shipped  {_line(before)}")
    weighted = weigh(content, group, shipped, tune)
    matcher = _matcher(content, True)
    warm(matcher, [q.text for q in tune])
    _install(group, weighted)
    rows = _stacked_rows(matcher, weighted, tune)
    order = list(range(len(tune)))
    random.Random(7).shuffle(order)
    unseen: dict[float, dict[str, list[int]]] = {}
    for fold in range(FOLDS):
        held = [tune[i] for i in order[fold::FOLDS]]
        left_out = set(held)
        w = _own_weights([r for r in rows if r[0] not in left_out])
        model = Model(STACKED, tuple(float(v) for v in w), 0.5)
        for t in THRESHOLDS:
            chosen = dataclasses.replace(
                weighted, classified=dataclasses.replace(model, threshold=t)
            )
            into = unseen.setdefault(t, {})
            for lang, f in _figures(as_bot, group, chosen, held).items():
                into[lang] = [a + b for a, b in zip(into.get(lang, [0] * 5), f, strict=True)]
    best: tuple[int, float] | None = None
    for t in THRESHOLDS:
        figures: Figures = {lang: tuple(f) for lang, f in sorted(unseen[t].items())}
        ok = _keeps(figures, before)
        print(f"{group}: {t:.3f} {'ok' if ok else '  '} {_line(figures)}")
        if ok and (best is None or _total(figures, 0) > best[0]):
            best = (_total(figures, 0), t)
    _install(group, shipped)
    if best is None or best[0] <= _total(before, 0):
        print(f"{group}: no threshold answers more than the shipped decision; not changed")
        return shipped
    w = _own_weights(rows)
    model = Model(STACKED, tuple(round(float(v), 4) for v in w), best[1])
    print(f"{group}: chosen threshold {best[1]}, {best[0]} right unseen; weights {model.weights}")
    if conversations is not None:
        engine = Engine(content, as_bot, session_ttl=dt.timedelta(hours=1))
        talks = load_conversations(CONVERSATIONS_TUNE)
        line = conversation_line(engine, talks, conversations)
        print(f"{group}: conversations, as shipped: {line}")
        for t in sorted({*SHOWN, best[1]}):
            at = dataclasses.replace(weighted, classified=dataclasses.replace(model, threshold=t))
            print(f"{group}: conversations, {t:.3f}: {conversation_line(engine, talks, at)}")
        _install(group, shipped)
    return dataclasses.replace(weighted, classified=model)


def _store(target: dict[str, object], chosen: Decision) -> None:
    target["fusion"] = dataclasses.asdict(chosen.fusion)
    if chosen.classified is not None:
        target["classified"] = dataclasses.asdict(chosen.classified)
    else:
        target.pop("classified", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="store in decision.json")
    parser.add_argument(
        "--conversations",
        action="store_true",
        help="German and English: show the tune conversations at a few thresholds",
    )
    args = parser.parse_args()
    # Without the asked questions (the tune questions themselves): the decision is fitted on
    # what the index makes of questions it does not hold.
    content = load_content().without_asked()
    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    de_en = [q for q in load_questions() if q.file.startswith(FRESH)]
    others = [q for q in load_questions(LANGUAGES_TUNE) if q.lang in OTHER_LANGUAGES]

    as_shipped = decision.DEFAULT if args.conversations else None
    default = decision.DEFAULT.without_classifier()
    # The other languages are decided by the earlier parameters unless they have their own.
    own = decision.OTHER_LANGUAGES.get(OTHER_LANGUAGES[0], decision.ELSEWHERE).without_classifier()
    decision.OTHER_LANGUAGES = {}
    fitted = fit_group(content, "de/en", default, de_en, as_shipped) if de_en else decision.DEFAULT
    decision.DEFAULT = fitted
    fitted_own = fit_group(content, "others", own, others)
    _store(data, fitted)
    if fitted_own.classified is not None or "other_languages" in data:
        data["other_languages"] = {
            "languages": list(OTHER_LANGUAGES),
            "chosen": "own tune sets, with the node classifier",
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
