"""Match a free-text question to the node that answers it, or abstain.

Lexical matching built from well-kept parts: Snowball stemming (inflection), rapidfuzz
(typos, and near-duplicates of the authors' example questions) and BM25 (ranking over
each node's title, example questions and keywords). German compounds are split against
the content's own vocabulary, umlaut spellings (ae/oe/ue/ss) are folded. Below a
confidence threshold the matcher abstains and the engine falls back honestly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

from bot.content.models import Content

_WORD = re.compile(r"[^\W\d_]+|\d+")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a"})
_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))

_STEMMERS = {
    "de": "german",
    "en": "english",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
}

# Function words carry no topic; they would only add noise to the ranking.
STOPWORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        [
            "aber",
            "alle",
            "allem",
            "als",
            "also",
            "am",
            "an",
            "auch",
            "auf",
            "aus",
            "bei",
            "bin",
            "bis",
            "bist",
            "da",
            "damit",
            "dann",
            "das",
            "dass",
            "dein",
            "deine",
            "dem",
            "den",
            "denn",
            "der",
            "des",
            "die",
            "dies",
            "diese",
            "dieser",
            "doch",
            "dort",
            "du",
            "durch",
            "ein",
            "eine",
            "einem",
            "einen",
            "einer",
            "es",
            "etwas",
            "für",
            "hab",
            "habe",
            "haben",
            "hat",
            "hatte",
            "ich",
            "ihr",
            "im",
            "in",
            "ist",
            "ja",
            "jetzt",
            "kann",
            "kannst",
            "man",
            "mein",
            "meine",
            "mich",
            "mir",
            "mit",
            "muss",
            "musst",
            "nach",
            "nicht",
            "noch",
            "nun",
            "nur",
            "ob",
            "oder",
            "schon",
            "sein",
            "sich",
            "sie",
            "sind",
            "so",
            "soll",
            "um",
            "und",
            "uns",
            "von",
            "vom",
            "was",
            "weil",
            "wenn",
            "wer",
            "wie",
            "wir",
            "wird",
            "wo",
            "zu",
            "zum",
            "zur",
            "über",
            "bitte",
            "hallo",
            "hi",
            "mal",
            "eigentlich",
            "gibt",
            "geht",
            "gerade",
            "denn",
            "sehr",
            "ganz",
            "wieso",
            "weshalb",
            "warum",
        ]
    ),
    "en": frozenset(
        [
            "a",
            "about",
            "am",
            "an",
            "and",
            "any",
            "are",
            "as",
            "at",
            "be",
            "been",
            "but",
            "by",
            "can",
            "could",
            "do",
            "does",
            "did",
            "for",
            "from",
            "had",
            "has",
            "have",
            "how",
            "i",
            "if",
            "in",
            "into",
            "is",
            "it",
            "its",
            "just",
            "me",
            "my",
            "of",
            "on",
            "or",
            "our",
            "so",
            "that",
            "the",
            "their",
            "them",
            "then",
            "there",
            "these",
            "they",
            "this",
            "to",
            "was",
            "we",
            "were",
            "what",
            "when",
            "where",
            "which",
            "who",
            "why",
            "will",
            "with",
            "would",
            "you",
            "your",
            "yours",
            "please",
            "hello",
            "hi",
            "hey",
            "there",
            "get",
            "got",
            "i'm",
            "im",
        ]
    ),
}


@dataclass(frozen=True)
class MatchResult:
    """The matcher's verdict on one question."""

    node: str | None
    score: float
    matched: bool
    language: str
    candidates: tuple[str, ...] = ()


@lru_cache(maxsize=65536)
def _stem(word: str, lang: str) -> str:
    name = _STEMMERS.get(lang)
    stem = snowballstemmer.stemmer(name).stemWord(word) if name else word
    return stem.translate(_FOLD)


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``: punctuation, emoji and symbols dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def terms(text: str, lang: str) -> list[str]:
    """Stemmed, umlaut-folded content words of ``text`` in ``lang``."""
    stop = STOPWORDS.get(lang, frozenset())
    return [_stem(w, lang) for w in words(text) if w not in stop]


class _LanguageIndex:
    def __init__(self, content: Content, lang: str) -> None:
        self.lang = lang
        self.node_ids: list[str] = []
        docs: list[list[str]] = []
        self.examples: list[str] = []
        self.example_node: list[int] = []
        for node in content.nodes.values():
            if node.id == content.meta.root:
                continue
            title = node.title[lang]
            questions = node.questions.get(lang, ())
            keywords = node.keywords.get(lang, ())
            doc = terms(title, lang) * 2
            for q in questions:
                doc += terms(q, lang)
            for k in keywords:
                doc += terms(k, lang) * 2
            idx = len(self.node_ids)
            self.node_ids.append(node.id)
            docs.append(doc)
            for example in (title, *questions, *keywords):
                self.examples.append(" ".join(terms(example, lang)))
                self.example_node.append(idx)
        self.vocab = sorted({t for doc in docs for t in doc})
        self.vocab_set = frozenset(self.vocab)
        self.bm25 = BM25Okapi(docs or [[""]])
        self.doc_sets = [frozenset(d) for d in docs]

    @lru_cache(maxsize=16384)  # noqa: B019 - one index per content tree, lives as long as it
    def resolve(self, term: str) -> tuple[str, ...]:
        """Map a query term onto the vocabulary: itself, a digraph or typo fix, or compound parts."""
        if term in self.vocab_set or not term:
            return (term,)
        for digraph, vowel in _DIGRAPHS:
            folded = term.replace(digraph, vowel)
            if folded in self.vocab_set:
                return (folded,)
        if len(term) >= 4:
            hit = process.extractOne(term, self.vocab, scorer=fuzz.ratio, score_cutoff=82)
            if hit:
                return (hit[0],)
        if len(term) >= 7:
            # German compounds ("Instagramkonto"): known words of 4+ letters inside the term.
            parts = tuple(v for v in self.vocab if len(v) >= 4 and v in term)
            if parts:
                return parts
        return ()


class Matcher:
    """Find the node answering a question; built once per content tree."""

    def __init__(self, content: Content, *, threshold: float = 0.5) -> None:
        self.content = content
        self.threshold = threshold
        self._indexes = {lang: _LanguageIndex(content, lang) for lang in content.languages}

    def detect_language(self, text: str) -> str | None:
        """The most likely declared language of ``text``, or ``None`` when unclear."""
        ws = words(text)
        if not ws:
            return None
        scores: dict[str, float] = {}
        for lang, index in self._indexes.items():
            stop = STOPWORDS.get(lang, frozenset())
            scores[lang] = sum(
                1.0 if w in stop else 0.6 if _stem(w, lang) in index.vocab_set else 0.0 for w in ws
            )
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            return None
        return ranked[0][0]

    def match(self, text: str, lang: str) -> MatchResult:
        """Match ``text`` in ``lang``; ``matched`` is False when the matcher abstains."""
        index = self._indexes[lang]
        query: list[str] = []
        raw_terms = terms(text, lang)
        for term in raw_terms:
            query.extend(index.resolve(term))
        if not query or not index.node_ids:
            return MatchResult(None, 0.0, False, lang)
        scores = index.bm25.get_scores(query)
        order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
        best = order[0]
        if scores[best] <= 0:
            return MatchResult(None, 0.0, False, lang)
        # Coverage: how much of the question the best node explains; unknown words count against it.
        known = [t for t in query if t in index.doc_sets[best]]
        coverage = len(known) / max(len(raw_terms), 1)
        example = process.extractOne(" ".join(query), index.examples, scorer=fuzz.token_sort_ratio)
        similarity = 0.0
        if example is not None:
            similarity = example[1] / 100.0
            if index.example_node[example[2]] != best and similarity >= 0.9:
                best = index.example_node[example[2]]
        score = 0.6 * min(coverage, 1.0) + 0.4 * similarity
        candidates = tuple(index.node_ids[i] for i in order[:3] if scores[i] > 0)
        matched = score >= self.threshold
        return MatchResult(
            index.node_ids[best] if matched else None, round(score, 3), matched, lang, candidates
        )

    def suggest(self, text: str, lang: str, limit: int = 3) -> Sequence[str]:
        """Up to ``limit`` node ids that come closest to ``text`` (for fallbacks)."""
        return self.match(text, lang).candidates[:limit]
