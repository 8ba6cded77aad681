"""Text normalisation and the language data the matcher reads words with.

Words count as the same when their stems are (umlauts folded, "ae" typed for "ä", British
and American spellings alike; English negations written short are spelt out first), and
when the content's synonym groups (``synonyms`` in ``bot.yaml``) put them together: every
member of a group stands for the group's first word, in the index and in questions alike
(:class:`Lexicon`). The word lists themselves are data (``bot/lang/*.yaml``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

import snowballstemmer

from bot import lang as lang_data

_WORD = re.compile(r"[^\W\d_]+|\d+")
_FOLD = str.maketrans(
    {
        **{
            c: base
            for c in map(chr, range(0xC0, 0x180))
            if c.islower() and (base := unicodedata.normalize("NFKD", c)[0]) != c and base.isascii()
        },
        "ß": "ss",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "æ": "ae",
        "œ": "oe",
    }
)
"""Every lower-case Latin letter with a diacritic to its base letter (ä, é, ñ, ą, ł, ...):
people type them without, so the index compares both spellings alike."""
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_STEMMERS = {c: d.stemmer for c, d in lang_data.languages().items() if d.stemmer}
_GRAMS = (3, 5)
"""Character n-gram lengths: 3 survives a typo in a short word, 5 keeps long words apart."""
_MAX_WORD = 40
"""Longer "words" are cut: no real word is longer, and n-grams grow with the length."""

# The word lists are data, one file per language (bot/lang/*.yaml): see bot.lang.
_LANGUAGES = lang_data.languages()


@lru_cache(maxsize=65536)
def fold(word: str, lang: str) -> str:
    """``word`` with umlauts and accents folded; in German also ae/oe/ue (typed umlauts)."""
    word = word.translate(_FOLD)
    if lang == "de":
        word = _DIGRAPHS.sub(lambda m: m.group(1)[0], word)
    return word


def _typed(ws: frozenset[str], lang: str) -> frozenset[str]:
    """``ws`` and each word as typed without its accents ("się" and "sie"): a message is
    looked up folded, a word list is written as spelt."""
    return ws | {fold(w, lang) for w in ws}


STOPWORDS: dict[str, frozenset[str]] = {c: _typed(d.stopwords, c) for c, d in _LANGUAGES.items()}
"""Words that say nothing about the topic (articles, pronouns, auxiliaries, greetings)."""
OTHER_PARTIES = lang_data.common().other_parties
"""Other companies and products: a question about them is not about Meta's training, even
when it shares every other word with a node. Unless the content talks about them, the
matcher abstains."""
OTHER_ROLES: dict[str, frozenset[str]] = {c: d.other_roles for c, d in _LANGUAGES.items()}
"""Kinds of party legal words may be aimed at besides Meta: a question that names one the
content never mentions, and neither Meta, its apps nor the training, asks about someone
else's Widerspruch ("gegen den Rentenbescheid"). Compounds count by their last part."""
_META_WORDS = lang_data.common().meta_words | lang_data.union("topic_words")
"""Words that tie a question to Meta and its AI training, whatever else it names."""
_ROLE_ENDING = 2
"""Letters of an ending a question may add to a kind of party ("employers", "Ämtern")."""
_ENDINGS = ("", "s", "e", "n", "en", "es", "er", "n")
_BRANDS = lang_data.common().brands
"""Compounds starting with these name Meta's apps too ("Facebookkonto")."""
_PLATFORMS = lang_data.common().platforms | lang_data.common().platform_names.keys()
"""Names of Meta's apps, short forms and common misspellings ("fejsa", "feisbuk") included."""
_NOT = lang_data.union("denials")
"""Words that say someone does not use a platform ("hab kein fb", "not on Facebook")."""
_NEGATION_REACH = 3
"""A negation this many words before or after a platform denies it ("Instagram nutze ich nicht")."""
_ASKING: dict[str, frozenset[str]] = {
    c: _typed(d.question_words | d.negations, c) for c, d in _LANGUAGES.items()
}
"""Question words and negations (kept for ranking, not counted as topical evidence)."""
_NEGATIONS = lang_data.union("negations")
CLAUSE_PUNCTUATION = re.compile(r"[,.;:!?()\n–—…]|\s-\s")
"""Punctuation that ends a clause, dashes and "…" included: where a short answer's first
clause or a stated age ends (``answers.kept_unused``, ``ages.age_in``)."""
_CLAUSE_BREAK = re.compile(
    r"[,.!?;:\n()–—]+|\s(?=(?:" + "|".join(sorted(lang_data.union("clause_breaks"))) + r")\s)",
    re.IGNORECASE,
)
"""Where a statement about one platform ends ("kein fb, nur insta", "not on fb but insta")."""

_SQUEEZE = re.compile(r"(.)\1{2,}")


_NOT_CONTRACTED = re.compile(
    r"\b(?:(can|won|shan|ain)['’]?t|(do|does|did|is|are|was|were|have|has|had|could|should"
    r"|would|must|need)n['’]?t)\b"
)
"""English negations written short, with or without the apostrophe ("can't", "dont",
"isn’t"): without their "not" they would leave a stray "isn" and lose the negation."""
_NOT_LONG = {"can": "can", "won": "will", "shan": "shall", "ain": "is"}
_WOULD_LIKE = re.compile(r"(?:['’]d|\bwould)\s+like\b")
""""I'd like to object" wants something; its "like" is no "like" of a post."""
_DOTTED_AI = re.compile(r"\b([ak])\.i\.?(?!\w)")
""""A.I.", "K.I.": one word, not two letters."""


def _not(found: re.Match[str]) -> str:
    verb = found.group(1)
    return f"{_NOT_LONG[verb] if verb else found.group(2)} not"


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``: punctuation, emoji and symbols dropped; English
    negations written short spelt out ("don't" -> "do not"), "I'd like" a want, "A.I." one
    word."""
    return list(_words_of(text))


@lru_cache(maxsize=64)
def _words_of(text: str) -> tuple[str, ...]:
    # A small cache: one message is read word by word a dozen times while it is matched
    # (greeting, exact wording, clauses, ranking), never again after the next few messages.
    text = unicodedata.normalize("NFKC", text).lower()
    if "t" in text:
        text = _NOT_CONTRACTED.sub(_not, text)
    if "like" in text:
        text = _WOULD_LIKE.sub(" want", text)
    if ".i" in text:
        text = _DOTTED_AI.sub(r"\1i", text)
    # "opt-out", "e-mail", "whats app": one word each, as the content writes them.
    text = text.replace("opt-out", "optout").replace("opt out", "optout")
    text = text.replace("e-mail", "email").replace("whats app", "whatsapp")
    return tuple(w[:_MAX_WORD] for w in _WORD.findall(text))


def _squeeze(word: str) -> str:
    """``word`` with letters drawn out three times or more typed once ("hiii", "moooin")."""
    return _SQUEEZE.sub(r"\1", word)


def content_words(text: str, lang: str) -> list[str]:
    """The words of ``text`` that can carry its topic (stop words dropped)."""
    stop = STOPWORDS.get(lang, frozenset())
    return [w for w in words(text) if w not in stop and fold(w, lang) not in stop]


@cache
def _stemmer(lang: str) -> snowballstemmer.stemmer | None:
    name = _STEMMERS.get(lang)
    return snowballstemmer.stemmer(name) if name else None


@lru_cache(maxsize=65536)
def stem(word: str, lang: str) -> str:
    """Snowball stem of ``word``, umlauts folded; English in one spelling (British and
    American: "anonymised", "anonymized")."""
    stemmer = _stemmer(lang)
    if lang == "en":
        word = american(word)
    return fold(stemmer.stemWord(word) if stemmer else word, lang)


def stems(ws: Iterable[str], lang: str) -> dict[str, str]:
    """:func:`stem` of each of ``ws``, the Snowball stemmer called once for all of them."""
    ws = list(ws)
    stemmer = _stemmer(lang)
    spelt = [american(w) for w in ws] if lang == "en" else ws
    found = stemmer.stemWords(spelt) if stemmer else spelt
    return {w: fold(s, lang) for w, s in zip(ws, found, strict=True)}


_BRITISH = [
    # organise, analyse, anonymisation (a stem of three letters at least: not "rise")
    (re.compile(r"(?<=\w{3})(i|y)s(e|es|ed|ing|ation|ations|er|ers)$"), r"\1z\2"),
    # colour, favourite, behaviours (long words only: not "four", "hour", "your")
    (re.compile(r"(?<=\w{3})our(s|ed|ing|ite|ites|able)?$"), r"or\1"),
    # centre, metres (not "tre" alone)
    (re.compile(r"(?<=\w{3})tre(s|d)?$"), r"ter\1"),
    (re.compile(r"^(lic|def|off|pret)ences?$"), r"\1ense"),
    (re.compile(r"^(program|catalog|dialog)u?mes?$|^(program)mes?$"), r"\1\2"),
]
"""British spellings and their American form, as far as a word's ending tells."""


def american(word: str) -> str:
    """``word`` in American spelling ("colour" -> "color", "centre" -> "center")."""
    for pattern, repl in _BRITISH:
        word = pattern.sub(repl, word)
    return word


def grams(word: str, lang: str) -> tuple[str, ...]:
    """Character n-grams of the folded ``word`` with boundary marks (``<wi``, ``ch>``).

    Not remembered here: a question word's ranking row, which needs them, is remembered by
    each index (:data:`bot.matching.lexical._VECTOR_CACHE`), and a word's n-grams take some
    1.6 KiB (a cache of 65,536 held 13 MiB after an index was built, for nothing)."""
    padded = f"<{fold(word, lang)}>"
    lo, hi = _GRAMS
    return tuple(padded[i : i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1))


class Lexicon:
    """How one language's text becomes terms, with the content's synonym groups applied.

    Every member of a group (``content/bot.yaml``, ``synonyms``) stands for the group's
    first member: its stem becomes the first member's stem, in the index and in questions
    alike, so "austragen" finds examples that say "widersprechen". Phrases ("opt out",
    "künstliche Intelligenz") are joined into one word first. Inflected forms share a
    member's stem ("Einsprüche", "Einspruch"); other forms must be listed.
    """

    def __init__(self, lang: str, groups: Sequence[Sequence[str]] = ()) -> None:
        self.lang = lang
        self.stop = STOPWORDS.get(lang, frozenset())
        self._canonical: dict[str, str] = {}  # stem -> the group's stem
        self._head: dict[str, str] = {}  # the group's stem -> the group's first word
        self._phrases: dict[tuple[str, ...], str] = {}
        """Each phrase's stems and the one word it is joined into: the entry as the group
        writes it, so that an inflected phrase ("maila z potwierdzeniem") finds the group."""
        self._longest = 1
        for group in groups:
            entries = [ws for ws in (words(entry) for entry in group) if ws]
            if not entries:
                continue
            head = "".join(entries[0])
            canonical = stem(head, lang)
            self._head.setdefault(canonical, head)
            for ws in entries:
                if len(ws) > 1:
                    self._phrases.setdefault(tuple(stem(w, lang) for w in ws), "".join(ws))
                    self._longest = max(self._longest, len(ws))
                # The first group naming a word keeps it (``bot check`` warns about repeats).
                self._canonical.setdefault(stem("".join(ws), lang), canonical)
        self._starts = {phrase[0] for phrase in self._phrases}
        self._stems: dict[str, str] = {}
        self._raw_stems: dict[str, str] = {}
        self._stop_cache: dict[str, bool] = {}

    def words(self, text: str) -> list[str]:
        """The words of ``text`` with synonym phrases joined ("opt out" -> "optout")."""
        return self.join(words(text))

    def join(self, ws: list[str]) -> list[str]:
        """``ws`` with synonym phrases joined into one word each."""
        if not self._phrases or len(ws) < 2:
            return ws
        stems = [self.raw_stem(w) for w in ws]
        if self._starts.isdisjoint(stems[:-1]):
            return ws
        out: list[str] = []
        i = 0
        while i < len(ws):
            if stems[i] not in self._starts:
                out.append(ws[i])
                i += 1
                continue
            for n in range(min(self._longest, len(ws) - i), 1, -1):
                joined = self._phrases.get(tuple(stems[i : i + n]))
                if joined is not None:
                    out.append(joined)
                    i += n
                    break
            else:
                out.append(ws[i])
                i += 1
        return out

    def learn(self, ws: Iterable[str]) -> None:
        """Stem the words of ``ws`` not stemmed yet, all at once (faster than one by one)."""
        new = {w for w in ws if w not in self._raw_stems}
        if len(self._raw_stems) + len(new) < 65536:
            self._raw_stems.update(stems(new, self.lang))

    def starts_phrase(self, word: str) -> bool:
        """Whether ``word`` may start a synonym phrase (:meth:`join` may join it)."""
        return self.raw_stem(word) in self._starts

    def content_words(self, text: str) -> list[str]:
        """The words of ``text`` that can carry its topic (stop words dropped)."""
        return self.topical(self.words(text))

    def topical(self, ws: list[str]) -> list[str]:
        """``ws`` (as :meth:`words` gives them) without stop words."""
        return [w for w in ws if not self._is_stop(w)]

    def _is_stop(self, word: str) -> bool:
        found = self._stop_cache.get(word)
        if found is None:
            found = word in self.stop or fold(word, self.lang) in self.stop
            if len(self._stop_cache) < 65536:
                self._stop_cache[word] = found
        return found

    def raw_stem(self, word: str) -> str:
        """The Snowball stem of ``word`` (umlauts folded), synonyms not applied."""
        found = self._raw_stems.get(word)
        if found is None:
            found = stem(word, self.lang)
            if len(self._raw_stems) < 65536:
                self._raw_stems[word] = found
        return found

    def stem(self, word: str) -> str:
        """The stem of ``word``; for a synonym, its group's stem."""
        found = self._stems.get(word)
        if found is None:
            found = self.raw_stem(word)
            found = self._canonical.get(found, found)
            if len(self._stems) < 65536:
                self._stems[word] = found
        return found

    def grams(self, word: str) -> tuple[str, ...]:
        """Character n-grams of ``word``; a synonym also gets its group head's."""
        own = grams(word, self.lang)
        s = self.stem(word)
        head = self._head.get(s)
        if head is None or s == self.raw_stem(word):
            return own
        return own + grams(head, self.lang)
