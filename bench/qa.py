"""Question-answering quality and speed on the repository's question set.

Prints, per language and per split (``tune`` / ``holdout``), top-1 accuracy on in-scope
questions, the wrong-confident rate, the fallback rate on out-of-scope questions and
Matthews correlation (matched vs should-match); then language detection accuracy,
matching speed and the confusion list of misses.

    .venv/bin/python bench/qa.py [--detect] [--threshold 0.5] [--no-misses]

``--detect`` lets the matcher detect each question's language the way the engine does
for a user who has not chosen one; without it the question's own language is used.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from tests.qa.qa_set import Outcome, Summary, load_questions, run  # noqa: E402


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
    parser.add_argument(
        "--split",
        choices=["tune", "holdout", "all"],
        default="all",
        help="which split's misses to list (figures always show both)",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    content = load_content(args.content)
    t1 = time.perf_counter()
    matcher = (
        Matcher(content) if args.threshold is None else Matcher(content, threshold=args.threshold)
    )
    t2 = time.perf_counter()
    questions = load_questions()
    outcomes = run(matcher, questions, detect=args.detect)

    mode = "detected language" if args.detect else "question's own language"
    print(f"{len(questions)} questions, threshold {matcher.threshold}, matching in the {mode}\n")
    print(
        f"{'group':<14} {'in':>4} {'accuracy':>8} {'abstained':>9} {'out':>4} "
        f"{'fallback':>9} {'wrong-conf':>10} {'MCC':>6}"
    )
    for split in ("tune", "holdout", None):
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
