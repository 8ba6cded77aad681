"""Fit the classified model: the decision with the node classifier's word
(:mod:`bot.matching.classifier`), one per decision, judged on tune questions only.

Two decisions are fitted: German and English (``DEFAULT`` in ``decision.json``) on the fresh
tune batches of ``tests/qa`` (``questions-fresh-*.tsv``: the content was never edited for
them; the fused model, whose log-odds the classified model reads, is fitted on them too,
see :data:`qa.FRESH`),
and French, Spanish, Italian, Dutch and Polish (``other_languages``) on
``tests/qa/languages-tune``; never on the newest fresh batch, the gauge nothing is fitted on
(:func:`asked_questions.tune_questions`). The tune questions are the content's asked
questions, so each batch is answered by the content without that batch's asked questions
(:class:`Folds`). The rule:

- the classifier's weight in the ranking is the one of :data:`WEIGHTS` that puts the right
  node first for the most tune questions in scope (of equals, the lowest);
- the classified model is a logistic model over the fused model's log-odds (never fitted on
  these questions) and the classifier's log-odds for the ranking's best node and for the
  off-topic class, and whether it puts the same node first, fitted on the tune questions;
- its threshold is chosen on verdicts as the bot reaches them (language detected, the dense
  signal skipped where the words decide) for tune questions it was not fitted on (each batch
  by the model fitted on the others): the most right answers (of equals, the fewest wrong
  ones) where the group gives no more wrong answers than the decision without the classifier
  gives on the same questions, every language gives at most :data:`WRONG_AT_MOST` wrong
  answers (the issues' targets), and every language falls back on at least 95 % of its
  off-topic questions (or, where the decision without the classifier fell back on fewer, on
  at least as many as it did): the measured sets' wrong answers run several times the tune
  sets', so a fit that buys right answers with wrong ones is not wanted;
- it is kept (``--write``) only where it answers more tune questions right than the decision
  without the classifier; else that decision stays as it is (the classifier's weight too).

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
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from asked_questions import batch, tune_questions  # noqa: E402
from qa import (  # noqa: E402
    FRESH,
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
from tests.qa.qa_set import QUESTION_DIR, Question, run, warm  # noqa: E402

STACKED = ("fused", "clf", "clf_agree", "clf_off")
"""The classified model's features: the fused model's log-odds and the classifier's."""
THRESHOLDS = [round(float(t), 3) for t in np.arange(0.2, 0.951, 0.025)]
FALLBACK_AT_LEAST = 0.95
WRONG_AT_MOST = {"de/en": 0.02, "others": 0.03}
"""The share of wrong answers (of all questions) each language of a group may give: the
targets of the issues that asked for them (German and English, the five later languages)."""
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


def _add(into: dict[str, list[int]], lang: str, figures: tuple[int, ...]) -> None:
    """Add one part's ``figures`` of ``lang`` to the running totals ``into``."""
    into[lang] = [a + b for a, b in zip(into.get(lang, [0] * len(figures)), figures, strict=True)]


def _keeps(figures: Figures, before: Figures, cap: float) -> bool:
    """Whether ``figures`` give no more wrong answers than ``before``, every language answers
    wrong at most ``cap`` of its questions, and every language falls back on 95 % of its
    off-topic questions (or on as many as before where that was less)."""
    return _total(figures, 1) <= _total(before, 1) and all(
        fb >= min(FALLBACK_AT_LEAST * n_out, before[lang][2]) and w <= cap * (n_in + n_out)
        for lang, (_, w, fb, n_in, n_out) in figures.items()
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


@dataclasses.dataclass
class Folds:
    """The tune questions in parts by the batch they were written in
    (:func:`asked_questions.batch`), each part answered by the content without the asked
    questions of that batch: the bot as shipped holds the tune questions as asked questions
    (``content/questions``), and a decision fitted on questions the index holds would be sure
    of far too much. A whole batch is left out, not a share of each: the questions of one
    batch were written together and resemble each other, and a question the bot meets was
    written by someone else. The model judged on a part is fitted on the others."""

    content: Content
    """The content with every asked question."""
    tune: list[Question]
    """Every tune question the asked questions are made of."""
    _bots: dict[tuple[str, bool], Matcher] = dataclasses.field(default_factory=dict)

    def names(self, questions: list[Question]) -> list[str]:
        """The batches of ``questions``."""
        return sorted({batch(q.file) for q in questions})

    def part(self, questions: list[Question], name: str) -> list[Question]:
        """The questions of batch ``name``."""
        return [q for q in questions if batch(q.file) == name]

    def bot(self, name: str, *, dense: bool = False) -> Matcher:
        """The matcher for the questions of batch ``name``: as the bot decides, or
        (``dense``) with the dense signal computed for every question."""
        key = (name, dense)
        if key not in self._bots:
            left_out = {(q.lang, " ".join(q.text.split())) for q in self.part(self.tune, name)}
            held = self.content.keeping_asked(lambda lang, a: (lang, a.text) not in left_out)
            self._bots[key] = _matcher(held, True) if dense else Matcher(held)
        return self._bots[key]

    def figures(self, group: str, decide: Decision, tune: list[Question]) -> Figures:
        """Per language, the figures of ``tune`` decided by ``decide`` as the bot decides,
        each question by its batch's matcher."""
        total: dict[str, list[int]] = {}
        for name in self.names(tune):
            for lang, f in _figures(self.bot(name), group, decide, self.part(tune, name)).items():
                _add(total, lang, f)
        return {lang: tuple(f) for lang, f in sorted(total.items())}


def weigh(folds: Folds, group: str, decide: Decision, tune: list[Question]) -> Decision:
    """``decide`` with the classifier's weight in the ranking (:data:`WEIGHTS`) that puts the
    right node first for the most tune questions in scope (of equals, the lowest)."""
    in_scope = [q for q in tune if q.node is not None]
    for name in folds.names(in_scope):
        warm(folds.bot(name, dense=True), [q.text for q in folds.part(in_scope, name)])
    best: tuple[int, float] | None = None
    for weight in WEIGHTS:
        fusion = dataclasses.replace(decide.fusion, classifier_weight=weight)
        _install(group, dataclasses.replace(decide, fusion=fusion))
        right = sum(
            first_right(folds.bot(name, dense=True), folds.part(in_scope, name))
            for name in folds.names(in_scope)
        )
        print(f"{group}: classifier weight {weight}: {right} of {len(in_scope)} first right")
        if best is None or right > best[0]:
            best = (right, weight)
    assert best is not None
    _install(group, decide)
    return dataclasses.replace(
        decide, fusion=dataclasses.replace(decide.fusion, classifier_weight=best[1])
    )


def fit_group(
    folds: Folds,
    group: str,
    shipped: Decision,
    tune: list[Question],
    conversations: Decision | None = None,
) -> Decision:
    """The decision of ``group`` with a fitted classified model, or ``shipped`` unchanged.
    With ``conversations`` (the decision as shipped, German and English only), the tune
    conversations are shown for it and for the model at a few thresholds."""
    before = folds.figures(group, shipped, tune)
    print(f"\n{group}: shipped  {_line(before)}")
    weighted = weigh(folds, group, shipped, tune)
    _install(group, weighted)
    rows: Rows = []
    for name in folds.names(tune):
        part = folds.part(tune, name)
        warm(folds.bot(name, dense=True), [q.text for q in part])
        rows += _stacked_rows(folds.bot(name, dense=True), weighted, part)
    unseen: dict[float, dict[str, list[int]]] = {}
    for name in folds.names(tune):
        held = folds.part(tune, name)
        left_out = set(held)
        w = _own_weights([r for r in rows if r[0] not in left_out])
        model = Model(STACKED, tuple(float(v) for v in w), 0.5)
        for t in THRESHOLDS:
            chosen = dataclasses.replace(
                weighted, classified=dataclasses.replace(model, threshold=t)
            )
            into = unseen.setdefault(t, {})
            for lang, f in _figures(folds.bot(name), group, chosen, held).items():
                _add(into, lang, f)
    # The most right answers; of equals, the fewest wrong ones (then the lowest bar).
    best: tuple[int, int, float] | None = None
    for t in THRESHOLDS:
        figures: Figures = {lang: tuple(f) for lang, f in sorted(unseen[t].items())}
        ok = _keeps(figures, before, WRONG_AT_MOST[group])
        print(f"{group}: {t:.3f} {'ok' if ok else '  '} {_line(figures)}")
        found = (_total(figures, 0), -_total(figures, 1), t)
        if ok and (best is None or found[:2] > best[:2]):
            best = found
    _install(group, shipped)
    if best is None or best[0] <= _total(before, 0):
        print(f"{group}: no threshold answers more than the shipped decision; not changed")
        return shipped
    w = _own_weights(rows)
    model = Model(STACKED, tuple(round(float(v), 4) for v in w), best[2])
    print(f"{group}: chosen threshold {best[2]}, {best[0]} right unseen; weights {model.weights}")
    if conversations is not None:
        # The conversations are not asked questions: the bot as shipped answers them.
        as_bot = Matcher(folds.content)
        engine = Engine(folds.content, as_bot, session_ttl=dt.timedelta(hours=1))
        talks = load_conversations(CONVERSATIONS_TUNE)
        line = conversation_line(engine, talks, conversations)
        print(f"{group}: conversations, as shipped: {line}")
        for t in sorted({*SHOWN, best[2]}):
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
    # The newest fresh batch is the gauge nothing is fitted on.
    tune = tune_questions()
    folds = Folds(load_content(), tune)
    data = json.loads(decision.PARAMETERS.read_text(encoding="utf-8"))
    de_en = [q for q in tune if q.file.startswith(FRESH)]
    others = [q for q in tune if q.lang in OTHER_LANGUAGES]

    as_shipped = decision.DEFAULT if args.conversations else None
    default = decision.DEFAULT.without_classifier()
    # The other languages are decided by the earlier parameters unless they have their own.
    own = decision.OTHER_LANGUAGES.get(OTHER_LANGUAGES[0], decision.ELSEWHERE).without_classifier()
    decision.OTHER_LANGUAGES = {}
    fitted = fit_group(folds, "de/en", default, de_en, as_shipped) if de_en else decision.DEFAULT
    decision.DEFAULT = fitted
    fitted_own = fit_group(folds, "others", own, others)
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
