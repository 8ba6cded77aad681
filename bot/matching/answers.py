"""Answers typed to a yes/no question of the guided checklist: "ja", "nö", "weiß nicht",
"ja nutz ich", "nope", or the name of the app the question asks about ("facebook").

The words are language data (``yes_words``, ``no_words``, ``unsure_words`` in
``bot/lang/<code>.yaml``; app names in ``common.yaml``). Not knowing wins over a "nicht" in
it ("weiß nicht"), a denial over a "yes" ("ja, aber kein Facebook" is not "yes").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from bot import lang as lang_data
from bot.matching.text import fold, words

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
    if _has(ws, data.yes_words):
        return "yes"
    return None


def apps(text: str) -> set[str]:
    """The Meta apps ``text`` names, by the name the content uses ("insta" -> "instagram")."""
    return {_APPS[f] for w in words(text) if (f := fold(w, "en")) in _APPS}


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


def named_option(text: str, labels: dict[int, list[str]]) -> int | None:
    """The one option whose label (in any language) ``text`` says as whole words ("ich wohne
    in Österreich", "in Spain" at the question where someone lives), else ``None``: a short
    answer naming a button, not a question that happens to name a country."""
    ws = words(text)
    if not ws or len(ws) > _MAX_LABELLED:
        return None
    found = {i for i, said in labels.items() if _has(ws, said)}
    return found.pop() if len(found) == 1 else None


_MAX_LABELLED = 6
"""Longer messages that name a button's label are questions of their own."""
