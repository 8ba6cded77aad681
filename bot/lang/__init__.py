"""What the matcher knows about each language, as data: ``bot/lang/<code>.yaml``.

Stop words, question words, negations, the words that end a clause and the kinds of party
legal words may be aimed at are per language; Meta's apps and other companies are the same
in every language (``common.yaml``). A new language is a new file here (plus its content
texts): the matcher takes every word list from these files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).parent
FREQUENT_DIR = HERE / "frequent"
"""Each language's frequent words for language detection (``<code>.txt``), written by
``bench/frequent_words.py``."""


@dataclass(frozen=True)
class Language:
    """Word lists of one language (see ``de.yaml`` for what each one is for)."""

    code: str
    stemmer: str
    stopwords: frozenset[str]
    question_words: frozenset[str]
    negations: frozenset[str]
    denials: frozenset[str]
    clause_breaks: frozenset[str]
    topic_words: frozenset[str]
    other_roles: frozenset[str]
    unaccented: bool = False
    """People often type this language without its accents ("odmowila" for "odmówiła"): the
    dense signal reads such a word as the content spells it (``LanguageIndex.with_accents``)."""
    detect_words: frozenset[str] = frozenset()
    """Language detection only (``bot.language_detect``): frequent words of this language."""
    detect_marks: frozenset[str] = frozenset()
    """Letters, letter groups and punctuation written in this language."""
    detect_endings: frozenset[str] = frozenset()
    """Word endings typical of this language."""
    yes_words: frozenset[str] = frozenset()
    no_words: frozenset[str] = frozenset()
    unsure_words: frozenset[str] = frozenset()
    """Answers to a yes/no question, words and phrases."""
    only_words: frozenset[str] = frozenset()
    """Words that make naming another app an answer "no" ("nur Instagram" at "Nutzt du
    Facebook?")."""
    use_words: frozenset[str] = frozenset()
    """Forms of "to use" ("nutze", "uso", "używam"): "ce l'ho ma non lo uso" says an account
    exists, not that there is none (:func:`bot.matching.answers.kept_unused`)."""
    contrast_words: frozenset[str] = frozenset()
    """Words for "but" that set two clauses against each other ("ja, aber ...")."""
    anymore_words: frozenset[str] = frozenset()
    """Words that make "not used" "no longer used" ("nicht mehr", "non più", "już nie"):
    what is no longer used was there."""
    follow_up_starts: frozenset[str] = frozenset()
    follow_up_phrases: frozenset[str] = frozenset()
    """Openings of more than one word that mark a follow-up ("what about", "was ist mit")."""
    condition_words: frozenset[str] = frozenset()
    """Words that make a follow-up ask about a case of the same topic ("und wenn ...?",
    "what if ...?") rather than move on to another."""
    why_words: frozenset[str] = frozenset()
    why_phrases: frozenset[str] = frozenset()
    """Why asked in more than one word ("¿por qué?")."""
    reason_words: frozenset[str] = frozenset()
    """Nouns that ask why only with a question word ("what was the reasoning?", "mit
    welcher Begründung?"), not alone ("do I have to give a reason?")."""
    reason_questions: frozenset[str] = frozenset()
    """The question words that make a reason word ask why."""
    reference_words: frozenset[str] = frozenset()
    instead_words: frozenset[str] = frozenset()
    """Words that ask for another way than the page just read ("what can I do instead?",
    "was kann ich stattdessen tun?"): a follow-up answered by what the page offers, not the
    page."""
    instead_phrases: frozenset[str] = frozenset()
    """Phrases that ask the same ("any other way?", "gibt's einen anderen Weg?")."""
    percent_phrases: frozenset[str] = frozenset()
    """The words for per cent ("Prozent", "por ciento"): "15 prozent von 80" asks for a sum
    (no question for the bot), not about the survey's figures."""
    translation_phrases: frozenset[str] = frozenset()
    """Phrases that open a request to translate a word ("wie sagt man", "how do you say",
    "cómo se dice"): such a message is no question for the bot, whatever language or
    country it names ("cómo se dice gracias en francés" is not about France), unless it
    names Meta or its AI ("comment on dit non à Meta pour l'IA ?")."""
    refusal_phrases: frozenset[str] = frozenset()
    """Phrases in which the writer says they do not want something ("ich will nicht", "je
    veux pas", "nie chcę"; the writer's own, never "he does not want"): a question that
    says it about a page with a ``how`` is answered by that ``how`` ("ich will nicht, dass
    Meta meine Posts für die KI nimmt" asks how to stop it, not what Meta does)."""
    doing_words: frozenset[str] = frozenset()
    """Words for doing something that name no way of doing it ("tun", "do", "anything"): "was
    kann ich stattdessen tun?" names no other way, "kann ich stattdessen widersprechen?"
    does."""
    how_words: frozenset[str] = frozenset()
    """Question words that ask how or where to do something ("wie mache ich das?"): a
    node's ``how`` answers them typed right after it."""
    clause_leading: frozenset[str] = frozenset()
    """Reading a long message (``bot.matching.clauses``): words a clause may start with
    before its question begins ("und wo mache ich das")."""
    question_starters: frozenset[str] = frozenset()
    """Verbs a question may start with, at the start of a sentence or after a comma."""
    request_words: frozenset[str] = frozenset()
    """Words a request starts with ("erklär mir ...")."""
    please_words: frozenset[str] = frozenset()
    """Words that make a request wherever they stand ("bitte", "please")."""
    wanting_words: frozenset[str] = frozenset()
    """After a word of ``self_words``: a request ("ich möchte ...", "I'd like ...")."""
    self_words: frozenset[str] = frozenset()
    """The word for "I" (and its short forms)."""
    subordinate_words: frozenset[str] = frozenset()
    """Words that start a side clause rather than the question ("dass", "because")."""
    conjunctions: frozenset[str] = frozenset()
    """Where a piece of a sentence continues with another clause ("und", "but")."""
    and_words: frozenset[str] = frozenset()
    """Words that join two names into one ("und", "and", "y"): "facebook e insta no
    entrenen" says the same of both apps; no clause about one of them starts there."""
    living_words: frozenset[str] = frozenset()
    """Words for living somewhere ("wohne", "live", "mieszkam")."""
    working_words: frozenset[str] = frozenset()
    """Words for working somewhere ("arbeite", "work", "pracuję")."""
    name_endings: frozenset[str] = frozenset()
    """Endings a company's name takes in this language ("tiktoka", "z linkedinem"): a
    question about TikTok in Polish names TikTok."""
    speak_words: frozenset[str] = frozenset()
    """Words that ask the bot to speak, write or answer in a language ("sprichst", "speak",
    "parles", "odpowiadać"): "sprichst du auch Englisch?" asks for English."""
    language_joins: frozenset[str] = frozenset()
    """Words that put a language's name in a request besides ``place_words`` ("auf Englisch",
    "po polsku", "in het Engels", "por favor")."""
    language_names: frozenset[str] = frozenset()
    """The names of languages in this language, each as ``code:name`` ("fr:französisch",
    "pl:polsku", "pt:portugiesisch"): "auf Englisch bitte" asks for ``en``; a code the content
    does not have ("pt") gets the list of the languages it has."""
    ordinal_words: frozenset[str] = frozenset()
    """A button picked by its place, as ``<number>:<word>`` ("2:second", "2:zweite")."""
    ordinal_fillers: frozenset[str] = frozenset()
    """Small words around an ordinal ("the", "one", "die"): see :func:`bot.matching.answers.ordinal`."""
    origin_words: frozenset[str] = frozenset()
    """Words that say where someone is from ("aus", "from"): see
    :meth:`bot.matching.named_pages.CountryPages.only_place`."""
    language_words: frozenset[str] = frozenset()
    """Words for "language(s)": asked with a word of speaking and no language named ("what
    languages do you speak?"), the list of the bot's languages."""
    seat_words: frozenset[str] = frozenset()
    """Words for where a company has its seat ("Sitz", "sede", "siedziba"): "must I complain in
    Ireland since Meta has its seat there?" asks which authority is responsible (the country
    table's ``seat``)."""
    situation_roles: frozenset[str] = frozenset()
    """Beginnings of the words of ``other_roles`` that a story often names only as where the
    writer was or is ("im Krankenhaus", "in college", "seit der Rente"): such a party counts
    as the one asked about only in what the message asks, where any other counts anywhere in
    it ("Cerré la cuenta en mi banco … ¿Puedo exigir que borren todos mis datos?")."""
    scope_words: frozenset[str] = frozenset()
    """Words that ask whether something applies somewhere ("gilt", "apply", "vale", "dotyczy"):
    "does this apply in Portugal?" asks about the place it names, like "where do I complain
    in Portugal?" (:class:`bot.matching.named_pages.CountryPages`)."""
    age_phrases: frozenset[str] = frozenset()
    """Whole messages that only say the writer's age, the age written ``{age}`` ("ich bin
    {age}", "mam {age} lat"): see :mod:`bot.matching.ages`."""
    both_words: frozenset[str] = frozenset()
    """Words for both of two ("beide", "both", "oba", "obu"): an answer to a checklist question
    (yes) that picks the button for both ("Ja, für beide")."""
    place_words: frozenset[str] = frozenset()
    """Words that say where, after a word of living or working ("in", "au", "w"): "ich wohne
    in Trier und arbeite in Luxemburg" names two places, "I live and work in Luxembourg"
    one, and "vivo en Dublín por trabajo" works nowhere else."""


@dataclass(frozen=True)
class Common:
    """Words alike in every language."""

    meta_words: frozenset[str]
    platforms: frozenset[str]
    brands: tuple[str, ...]
    other_parties: frozenset[str]
    platform_names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Short names of Meta's apps and the name the content uses ("fb" -> "facebook")."""


def _words(data: Mapping[str, object], key: str, file: Path) -> frozenset[str]:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{file}: '{key}' must be a block of words separated by spaces")
    return frozenset(value.split())


def _optional_words(data: Mapping[str, object], key: str, file: Path) -> frozenset[str]:
    return _words(data, key, file) if key in data else frozenset()


def _answers(data: Mapping[str, object], key: str, file: Path) -> frozenset[str]:
    """A list of words and phrases (lower case, single spaces)."""
    value = data.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{file}: '{key}' must be a list of words and phrases")
    return frozenset(" ".join(v.casefold().split()) for v in value)


def _read(file: Path) -> dict[str, object]:
    # libyaml's loader when present: the pure-Python one is most of the matcher's import time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(file.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a mapping of word lists")
    return data


_PHRASE_LISTS = (
    "yes_words",
    "no_words",
    "unsure_words",
    "follow_up_phrases",
    "instead_phrases",
    "refusal_phrases",
    "percent_phrases",
    "translation_phrases",
    "why_phrases",
    "age_phrases",
)
"""The word lists of a language file that are YAML lists of phrases, not blocks of words."""


def _flag(data: Mapping[str, object], key: str, file: Path) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{file}: '{key}' must be true or false")
    return value


def _reader(
    field: dataclasses.Field[frozenset[str]],
) -> Callable[[Mapping[str, object], str, Path], frozenset[str]]:
    """How the language files' list ``field`` is read: a list of phrases, else a block of
    words, required where :class:`Language` has no default for it."""
    if field.name in _PHRASE_LISTS:
        return _answers
    return _words if field.default is dataclasses.MISSING else _optional_words


@cache
def languages() -> Mapping[str, Language]:
    """Every language with a word-list file, by code."""
    found = {}
    for file in sorted(HERE.glob("*.yaml")):
        if file.stem == "common":
            continue
        data = _read(file)
        found[file.stem] = Language(
            code=file.stem,
            stemmer=str(data.get("stemmer", "")),
            unaccented=_flag(data, "unaccented", file),
            **{
                field.name: _reader(field)(data, field.name, file)
                for field in dataclasses.fields(Language)
                if field.name not in ("code", "stemmer", "unaccented")
            },
        )
    return found


@cache
def common() -> Common:
    """The words of ``common.yaml``."""
    file = HERE / "common.yaml"
    data = _read(file)
    return Common(
        meta_words=_words(data, "meta_words", file),
        platforms=_words(data, "platforms", file),
        brands=tuple(sorted(_words(data, "brands", file))),
        other_parties=_words(data, "other_parties", file),
        platform_names=dict(
            pair.split(":", 1)
            for pair in _optional_words(data, "platform_names", file)
            if ":" in pair
        ),
    )


def union(field: str) -> frozenset[str]:
    """One word list of every language together (for text whose language is not known)."""
    out: set[str] = set()
    for lang in languages().values():
        out |= getattr(lang, field)
    return frozenset(out)


class WordList:
    """Many words kept compactly: sorted, as bytes, in one numpy array (about 20 bytes a word
    where a set of strings takes some 90); a lookup is a binary search."""

    def __init__(self, words: Iterable[str] | Iterable[bytes]) -> None:
        """``words``: as text, or UTF-8 encoded (as read from a file), in any order."""
        encoded = [w.encode("utf-8") if isinstance(w, str) else w for w in words]
        ordered = np.sort(np.array(encoded or [b""], dtype=bytes))
        # Each word once (np.unique takes several times as long on the files' 15,000 words).
        keep = np.concatenate(([True], ordered[1:] != ordered[:-1])) & (ordered != b"")
        self._words = ordered[keep]

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        key = word.encode("utf-8")
        found = self._words
        # A key longer than the array's width would be cut to it, and might then match.
        if not len(found) or len(key) > found.dtype.itemsize:
            return False
        at = int(np.searchsorted(found, key))
        return at < len(found) and bytes(found[at]) == key

    def __len__(self) -> int:
        return len(self._words)

    def __iter__(self) -> Iterator[str]:
        return (bytes(w).decode("utf-8") for w in self._words)


@cache
def frequent_words(code: str) -> WordList:
    """The frequent words of language ``code`` that the other languages seldom use, folded
    (lower case, no accents; ``bot/lang/frequent/<code>.txt``); none without the file."""
    file = FREQUENT_DIR / f"{code}.txt"
    if not file.is_file():
        return WordList(())
    lines = file.read_bytes().split(b"\n")
    return WordList(w for w in lines if w and not w.startswith(b"#"))
