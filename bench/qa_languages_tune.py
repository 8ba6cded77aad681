"""Answer quality on the French, Spanish, Italian, Dutch and Polish tune sets, with every miss.

The tune sets (``tests/qa/languages-tune/<code>.tsv``) are the questions the language data and
the content's example questions may be fitted on; the measured sets (``tests/qa/languages/``)
are not. Prints, per language: right answers in scope, wrong-confident answers over all,
off-topic fallback, language detection, and each miss with the language it was read in.

    .venv/bin/python bench/qa_languages_tune.py [--lang fr] [--quiet]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from bot.content import load_content  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from tests.qa.qa_set import Outcome, Summary, load_questions, run  # noqa: E402

TUNE_DIR = Path(os.environ.get("TUNE_DIR", HERE / "tests" / "qa" / "languages-tune"))
"""The tune sets (``TUNE_DIR`` in the environment: another folder of them, e.g. a fresh batch)."""


def report(by_lang: Mapping[str, Sequence[Outcome]], *, misses: bool, total: bool = False) -> None:
    """Per language (in order of its code): right answers in scope, wrong-confident answers
    over all, off-topic fallback and how many were read in that language; with ``misses``,
    every miss after its language's line; with ``total``, a last line for all of them."""
    for lang, mine in sorted(by_lang.items()):
        print(_line(lang, mine))
        if not misses:
            continue
        for o in mine:
            if not o.correct:
                mark = "WRONG" if o.wrong_confident else "miss "
                extra = f" clarify {'/'.join(o.clarify)}" if o.clarify else ""
                print(
                    f"  {mark} {o.question.text!r}: want {o.question.node or 'fallback'}, got "
                    f"{o.got or 'fallback'} ({o.score:.2f}, read as {o.detected}){extra}"
                )
    if total:
        print(_line("all", [o for mine in by_lang.values() for o in mine]))


def _line(name: str, outcomes: Sequence[Outcome]) -> str:
    """The figures of ``outcomes``, each read in its question's own language or not."""
    ins = [o for o in outcomes if o.question.node is not None]
    outs = [o for o in outcomes if o.question.node is None]
    detected = sum(o.detected == o.question.lang for o in outcomes) / len(outcomes)
    return (
        f"{name}: {Summary.of(ins).accuracy:.1%} right of {len(ins)}, "
        f"{Summary.of(outcomes).wrong_confident:.1%} wrong-confident, "
        f"{Summary.of(outs).fallback:.1%} off-topic fallback of {len(outs)}, "
        f"{detected:.1%} read as {'its language' if name == 'all' else name}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", action="append", help="only this language (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no misses")
    args = parser.parse_args()
    questions = [q for q in load_questions(TUNE_DIR) if not args.lang or q.lang in args.lang]
    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    # Without the asked questions, which are these very questions: what the content's
    # examples and the language data make of them.
    for outcome in run(Matcher(load_content().without_asked()), questions, detect=True):
        by_lang[outcome.question.lang].append(outcome)
    report(by_lang, misses=not args.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
