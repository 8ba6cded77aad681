"""``check`` rules for per-session variables and conditions (the guided checklist).

Kept apart from the wording and structure rules in ``validate.py``: every rule here is about
``variables:`` in bot.yaml, ``set:`` on options and ``if:`` on options and text blocks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
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


def _dead_ends(meta: Meta, nodes: Mapping[str, Node]) -> list[Problem]:
    """Nodes where, for some reachable combination of variables, no option of theirs is shown.

    Explores every (node, variables) a user can get to by buttons, starting anywhere with no
    variables set (a deep link or a typed question can open any node in a fresh session).
    """
    from bot.content.loader import Problem

    conditional = {n.id for n in nodes.values() if any(o.when for o in n.options)}
    if not conditional:
        return []
    # A flag no condition compares with a value acts the same set to "false" as not set:
    # counting both as one state keeps the exploration small for long checklists.
    compared = conditions.compared(
        c
        for n in nodes.values()
        for c in [*(o.condition for o in n.options), *(b.condition for b in n.blocks)]
        if c is not None
    )
    bare = {k for k, spec in meta.variables.items() if spec.type == "flag" and k not in compared}
    # A state's variables as one slot per declared variable (None: not set), so that a
    # button's assignments are slots to overwrite rather than dicts to merge and sort.
    names = sorted(meta.variables)
    slot = {name: i for i, name in enumerate(names)}
    State = tuple[str | None, ...]

    def assigned(option_sets: dict[str, str]) -> tuple[tuple[int, str | None], ...]:
        # A bare flag set to "false" counts as not set (see above); unknown names are
        # reported as errors of their own.
        return tuple(
            (slot[k], None if v == "false" and k in bare else v)
            for k, v in sorted(option_sets.items())
            if k in slot
        )

    # Each option's condition and assignments once, not once per state visited (thousands).
    moves = {
        node.id: [(o.to, o.condition, assigned(o.assignments())) for o in node.options]
        for node in nodes.values()
    }
    # What a node shows depends only on the variables its conditions name: states that
    # agree on those share one evaluation.
    named = {
        node.id: sorted(
            {
                slot[t.name]
                for o in node.options
                if o.condition
                for t in conditions.names(o.condition)
                if t.name in slot
            }
        )
        for node in nodes.values()
    }
    showing: dict[tuple[str, State], list[tuple[str, tuple[tuple[int, str | None], ...]]]] = {}

    def values_of(state: State) -> dict[str, str]:
        return {names[i]: v for i, v in enumerate(state) if v is not None}

    def shown_at(
        node_id: str, state: State
    ) -> list[tuple[str, tuple[tuple[int, str | None], ...]]]:
        relevant = (node_id, tuple(state[i] for i in named[node_id]))
        shown = showing.get(relevant)
        if shown is None:
            values = values_of(state)
            shown = showing[relevant] = [
                (to, sets)
                for to, cond, sets in moves[node_id]
                if cond is None or cond.holds(values)
            ]
        return shown

    empty: State = (None,) * len(names)
    start = [(node_id, empty) for node_id in nodes]
    seen = set(start)
    todo = deque(start)
    stuck: dict[str, dict[str, str]] = {}
    while todo and len(seen) < MAX_STATES:
        node_id, state = todo.popleft()
        shown = shown_at(node_id, state)
        if not shown and node_id in conditional and node_id not in stuck:
            stuck[node_id] = values_of(state)
        for to, sets in shown:
            if to not in nodes:
                continue  # reported as an error of its own
            after = state
            if sets:
                changed = list(state)
                for i, v in sets:
                    changed[i] = v
                after = tuple(changed)
            if (to, after) not in seen:
                seen.add((to, after))
                todo.append((to, after))
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


def _allowed(kind: str, values: tuple[str, ...]) -> tuple[str, ...]:
    return ("true", "false") if kind == "flag" else values


def _declare_hint(name: str, declared: Mapping[str, object]) -> str:
    from rapidfuzz import process

    found = process.extractOne(name, list(declared)) if declared else None
    if found and found[1] >= 70:
        return f"did you mean '{found[0]}'? Otherwise declare it under 'variables:' in bot.yaml"
    return "declare it under 'variables:' in bot.yaml (type: flag or choice)"
