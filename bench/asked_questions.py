"""Make the content's asked questions (``content/questions/<lang>.tsv``) from the tune sets.

The tune questions of ``tests/qa`` (split ``tune`` of its own files, every row of
``tests/qa/languages-tune``) are the readers' wordings the matcher may be fitted on; the
dense signal learns from them when they are in the content (:mod:`bot.content.questions`).
Left out: the newest fresh batch (``*-fresh-N.tsv`` with the highest N), the batch nothing is
fitted on until a newer one is written, and every measured set.

    .venv/bin/python bench/asked_questions.py          # say whether the files are up to date
    .venv/bin/python bench/asked_questions.py --write  # write them

After ``--write``, ``python -m bot embed`` ships the new vectors and classifiers.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from bot.content import Content, load_content  # noqa: E402
from bot.content.questions import DIR, HEADER, NO_PAGE  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from bot.matching.context import small_words_only  # noqa: E402
from tests.qa.qa_set import QUESTION_DIR, Question, load_questions  # noqa: E402

TUNE_DIRS = (QUESTION_DIR, QUESTION_DIR / "languages-tune")
_BATCH = re.compile(r"-(fresh|more)(?:-[a-z]{2})?(?:-(\d+))?\.tsv$")


def batch(file: str) -> str:
    """The batch a tune question file was written in, by its name: "fresh-3" for
    ``questions-fresh-de-3.tsv`` and ``es-fresh-3.tsv``, "more-1" for ``es-more.tsv``, "first"
    for the first sets."""
    found = _BATCH.search(file)
    return f"{found.group(1)}-{found.group(2) or 1}" if found else "first"


def newest_batch() -> int:
    """The number of the newest fresh batch (the unfitted gauge)."""
    return max(
        (
            int(name.removeprefix("fresh-"))
            for d in TUNE_DIRS
            for p in d.glob("*.tsv")
            if (name := batch(p.name)).startswith("fresh-")
        ),
        default=0,
    )


def fittable(questions: list[Question]) -> list[Question]:
    """``questions`` without the newest fresh batch: the gauge nothing is fitted on."""
    gauge = f"fresh-{newest_batch()}"
    return [q for q in questions if batch(q.file) != gauge]


def tune_questions() -> list[Question]:
    """The tune questions the content may learn from, in file and line order."""
    return [q for d in TUNE_DIRS for q in fittable(load_questions(d)) if q.split == "tune"]


def files(questions: list[Question], content: Content) -> dict[str, str]:
    """The text of each language's file. A question of small words only ("what?", "welche
    denn?") is left out: after a page it asks about that page, and a reading learnt from it
    alone would pull such follow-ups away (to the off-topic requests, or to one node)."""
    matcher = Matcher(content.without_asked(), embedder=None)
    by_lang: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        if q.lang in matcher.indexes and small_words_only(q.text, matcher.indexes[q.lang].lexicon):
            continue
        by_lang[q.lang].append(q)
    newest = newest_batch()
    out = {}
    for lang, qs in sorted(by_lang.items()):
        lines = [
            f"# Made by bench/asked_questions.py from the tune questions of tests/qa: edit "
            f"those and run it again (the fresh batch {newest} is left out).",
            "\t".join(HEADER),
        ]
        seen: set[str] = set()
        for q in qs:
            text = " ".join(q.text.split())
            if text in seen:
                continue
            seen.add(text)
            lines.append(f"{q.node or NO_PAGE}\t{text}")
        out[lang] = "\n".join(lines) + "\n"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the files")
    parser.add_argument("--content", type=Path, default=HERE / "content")
    args = parser.parse_args()
    folder = args.content / DIR
    wanted = files(tune_questions(), load_content(args.content))
    stale = sorted(
        lang
        for lang, text in wanted.items()
        if not (folder / f"{lang}.tsv").is_file()
        or (folder / f"{lang}.tsv").read_text(encoding="utf-8") != text
    )
    extra = sorted(p.stem for p in folder.glob("*.tsv") if p.stem not in wanted)
    if not args.write:
        for lang in stale:
            print(f"{folder / lang}.tsv is not up to date")
        for lang in extra:
            print(f"{folder / lang}.tsv has no tune questions")
        return 1 if stale or extra else 0
    folder.mkdir(exist_ok=True)
    for lang in stale:
        (folder / f"{lang}.tsv").write_text(wanted[lang], encoding="utf-8")
    for lang in extra:
        (folder / f"{lang}.tsv").unlink()
    print(f"{sum(t.count(chr(10)) - 2 for t in wanted.values())} questions, {len(wanted)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
