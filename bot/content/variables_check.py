"""``check`` rules for per-session variables and conditions (the guided checklist).

Kept apart from the wording and structure rules in ``validate.py``: every rule here is about
``variables:`` in bot.yaml, ``set:`` on options and ``if:`` on options and text blocks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from bot.content import conditions
from bot.content.models import Meta, Node

if TYPE_CHECKING:
    from bot.content.loader import Problem

SET_ID_LIMIT = 32
"""Button data of an option with ``set`` is ``@set:<node>-<index>``; adapters take 32 after ':'."""

MAX_STATES = 200_000
"""How many (node, variables) combinations the dead-end search explores before giving up."""

LineOf = Callable[[Node, tuple[str | int, ...]], int]


def variable_problems(meta: Meta, nodes: Mapping[str, Node], line_of: LineOf) -> list[Problem]:
    """Unknown variables, values not allowed, conditions never true, and checklist dead ends."""
    from bot.content.loader import Problem

    problems: list[Problem] = []
    declared = meta.variables
    for name, spec in declared.items():
        if spec.type == "choice" and not spec.values:
            problems.append(
                Problem(
                    "bot.yaml",
                    0,
                    f"choice variable '{name}' has no values",
                    "list them, e.g. values: [de, at, ch]",
                )
            )

    def check_condition(node: Node, path: tuple[str | int, ...], text: str) -> None:
        cond = conditions.parse(text)
        bad = False
        for test in conditions.names(cond):
            spec = declared.get(test.name)
            if spec is None:
                bad = True
                problems.append(
                    Problem(
                        node.file,
                        line_of(node, path),
                        f"condition '{text}' in '{node.id}' uses unknown variable '{test.name}'",
                        _declare_hint(test.name, declared),
                    )
                )
            elif test.value is not None and test.value not in _allowed(spec.type, spec.values):
                bad = True
                problems.append(
                    Problem(
                        node.file,
                        line_of(node, path),
                        f"condition '{text}' in '{node.id}' compares '{test.name}' with"
                        f" '{test.value}', which it can never hold",
                        f"use one of: {', '.join(_allowed(spec.type, spec.values))}",
                    )
                )
        if bad:
            return
        used = {t.name for t in conditions.names(cond)}
        domains = {n: declared[n].domain() for n in used}
        if not any(cond.holds(v) for v in conditions.assignments(domains)):
            problems.append(
                Problem(
                    node.file,
                    line_of(node, path),
                    f"condition '{text}' in '{node.id}' can never be true",
                    "check for a test and its opposite joined by 'and'",
                )
            )

    for node in nodes.values():
        for i, option in enumerate(node.options):
            if option.assign and len(f"{node.id}-{i}") > SET_ID_LIMIT:
                problems.append(
                    Problem(
                        node.file,
                        line_of(node, ("options", i, "set")),
                        f"node id '{node.id}' is too long for buttons that set variables",
                        f"shorten it to at most {SET_ID_LIMIT - 3} characters",
                    )
                )
            if option.when is not None:
                check_condition(node, ("options", i, "if"), option.when)
            for name, value in option.assign.items():
                setting = declared.get(name)
                where = line_of(node, ("options", i, "set"))
                if setting is None:
                    problems.append(
                        Problem(
                            node.file,
                            where,
                            f"option {i + 1} of '{node.id}' sets unknown variable '{name}'",
                            _declare_hint(name, declared),
                        )
                    )
                elif setting.type == "flag" and not isinstance(value, bool):
                    problems.append(
                        Problem(
                            node.file,
                            where,
                            f"option {i + 1} of '{node.id}' sets flag '{name}' to '{value}'",
                            "a flag is true or false",
                        )
                    )
                elif setting.type == "choice" and (
                    isinstance(value, bool) or value not in setting.values
                ):
                    problems.append(
                        Problem(
                            node.file,
                            where,
                            f"option {i + 1} of '{node.id}' sets '{name}' to '{value}',"
                            " which is not one of its values",
                            f"use one of: {', '.join(setting.values)}",
                        )
                    )
        for i, block in enumerate(node.blocks):
            check_condition(node, ("blocks", i, "if"), block.when)
    if problems:
        return problems
    return _dead_ends(meta, nodes)


_SEARCHED: dict[str, dict[str, dict[str, str]]] = {}
"""Dead ends found, by what the search reads (see _dead_ends): a reload of content whose
checklist did not change (a text edit) skips the search."""
_SEARCHED_KEEP = 4


def _dead_ends(meta: Meta, nodes: Mapping[str, Node]) -> list[Problem]:
    """Nodes where, for some reachable combination of variables, no option of theirs is shown.

    Explores every (node, variables) a user can get to by buttons, starting anywhere with no
    variables set (a deep link or a typed question can open any node in a fresh session).
    """
    from bot.content.loader import Problem

    # All the search reads: the declared variables and every node's buttons.
    key = repr(
        (
            sorted((k, v.type, v.values) for k, v in meta.variables.items()),
            [
                (n.id, [(o.to, o.when, sorted(o.assignments().items())) for o in n.options])
                for n in nodes.values()
            ],
        )
    )
    stuck = _SEARCHED.get(key)
    if stuck is None:
        stuck = _stuck(meta, nodes)
        while len(_SEARCHED) >= _SEARCHED_KEEP:
            del _SEARCHED[next(iter(_SEARCHED))]
        _SEARCHED[key] = stuck
    problems = []
    for node_id, values in stuck.items():
        node = nodes[node_id]
        when = ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "nothing set"
        problems.append(
            Problem(
                node.file,
                node.line,
                f"checklist node '{node_id}' shows none of its options when {when}",
                "add an option for that case, or one without 'if'",
            )
        )
    return problems


def _stuck(meta: Meta, nodes: Mapping[str, Node]) -> dict[str, dict[str, str]]:
    """The first state found per node that shows none of its options (see _dead_ends)."""
    conditional = {n.id for n in nodes.values() if any(o.when for o in n.options)}
    # Only a node whose every option has a condition, and whose conditions are not true
    # together for every value its variables can hold, can show none: without any such node
    # there is nothing to search for (the usual case: a checklist step always has a way on).
    candidates = {n for n in conditional if _may_show_none(meta, nodes[n])}
    if not candidates:
        return {}
    # A flag no condition compares with a value acts the same set to "false" as not set:
    # counting both as one state keeps the exploration small for long checklists.
    compared = conditions.compared(
        c
        for n in nodes.values()
        for c in [*(o.condition for o in n.options), *(b.condition for b in n.blocks)]
        if c is not None
    )
    bare = {k for k, spec in meta.variables.items() if spec.type == "flag" and k not in compared}
    # A state's variables packed into one int, a few bits per declared variable (0: not
    # set): a button's assignments are one mask and one "or", and the part of a state that
    # a node's conditions read is one "and" (a search visits about a hundred thousand).
    names = sorted(meta.variables)
    slot = {name: i for i, name in enumerate(names)}

    def assigned(option_sets: dict[str, str]) -> list[tuple[int, str | None]]:
        # A bare flag set to "false" counts as not set (see above); unknown names are
        # reported as errors of their own.
        return [
            (slot[k], None if v == "false" and k in bare else v)
            for k, v in sorted(option_sets.items())
            if k in slot
        ]

    options = {
        node.id: [(o.to, o.condition, assigned(o.assignments())) for o in node.options]
        for node in nodes.values()
    }
    # Only values some button sets can ever be held: those get codes 1, 2, ...
    values: list[list[str]] = [[] for _ in names]
    for moves_of in options.values():
        for _, _, sets in moves_of:
            for i, v in sets:
                if v is not None and v not in values[i]:
                    values[i].append(v)
    shift: list[int] = []
    width = 0
    for held in values:
        shift.append(width)
        width += max(len(held), 1).bit_length()
    field = [((1 << (len(values[i]) or 1).bit_length()) - 1) << shift[i] for i in range(len(names))]

    def mask_of(slots: Iterable[int]) -> int:
        mask = 0
        for i in slots:
            mask |= field[i]
        return mask

    def move(sets: list[tuple[int, str | None]]) -> tuple[int, int]:
        keep, put = ~mask_of(i for i, _ in sets), 0
        for i, v in sets:
            if v is not None:
                put |= (values[i].index(v) + 1) << shift[i]
        return keep, put

    def values_of(state: int) -> dict[str, str]:
        out = {}
        for i, name in enumerate(names):
            code = (state & field[i]) >> shift[i]
            if code:
                out[name] = values[i][code - 1]
        return out

    # Each option's condition and assignments once, not once per state visited.
    moves = {
        node_id: [(to, cond, *move(sets)) for to, cond, sets in moves_of]
        for node_id, moves_of in options.items()
    }
    # What a node shows depends only on the variables its conditions name: states that
    # agree on those share one evaluation.
    named = {
        node.id: {
            slot[t.name]
            for o in node.options
            if o.condition
            for t in conditions.names(o.condition)
            if t.name in slot
        }
        for node in nodes.values()
    }
    reads = {node_id: mask_of(slots) for node_id, slots in named.items()}
    # A variable matters at a node only while some condition there or ahead may read it
    # before a button sets it again ("live"). States that agree on a node's live variables
    # show the same buttons everywhere ahead: each is explored once, carried by the first
    # state that got there, so the search finds the same first dead end with the same
    # values in fewer states.
    live = {
        node_id: mask_of(slots)
        for node_id, slots in _live_slots(
            named, {k: [(t, s) for t, _, s in m] for k, m in options.items()}, nodes
        ).items()
    }
    tag = {node_id: n << width for n, node_id in enumerate(nodes)}
    showing: dict[tuple[str, int], list[tuple[str, int, int]]] = {}

    def shown_at(node_id: str, state: int) -> list[tuple[str, int, int]]:
        relevant = (node_id, state & reads[node_id])
        shown = showing.get(relevant)
        if shown is None:
            held = values_of(state)
            shown = showing[relevant] = [
                (to, keep, put)
                for to, cond, keep, put in moves[node_id]
                if cond is None or cond.holds(held)
            ]
        return shown

    seen = {tag[node_id] for node_id in nodes}
    todo = deque((node_id, 0) for node_id in nodes)
    stuck: dict[str, dict[str, str]] = {}
    while todo and len(seen) < MAX_STATES:
        node_id, state = todo.popleft()
        shown = shown_at(node_id, state)
        if not shown and node_id in candidates and node_id not in stuck:
            stuck[node_id] = values_of(state)
            if len(stuck) == len(candidates):
                break  # the first state of each is found: the rest cannot change them
        for to, keep, put in shown:
            if to not in nodes:
                continue  # reported as an error of its own
            after = state & keep | put
            reached = tag[to] | after & live[to]
            if reached not in seen:
                seen.add(reached)
                todo.append((to, after))
    return stuck


TAUTOLOGY_COMBINATIONS = 4096
"""Up to how many combinations of a node's variables are tried to show that some option of
it is always shown; a node with more is searched (see _stuck)."""


def _may_show_none(meta: Meta, node: Node) -> bool:
    """Whether, for some values of the variables its options test, ``node`` shows none of
    them (``True`` too when there are too many combinations to try)."""
    conds = [o.condition for o in node.options]
    if not conds or any(c is None for c in conds):
        return not conds
    used = {t.name for c in conds if c is not None for t in conditions.names(c)}
    domains = {n: meta.variables[n].domain() for n in used if n in meta.variables}
    if len(domains) != len(used):
        return True  # an unknown variable: reported as an error of its own
    combinations = 1
    for values in domains.values():
        combinations *= len(values)
    if combinations > TAUTOLOGY_COMBINATIONS:
        return True
    return not all(
        any(c is not None and c.holds(v) for c in conds) for v in conditions.assignments(domains)
    )


def _live_slots(
    named: Mapping[str, set[int]],
    moves: Mapping[str, list[tuple[str, list[tuple[int, str | None]]]]],
    nodes: Mapping[str, Node],
) -> dict[str, set[int]]:
    """Per node, the variables (slots) a condition at it or ahead may read before a button
    sets them: its own conditions' and what its buttons' targets read that the button does
    not set, until nothing changes."""
    live = {node_id: set(slots) for node_id, slots in named.items()}
    changed = True
    while changed:
        changed = False
        for node_id, options in moves.items():
            here = live[node_id]
            for to, sets in options:
                if to in nodes:
                    ahead = live[to] - {i for i, _ in sets}
                    if not ahead <= here:
                        here |= ahead
                        changed = True
    return live


def _allowed(kind: str, values: tuple[str, ...]) -> tuple[str, ...]:
    return ("true", "false") if kind == "flag" else values


def _declare_hint(name: str, declared: Mapping[str, object]) -> str:
    from rapidfuzz import process

    found = process.extractOne(name, list(declared)) if declared else None
    if found and found[1] >= 70:
        return f"did you mean '{found[0]}'? Otherwise declare it under 'variables:' in bot.yaml"
    return "declare it under 'variables:' in bot.yaml (type: flag or choice)"
