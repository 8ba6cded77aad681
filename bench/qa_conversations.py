"""The multi-turn set (``tests/qa/conversations``) through the engine, per language and kind.

Prints right answers per kind of turn (opening question, follow-up, checklist answer, change
of topic, off-topic), wrong-confident answers and clarifying questions, then every miss.

    .venv/bin/python bench/qa_conversations.py [--words-only] [--no-misses] [--root DIR]
        [--dir DIR]

``--words-only`` runs the matcher without the dense signal (as where the model cannot load).
``--root`` runs another checkout's ``bot`` and content (e.g. ``git archive main | tar -x -C
/tmp/before``) on this checkout's conversations, for before/after figures. ``--dir`` runs
the conversations of another folder in the same format (e.g. ``tests/qa/conversations-tune``,
the set that context changes are tried on) instead of the measured set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words-only", action="store_true")
    parser.add_argument("--no-misses", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose bot to run")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder of conversation files to run (default: the measured set)",
    )
    args = parser.parse_args()
    root = args.root.resolve()
    # The measured checkout's bot first on the path; this checkout's conversations (loaded
    # by file, the other checkout has its own tests), run with that bot's own event classes.
    sys.path.insert(0, str(root))
    from bot.content import load_content
    from bot.engine import Engine
    from bot.matching import Matcher

    spec = importlib.util.spec_from_file_location(
        "conversation_set", ROOT / "tests" / "qa" / "conversation_set.py"
    )
    assert spec is not None and spec.loader is not None
    conversation_set = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = conversation_set  # dataclasses look their module up
    spec.loader.exec_module(conversation_set)
    kinds = conversation_set.KINDS
    summary = conversation_set.summary

    content = load_content(root / "content")
    matcher = Matcher(content, embedder=None) if args.words_only else Matcher(content)
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    conversations = (
        conversation_set.load_conversations(args.dir.resolve())
        if args.dir is not None
        else conversation_set.load_conversations()
    )
    outcomes = conversation_set.run_conversations(engine, conversations)
    print(
        f"{len(conversations)} conversations, {len(outcomes)} turns, dense signal: "
        f"{type(e).__name__ if (e := getattr(matcher, 'embedder', None)) else 'off'}"
    )
    print(
        f"{'lang':<5} {'turns':>5} {'right':>6} "
        + " ".join(f"{k:>7}" for k in kinds)
        + f" {'wrong':>6} {'clarify':>7}"
    )
    asked = {o.conversation.lang for o in outcomes}
    for lang in (*(code for code in content.languages if code in asked), None):
        group = [o for o in outcomes if lang is None or o.conversation.lang == lang]
        s = summary(group)
        cells = " ".join(f"{s[f'right_{k}']:>7.1%}" for k in kinds)
        print(
            f"{lang or 'all':<5} {len(group):>5} {s['right']:>6.1%} {cells} "
            f"{s['wrong_confident']:>6.1%} {s['clarified']:>7.1%}"
        )
    if not args.no_misses:
        print("\nmisses:")
        for o in outcomes:
            if not o.right:
                print(
                    f"  [{o.conversation.file}#{o.conversation.number} {o.turn.kind}] "
                    f"{o.turn.text!r}: expected "
                    f"{o.turn.expected}, got {o.node} (matched {o.matched}, clarify "
                    f"{o.clarify})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
