"""What a long message asks, and which platforms it says someone does not use.

A long message is weighted by what it asks: its asking clauses count most, the situation it
explains least (:func:`asking_parts`). A platform the question says someone does not use
("Instagram nutze ich nicht") is no evidence when it names another one they do use
(:func:`without_denied_platforms`).
"""

from __future__ import annotations

import re
import unicodedata

from bot import lang as lang_data
from bot.matching.text import (
    _ASKING,
    _BRANDS,
    _CLAUSE_BREAK,
    _NEGATION_REACH,
    _NEGATIONS,
    _NOT,
    _PLATFORMS,
    _WORD,
    words,
)

SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
"""A sentence with its closing punctuation."""
PIECE = re.compile(r"[^,;:()]+[,;:()]*")
"""Pieces of a sentence between commas (and the like), each with its punctuation."""
_CLAUSE_PIECE = re.compile(r"[^,;:]+[,;:]*")
"""Pieces of a sentence between commas, where clauses may start: an aside in brackets
("Meine Oma (82) hat Facebook ...") starts none."""
_LANGUAGES = lang_data.languages()


def _per_language(field: str) -> dict[str, frozenset[str]]:
    return {c: getattr(d, field) for c, d in _LANGUAGES.items()}


# The words that tell which clause of a long message asks are data (bot/lang/<code>.yaml).
_CONJUNCTION: dict[str, re.Pattern[str]] = {
    c: re.compile(r"\s+(?=(?:" + "|".join(sorted(map(re.escape, d.conjunctions))) + r")\s)", re.I)
    for c, d in _LANGUAGES.items()
    if d.conjunctions
}
"""Where a piece continues with a conjunction ("..., und wo mache ich das")."""
_LEADING = _per_language("clause_leading")
"""Words a clause may start with before its question begins ("und wo mache ich das"); not
"jetzt", "dann", "also": a German statement that starts with them puts its verb next ("Jetzt
hat mir meine Nachbarin erzählt")."""
_STARTERS = _per_language("question_starters")
"""Verbs a question may start with ("Muss ich ...?"), at the start of a sentence or after a
comma only: after "und" they continue a statement ("Ich bin 80 und habe Facebook")."""
_REQUESTS = _per_language("request_words")
"""Words a request starts with ("erklär mir ...", "please tell me")."""
_PLEASE = _per_language("please_words")
"""Words that make a request anywhere ("bitte", "please")."""
_WANTING = _per_language("wanting_words")
"""After "ich"/"I": a request ("ich möchte widersprechen", "I'd like to know")."""
_SELF = _per_language("self_words")
_SUBORDINATE = _per_language("subordinate_words")
"""Words that start a side clause rather than the question ("..., dass Meta alles nimmt")."""
_ASKING_CLAUSE = 1.0
"""Weight of the words of a long message's asking clauses ("wie kann ich widersprechen")."""
_ASKING_SENTENCE = 0.6
"""Weight of the other words of a sentence that asks (side clauses in the question)."""
_REMARK = 0.5
"""Weight of the words of the sentences that do not ask (the situation, side remarks)."""
_SHARP = 4
"""How much more sharply the confidence features look at the question than the ranking does
(weights to this power)."""


_AND = lang_data.union("and_words")
_JOINED = re.compile(r"\s*(\w+)\s+(\w+)")


def _joins_platforms(low: str, at: int) -> bool:
    """Whether the clause break before ``at`` is an and-word between two platforms
    ("facebook e insta no entrenen", "fb und insta nicht"): what follows says it of both."""
    before = _WORD.findall(low[max(0, at - 40) : at])
    after = _JOINED.match(low, at)
    return bool(
        before
        and after
        and _platform(before[-1])
        and after.group(1) in _AND
        and _platform(after.group(2))
    )


def _platform(token: str) -> bool:
    """Whether the lower-cased word ``token`` names one of Meta's apps, also with an ending
    ("Facebooka nie mam", "kein Instagramkonto")."""
    return token in _PLATFORMS or token.startswith(_BRANDS)


def without_denied_platforms(text: str) -> str:
    """``text`` without the platforms it says someone does not use, when it names another
    one they do use: "Ich bin nur bei Facebook, Instagram nutze ich nicht" asks about
    Facebook, "no Instagram account, just fb" too. The clause that denies the platform is
    blanked. A text that denies every platform it names ("Ich
    habe kein Facebook") is left as it is: not having an account is then the point.

    A platform is denied when a clause names only it and a negation at most
    ``_NEGATION_REACH`` words away, or when a denial comes right before it ("nur Facebook
    kein Insta"); clauses end at punctuation and before "aber", "nur", "but", "only" and the
    like, but not at an "and" between two platforms ("facebook e insta no entrenen" denies
    neither: it says what neither should do)."""
    low = unicodedata.normalize("NFKC", text).lower()
    if len(low) != len(text):
        text = low
    breaks = [m for m in _CLAUSE_BREAK.finditer(low) if not _joins_platforms(low, m.end())]
    starts = [0, *(m.end() for m in breaks)]
    ends = [*(m.start() for m in breaks), len(low)]
    blank: list[tuple[int, int]] = []
    positive = False
    for start, end in zip(starts, ends, strict=True):
        tokens = list(_WORD.finditer(low, start, max(start, end)))
        named = [i for i, t in enumerate(tokens) if _platform(t.group())]
        if not named:
            continue
        denials = [i for i, t in enumerate(tokens) if t.group() in _NOT]
        if len(named) == 1 and any(abs(i - named[0]) <= _NEGATION_REACH for i in denials):
            # The whole clause: its other words ("nutze", "have") are about the denied
            # platform too, and left behind they would dilute what the rest asks.
            blank.append((tokens[0].start(), tokens[-1].end()))
            continue
        # Several platforms in one clause: one right after a denial is denied on its own
        # ("nur Facebook kein Insta", "solo facebook nn insta", "only fb not ig") where
        # another has no denial before it ("jamais eu insta ni facebook" denies both).
        denied = [i for i in named if i - 1 in denials]
        used = [i for i in named if not any(0 < i - d <= _NEGATION_REACH for d in denials)]
        if denied and used:
            blank += [(tokens[i - 1].start(), tokens[i].end()) for i in denied]
        positive = positive or bool(used) or not denied
    if not (blank and positive):
        return text
    chars = list(text)
    for a, b in blank:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def asking_parts(text: str, lang: str) -> list[tuple[str, float]]:
    """A long message's pieces, each weighted by how much it says what is asked: the asking
    clauses most, the rest of the asking sentences less, the other sentences least (they
    still tell the topic when the question says only "was mache ich falsch?"). Empty when
    no sentence asks.

    A clause asks when it starts with a question word, with a verb at the start of a
    sentence or after a comma ("..., muss ich trotzdem widersprechen"), or makes a request
    ("bitte", "erklär mir", "ich möchte", "I'd like"); a side clause ("dass ...", "weil
    ...") never does. A sentence asks when one of its clauses does or when it ends with
    "?" (then its last main clause asks).
    """
    questions = _ASKING.get(lang, frozenset()) - _NEGATIONS
    starters = _STARTERS.get(lang, frozenset())
    requests = _REQUESTS.get(lang, frozenset())
    wanting = _WANTING.get(lang, frozenset())
    leading = _LEADING.get(lang, frozenset())
    subordinate = _SUBORDINATE.get(lang, frozenset())
    please = _PLEASE.get(lang, frozenset())
    me = _SELF.get(lang, frozenset())
    conjunction = _CONJUNCTION.get(lang)

    def asks(ws: list[str], first: bool) -> bool:
        rest = [w for w in ws if w not in leading] or [""]
        head = rest[0]
        return (
            head in questions
            or (first and head in starters)
            or head in requests
            or not please.isdisjoint(ws)
            or head in wanting  # "..., und möchte mich beschweren"
            or (head in me and len(rest) > 1 and rest[1] in wanting)
        )

    parts: list[tuple[str, float]] = []
    found = False
    for sentence in SENTENCE.findall(text):
        if not words(sentence):
            continue
        # Clauses: the pieces between commas, split again before a conjunction; the first
        # clause of a piece may start with a verb.
        clauses = [
            (clause, k == 0)
            for piece in _CLAUSE_PIECE.findall(sentence)
            for k, clause in enumerate(conjunction.split(piece) if conjunction else [piece])
            if words(clause)
        ]
        side = [
            (rest[0] if (rest := [w for w in words(c) if w not in leading]) else "") in subordinate
            for c, _ in clauses
        ]
        chosen = {
            i for i, (c, first) in enumerate(clauses) if not side[i] and asks(words(c), first)
        }
        if sentence.rstrip().endswith("?") and not chosen:
            chosen = {max((i for i in range(len(clauses)) if not side[i]), default=-1)}
        if not chosen - {-1}:
            parts.append((sentence, _REMARK))
            continue
        found = True
        parts += [
            (c, _ASKING_CLAUSE if i in chosen else _ASKING_SENTENCE)
            for i, (c, _) in enumerate(clauses)
        ]
    return parts if found else []
