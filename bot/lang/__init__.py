"""What the matcher knows about each language, as data: ``bot/lang/<code>.yaml``.

Stop words, question words, negations, the words that end a clause and the kinds of party
legal words may be aimed at are per language; Meta's apps and other companies are the same
in every language (``common.yaml``). A new language is a new file here (plus its content
texts): the matcher takes every word list from these files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent


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
    yes_words: frozenset[str] = frozenset()
    no_words: frozenset[str] = frozenset()
    unsure_words: frozenset[str] = frozenset()
    """Answers to a yes/no question, words and phrases."""
    follow_up_starts: frozenset[str] = frozenset()
    why_words: frozenset[str] = frozenset()
    reference_words: frozenset[str] = frozenset()


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


def _optional(data: Mapping[str, object], key: str, file: Path) -> frozenset[str]:
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
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a mapping of word lists")
    return data


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
            stopwords=_words(data, "stopwords", file),
            question_words=_words(data, "question_words", file),
            negations=_words(data, "negations", file),
            denials=_words(data, "denials", file),
            clause_breaks=_words(data, "clause_breaks", file),
            topic_words=_words(data, "topic_words", file),
            other_roles=_words(data, "other_roles", file),
            yes_words=_answers(data, "yes_words", file),
            no_words=_answers(data, "no_words", file),
            unsure_words=_answers(data, "unsure_words", file),
            follow_up_starts=_optional(data, "follow_up_starts", file),
            why_words=_optional(data, "why_words", file),
            reference_words=_optional(data, "reference_words", file),
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
            pair.split(":", 1) for pair in _optional(data, "platform_names", file) if ":" in pair
        ),
    )


def union(field: str) -> frozenset[str]:
    """One word list of every language together (for text whose language is not known)."""
    out: set[str] = set()
    for lang in languages().values():
        out |= getattr(lang, field)
    return frozenset(out)
