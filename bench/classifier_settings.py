"""How the node classifier's settings do on questions it was not fitted on.

The node classifier (:mod:`bot.matching.classifier`) is fitted on every text of a language's
nodes, the readers' asked questions among them (``content/questions/<lang>.tsv``). For each
setting given, the asked questions are split in five parts by a hash of their text; each part
is answered by a classifier fitted on everything else, and the script prints how often its
first place is the question's node (the off-topic class counts as a node). Only the classifier
is measured, not the ranking or the decision around it (``bench/fit_classified.py``).

    .venv/bin/python bench/classifier_settings.py --languages de,it "" "L2=1e-4,STEPS=600"

Each setting is a comma-separated list of ``NAME=value`` for the module's ``L2``, ``STEPS``,
``RATE`` and ``SCALE``; an empty one is the shipped setting. About 15 seconds per setting and
language at 300 steps, on one core. What a setting does to the bot is another question: see
``L2`` in :mod:`bot.matching.classifier`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from qa_asked_folds import fold_of  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from bot.matching import classifier as clf  # noqa: E402

FOLDS = 5
SETTINGS = ("L2", "STEPS", "RATE", "SCALE")


def parse(setting: str) -> dict[str, float]:
    """The module's values with ``setting``'s changes ("L2=1e-4,STEPS=600")."""
    values = {name: float(getattr(clf, name)) for name in SETTINGS}
    for part in filter(None, setting.split(",")):
        name, _, value = part.partition("=")
        if name not in SETTINGS:
            raise SystemExit(f"unknown setting {name!r}: one of {', '.join(SETTINGS)}")
        values[name] = float(value)
    return values


def first_right(matcher: Matcher, lang: str, values: dict[str, float]) -> tuple[int, int]:
    """How many of ``lang``'s asked questions the classifier fitted without their part puts
    first right, and how many there are."""
    index = matcher.semantic_index(lang)
    if index is None:
        raise SystemExit("no embedder: the classifier needs the model")
    texts = [t for ts in matcher.indexes[lang].position_texts for t in ts if t.strip()]
    asked = {q.text for q in matcher.content.asked.get(lang, ())}
    is_asked = np.array([t in asked for t in texts])
    folds = np.array([fold_of(t, FOLDS) for t in texts])
    matrix, owners = index.matrix, index.owners
    clf.L2, clf.STEPS = values["L2"], int(values["STEPS"])
    clf.RATE, clf.SCALE = values["RATE"], values["SCALE"]
    right = 0
    for part in range(FOLDS):
        held = is_asked & (folds == part)
        fitted = clf.fit(matrix[~held], owners[~held], index.size)
        z = (matrix[held] * clf.SCALE) @ fitted.weights + fitted.bias
        right += int((z.argmax(axis=1) == owners[held]).sum())
    return right, int(is_asked.sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="de,it", help="comma-separated codes")
    parser.add_argument("settings", nargs="*", default=[""], help='e.g. "L2=1e-4,STEPS=600"')
    args = parser.parse_args()
    matcher = Matcher(load_content())
    for lang in args.languages.split(","):
        for setting in args.settings:
            values = parse(setting)
            start = time.perf_counter()
            right, total = first_right(matcher, lang, values)
            print(
                f"{lang} {setting or 'shipped'}: first right {right} of {total} "
                f"({right / total:.1%}), {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
