"""Chat reply latency in-process, on one core: typed questions through ``Engine.handle``.

A sample of the question sets (``tests/qa``, both languages, a fixed order) and the
conversations' turns are sent as ``Text`` events, each question for a fresh user and each
conversation turn after the one before; prints p50/p90/p99/max of wall and CPU time per
reply, with the dense signal on (or ``--words-only``). Pinned to one CPU core.

    .venv/bin/python bench/chat_latency.py [--count 500] [--words-only] [--other-languages]

``--other-languages`` sends the French, Spanish, Italian, Dutch and Polish question sets
(``tests/qa/languages``) instead, each question for a fresh user: their decision computes the
meaning for more questions than German and English (``words_sure`` in ``decision.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# One core means one thread: numpy's BLAS would otherwise spin helper threads on the other
# cores for the cosines (CPU time above wall time), and the model's OpenMP too.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.events import Start, Text  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from tests.qa.conversation_set import load_conversations  # noqa: E402
from tests.qa.qa_set import INDEPENDENT_DIR, LANGUAGE_DIR, load_questions  # noqa: E402

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--words-only", action="store_true")
    parser.add_argument("--other-languages", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    content = load_content()
    matcher = Matcher(content, embedder=None) if args.words_only else Matcher(content)
    matcher.prepare()  # as a running bot does before it serves
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    if args.other_languages:
        questions = load_questions(LANGUAGE_DIR)
    else:
        questions = load_questions() + load_questions(INDEPENDENT_DIR)
    random.Random(50).shuffle(questions)
    walls: list[float] = []
    cpus: list[float] = []

    def timed(state: object, text: str) -> object:
        w, c = time.perf_counter(), time.process_time()
        new, _ = engine.handle(state, Text(text=text), NOW)  # type: ignore[arg-type]
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
        return new

    for q in questions[: args.count]:
        state, _ = engine.handle(None, Start(language=q.lang), NOW)
        timed(state, q.text)
    conversations = [] if args.other_languages else load_conversations()
    for conversation in conversations[: args.count // 5]:
        state, _ = engine.handle(None, Start(language=conversation.lang), NOW)
        for turn in conversation.turns:
            state = timed(state, turn.text)
    print(
        f"{len(walls)} replies, dense signal "
        f"{'off' if matcher.embedder is None else type(matcher.embedder).__name__}, one core"
    )
    for name, values in (("wall", walls), ("cpu", cpus)):
        ms = np.array(values) * 1000
        print(
            f"{name}: p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
            f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
