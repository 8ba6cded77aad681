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

from bot.content import Content, load_content  # noqa: E402
from bot.content.markup import spans  # noqa: E402
from bot.content.models import Node  # noqa: E402

FIRST_SCREEN = 500
"""Visible characters the first screen may have (content-style.md: "about 500")."""
WHOLE_MESSAGE = 900
"""Visible characters of first screen plus one-line sources (content-style.md)."""


def visible(text: str) -> str:
    """``text`` as a reader sees it: link labels without their URLs, no emphasis marks."""
    lines = []
    for line in text.strip().split("\n"):
        lines.append("".join(s.text for s in spans(line)))
    return "\n".join(lines)


def as_of_label(content: Content, node: Node, lang: str, today: dt.date) -> str:
    """The "Stand Dezember 2026:" label the engine puts before a dated text, or ""."""
    as_of = node.as_of_for(today)
    if as_of is None or "as_of" not in content.meta.strings:
        return ""
    months = [m.strip() for m in content.string("months", lang).split(",")]
    month = months[as_of.month - 1] if len(months) == 12 else f"{as_of.month:02d}"
    date = content.format_date(as_of, lang)
    return content.string("as_of", lang, month=month, year=as_of.year, date=date)


def first_screen(content: Content, node: Node, lang: str, today: dt.date) -> str:
    """The visible first screen of ``node`` in ``lang`` on ``today``."""
    label = as_of_label(content, node, lang, today)
    body = visible(node.text_for(lang, today))
    return f"{label} {body}" if label else body


def sources_line(content: Content, node: Node, lang: str) -> str:
    """The one line the sources are meant to take: titles, then the day checked."""
    if not node.sources:
        return ""
    line = f"{content.string('sources', lang)}: " + ", ".join(s.title for s in node.sources)
    if node.checked is not None:
        line += " · " + content.format_date(node.checked, lang)
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--limit", type=int, default=FIRST_SCREEN)
    parser.add_argument("--over", action="store_true", help="list only first screens over it")
    args = parser.parse_args(argv)
    content = load_content()
    rows: list[tuple[int, int, str, str]] = []
    for node in content.nodes.values():
        for lang in content.languages:
            screen = first_screen(content, node, lang, args.date)
            whole = len(screen) + len(sources_line(content, node, lang))
            rows.append((len(screen), whole, node.id, lang))
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
