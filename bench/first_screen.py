"""How long each answer's first screen is on a phone.

Prints, for every node and language, the visible length of the first screen (the node's
text valid on the day, after the "Stand …:" label its ``as_of`` puts in front; links count by
their label, emphasis marks not at all) and of the whole message the way it is meant to be
shown: first screen plus a one-line sources note ("Quellen: A, B · Stand 3.12.2026").
Sorted longest first, then how many first screens are over the limit. Details behind
"Mehr" / "More" (``more``) and the checklist's conditional blocks are not counted.

    .venv/bin/python bench/first_screen.py [--date 2026-12-03] [--limit 500] [--over]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.content.phone import FIRST_SCREEN_LIMIT, visible_length  # noqa: E402

WHOLE_MESSAGE = 900
"""Visible characters of first screen plus one-line sources (content-style.md)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--limit", type=int, default=FIRST_SCREEN_LIMIT)
    parser.add_argument("--over", action="store_true", help="list only first screens over it")
    args = parser.parse_args(argv)
    content = load_content()
    rows: list[tuple[int, int, str, str]] = []
    for node in content.nodes.values():
        for lang in content.languages:
            # The engine's own rendering, measured as check measures it.
            first = visible_length(content.first_screen(node, lang, args.date))
            whole = first + visible_length(content.sources_line(node, lang, args.date))
            rows.append((first, whole, node.id, lang))
    rows.sort(key=lambda r: (-r[0], r[2], r[3]))
    print(f"{'first':>6} {'whole':>6}  node (lang)   [first screen on {args.date}]")
    for first, whole, node_id, lang in rows:
        if args.over and first <= args.limit:
            continue
        flag = " *" if first > args.limit else ""
        flag += f" (whole > {WHOLE_MESSAGE})" if whole > WHOLE_MESSAGE else ""
        print(f"{first:>6} {whole:>6}  {node_id} ({lang}){flag}")
    over = sum(r[0] > args.limit for r in rows)
    whole_over = sum(r[1] > WHOLE_MESSAGE for r in rows)
    print(
        f"\n{over} of {len(rows)} first screens over {args.limit} characters;"
        f" {whole_over} whole messages over {WHOLE_MESSAGE}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
