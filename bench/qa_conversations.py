"""The multi-turn set (``tests/qa/conversations``) through the engine, per language and kind.

Prints right answers per kind of turn (opening question, follow-up, checklist answer, change
of topic, off-topic), wrong-confident answers and clarifying questions, then every miss.

    .venv/bin/python bench/qa_conversations.py [--words-only] [--no-misses]

``--words-only`` runs the matcher without the dense signal (as where the model cannot load).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from tests.qa.conversation_set import (  # noqa: E402
    KINDS,
    load_conversations,
    run_conversations,
    summary,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words-only", action="store_true")
    parser.add_argument("--no-misses", action="store_true")
    args = parser.parse_args()
    content = load_content()
    matcher = Matcher(content, embedder=None) if args.words_only else Matcher(content)
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    conversations = load_conversations()
    outcomes = run_conversations(engine, conversations)
    print(
        f"{len(conversations)} conversations, {len(outcomes)} turns, dense signal: "
        f"{'off' if matcher.embedder is None else type(matcher.embedder).__name__}"
    )
    print(
        f"{'lang':<5} {'turns':>5} {'right':>6} "
        + " ".join(f"{k:>7}" for k in KINDS)
        + f" {'wrong':>6} {'clarify':>7}"
    )
    for lang in ("de", "en", None):
        group = [o for o in outcomes if lang is None or o.conversation.lang == lang]
        s = summary(group)
        cells = " ".join(f"{s[f'right_{k}']:>7.1%}" for k in KINDS)
        print(
            f"{lang or 'all':<5} {len(group):>5} {s['right']:>6.1%} {cells} "
            f"{s['wrong_confident']:>6.1%} {s['clarified']:>7.1%}"
        )
    if not args.no_misses:
        print("\nmisses:")
        for o in outcomes:
            if not o.right:
                print(
                    f"  [{o.conversation.lang}/{o.turn.kind}] {o.turn.text!r}: expected "
                    f"{o.turn.expected}, got {o.node} (matched {o.matched}, clarify "
                    f"{o.clarify})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
