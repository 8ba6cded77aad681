"""The tune questions answered by a bot that learnt from the others: out of fold.

The content's asked questions (``content/questions``) are the tune questions, so the shipped
bot answers those from memory. Here they are split into ``--folds`` parts by a hash of their
text; each part is answered by the content with the asked questions of the other parts only
(its vectors shipped, its classifiers fitted here), as a bot answers questions it never saw.
Prints per language what ``bench/qa_languages_tune.py`` prints: right answers in scope,
wrong-confident answers over all, off-topic fallback, language detection; with
``--misses``, each miss.

    .venv/bin/python bench/qa_asked_folds.py [--folds 5] [--lang fr] [--misses]

Takes a few minutes: every fold fits seven classifiers and asks a fifth of the questions.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from asked_questions import tune_questions  # noqa: E402
from qa_languages_tune import report  # noqa: E402

from bot.content import Content, load_content  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from tests.qa.qa_set import Outcome, run  # noqa: E402


def fold_of(text: str, folds: int) -> int:
    """The fold of a question: stable across runs and machines."""
    return int(hashlib.sha256(" ".join(text.split()).encode()).hexdigest(), 16) % folds


def without_fold(content: Content, fold: int, folds: int) -> Content:
    """``content`` with the asked questions of ``fold`` left out."""
    return content.keeping_asked(lambda _lang, a: fold_of(a.text, folds) != fold)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--lang", action="append", help="only this language (repeatable)")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()
    content = load_content()
    questions = [q for q in tune_questions() if not args.lang or q.lang in args.lang]
    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    for fold in range(args.folds):
        mine = [q for q in questions if fold_of(q.text, args.folds) == fold]
        matcher = Matcher(without_fold(content, fold, args.folds))
        for outcome in run(matcher, mine, detect=True):
            by_lang[outcome.question.lang].append(outcome)
    report(by_lang, misses=args.misses, total=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
