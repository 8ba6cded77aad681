"""CPU time of the matcher alone on German and English questions, and how many texts it embeds.

``ask_speed.py`` measures a whole ``ask`` process from outside, which a busy machine blurs;
this runs ``Matcher.match`` in-process on the held-out German and English questions
(``tests/qa/independent``, repeated up to ``--count``) and prints the CPU time it took
(``time.process_time``, which other processes hardly move) and the texts it gave the model.
Alternate ``--root`` between two checkouts for before/after figures:

    .venv/bin/python bench/match_cpu.py [--count 3000] [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--root", type=Path, default=HERE, help="checkout whose bot to time")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    from bot.content import load_content
    from bot.matching import Matcher
    from tests.qa.qa_set import load_questions

    questions = [
        (q.text, q.lang)
        for q in load_questions(root / "tests" / "qa" / "independent")
        if q.lang in ("de", "en")
    ]
    asked = (questions * (args.count // max(len(questions), 1) + 1))[: args.count]
    matcher = Matcher(load_content(root / "content"))
    embedded = 0
    embedder = matcher.embedder
    if embedder is not None:
        embed = embedder.embed

        def counted(texts, *rest, **named):  # type: ignore[no-untyped-def]
            nonlocal embedded
            embedded += len(texts)
            return embed(texts, *rest, **named)

        embedder.embed = counted  # type: ignore[method-assign]
    for text, lang in asked[:50]:  # load the model and the vectors first
        matcher.match(text, lang)
    embedded = 0
    start = time.process_time()
    for text, lang in asked:
        matcher.match(text, lang)
    spent = time.process_time() - start
    print(f"{root}: {spent:.2f} s CPU for {len(asked)} questions, {embedded} texts embedded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
