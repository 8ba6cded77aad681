"""A message that asks the bot for a language ("do you speak French?", "auf Englisch bitte",
"¿hablas español?"): no question about a topic, but a change of language, as ``/lang`` is.

Without this, "do you speak French?" got the page on France's data protection authority, and
"spreek je ook Nederlands?" the one on the Netherlands'.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache

from bot import lang as lang_data
from bot.language_detect import fold
from bot.matching.text import words

MAX_WORDS = 8
"""Longer messages ask something besides ("kannst du mir auf Englisch erklären, wie ich
widerspreche?" is a question about objecting, in German)."""


def language_asked(text: str, languages: Collection[str], reader: str | None = None) -> str | None:
    """The code of the language ``text`` asks the bot to use: one of ``languages`` (the
    content's), ``""`` for a language the content lacks ("do you speak Portuguese?"), ``None``
    when it asks for none.

    The message is short (:data:`MAX_WORDS`), names exactly one language in any language
    ("Französisch", "french", "po francusku"; each language file's ``language_names``), and
    either asks the bot to speak, write or answer in it, with no other word but small ones ("do
    you speak", "sprichst du auch", "parles-tu") or names it with no other word but "please"
    and a word for "in" ("auf Englisch bitte", "english?"). "thank you in Swedish?" asks for
    a word, "und in Italien?" about a country; saying it of oneself asks for nothing ("I'm
    German") unless it says speaking ("I speak Dutch"). Without a word of speaking, the name
    must be one a reader of ``reader`` (the chat's language) would type: its name in
    ``reader``, in itself or in English. French "italien" in a German chat is Italy
    ("Italien"), not Italian."""
    said = [fold(w) for w in words(text)]
    if not said or len(said) > MAX_WORDS:
        return None
    known = _known()
    named = {known.names[w] for w in said if w in known.names}
    if not named and any(w in known.language_words for w in said):
        # "what languages do you speak?", "zmień język": which ones the bot has.
        rest = [w for w in said if w not in known.language_words]
        asks = any(w in known.speak for w in rest) and all(
            w in known.small | known.speak for w in rest
        )
        return "" if asks else None
    if len(named) != 1:
        return None
    rest = [w for w in said if w not in known.names]
    # With a word of speaking, small words around it; without, only "in" and "please".
    speaks = any(w in known.speak for w in rest)
    allowed = known.small | known.speak if speaks else known.joining
    if not all(w in allowed for w in rest):
        return None
    code = named.pop()
    if not speaks and reader is not None and code in languages:
        readable = {reader, code, "en"}
        if not any(known.named_in.get(w, set()) & readable for w in said):
            return None
    return code if code in languages else ""


class _Known:
    """The words of every language file, as :func:`language_asked` reads them."""

    def __init__(self, data: Mapping[str, lang_data.Language]) -> None:
        self.names: dict[str, str] = {}
        self.named_in: dict[str, set[str]] = {}
        """A language's name -> the languages whose files give it ("italien": fr)."""
        for language in data.values():
            for pair in language.language_names:
                code, _, name = pair.partition(":")
                self.names[fold(name)] = code
                self.named_in.setdefault(fold(name), set()).add(language.code)
        self.speak = frozenset(fold(w) for d in data.values() for w in d.speak_words)
        self.language_words = frozenset(fold(w) for d in data.values() for w in d.language_words)
        joining: set[str] = set()
        small: set[str] = set()
        for d in data.values():
            joining |= d.please_words | d.place_words | d.language_joins
            small |= d.stopwords | d.question_words | d.question_starters | d.wanting_words
        self.joining = frozenset(fold(w) for w in joining) - self.speak
        self.small = (frozenset(fold(w) for w in small) | self.joining) - self.speak


@cache
def _known() -> _Known:
    return _Known(lang_data.languages())
