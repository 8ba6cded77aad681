"""How much of an answer a phone shows first, for ``check`` and the phone-length tests.

A reply shows a node's first screen (its ``as_of`` label, text and blocks not marked
``more``) and one line naming its sources; the details are one option away. This module
finds every first screen a user can get (each language, each date variant, each combination
of checklist answers reachable by buttons) and measures it. Only ``check`` and the tests use
it: loading content for ``run`` or ``chat`` never pays for it.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.content.markup import LINK_PATTERN, to_plain
from bot.content.models import Content, Node

if TYPE_CHECKING:
    from bot.content.loader import Problem

FIRST_SCREEN_LIMIT = 500
"""Visible characters of a first screen (links counted by their label) that answer on a phone
without scrolling."""

MAX_STATES = 200_000
"""How many (node, answers) combinations the search explores before it stops."""


@dataclass(frozen=True)
class Screen:
    """One first screen a user can get: the node, language, day and checklist answers."""

    node: Node
    lang: str
    day: dt.date
    values: dict[str, str] | None
    """The answers its blocks are shown for (``None`` for a node without blocks)."""

    @property
    def when(self) -> str:
        """The day and answers in words, for a report ("from 2025-05-27; country=at")."""
        later = days(self.node)[1:]
        if self.day != dt.date.min:
            parts = [f"from {self.day.isoformat()}"]
        else:
            parts = [f"before {later[0].isoformat()}"] if later else []
        if self.values is not None:
            parts.append(", ".join(f"{k}={v}" for k, v in sorted(self.values.items())) or "")
        return "; ".join(p for p in parts if p)


def visible_length(markup: str) -> int:
    """Characters a reader sees of ``markup``, each link counted by its label."""
    return len(to_plain(LINK_PATTERN.sub(r"\g<label>", markup)))


def days(node: Node) -> list[dt.date]:
    """One day in each date range in which ``node`` may read differently."""
    bounds = {d for v in node.variants for d in (v.valid_from, v.before) if d is not None}
    return [dt.date.min, *sorted(bounds)]


def reachable_answers(content: Content) -> dict[str, list[dict[str, str]]]:
    """Per node with blocks, every combination of the variables its blocks test (or fill
    ``{country.…}`` from) that a user
    can arrive with by buttons, starting at any node with nothing set (a deep link or a typed
    question opens any node in a fresh session)."""
    nodes = content.nodes
    tested = {
        n.id: sorted({name for b in n.blocks for name in b.variables})
        for n in nodes.values()
        if n.blocks
    }
    found: dict[str, set[tuple[tuple[str, str], ...]]] = {n: set() for n in tested}
    start = [(node_id, ()) for node_id in nodes]
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set(start)
    todo: deque[tuple[str, tuple[tuple[str, str], ...]]] = deque(start)
    while todo and len(seen) < MAX_STATES:
        node_id, frozen = todo.popleft()
        values = dict(frozen)
        if node_id in tested:
            found[node_id].add(tuple((k, values[k]) for k in tested[node_id] if k in values))
        for option in nodes[node_id].options:
            if option.to not in nodes or not option.shown(values):
                continue
            after = tuple(sorted((values | option.assignments()).items()))
            if (option.to, after) not in seen:
                seen.add((option.to, after))
                todo.append((option.to, after))
    return {n: [dict(f) for f in sorted(combos)] for n, combos in found.items()}


def screens(
    content: Content, answers: dict[str, list[dict[str, str]]] | None = None
) -> Iterator[Screen]:
    """Every first screen of every node: each language, date range and reachable answers."""
    answers = reachable_answers(content) if answers is None else answers
    for node in content.nodes.values():
        combos: list[dict[str, str] | None] = _distinct(content, node, answers.get(node.id, []))
        if not node.blocks or not combos:
            combos = [None]
        for lang in content.languages:
            for day in days(node):
                for values in combos:
                    yield Screen(node, lang, day, values)


def _distinct(
    content: Content, node: Node, combos: list[dict[str, str]]
) -> list[dict[str, str] | None]:
    """The first of ``combos`` that show each distinct first screen: the same blocks, filled
    from the same table rows, read alike in every language (thirteen countries and the
    checklist's answers make many combinations but far fewer screens)."""
    filled = sorted({var for b in node.blocks for var, _ in b.row_fields})
    seen: set[tuple[tuple[int, ...], tuple[str | None, ...]]] = set()
    out: list[dict[str, str] | None] = []
    for values in combos:
        shown = tuple(
            i
            for i, b in enumerate(node.blocks)
            if (not b.more or not content.more_option) and b.condition.holds(values)
        )
        key = (shown, tuple(values.get(var) for var in filled))
        if key not in seen:
            seen.add(key)
            out.append(values)
    return out


def first_screen(content: Content, screen: Screen) -> str:
    """The markup of ``screen``'s first screen (without the sources line)."""
    return content.first_screen(screen.node, screen.lang, screen.day, screen.values)


def first_screen_problems(content: Content) -> list[Problem]:
    """Warnings for nodes whose first screen, in some language, on some day or for some
    reachable answers, is longer than :data:`FIRST_SCREEN_LIMIT` visible characters (the
    longest case per node and language)."""
    from bot.content.loader import Problem

    worst: dict[tuple[str, str], tuple[int, Screen]] = {}
    for screen in screens(content):
        size = visible_length(first_screen(content, screen))
        key = (screen.node.id, screen.lang)
        if size > FIRST_SCREEN_LIMIT and size > worst.get(key, (0, screen))[0]:
            worst[key] = (size, screen)
    problems = []
    for (node_id, lang), (size, screen) in worst.items():
        node = content.nodes[node_id]
        where = f" ({screen.when})" if screen.when else ""
        problems.append(
            Problem(
                node.file,
                node.line,
                f"first screen of '{node_id}' ({lang}){where} is {size} characters; "
                f"about {FIRST_SCREEN_LIMIT} answer on a phone without scrolling",
                "keep the answer in 'text' and move details into 'more' (or mark blocks 'more')",
                level="warning",
            )
        )
    return problems
