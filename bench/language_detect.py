"""Language detection per language, on every message of the question sets.

Every row of ``tests/qa/*.tsv``, ``tests/qa/independent/*.tsv`` and
``tests/qa/languages/*.tsv`` (all splits: detection is never fitted on them), detected
among the seven languages with word lists (``bot/lang``), without any session or platform
language. Prints per language the share detected right, undecided (``None``: the engine
keeps the session's language) and wrong, the most frequent confusions, and the time per
message.

    PYTHONPATH=$PWD .venv/bin/python bench/language_detect.py [--root DIR] [--errors]

``--root`` measures another checkout's ``bot`` (e.g. ``git worktree add /tmp/before
<commit>``) on this checkout's messages; a checkout without ``bot/language_detect.py`` is
measured through ``Matcher.detect_language`` on its shipped content, so a language that
content does not declare counts as missed. ``--errors`` lists every message detected wrong.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LANGUAGES = ("de", "en", "fr", "es", "it", "nl", "pl")


def messages() -> list[tuple[str, str]]:
    """``(language, text)`` of every row of every question set."""
    sys.path.insert(0, str(HERE))
    from tests.qa.qa_set import INDEPENDENT_DIR, LANGUAGE_DIR, QUESTION_DIR, load_questions

    dirs = (QUESTION_DIR, INDEPENDENT_DIR, LANGUAGE_DIR)
    return [(q.lang, q.text) for d in dirs for q in load_questions(d)]


def detectors_of(root: Path) -> list[tuple[str, tuple[str, ...], Callable[[str], str | None]]]:
    """What to measure in the checkout at ``root``: a description, the languages it chooses
    among and its detect function. The seven languages on their word lists alone (when the
    checkout has ``bot/language_detect.py``), and the matcher on the checkout's content."""
    for name in [m for m in sys.modules if m == "bot" or m.startswith("bot.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    found = []
    try:
        module = importlib.import_module("bot.language_detect")
    except ModuleNotFoundError:
        pass
    else:
        detector = module.LanguageDetector(LANGUAGES)
        found.append(("word lists only, seven languages", LANGUAGES, detector.detect))
    content = importlib.import_module("bot.content").load_content(root / "content")
    matcher = importlib.import_module("bot.matching").Matcher(content)
    languages = tuple(content.languages)
    found.append(
        ("Matcher.detect_language on the content's languages", languages, matcher.detect_language)
    )
    return found


def measure(
    rows: list[tuple[str, str]], detect: Callable[[str], str | None], *, show_errors: bool
) -> None:
    """Print the right, undecided and wrong shares per language of ``detect`` on ``rows``."""
    got: dict[str, list[str | None]] = defaultdict(list)
    wrong: list[tuple[str, str | None, str]] = []
    start = time.perf_counter()
    for lang, text in rows:
        found = detect(text)
        got[lang].append(found)
        if found != lang:
            wrong.append((lang, found, text))
    elapsed = time.perf_counter() - start
    print(f"{'lang':<5} {'messages':>8} {'right':>7} {'undecided':>9} {'wrong':>6}  confused with")
    total = right = 0
    for lang in sorted(got, key=lambda c: LANGUAGES.index(c) if c in LANGUAGES else 99):
        found = got[lang]
        hits = sum(f == lang for f in found)
        unsure = sum(f is None for f in found)
        confusions = Counter(f for f in found if f not in (lang, None)).most_common(3)
        print(
            f"{lang:<5} {len(found):>8} {hits / len(found):>7.1%} {unsure / len(found):>9.1%} "
            f"{(len(found) - hits - unsure) / len(found):>6.1%}  "
            + ", ".join(f"{c} {n}" for c, n in confusions)
        )
        total += len(found)
        right += hits
    print(f"{'all':<5} {total:>8} {right / total:>7.1%}")
    print(f"time: {elapsed / total * 1e6:.0f} µs per message (one core)")
    if show_errors:
        for lang, found, text in wrong:
            print(f"  {lang} -> {found}: {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout whose bot to measure")
    parser.add_argument("--errors", action="store_true", help="list every wrong message")
    args = parser.parse_args()
    rows = messages()
    print(f"bot: {args.root.resolve()}")
    for name, languages, detect in detectors_of(args.root.resolve()):
        print(f"\n{name} ({', '.join(languages)}); a language not among them counts as missed")
        measure(rows, detect, show_errors=args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
