"""Answers typed to a yes/no question of the guided checklist: "ja", "nö", "weiß nicht",
"ja nutz ich", "nope", or the name of the app the question asks about ("facebook"); what a
button's label answers; which of several buttons that mean the same answer a message picks
("beides" -> "Ja, für beide").

The words are language data (``yes_words``, ``no_words``, ``unsure_words`` in
``bot/lang/<code>.yaml``; app names in ``common.yaml``). Not knowing wins over a "nicht" in
it ("weiß nicht"), a denial over a "yes" ("ja, aber kein Facebook" is not "yes").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Literal

from bot import lang as lang_data
from bot.matching.text import _BRANDS, CLAUSE_PUNCTUATION, fold, stem, words

Meaning = Literal["yes", "no", "unsure"]

_LANGUAGES = lang_data.languages()
_APPS = lang_data.common().platform_names
_MAX_WORDS = 8
"""Longer messages are questions or stories, not answers to a yes/no question."""


def _spelt(ws: Iterable[str]) -> str:
    """Words as one string, case and umlauts folded ("weiß" and "weiss" alike), padded."""
    return " " + " ".join(fold(w.casefold(), "de") for w in ws) + " "


def _has(ws: list[str], phrases: Iterable[str]) -> bool:
    """Whether one of ``phrases`` occurs in the words ``ws`` as whole words."""
    padded = _spelt(ws)
    return any(_spelt(words(p)) in padded for p in phrases if words(p))


def meaning(text: str, lang: str) -> Meaning | None:
    """What ``text`` answers to a yes/no question: yes, no, unsure, or ``None`` (no answer)."""
    ws = words(text)
    data = _LANGUAGES.get(lang)
    if not ws or data is None or len(ws) > _MAX_WORDS:
        return None
    if _has(ws, data.unsure_words):
        return "unsure"
    if _has(ws, data.no_words):
        return "no"
    both = _folded(lang, "both_words")
    if _has(ws, data.yes_words) or any(fold(w, lang) in both for w in ws):
        return "yes"
    return None


@cache
def _folded(lang: str, field: str) -> frozenset[str]:
    """The language's word list ``field`` (``both_words``, ``no_words``, ``question_words``,
    ``stopwords``), folded as messages are; made once: every answer is compared with them."""
    data = _LANGUAGES.get(lang)
    return frozenset(fold(w, lang) for w in getattr(data, field)) if data else frozenset()


def apps(text: str) -> set[str]:
    """The Meta apps ``text`` names, by the name the content uses ("insta" -> "instagram"),
    also with an ending or as a compound's first part ("na Facebooku", "na WhatsAppie",
    "Instagramkonto")."""
    found = set()
    for w in words(text):
        f = fold(w, "en")
        app = _APPS.get(f) or next((_APPS.get(b, b) for b in _BRANDS if f.startswith(b)), None)
        if app is not None:
            found.add(app)
    return found


def named_app_answer(text: str, lang: str, asked: Iterable[str]) -> Meaning | None:
    """``text`` names one of the ``asked`` apps ("facebook" at "Nutzt du Facebook?"): yes,
    or no when it says so ("kein facebook")."""
    ws = words(text)
    if len(ws) > _MAX_WORDS or not apps(text) & set(asked):
        return None
    said = meaning(text, lang)
    return "no" if said == "no" else "unsure" if said == "unsure" else "yes"


def other_apps_only(text: str, lang: str, asked: Iterable[str]) -> Meaning | None:
    """``text`` says it is only about apps the question does not ask about ("nur Instagram"
    at "Nutzt du Facebook?", "only WhatsApp"): no."""
    ws = words(text)
    data = _LANGUAGES.get(lang)
    named, asked = apps(text), set(asked)
    if data is None or len(ws) > _MAX_WORDS or not named or not asked or named & asked:
        # A question about no app ("Chattest du mit Meta AI?") is not answered by naming one.
        return None
    return "no" if any(w in data.only_words for w in ws) else None


_MAX_KEPT_WORDS = 12
"""Longer than an answer (:data:`_MAX_WORDS`): "I have one but I don't use it any more" is
eleven words once "don't" is spelt out; longer is a story."""


def kept_unused(text: str, lang: str) -> bool:
    """Whether ``text`` says an account exists but is not used: "si ma non lo uso da anni",
    "mam, ale już nie używam", "non lo uso più ma c'è" (a clause that does not deny, set
    against one that denies using, by a word for "but"), or "nutze ich nicht mehr", "ya no
    lo uso" (what is no longer used was there)."""
    data = _LANGUAGES.get(lang)
    ws = [fold(w, lang) for w in words(text)]
    if data is None or not ws or len(ws) > _MAX_KEPT_WORDS:
        return False
    # "Nein, nutze ich nicht, aber Instagram schon", "no, deleted it, I don't use it": a
    # message whose first clause is a bare no, or that names an app (another's use), says
    # no account here; "non lo uso più ma c'è" opens with a negation, not with a no.
    first = [fold(w, lang) for w in words(CLAUSE_PUNCTUATION.split(text, maxsplit=1)[0])]
    if " ".join(first) in _folded(lang, "no_words") or apps(text):
        return False

    def unused(clause: list[str]) -> bool:
        return bool(set(clause) & data.use_words) and bool(set(clause) & data.negations)

    cut = next((i for i, w in enumerate(ws) if w in data.contrast_words), None)
    if cut is None:
        return unused(ws) and bool(set(ws) & data.anymore_words)
    before, after = ws[:cut], ws[cut + 1 :]
    return any(
        have and not set(have) & data.negations and unused(use)
        for have, use in ((before, after), (after, before))
    )


def answer(text: str, lang: str, asked: Iterable[str]) -> Meaning | None:
    """What ``text`` answers to a checklist question about the apps ``asked`` (none for a
    question about no app): at a question whether an account of one app exists, yes where
    it says the account is there but unused (:func:`kept_unused`); else what its words say
    ("ja", "weiß nicht"), else what naming an asked app says ("facebook", "kein facebook"),
    else no if it is only about other apps ("nur Instagram"); ``None`` when it is no
    answer."""
    apps_asked = set(asked)
    if len(apps_asked) == 1 and kept_unused(text, lang):
        return "yes"
    return (
        meaning(text, lang)
        or named_app_answer(text, lang, apps_asked)
        or other_apps_only(text, lang, apps_asked)
    )


def asks(text: str, lang: str) -> bool:
    """Whether ``text`` asks something ("facebook erledigt? was heißt das", "what does meta
    ai done mean"): a question mark or a question word first, and no yes, no or not sure in
    it. A question about a checklist's buttons, not an answer that ticks one."""
    data = _LANGUAGES.get(lang)
    said = words(text)
    if data is None or not said or meaning(text, lang) is not None:
        # "creo que sí", "ja, wie gesagt": an answer, whatever conjunction it has.
        return False
    return "?" in text or fold(said[0], lang) in _folded(lang, "question_words")


def label_meaning(label: str, lang: str) -> Meaning:
    """What a checklist button without ``means`` answers, from its label: "Kein Facebook" and
    "No Instagram" say no, "Weiß nicht" unsure, anything else yes."""
    found = meaning(label, lang)
    return found if found is not None else "yes"


def pick_option(text: str, lang: str, labels: dict[int, str]) -> int | None:
    """Which of the buttons that mean what ``text`` answers it picks, given their ``labels``
    (one at least, in the order shown); ``None`` where it does not say which.

    Where several mean "yes" ("Ja, für Facebook", "Ja, für Instagram", "Ja, für beide"), the
    answer must say which: the app it names ("na insta"), both apps or a word for both
    ("beides", "na obu"), or a word of one label that not every label has. A bare "ja" picks
    none: ticking Facebook for it would mark done what the reader never said they did."""
    if len(labels) == 1:
        return next(iter(labels))
    both = _folded(lang, "both_words")
    folded = {i: {fold(w, lang) for w in letter_words(label)} for i, label in labels.items()}
    for_both = [i for i in labels if folded[i] & both]
    named_apps = apps(text)
    if len(named_apps) > 1 or {fold(w, lang) for w in letter_words(text)} & both:
        return for_both[0] if len(for_both) == 1 else None
    if named_apps:
        by_app = [i for i in labels if apps(labels[i]) == named_apps and i not in for_both]
        return by_app[0] if len(by_app) == 1 else None
    said_by = {i: {stem(w, lang) for w in letter_words(label)} for i, label in labels.items()}
    common = set.intersection(*said_by.values())  # "ja", "für"
    typed = {stem(w, lang) for w in letter_words(text)}
    named = [i for i in labels if typed & (said_by[i] - common)]
    return named[0] if len(named) == 1 else None


_LETTER_WORD = re.compile(r"[^\W\d_]+")


def letter_words(text: str) -> frozenset[str]:
    """The words of a label or a message, case folded; digits and punctuation dropped."""
    return frozenset(w.casefold() for w in _LETTER_WORD.findall(text))


def named_option(text: str, labels: dict[int, list[str]]) -> int | None:
    """The one option whose label (in any language) ``text`` says as whole words ("ich wohne
    in Österreich", "in Spain" at the question where someone lives), else ``None``: a short
    answer naming a button, not a question that happens to name a country."""
    ws = words(text)
    if not ws or len(ws) > _MAX_LABELLED:
        return None
    found = {i for i, said in labels.items() if _has(ws, said)}
    return found.pop() if len(found) == 1 else None


def words_of_option(text: str, lang: str, labels: dict[int, list[str]]) -> int | None:
    """The one option whose label (in any language) has every word of ``text`` but the small
    ones ("outside the eu", "außerhalb der EU" for "Außerhalb von EU/EWR"), where ``text``
    names two words at least; else ``None``: "eu" alone fits two buttons."""
    said = {fold(w, lang) for w in words(text)} - _folded(lang, "stopwords")
    if len(said) < 2 or len(words(text)) > _MAX_LABELLED:
        return None
    found = {
        i
        for i, texts in labels.items()
        if any(said <= {fold(w, lang) for w in words(t)} for t in texts)
    }
    return found.pop() if len(found) == 1 else None


_MAX_LABELLED = 6
"""Longer messages that name a button's label are questions of their own."""


def ordinal(text: str, lang: str) -> int | None:
    """The place of the button ``text`` picks by its place ("the second one", "die zweite",
    "la deuxième", "drugą"), 1 for the first; ``None`` for any other message. Read in
    ``lang`` first, then in the other languages (a short message tells little of its own)."""
    said = words(text)
    if not said or len(said) > _MAX_WORDS:
        return None
    for code in (lang, *(c for c in _LANGUAGES if c != lang)):
        places, fillers = _ordinals(code)
        rest = [fold(w, code) for w in said if fold(w, code) not in fillers]
        if len(rest) == 1 and rest[0] in places:
            return places[rest[0]]
        if len(rest) == 1 and rest[0].isdigit() and len(rest) < len(said):
            return int(rest[0])  # "la 2", "optie 2", "number 2"
    return None


@cache
def _ordinals(lang: str) -> tuple[dict[str, int], frozenset[str]]:
    """``lang``'s ordinal words, folded, with their numbers, and its fillers, folded."""
    data = _LANGUAGES.get(lang)
    if data is None:
        return {}, frozenset()
    places = {}
    for pair in data.ordinal_words:
        number, _, word = pair.partition(":")
        places[fold(word, lang)] = int(number)
    return places, frozenset(fold(w, lang) for w in data.ordinal_fillers)
