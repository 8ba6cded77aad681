"""A message that says how old the writer is ("ich bin 16", "mam 16 lat", "I'm 15").

A message that only says so asks, without saying it, whether any of this applies to the
writer: the content names the page for readers below an age (``minors`` in ``bot.yaml``), and
the shapes of such a message are language data (``age_phrases`` in ``bot/lang/<code>.yaml``,
the age written as ``{age}``). Case and accents do not matter. :func:`stated_age` wants one of
the shapes as a whole; :func:`age_in` finds one with its unit ("ho 17 anni", "I'm 16 years
old") inside a question ("ho 17 anni e ho ig, meta usa le mie foto?"), where the page that
answers a minor is another than an adult's.
"""

from __future__ import annotations

from functools import cache

from bot import lang as lang_data
from bot.matching.text import CLAUSE_PUNCTUATION, fold, words

_AGE = "{age}"


def stated_age(text: str, lang: str) -> int | None:
    """The age ``text`` states as a whole in one of the ``age_phrases`` of ``lang`` or, where
    the message is too short to tell its language ("I'm 16" in a German chat), of another
    language; else ``None``."""
    for code in (lang, *(c for c in lang_data.languages() if c != lang)):
        said = [fold(w, code) for w in words(text)]
        numbers = [i for i, w in enumerate(said) if w.isdigit()]
        if len(numbers) != 1:
            return None
        at = numbers[0]
        if " ".join([*said[:at], _AGE, *said[at + 1 :]]) in _shapes(code):
            return int(said[at])
    return None


def age_in(text: str, lang: str) -> int | None:
    """The writer's age that ``text`` states anywhere in a shape of ``lang`` with words before
    and after the age (who, and the unit: "ho 17 anni", "mam 16 lat", "I am 16 years old"): a
    bare number after "ho" or "I'm" ("ho 2 account") says no age, nor does "10 anni fa".
    ``None`` where it states none or two."""
    found = _age_spans(text, lang)
    return found[0][0] if len({age for age, _, _ in found}) == 1 else None


def without_age(text: str, lang: str) -> str:
    """``text`` without the statement of the writer's age (:func:`age_in`), as its words: "I'm
    16 years old, how do I object?" asks "how do I object?". ``text`` itself where it states
    no age."""
    found = _age_spans(text, lang)
    if not found:
        return text
    said = words(text)
    cut = {i for _, start, end in found for i in range(start, end)}
    return " ".join(w for i, w in enumerate(said) if i not in cut)


def _age_spans(text: str, lang: str) -> list[tuple[int, int, int]]:
    """Each statement of an age in ``text`` (:func:`age_in`): the age and the span of its
    words. A statement ends its clause or comes before "and" ("ho 17 anni, ...", "I'm 16
    years old and ..."): "ho 15 anni di post" counts years of posts."""
    if not any(c.isdigit() for c in text):
        return []  # most messages state no number at all: nothing to fold or split
    data = lang_data.languages().get(lang)
    ands = data.and_words if data is not None else frozenset()
    said = [fold(w, lang) for w in words(text)]
    ends = _clause_ends(text, lang, len(said))
    found = []
    for shape in _units(lang):
        at = shape.index(_AGE)
        for start in range(len(said) - len(shape) + 1):
            here = said[start : start + len(shape)]
            end = start + len(shape)
            if not (here[at].isdigit() and [*here[:at], _AGE, *here[at + 1 :]] == shape):
                continue
            if end in ends or said[end] in ands:
                found.append((int(here[at]), start, end))
    return found


def _clause_ends(text: str, lang: str, count: int) -> set[int]:
    """The word positions at which a clause of ``text`` ends (after its last word): at
    punctuation, dashes and the end. Counted by :func:`words` on the text up to each break,
    as the whole text's words are counted ("A.I." is one word)."""
    ends = {count}
    for found in CLAUSE_PUNCTUATION.finditer(text):
        ends.add(len(words(text[: found.start()])))
    return ends


@cache
def _units(lang: str) -> tuple[list[str], ...]:
    """``lang``'s age phrases with a word after the age, as word lists (:func:`age_in`)."""
    # Only shapes that say who is that old ("ho", "I'm"): "10 anni fa" dates a post.
    return tuple(
        shape.split()
        for shape in sorted(_shapes(lang))
        if shape.split()[-1] != _AGE and shape.split()[0] != _AGE
    )


@cache
def _shapes(lang: str) -> frozenset[str]:
    """``lang``'s age phrases as :func:`stated_age` compares them: words folded, the age as
    ``{age}``."""
    data = lang_data.languages().get(lang)
    if data is None:
        return frozenset()
    shapes = set()
    for phrase in data.age_phrases:
        before, _, after = phrase.partition(_AGE)
        shapes.add(
            " ".join(
                [
                    *(fold(w, lang) for w in words(before)),
                    _AGE,
                    *(fold(w, lang) for w in words(after)),
                ]
            )
        )
    return frozenset(shapes)
