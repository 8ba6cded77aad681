"""Answer quality per question set and language, for this checkout or another one.

For every measured question (the ``holdout`` split of ``tests/qa`` and of each independent
set, never the fitted-on ``tune`` rows or the ``copy`` rows) prints, per file and language:
right answers, wrong-confident answers, clarifying questions and fallbacks, in scope and out.

    .venv/bin/python bench/qa_sets.py [--root DIR] [--fresh N]

``--fresh N`` (2 or more) measures the ``N``-th fresh tune batch instead
(``questions-fresh-*-N.tsv`` and ``languages-tune/*-fresh-N.tsv``): the newest one is the
batch nothing was fitted on yet.

``--root`` runs another checkout's ``bot`` and content (e.g. ``git worktree add /tmp/before
<commit>``) on this checkout's questions, for before/after figures; a topic that did not
exist there counts as a miss. Languages are detected as the engine does.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout whose bot to measure")
    parser.add_argument("--fresh", type=int, help="measure this fresh tune batch instead")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(HERE))
    from tests.qa.qa_set import INDEPENDENT_DIR, MEASURED, QUESTION_DIR, load_questions, warm

    if args.fresh is None:
        questions = [
            q
            for d in (QUESTION_DIR, INDEPENDENT_DIR)
            for q in load_questions(d)
            if q.split == MEASURED
        ]
    else:
        questions = [
            q
            for d in (QUESTION_DIR, QUESTION_DIR / "languages-tune")
            for q in load_questions(d)
            if "fresh" in q.file and q.file.endswith(f"-{args.fresh}.tsv")
        ]
    # Only now the measured checkout's bot, so the questions above came from this one.
    for name in [m for m in sys.modules if m == "bot" or m.startswith("bot.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    content_mod = importlib.import_module("bot.content")
    matching = importlib.import_module("bot.matching")
    content = content_mod.load_content(root / "content")
    matcher = matching.Matcher(content)
    default = content.meta.default_language
    if getattr(matcher, "embedder", None) is not None:
        warm(matcher, [q.text for q in questions])  # our questions' vectors, cached on disk

    rows: dict[tuple[str, str], list[tuple[bool, str]]] = defaultdict(list)
    for q in questions:
        lang = matcher.detect_language(q.text) or default
        result = matcher.match(q.text, lang)
        got = result.node if result.matched else None
        if getattr(result, "clarify", ()):
            kind = "clarify"
        elif got is None:
            kind = "fallback"
        elif got == q.node:
            kind = "right"
        else:
            kind = "wrong"
        rows[(q.file, q.lang)].append((q.node is not None, kind))
        rows[("all", q.lang)].append((q.node is not None, kind))
        rows[("all", "all")].append((q.node is not None, kind))

    print(f"bot and content: {root}")
    print(
        f"{'set':<24} {'lang':<4} {'in':>4} {'right':>6} {'wrong':>6} {'clarify':>7} "
        f"{'fallbk':>6} | {'out':>4} {'fallbk':>6} {'wrong':>6}"
    )
    for (name, lang), kinds in sorted(rows.items(), key=lambda r: (r[0][0] == "all", r[0])):
        ins = [k for scoped, k in kinds if scoped]
        outs = [k for scoped, k in kinds if not scoped]

        def share(group: list[str], kind: str) -> str:
            return f"{group.count(kind) / len(group):.1%}" if group else "-"

        print(
            f"{name:<24} {lang:<4} {len(ins):>4} {share(ins, 'right'):>6} "
            f"{share(ins, 'wrong'):>6} {share(ins, 'clarify'):>7} {share(ins, 'fallback'):>6} | "
            f"{len(outs):>4} {share(outs, 'fallback'):>6} {share(outs, 'wrong'):>6}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
