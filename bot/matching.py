"""Match a free-text question to the node that answers it, or abstain.

Lexical matching from well-kept parts: Okapi BM25, Snowball stems (PyStemmer's C
implementation when installed), rapidfuzz for typos. Each node is indexed per language from its title, example questions
and keywords (strong evidence) and from its answer texts (weak evidence).

Words count as the same when their stems are (umlauts folded, "ae" typed for "ä", British
and American spellings alike; English negations written short are spelt out first), and
when the content's synonym groups (``synonyms`` in ``bot.yaml``) put them together: every
member of a group stands for the group's first word, in the index and in questions alike.
A question word the content never uses is aligned, as a whole word, with the content's
closest spellings (a typo: one edit, two in long words, same first letter) or with the two
known words it is made of (a compound: "widerspruchs|formular"). A word is never matched
through a piece of another: "rain" is not in "training".

A question is scored against every node (BM25 of the aligned words over the strong and
the weak texts, BM25 of character n-grams over the strong texts as a tie-breaker for
inflections) and against every single example question (tf-idf cosine of the aligned
words); the node with the best weighted sum wins. The content's typical off-topic requests
(``off_topic`` in ``bot.yaml``: account help, other companies' AI, small talk) compete as one
more pseudo-node that is never answered. A long message is weighted by what it asks: its
asking clauses count most, the situation it explains least (:func:`asking_parts`).

Some messages need no ranking (:meth:`Matcher.decided`): one that is only a greeting matches
the root (the engine shows the menu), one that says word for word what a title, keyword or
example of a single node says matches that node, one that says what an off-topic request
says gets the fallback.

Whether to answer is a separate, calibrated decision: a logistic model over how much of the
question the best node explains, how close the nearest example is, how far ahead the best
node is of the second and how close the off-topic class comes. Its weights are fitted with
``bench/qa.py --fit`` on the question set's ``tune`` split plus the content's own example
questions held out in turns; the threshold is chosen there for the most right answers with
at least 90 % of off-topic questions falling back and at most 5 % wrong confident answers.
The matcher never answers when the off-topic class comes within 90 % of the best node
(``OFF_TOPIC_CLOSE``), when the question names another company, when what it asks names a
kind of party the content never asks about (a landlord, an employer, a pension office:
``OTHER_ROLES``) and neither Meta, its apps nor the AI training, or when the best node
shares too few of its words. The nodes whose one-word keywords the question uses get a
share of the ranking (``KEYWORD_WEIGHT``, rarer keywords more): the words writers chose to
tell siblings apart ("app", "facebook") outweigh the verbs they share ("finden"). A platform the question says someone does not use ("Instagram
nutze ich nicht") is no evidence when it names another one they do use. Below the threshold, the engine says it did not understand and offers
the closest topics.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot import lang as lang_data
from bot.content.loader import Problem
from bot.content.models import Content, Node
from bot.language_detect import LanguageDetector

_WORD = re.compile(r"[^\W\d_]+|\d+")
_FOLD = str.maketrans(
    {"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a", "ç": "c"}
)
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_STEMMERS = {c: d.stemmer for c, d in lang_data.languages().items() if d.stemmer}
_GRAMS = (3, 5)
"""Character n-gram lengths: 3 survives a typo in a short word, 5 keeps long words apart."""
_MAX_WORD = 40
"""Longer "words" are cut: no real word is longer, and n-grams grow with the length."""

# The word lists are data, one file per language (bot/lang/*.yaml): see bot.lang.
_LANGUAGES = lang_data.languages()
STOPWORDS: dict[str, frozenset[str]] = {c: d.stopwords for c, d in _LANGUAGES.items()}
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
_PLATFORMS = lang_data.common().platforms
_NOT = lang_data.union("denials")
"""Words that say someone does not use a platform ("hab kein fb", "not on Facebook")."""
_NEGATION_REACH = 3
"""A negation this many words before or after a platform denies it ("Instagram nutze ich nicht")."""
_CLAUSE_BREAK = re.compile(
    r"[,.!?;:\n()–—]+|\s(?=(?:" + "|".join(sorted(lang_data.union("clause_breaks"))) + r")\s)",
    re.IGNORECASE,
)
"""Where a statement about one platform ends ("kein fb, nur insta", "not on fb but insta")."""

# How the evidence adds up to a node's ranking score (relative scores, see _rank()).
RANK_WEIGHTS = {
    "word": 1.0,  # BM25 of the question's words over title, examples and keywords
    "word_text": 0.6,  # BM25 of the question's words over the answer texts
    "char": 1.0,  # BM25 of character n-grams over title, examples and keywords
    "example": 2.0,  # tf-idf cosine with the closest single example
}
RANK_WEIGHTS_ARRAY = np.array(list(RANK_WEIGHTS.values()))

KEYWORD_WEIGHT = 0.5
"""Ranking weight of the node whose one-word keywords the question uses (rarer ones more)."""

# Logistic confidence model, fitted by ``bench/qa.py --fit`` (see the module docstring).
CONFIDENCE_FEATURES = ("example", "margin", "covered", "known", "short", "off_topic")
CONFIDENCE_WEIGHTS = (-5.38, -1.11, 4.62, 2.8, 5.81, -3.72, -3.15)
"""Intercept first, then one weight per feature in CONFIDENCE_FEATURES."""
CLARIFY_MARGIN = 0.05
"""Ask "did you mean A or B?" instead of answering A when B's ranking score is within this
share of A's. On the tune split (December 2026), below 0.05 the first node was never the
expected one and the second was in 5 of 6 cases; up to 0.06 the first would have been right
in 4 of 10."""
THRESHOLD = 0.425
"""Answer only when the model's probability of being right is at least this. Chosen for few
wrong answers first: on the tune split (refitted December 2026, with the held-out questions
that were near copies of content examples moved into it) 0.425 gives 91.8 % in scope, 90.4 %
fallback and 5.3 % wrong-confident; 0.475 would cut wrong answers by 0.4 points for 0.6
points of accuracy."""

_VECTOR_CACHE = 1024
"""Question words whose ranking rows each language index keeps (least recently used go)."""
_MIN_TYPO = 6
"""Words this long may be a typo of a word the content uses (one edit away)."""
_TWO_TYPOS = 10
"""Words this long may be two edits away."""
_TYPO_SURE = 0.9
"""How much a close spelling counts, times its share of letters that are right."""
_MIN_PART = 4
"""Shortest known word a compound may start or end with."""
_PART_SURE = 0.7
"""How much each known part of a compound counts."""
_ASKING: dict[str, frozenset[str]] = {
    c: d.question_words | d.negations for c, d in _LANGUAGES.items()
}
"""Question words and negations (kept for ranking, not counted as topical evidence)."""
_NEGATIONS = lang_data.union("negations")
_MIN_COVERED = 0.3
"""Share of a question's topical words its answer's node must contain (more than one in four)."""
_MIN_KNOWN = 0.35
"""Share of a question's topical words the content must use somewhere (more than a third)."""
_SUGGEST_POOL = 5
"""Suggestions come from this many best-scored nodes."""
_SHORT_WORDS = 3
_CLOSE_RATIO = 85
"""How alike (``fuzz.ratio``) a short question and an example must be letter for letter."""
_EXACT_BONUS = 0.05
"""Ranking bonus of the node with an example a short question matches letter for letter."""
_GREETING_WORDS = 6
"""Longer messages are never only a greeting."""
_SQUEEZE = re.compile(r"(.)\1{2,}")
OFF_TOPIC_CLOSE = 0.9
"""The matcher abstains when the off-topic class scores at least this share of the best node."""
_LONG = 12
"""Messages with at least this many content words are also matched by their questions."""
"""Questions with at most this many content words are also compared whole (rapidfuzz)."""


@dataclass(frozen=True)
class MatchResult:
    """The matcher's verdict on one question."""

    node: str | None
    score: float
    matched: bool
    language: str
    candidates: tuple[str, ...] = ()
    clarify: tuple[str, ...] = ()
    """Two nodes the question fits about equally well: ask which one is meant. Set only
    when the matcher would otherwise have answered the first (``matched`` is then False)."""


@lru_cache(maxsize=65536)
def fold(word: str, lang: str) -> str:
    """``word`` with umlauts and accents folded; in German also ae/oe/ue (typed umlauts)."""
    word = word.translate(_FOLD)
    if lang == "de":
        word = _DIGRAPHS.sub(lambda m: m.group(1)[0], word)
    return word


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


@lru_cache(maxsize=65536)
def grams(word: str, lang: str) -> tuple[str, ...]:
    """Character n-grams of the folded ``word`` with boundary marks (``<wi``, ``ch>``)."""
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
        self._phrases: set[tuple[str, ...]] = set()
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
                    self._phrases.add(tuple(stem(w, lang) for w in ws))
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
                if tuple(stems[i : i + n]) in self._phrases:
                    out.append("".join(ws[i : i + n]))
                    i += n
                    break
            else:
                out.append(ws[i])
                i += 1
        return out

    def content_words(self, text: str) -> list[str]:
        """The words of ``text`` that can carry its topic (stop words dropped)."""
        return [w for w in self.words(text) if not self._is_stop(w)]

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


def _answer_texts(node: Node, lang: str) -> list[str]:
    # The details behind "More" answer the same question: their words count like the text's.
    more = [node.more.get(lang, "")] if node.more is not None else []
    return [
        node.text.get(lang, ""),
        *more,
        *(t.get(lang, "") for v in node.variants for t in (v.text, v.more) if t is not None),
    ]


def _example_texts(node: Node, lang: str) -> list[str]:
    return [node.title.get(lang, ""), *node.questions.get(lang, ()), *node.keywords.get(lang, ())]


_EMPTY_COLS = np.zeros(0, dtype=np.int64)
_EMPTY_VALUES = np.zeros(0)


class _Table:
    """Per term, its weight in every document (a sparse matrix, one row per term).

    A question's score for every document is the sum of its terms' rows: one array
    addition per term instead of a pass over every document.
    """

    def __init__(
        self,
        rows: list[int] | np.ndarray,
        cols: list[int] | np.ndarray,
        weights: np.ndarray,
        shape: tuple[int, int],
    ) -> None:
        r = np.array(rows, dtype=np.int64)
        order = np.argsort(r, kind="stable")
        self.cols = np.array(cols, dtype=np.int64)[order]
        self.values = weights[order]
        self.starts = np.searchsorted(r[order], np.arange(shape[0] + 1))
        self.size = shape[1]

    def row(self, term: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Row ``term``: the documents that have it and its weight in each."""
        if term is None:
            return _EMPTY_COLS, _EMPTY_VALUES
        lo, hi = self.starts[term], self.starts[term + 1]
        return self.cols[lo:hi], self.values[lo:hi]

    def sum_rows(self, terms: Sequence[int]) -> np.ndarray:
        """The sum of rows ``terms`` (repeats count again), as one dense array: the slices of
        every row gathered at once and added up by ``bincount``."""
        if not terms:
            return np.zeros(self.size)
        ids = np.array(terms, dtype=np.int64)
        lo, hi = self.starts[ids], self.starts[ids + 1]
        counts = hi - lo
        total = int(counts.sum())
        # Positions lo..hi-1 of every row, back to back, without a loop over the rows.
        offsets = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)
        return np.bincount(self.cols[offsets], self.values[offsets], minlength=self.size)

    def add(self, out: np.ndarray, term: int | None) -> None:
        """Add row ``term`` (a term no document has: ``None``) to ``out``."""
        if term is not None:
            lo, hi = self.starts[term], self.starts[term + 1]
            out[self.cols[lo:hi]] += self.values[lo:hi]

    @staticmethod
    def bm25(
        docs: list[list[str]],
        split: Callable[[str], Sequence[str]] | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> tuple[dict[str, int], _Table]:
        """Term ids and Okapi BM25 weights of ``docs`` (lists of words, each word split into
        terms by ``split``, else a term itself), as rank-bm25's ``BM25Okapi`` computes them:
        IDF ``log((N - df + 0.5) / (df + 0.5))``, negative ones (terms in more than half the
        documents) raised to ``epsilon`` times the mean IDF."""
        terms: dict[str, int] = {}
        known: dict[str, tuple[int, ...]] = {}
        flat: list[int] = []
        lengths: list[int] = []
        for doc in docs:
            before = len(flat)
            for word in doc:
                ids = known.get(word)
                if ids is None:
                    parts = split(word) if split else (word,)
                    ids = known[word] = tuple(terms.setdefault(t, len(terms)) for t in parts)
                flat.extend(ids)
            lengths.append(len(flat) - before)
        size = max(len(terms), 1)
        doc_of = np.repeat(np.arange(len(docs)), lengths)
        keys, tf = np.unique(doc_of * size + np.array(flat, dtype=np.int64), return_counts=True)
        r, c = keys % size, keys // size
        df = np.bincount(r, minlength=len(terms))
        idf = np.log(len(docs) - df + 0.5) - np.log(df + 0.5)
        if len(idf):
            idf[idf < 0] = epsilon * float(idf.mean())
        length = np.maximum(np.array(lengths, dtype=float), 1.0)  # as if empty had one word
        norm = k1 * (1 - b + b * length / length.mean())
        weights = idf[r] * tf * (k1 + 1) / (tf + norm[c])
        return terms, _Table(r, c, weights, (len(terms), len(docs)))

    @staticmethod
    def cosine(docs: list[list[str]]) -> tuple[dict[str, int], _Table, np.ndarray]:
        """Term ids, tf-idf weights of short texts (binary tf, each text scaled to unit
        length) and each term's IDF, which the question's own length needs."""
        terms: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for d, doc in enumerate(docs):
            for t in set(doc):
                rows.append(terms.setdefault(t, len(terms)))
                cols.append(d)
        r, c = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        df = np.bincount(r, minlength=len(terms))
        idf = np.log((len(docs) + 1) / (df + 0.5))
        lengths = np.sqrt(np.bincount(c, weights=idf[r] ** 2, minlength=len(docs)))
        weights = idf[r] ** 2 / np.where(lengths > 0, lengths, 1.0)[c]
        return terms, _Table(rows, cols, weights, (len(terms), len(docs))), idf


@dataclass(frozen=True)
class _Ranking:
    """A question scored against every node of one language."""

    order: np.ndarray  # node positions, best first (the off-topic class left out)
    scores: np.ndarray
    features: dict[str, float]  # confidence features of the best node
    foreign: bool  # names another company the content never mentions
    related: tuple[int, ...]  # best nodes that share a word with the question, best first
    off_topic: float = 0.0  # the off-topic class's score over the best node's

    @property
    def answerable(self) -> bool:
        """Whether the best node may answer at all, however confident the model is.

        Not when the question names another company, is (almost) as close to the off-topic
        class as to the node, or
        shares too little with the node ("instagram weather cat dog" shares one word in
        four: a near miss) or with the content as a whole (mostly words it never uses)."""
        related = bool(self.related) and self.related[0] == int(self.order[0])
        return (
            related
            and not self.foreign
            and self.off_topic < OFF_TOPIC_CLOSE
            and self.features["covered"] >= _MIN_COVERED
            and self.features["known"] >= _MIN_KNOWN
        )


class _LanguageIndex:
    """Everything the matcher knows about one language of the content."""

    def __init__(self, content: Content, lang: str) -> None:
        self.lang = lang
        self.lexicon = lex = Lexicon(lang, content.meta.synonyms.get(lang, ()))
        nodes = [n for n in content.nodes.values() if n.id != content.meta.root]
        self.node_ids = [n.id for n in nodes]
        strong = [[lex.content_words(t) for t in _example_texts(n, lang)] for n in nodes]
        weak = [[lex.content_words(t) for t in _answer_texts(n, lang)] for n in nodes]
        topical = {w for texts in strong + weak for ws in texts for w in ws}
        # The off-topic requests are one more document after the nodes: a pseudo-node that
        # competes in the ranking and is never answered.
        off_topic = [lex.content_words(t) for t in content.meta.off_topic.get(lang, ())]
        self.off_topic: int | None = None
        if any(off_topic):
            self.off_topic = len(nodes)
            strong.append(off_topic)
            weak.append([])
        root = content.nodes.get(content.meta.root)
        self.greetings = frozenset(
            _squeeze(fold(w, lang))
            for t in (_example_texts(root, lang) if root else ())
            for w in words(t)
        )

        mentioned = {w for texts in strong + weak for ws in texts for w in ws}
        stem_of = {w: lex.stem(w) for w in mentioned}
        folded = {w: fold(w, lang) for w in mentioned}
        strong_stems = [[stem_of[w] for ws in t for w in ws] for t in strong]
        weak_stems = [[stem_of[w] for ws in t for w in ws] for t in weak]
        self.word = _Table.bm25(strong_stems)
        self.word_text = _Table.bm25(weak_stems)
        self.char = _Table.bm25([[w for ws in t for w in ws] for t in strong], lex.grams)
        self.size = len(strong)
        self.node_stems = [
            frozenset(s) | frozenset(w) for s, w in zip(strong_stems, weak_stems, strict=True)
        ]
        # Per stem, the nodes whose texts use it: what a word covers is one array per word.
        holders: dict[str, list[int]] = {}
        for i, stems in enumerate(self.node_stems):
            for s in stems:
                holders.setdefault(s, []).append(i)
        self.stem_nodes = {s: np.array(v, dtype=np.int64) for s, v in holders.items()}
        # Every word the index knows, the off-topic requests' too: a word they use is no typo
        # of a topic's word. Only the topics' words are evidence that a question is on topic.
        self.known_stems: frozenset[str] = frozenset(stem_of.values())
        self.topic_stems = frozenset(stem_of[w] for w in topical)
        # Every spelling the content uses, folded, with its stem: the targets for typos and
        # for the parts of compounds.
        self.spellings: dict[str, str] = {}
        for w in sorted(mentioned):
            self.spellings.setdefault(folded[w], stem_of[w])
        # By first letter and length: a typo keeps the first letter (see _aligned), and
        # spellings of other lengths than one or two edits allow are never close.
        self.spelling_groups: dict[tuple[str, int], list[str]] = {}
        for spelling in self.spellings:
            self.spelling_groups.setdefault((spelling[0], len(spelling)), []).append(spelling)

        example_node: list[int] = []
        example_stems: list[list[str]] = []
        self.example_texts: list[str] = []
        for i, texts in enumerate(strong):
            for ws in texts:
                if ws:
                    example_node.append(i)
                    example_stems.append([stem_of[w] for w in ws])
                    self.example_texts.append(" ".join(folded[w] for w in ws))
        self.example_node = np.array(example_node, dtype=int)
        self.example_lengths = np.array([len(t) for t in self.example_texts])
        # The examples come node by node: each node's best example is one reduceat segment.
        self.example_starts = np.flatnonzero(
            np.r_[True, self.example_node[1:] != self.example_node[:-1]]
        )[: len(example_node)]
        self.example_owners = self.example_node[self.example_starts]
        # Texts that say exactly what a title, keyword or example says, word for word: whose
        # they are (the off-topic class's too), unless two share one. Spelt alike first, then
        # up to endings and synonyms ("Einspruch?" says "widersprechen").
        said = [(i, t) for i, node in enumerate(nodes) for t in _example_texts(node, lang)]
        if self.off_topic is not None:
            said += [(self.off_topic, t) for t in content.meta.off_topic.get(lang, ())]
        spelt: dict[tuple[str, ...], set[int]] = {}
        worded: dict[tuple[str, ...], set[int]] = {}
        for owner, t in said:
            ws = words(t)
            spelt.setdefault(tuple(folded.get(w) or fold(w, lang) for w in ws), set()).add(owner)
            worded.setdefault(tuple(map(lex.stem, lex.join(ws))), set()).add(owner)
        self.exact = [
            {k: next(iter(o)) for k, o in owners.items() if k and len(o) == 1}
            for owners in (spelt, worded)
        ]
        # The stems of each node's one-word keywords: the words its writers chose to tell it
        # from its siblings ("app" for the in-app path, "facebook" for the Facebook form).
        keyword_nodes: dict[str, set[int]] = {}
        for i, node in enumerate(nodes):
            for k in node.keywords.get(lang, ()):
                ks = lex.content_words(k)
                if len(ks) == 1:
                    keyword_nodes.setdefault(lex.stem(ks[0]), set()).add(i)
        self.keyword_nodes = {
            k: (np.array(sorted(v)), math.log(len(nodes) / len(v)))
            for k, v in keyword_nodes.items()
        }
        self.example_word = _Table.cosine(example_stems)
        self.unknown_idf = math.log((len(example_node) + 1) / 0.5)
        self.other_parties = OTHER_PARTIES - topical
        # A kind of party counts as mentioned when a title, example or keyword names it ("a
        # company page", "school days"); an answer text naming it in passing is no topic.
        # Spelt as they are, not by stems: "self-employed" says nothing about an employer.
        self.asked_spellings = frozenset(
            folded[w] for t in strong[: len(nodes)] for ws in t for w in ws
        )
        self.roles = frozenset(
            f for r in OTHER_ROLES.get(lang, ()) if not self._asked(f := fold(r, lang))
        )
        self.role_tails = frozenset(r for r in self.roles if len(r) >= _MIN_PART)
        # A word's row is dense (about 11 KiB): a few thousand recent words keep the common
        # ones at hand without the cache growing to hundreds of MiB in a long-running bot.
        self.vectors = lru_cache(maxsize=_VECTOR_CACHE)(self._vectors)
        self.aligned = lru_cache(maxsize=32768)(self._aligned)
        self.coverage = lru_cache(maxsize=32768)(self._coverage)
        self.known = lru_cache(maxsize=32768)(self._known)
        self.names_role = lru_cache(maxsize=32768)(self._names_role)

    def _aligned(self, word: str) -> tuple[tuple[str, float], ...]:
        """The content's stems that ``word`` stands for, each with how sure (0..1].

        Its own stem (or its synonym group's) when the content uses it; else the stems of
        spellings one or two edits away (a typo, an unusual inflection), and of the longest
        known words a compound starts and ends with ("widerspruchs|formular"). Whole words
        only: "rain" is not part of "training".
        """
        s = self.lexicon.stem(word)
        if s in self.known_stems:
            return ((s, 1.0),)
        f = fold(word, self.lang)
        found: dict[str, float] = {}
        if len(f) >= _MIN_TYPO:
            limit = 1 if len(f) < _TWO_TYPOS else 2
            # People seldom mistype the first letter; "nacht" is no typo of "macht".
            near = [
                spelling
                for size in range(len(f) - limit, len(f) + limit + 1)
                for spelling in self.spelling_groups.get((f[0], size), ())
            ]
            close = [
                (spelling, distance)
                for spelling, distance, _ in process.extract(
                    f, near, scorer=Levenshtein.distance, score_cutoff=limit, limit=5
                )
            ]
            nearest = min((d for _, d in close), default=0)
            for spelling, distance in close:
                if distance == nearest:  # a typo has one intended word
                    sure = _TYPO_SURE * (1 - distance / max(len(f), len(spelling)))
                    stem_ = self.spellings[spelling]
                    found[stem_] = max(found.get(stem_, 0.0), sure)
        if not found:
            for part in self._compound(f):
                stem_ = self.spellings[part]
                found[stem_] = max(found.get(stem_, 0.0), _PART_SURE)
        return tuple(found.items())

    def _compound(self, f: str) -> tuple[str, ...]:
        """Known words that make up the folded word ``f`` ("widerspruchs|formular"), longest
        first part first, with a German linking letter allowed between; none unless every
        part is known: "Kinderarzt" is not about children."""
        for i in range(len(f) - _MIN_PART, _MIN_PART - 1, -1):
            head = f[:i]
            if head not in self.spellings:
                continue
            rest = f[i:]
            for tail in (rest, rest[1:]) if rest[0] in "sne" else (rest,):
                if len(tail) >= _MIN_PART and tail in self.spellings:
                    return (head, tail)
        return ()

    def _vectors(self, word: str) -> tuple[np.ndarray, float]:
        """What one question word adds: node scores per field (examples, answer texts,
        n-grams) and example scores in one row, and its share of the question's squared
        tf-idf length."""
        nodes = np.zeros((3, self.size))
        ids, field = self.char
        nodes[2] = field.sum_rows(
            [i for g in self.lexicon.grams(word) if (i := ids.get(g)) is not None]
        )
        examples = np.zeros(len(self.example_node))
        length = 0.0
        terms, table, idf = self.example_word
        aligned = self.aligned(word)
        for s, sure in aligned:
            for k, (ids, field) in enumerate((self.word, self.word_text)):
                cols, values = field.row(ids.get(s))
                nodes[k, cols] = np.maximum(nodes[k, cols], sure * values)
            i = terms.get(s)
            cols, values = table.row(i)
            examples[cols] = np.maximum(examples[cols], sure * values)
            if i is not None:
                length = max(length, (sure * idf[i]) ** 2)
        if not length:
            length = self.unknown_idf**2
        row = np.concatenate([nodes.ravel(), examples])
        row.flags.writeable = False  # shared through the cache
        return row, length

    def _closest_example(self, text: str) -> tuple[str, float, int] | None:
        """The example ``text`` is most like, letter for letter (``fuzz.ratio`` of at least
        ``_CLOSE_RATIO``), as ``(example, ratio, position)``; the first of equals.

        Only examples of a length that can reach that ratio are compared: the ratio counts
        the letters two texts share, so lengths further apart than ``_CLOSE_RATIO`` allows
        can never reach it."""
        share = _CLOSE_RATIO / 100
        lo = math.floor(len(text) * share / (2 - share))
        hi = math.ceil(len(text) * (2 - share) / share)
        positions = np.flatnonzero((self.example_lengths >= lo) & (self.example_lengths <= hi))
        if not len(positions):
            return None
        texts = self.example_texts
        hit = process.extractOne(
            text, [texts[i] for i in positions], scorer=fuzz.ratio, score_cutoff=_CLOSE_RATIO
        )
        if hit is None:
            return None
        return hit[0], hit[1], int(positions[hit[2]])

    def _coverage(self, word: str) -> np.ndarray:
        """How surely each node's texts contain ``word`` (or a spelling close to it)."""
        out = np.zeros(self.size)
        for s, sure in self.aligned(word):
            nodes = self.stem_nodes.get(s)
            if nodes is not None:
                out[nodes] = np.maximum(out[nodes], sure)
        out.flags.writeable = False  # shared through the cache
        return out

    def covered(self, word: str, node: int) -> float:
        """How surely ``node``'s texts contain ``word`` (or a spelling close to it)."""
        return float(self.coverage(word)[node])

    def _known(self, word: str) -> float:
        """How surely the topics use ``word`` (or a spelling close to it) anywhere."""
        return max((sure for s, sure in self.aligned(word) if s in self.topic_stems), default=0.0)

    def spelling(self, text: str) -> tuple[str, ...]:
        """The words of ``text`` with umlauts folded: how it is spelt, whatever the case and
        the punctuation."""
        return tuple(fold(w, self.lang) for w in words(text))

    def exact_owner(self, text: str) -> int | None:
        """The node (or off-topic class) whose title, keyword or example ``text`` says
        word for word, if only one has it."""
        for key, owners in zip((self.spelling, self.wording), self.exact, strict=True):
            owner = owners.get(key(text))
            if owner is not None:
                return owner
        return None

    def wording(self, text: str) -> tuple[str, ...]:
        """The stems of every word of ``text``, small words too: what it says, whatever the
        endings, synonyms and punctuation ("Einspruch?" says "widersprechen")."""
        return tuple(self.lexicon.stem(w) for w in self.lexicon.words(text))

    def is_greeting(self, text: str) -> bool:
        """Whether ``text`` is only a greeting: every word one of the root's examples uses
        ("hallo", "guten morgen", drawn out: "hiii") or a filler word, and one of the former."""
        ws = words(text)
        if not ws or len(ws) > _GREETING_WORDS or not self.greetings:
            return False
        found = False
        for w in ws:
            squeezed = _squeeze(fold(w, self.lang))
            if squeezed in self.greetings:
                found = True
            elif not (self.lexicon._is_stop(w) or self.lexicon._is_stop(squeezed)):
                return False
        return found

    def rank(self, text: str, parts: Sequence[tuple[str, float]] = ()) -> _Ranking | None:
        """Score ``text`` against every node; ``None`` when it has no words at all.

        With ``parts`` (pieces of ``text``, each with a weight), a word counts as much as
        its piece's weight: a long message's question more than its side remarks."""
        lang = self.lang
        pieces = parts or [(text, 1.0)]
        weighted = [(w, weight) for piece, weight in pieces for w in self._words(piece)]
        if not weighted and parts:
            weighted = [(w, 1.0) for w in self._words(text)]
        if not weighted or not self.node_ids:
            return None
        ws = [w for w, _ in weighted]
        off = self.off_topic
        # Only what a long message asks may name the other party: "weil ich im Krankenhaus
        # lag" explains a situation.
        foreign = any(w in self.other_parties for w in ws) or (
            self.elsewhere(ws) and self.elsewhere(self._asked_words(text, pieces))
        )
        # Question words and negations help rank ("why" vs "what") but are no evidence
        # that a node is on topic: "how is the weather" shares "how" with many examples.
        asking = _ASKING.get(lang, frozenset())
        topical = [(w, weight) for w, weight in weighted if w not in asking] or weighted
        n = self.size
        # One row per word (its node scores per field, then its example scores): the
        # question's scores are one weighted sum of rows, a matrix-vector product.
        vectors = [self.vectors(w) for w in ws]
        weights = np.array([weight for _, weight in weighted])
        summed = weights @ np.array([row for row, _ in vectors])
        length = float(weights**2 @ np.array([w_len for _, w_len in vectors]))
        fields = summed[: 3 * n].reshape(3, n)
        per_example = summed[3 * n :] / (math.sqrt(length) or 1.0)
        best_example = np.zeros(n)
        if len(per_example):
            best_example[self.example_owners] = np.maximum.reduceat(
                per_example, self.example_starts
            )
        if len(ws) <= _SHORT_WORDS:
            # A short question may be an example with a typo in its one telling word.
            whole = " ".join(fold(w, lang) for w in ws)
            hit = self._closest_example(whole)
        else:
            hit = None
        if hit:
            node = self.example_node[hit[2]]
            # Typed as an author wrote it (a title or keyword, before synonyms): that
            # node, not another one whose examples use a synonym of the same word.
            exact = _EXACT_BONUS if hit[1] == 100 else 0.0
            best_example[node] = max(best_example[node], hit[1] / 100) + exact
        # Relative to the best node, not to the off-topic class: the nodes rank as without it.
        tops = (fields if off is None else fields[:, :off]).max(axis=1, keepdims=True)
        relative = np.divide(fields, tops, out=np.zeros_like(fields), where=tops > 0)
        total = RANK_WEIGHTS_ARRAY[:3] @ relative + RANK_WEIGHTS_ARRAY[3] * best_example
        keyed = np.zeros(n)
        for w, weight in topical:
            for s, sure in self.aligned(w):
                found = self.keyword_nodes.get(s)
                if found is not None:
                    keyed[found[0]] += weight * sure * found[1]
        if keyed.any():
            total += KEYWORD_WEIGHT * keyed / keyed.max()
        order = np.argsort(-total, kind="stable")
        off_topic = 0.0
        if off is not None:
            order = order[order != off]
            # The off-topic requests have no answer text: compared without the texts, and by
            # the closest single request alone (one long document weakens their BM25).
            strong = total - RANK_WEIGHTS["word_text"] * relative[1]
            top, example = strong[order[0]], best_example[order[0]]
            off_topic = float(strong[off] / top) if top > 0 else 1.0
            if example > 0:
                off_topic = max(off_topic, float(best_example[off] / example))
        best = int(order[0])
        second = total[order[1]] if len(order) > 1 else 0.0
        # How much of the question the node explains looks at the question much more sharply
        # than the ranking does (weights to the power _SHARP): in a long message, the node
        # must explain the question, the side remarks hardly matter.
        sharp = [(w, weight**_SHARP) for w, weight in topical]
        mass = sum(weight for _, weight in sharp)
        coverage = np.array([self.coverage(w) for w, _ in topical])
        features = {
            "example": min(float(best_example[best]), 1.0),
            "margin": float((total[best] - second) / total[best]) if total[best] > 0 else 0.0,
            "covered": float(np.dot([weight for _, weight in sharp], coverage[:, best])) / mass,
            "known": sum(weight * self.known(w) for w, weight in sharp) / mass,
            "short": 1.0 / sum(weight for _, weight in weighted),
            "off_topic": min(off_topic, 1.0),
        }
        # Topics worth suggesting share at least one word with the question; n-gram
        # scores alone are never zero for long texts, whatever the question.
        shared = coverage.max(axis=0) > 0
        related = tuple(int(i) for i in order[:_SUGGEST_POOL] if shared[i])
        return _Ranking(order, total, features, foreign, related, off_topic)

    def _names_role(self, word: str) -> bool:
        """Whether ``word`` names a kind of party the content never mentions (an employer, a
        landlord, a pension office): itself, or in German as a compound's last part."""
        f = fold(word, self.lang)
        if self._asked(f):
            return False
        # The word itself or with an ending ("employers", "Vermietern").
        bases = {f[: len(f) - k] for k in range(_ROLE_ENDING + 1)}
        if bases & self.roles:
            return True
        # A compound's last part: every ending of at least _MIN_PART letters after a first
        # part of at least as many ("Krankenkasse" ends in "kasse").
        return self.lang == "de" and any(
            b[i:] in self.role_tails
            for b in bases
            for i in range(_MIN_PART, len(b) - _MIN_PART + 1)
        )

    def _asked(self, f: str) -> bool:
        """Whether a title, example or keyword uses the folded word ``f`` (with an ending)."""
        return any(f + ending in self.asked_spellings for ending in _ENDINGS)

    def elsewhere(self, ws: Sequence[str]) -> bool:
        """Whether words ``ws`` aim at another party than Meta: they name a kind of party the
        content never mentions and neither Meta, its apps nor the AI training ("Widerspruch
        gegen den Rentenbescheid", "access request to my employer")."""
        folded = [fold(w, self.lang) for w in ws]
        if any(f in _META_WORDS or f.startswith(_BRANDS) for f in folded):
            return False
        return any(self.names_role(w) for w in ws)

    def _asked_words(self, text: str, pieces: Sequence[tuple[str, float]]) -> list[str]:
        """The words of the sentences of ``text`` that ask (``pieces`` or those of
        :func:`asking_parts` weighted above a side remark); all its words when none asks."""
        if len(pieces) < 2:
            pieces = asking_parts(text, self.lang) or pieces
        top = max(weight for _, weight in pieces)
        return [
            w
            for piece, weight in pieces
            if weight > _REMARK or weight >= top
            for w in self._words(piece)
        ]

    def _words(self, text: str) -> list[str]:
        """The words of ``text`` that can name a topic."""
        ws = self.lexicon.content_words(text)
        if not ws:
            # "Wer bist du?", "who are you": only small words, but still a question.
            ws = words(text)
        # A number names no topic unless the content uses it ("2024"): not "2", "²" (after
        # NFKC) or the year someone joined.
        return [w for w in ws if not (w.isdigit() and (len(w) < 3 or not self.aligned(w)))]


_OPENING = re.compile(r"([^,.!?;:\n]*)[,.!?;:\n]*(.*)", re.DOTALL)
"""A message's first clause (up to punctuation) and the rest."""
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_PIECE = re.compile(r"[^,;:()]+[,;:()]*")
"""Pieces of a sentence between commas (and the like), each with its punctuation."""
_CONJUNCTION = re.compile(r"\s+(?=(?:und|aber|oder|denn|and|but|or)\s)", re.IGNORECASE)
"""Where a piece continues with a conjunction ("..., und wo mache ich das")."""
_LEADING: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        und aber oder denn ok okay oh na ja nein hallo hi hey
        """.split()  # noqa: SIM905
    ),
    "en": frozenset(
        """
        and so but or ok okay oh well yes no now then hi hey hello
        """.split()  # noqa: SIM905
    ),
}
"""Words a clause may start with before its question begins ("und wo mache ich das"); not
"jetzt", "dann", "also": a German statement that starts with them puts its verb next ("Jetzt
hat mir meine Nachbarin erzählt")."""
_STARTERS: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        kann kannst können könnte muss musst müssen soll sollte sollen darf dürfen ist sind
        war hat haben habe hab gibt gilt bringt reicht hilft wird werden würde geht macht
        nutzt benutzt nimmt liest betrifft brauche stimmt weißt bekomme kriege inwiefern
        """.split()  # noqa: SIM905
    ),
    "en": frozenset(
        """
        do does did is are was were can could should would will have has am may must shall
        """.split()  # noqa: SIM905
    ),
}
"""Verbs a question may start with ("Muss ich ...?"), at the start of a sentence or after a
comma only: after "und" they continue a statement ("Ich bin 80 und habe Facebook")."""
_REQUESTS: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        bitte hilf erklär erkläre sag zeig
        """.split()  # noqa: SIM905
    ),
    "en": frozenset(
        """
        please help explain tell show
        """.split()  # noqa: SIM905
    ),
}
"""Words a request starts with ("erklär mir ...", "please tell me"); "bitte"/"please"
anywhere makes a request too."""
_WANTING: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        möchte will würde wüsste brauche frage
        """.split()  # noqa: SIM905
    ),
    "en": frozenset(
        """
        want would need wanna wonder wondering d
        """.split()  # noqa: SIM905
    ),
}
"""After "ich"/"I": a request ("ich möchte widersprechen", "I'd like to know")."""
_SELF = frozenset(["ich", "i"])
_SUBORDINATE: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        dass weil wenn ob obwohl damit als nachdem
        """.split()  # noqa: SIM905
    ),
    "en": frozenset(
        """
        that because if when since although as while
        """.split()  # noqa: SIM905
    ),
}
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


def without_denied_platforms(text: str) -> str:
    """``text`` without the platforms it says someone does not use, when it names another
    one they do use: "Ich bin nur bei Facebook, Instagram nutze ich nicht" asks about
    Facebook, "no Instagram account, just fb" too. The clause that denies the platform is
    blanked. A text that denies every platform it names ("Ich
    habe kein Facebook") is left as it is: not having an account is then the point.

    A platform is denied when a clause names only it and a negation at most
    ``_NEGATION_REACH`` words away; clauses end at punctuation and before "aber", "nur",
    "but", "only" and the like."""
    low = unicodedata.normalize("NFKC", text).lower()
    if len(low) != len(text):
        text = low
    starts = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(low))]
    ends = [*(m.start() for m in _CLAUSE_BREAK.finditer(low)), len(low)]
    blank: list[tuple[int, int]] = []
    positive = False
    for start, end in zip(starts, ends, strict=True):
        tokens = list(_WORD.finditer(low, start, max(start, end)))
        named = [i for i, t in enumerate(tokens) if t.group() in _PLATFORMS]
        if not named:
            continue
        denials = [i for i, t in enumerate(tokens) if t.group() in _NOT]
        if len(named) == 1 and any(abs(i - named[0]) <= _NEGATION_REACH for i in denials):
            # The whole clause: its other words ("nutze", "have") are about the denied
            # platform too, and left behind they would dilute what the rest asks.
            blank.append((tokens[0].start(), tokens[-1].end()))
        else:
            positive = True
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

    def asks(ws: list[str], first: bool) -> bool:
        rest = [w for w in ws if w not in leading] or [""]
        head = rest[0]
        return (
            head in questions
            or (first and head in starters)
            or head in requests
            or "bitte" in ws
            or "please" in ws
            or head in wanting  # "..., und möchte mich beschweren"
            or (head in _SELF and len(rest) > 1 and rest[1] in wanting)
        )

    parts: list[tuple[str, float]] = []
    found = False
    for sentence in _SENTENCE.findall(text):
        if not words(sentence):
            continue
        # Clauses: the pieces between commas, split again before a conjunction; the first
        # clause of a piece may start with a verb.
        clauses = [
            (clause, k == 0)
            for piece in _PIECE.findall(sentence)
            for k, clause in enumerate(_CONJUNCTION.split(piece))
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


def confidence(features: dict[str, float]) -> float:
    """Probability that the best node is right, from the fitted logistic model."""
    z = CONFIDENCE_WEIGHTS[0] + sum(
        w * features[name]
        for name, w in zip(CONFIDENCE_FEATURES, CONFIDENCE_WEIGHTS[1:], strict=True)
    )
    return 1.0 / (1.0 + math.exp(-z))


class Matcher:
    """Find the node answering a question; built once per content tree."""

    def __init__(self, content: Content, *, threshold: float = THRESHOLD) -> None:
        self.content = content
        self.threshold = threshold
        self._indexes = {lang: _LanguageIndex(content, lang) for lang in content.languages}
        self._detector = LanguageDetector(content.languages, known=self._uses)

    def detect_language(
        self, text: str, *, current: str | None = None, locale: str | None = None
    ) -> str | None:
        """The most likely declared language of ``text``, or ``None`` when unclear; see
        :class:`bot.language_detect.LanguageDetector` (``current``: the session's language,
        ``locale``: the platform's)."""
        return self._detector.detect(text, current=current, locale=locale)

    def _uses(self, lang: str, word: str) -> bool:
        """Whether the content uses ``word`` (up to its stem) in ``lang``."""
        index = self._indexes[lang]
        return index.lexicon.stem(word) in index.known_stems

    def match(self, text: str, lang: str) -> MatchResult:
        """Match ``text`` in ``lang``; ``matched`` is False when the matcher abstains."""
        decided = self.decided(text, lang)
        if decided is not None:
            return decided
        index = self._indexes[lang]
        ranking = self.ranking(text, lang)
        if ranking is None:
            return MatchResult(None, 0.0, False, lang)
        # (Almost) as close to the off-topic requests as to any topic: none worth suggesting.
        off_topic = ranking.off_topic >= OFF_TOPIC_CLOSE
        candidates = () if off_topic else tuple(index.node_ids[i] for i in ranking.related[:3])
        score = confidence(ranking.features) if ranking.answerable else 0.0
        matched = score >= self.threshold
        if matched and len(candidates) >= 2 and ranking.features["margin"] < CLARIFY_MARGIN:
            return MatchResult(None, round(score, 3), False, lang, candidates, candidates[:2])
        node = candidates[0] if matched else None
        return MatchResult(node, round(score, 3), matched, lang, candidates)

    def decided(self, text: str, lang: str) -> MatchResult | None:
        """The verdict on ``text`` that needs no ranking, if any: a message that is only a
        greeting matches the root (the engine shows the menu); one that says word for word
        what one node's title, keyword or example says matches that node, and one that says
        what an off-topic request says abstains."""
        index = self._indexes[lang]
        if index.is_greeting(text):
            return MatchResult(self.content.meta.root, 1.0, True, lang)
        owner = index.exact_owner(self._without_greeting(text, lang))
        if owner is None:
            return None
        if owner == index.off_topic:
            return MatchResult(None, 0.0, False, lang)
        node = index.node_ids[owner]
        return MatchResult(node, 1.0, True, lang, (node,))

    def _without_greeting(self, text: str, lang: str) -> str:
        """``text`` without the greeting it opens with ("Guten Morgen, ist es zu spät?"):
        it says nothing about the question."""
        found = _OPENING.match(text)
        if found and found.group(2).strip() and self._indexes[lang].is_greeting(found.group(1)):
            return found.group(2)
        return text

    def ranking(self, text: str, lang: str) -> _Ranking | None:
        """Every node's score for ``text`` in ``lang``, with the confidence features.

        A long message often explains a situation before it asks ("Ich bin 78, mein Enkel
        hat mir Facebook eingerichtet ... Wie kann ich das verhindern?"): the question
        decides, the side remarks count less (:func:`asking_parts`). A greeting it opens
        with is left out."""
        index = self._indexes[lang]
        text = without_denied_platforms(self._without_greeting(text, lang))
        whole = index.rank(text)
        parts = asking_parts(text, lang) if len(index.lexicon.content_words(text)) >= _LONG else []
        if whole is None or not parts:
            return whole
        focused = index.rank(text, parts)
        # Read both ways, the same topic: as sure as the surer reading ("Wie kann ich das
        # verhindern?" says what is asked, the situation before it what "das" is).
        if (
            focused is not None
            and whole.answerable
            and int(whole.order[0]) == int(focused.order[0])
            and confidence(whole.features) > confidence(focused.features) * focused.answerable
        ):
            return whole
        return focused

    def suggest(self, text: str, lang: str, limit: int = 3) -> Sequence[str]:
        """Up to ``limit`` node ids that come closest to ``text`` (for fallbacks)."""
        return self.match(text, lang).candidates[:limit]


COMMON_SHARE = 0.5
"""A word used by at least half the nodes tells no node apart."""


def generic_examples(content: Content) -> list[tuple[Node, str, str]]:
    """Example questions made only of words that many nodes use (``node, lang, question``).

    Such an example ("Fragen an Meta AI") matches any question with those words and pulls
    it to its node; ``python -m bot check`` warns about them.
    """
    out: list[tuple[Node, str, str]] = []
    nodes = [n for n in content.nodes.values() if n.id != content.meta.root]
    for lang in content.languages:
        lex = Lexicon(lang, content.meta.synonyms.get(lang, ()))
        used: list[set[str]] = []
        for n in nodes:
            texts = _example_texts(n, lang) + _answer_texts(n, lang)
            used.append({lex.stem(w) for t in texts for w in lex.content_words(t)})
        df = Counter(s for stems in used for s in stems)
        common = {s for s, c in df.items() if c >= COMMON_SHARE * len(nodes)}
        for n in nodes:
            title = n.title.get(lang, "").strip().lower()
            for q in n.questions.get(lang, ()):
                stems = {lex.stem(w) for w in lex.content_words(q)}
                if stems <= common and q.strip().lower() != title:
                    out.append((n, lang, q))
    return out


def generic_example_problems(content: Content) -> list[Problem]:
    """Warnings for :func:`generic_examples`, for ``python -m bot check``."""
    return [
        Problem(
            node.file,
            node.line,
            f"node '{node.id}': example question ({lang}) {question!r} has only words that"
            " many nodes use, so it pulls unrelated questions to this node",
            "add a word that only this topic uses, or drop the example",
            level="warning",
        )
        for node, lang, question in generic_examples(content)
    ]
