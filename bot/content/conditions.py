"""Conditions over per-session variables, parsed once at load time (never ``eval``).

The grammar is small on purpose, so authors who are not programmers can read it::

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "not" factor | "(" expr ")" | NAME (("==" | "!=") VALUE)?

A bare ``NAME`` is true when a flag is set (or a choice has any value); ``NAME == VALUE``
compares a choice. Unset flags are false, unset choices equal nothing.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:(==|!=|\(|\))|([A-Za-z_][A-Za-z0-9_-]*))")
_KEYWORDS = frozenset({"and", "or", "not"})

Values = Mapping[str, str]
"""A session's variables: name -> value (flags are ``"true"``/``"false"``)."""


class ConditionError(ValueError):
    """A condition that does not follow the grammar; the message says where and why."""


@dataclass(frozen=True)
class Var:
    """``name`` or ``name == value`` / ``name != value``."""

    name: str
    value: str | None = None
    negate: bool = False

    def holds(self, values: Values) -> bool:
        """Whether this test is true for ``values``."""
        current = values.get(self.name)
        if self.value is None:
            result = current is not None and current != "false"
        else:
            result = current == self.value
        return result != self.negate


@dataclass(frozen=True)
class Not:
    """``not inner``."""

    inner: Condition

    def holds(self, values: Values) -> bool:
        """Whether this test is true for ``values``."""
        return not self.inner.holds(values)


@dataclass(frozen=True)
class All:
    """``a and b and …``."""

    parts: tuple[Condition, ...]

    def holds(self, values: Values) -> bool:
        """Whether this test is true for ``values``."""
        return all(p.holds(values) for p in self.parts)


@dataclass(frozen=True)
class Any_:
    """``a or b or …``."""

    parts: tuple[Condition, ...]

    def holds(self, values: Values) -> bool:
        """Whether this test is true for ``values``."""
        return any(p.holds(values) for p in self.parts)


Condition = Var | Not | All | Any_


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Condition:
    """Parse ``text`` into a condition; raises :class:`ConditionError` naming the problem."""
    tokens = list(_tokens(text))
    if not tokens:
        raise ConditionError("the condition is empty")
    pos, cond = _expr(tokens, 0, text)
    if pos != len(tokens):
        raise ConditionError(f"unexpected '{tokens[pos]}' in '{text}' (join tests with and/or)")
    return cond


def names(cond: Condition) -> Iterator[Var]:
    """Every variable test in ``cond``."""
    if isinstance(cond, Var):
        yield cond
    elif isinstance(cond, Not):
        yield from names(cond.inner)
    else:
        for part in cond.parts:
            yield from names(part)


def compared(conds: Iterable[Condition]) -> frozenset[str]:
    """The names that some condition in ``conds`` compares with a value (``==``, ``!=``)."""
    return frozenset(v.name for cond in conds for v in names(cond) if v.value is not None)


def assignments(domains: Mapping[str, tuple[str | None, ...]]) -> Iterator[dict[str, str]]:
    """Every combination of the given variables' values (``None`` = unset)."""
    keys = sorted(domains)
    for combo in itertools.product(*(domains[k] for k in keys)):
        yield {k: v for k, v in zip(keys, combo, strict=True) if v is not None}


def _tokens(text: str) -> Iterator[str]:
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConditionError(
                f"cannot read '{text[pos:].strip()}' in '{text}' (use names, and, or, not,"
                " ==, != and parentheses)"
            )
        yield m.group(1) or m.group(2)
        pos = m.end()


def _expr(tokens: list[str], pos: int, text: str) -> tuple[int, Condition]:
    pos, first = _term(tokens, pos, text)
    parts = [first]
    while pos < len(tokens) and tokens[pos] == "or":
        pos, nxt = _term(tokens, pos + 1, text)
        parts.append(nxt)
    return pos, first if len(parts) == 1 else Any_(tuple(parts))


def _term(tokens: list[str], pos: int, text: str) -> tuple[int, Condition]:
    pos, first = _factor(tokens, pos, text)
    parts = [first]
    while pos < len(tokens) and tokens[pos] == "and":
        pos, nxt = _factor(tokens, pos + 1, text)
        parts.append(nxt)
    return pos, first if len(parts) == 1 else All(tuple(parts))


def _factor(tokens: list[str], pos: int, text: str) -> tuple[int, Condition]:
    if pos >= len(tokens):
        raise ConditionError(f"'{text}' ends too early (a name is missing at the end)")
    tok = tokens[pos]
    if tok == "not":
        pos, inner = _factor(tokens, pos + 1, text)
        return pos, Not(inner)
    if tok == "(":
        pos, inner = _expr(tokens, pos + 1, text)
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ConditionError(f"a ')' is missing in '{text}'")
        return pos + 1, inner
    if tok in _KEYWORDS or tok in {"==", "!=", ")"}:
        raise ConditionError(f"a variable name is missing before '{tok}' in '{text}'")
    pos += 1
    if pos < len(tokens) and tokens[pos] in {"==", "!="}:
        op = tokens[pos]
        if pos + 1 >= len(tokens) or tokens[pos + 1] in _KEYWORDS | {"(", ")", "==", "!="}:
            raise ConditionError(f"a value is missing after '{tok} {op}' in '{text}'")
        return pos + 2, Var(tok, tokens[pos + 1], negate=op == "!=")
    return pos, Var(tok)
