"""A message that only says how old the writer is ("ich bin 16", "mam 16 lat", "I'm 15").

Such a message asks, without saying so, whether any of this applies to the writer: the
content names the page for readers below an age (``minors`` in ``bot.yaml``), and the shapes
of such a message are language data (``age_phrases`` in ``bot/lang/<code>.yaml``, the age
written as ``{age}``). Case and accents do not matter; the message must be one of the shapes
as a whole ("ich bin 16, werden meine Fotos genutzt?" is a question for the ranking).
"""

from __future__ import annotations

from functools import cache

from bot import lang as lang_data
from bot.matching.text import fold, words

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
