"""The lexical index: every node of one language scored by the words a question uses.

Lexical matching from well-kept parts: Okapi BM25, Snowball stems (PyStemmer's C
implementation when installed), rapidfuzz for typos. Each node is indexed per language from
its title, example questions and keywords (strong evidence) and from its answer texts, first
screen and details (weak evidence).

A question word the content never uses is aligned, as a whole word, with the spelling it
is typed without accents ("zdjecia", "deja"), else with the content's closest spellings (a
typo: one edit, two in long words, same first letter; two swapped neighbours count as one
edit, the optimal string alignment distance) or with the two
known words it is made of (a compound: "widerspruchs|formular"). A word is never matched
through a piece of another: "rain" is not in "training".

A question is scored against every node (BM25 of the aligned words over the strong and
the weak texts, BM25 of character n-grams over the strong texts as a tie-breaker for
inflections) and against every single example question (tf-idf cosine of the aligned
words); the node with the best weighted sum wins. The content's typical off-topic requests
(``off_topic`` in ``bot.yaml``) compete as one more pseudo-node that is never answered.
The nodes whose one-word keywords the question uses get a share of the ranking
(``KEYWORD_WEIGHT``, rarer keywords more).

A node may not answer at all (:attr:`Ranking.answerable`) when the off-topic class comes
within 90 % of it (``OFF_TOPIC_CLOSE``), when the question names another company, when it
names a kind of party the content never asks about (``OTHER_ROLES``) and neither Meta, its
apps nor the AI training (a party that often only says where the writer was, the language's
``situation_roles``, counts only in what it asks: "weil ich im Krankenhaus lag"), or when the
node shares too few of its words.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot import lang as lang_data
from bot.content.models import Content, Node
from bot.matching import decision
from bot.matching.clauses import _REMARK, _SHARP, asking_parts
from bot.matching.decision import FUSION, Fusion
from bot.matching.tables import Table
from bot.matching.text import (
    _ASKING,
    _BRANDS,
    _ENDINGS,
    _META_WORDS,
    _ROLE_ENDING,
    OTHER_PARTIES,
    OTHER_ROLES,
    Lexicon,
    _squeeze,
    fold,
    words,
)

_META = lang_data.common().meta_words
_TRAINING = {c: d.topic_words - _META for c, d in lang_data.languages().items()}
"""Words for Meta's AI training (without Meta's names, which some languages list there)."""


def _names_training(text: str, lang: str) -> bool:
    """Whether ``text`` names Meta (or one of its apps) and its AI training."""
    said = {fold(w, lang) for w in words(text)}
    return bool(said & _META) and bool(said & _TRAINING.get(lang, frozenset()))


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

_WORD_CHARS = re.compile(r"\w+")
_VECTOR_CACHE = 1024
"""Question words whose ranking rows each language index keeps (least recently used go)."""
_WORD_CACHE = 8192
"""Question words whose spellings, coverage and kind each language index keeps: a few
days of different questions' words; each row is a node-sized array, so more costs memory."""
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
GREETING_WORDS = 6
"""Longer messages are never only a greeting."""
OFF_TOPIC_CLOSE = 0.9
"""The matcher abstains when the off-topic class scores at least this share of the best node."""
_LONG = 12
_DENSE_OFF_FLOOR = 0.2
"""How much closer in meaning than any off-topic request the best node counts at most."""
_TOPICAL_CAP = 12
"""Topical words counted in the ``topical`` feature (their number over this many): a longer
message says no more."""
"""Messages with at least this many content words are also matched by their questions."""
"""Questions with at most this many content words are also compared whole (rapidfuzz)."""


def _answer_texts(node: Node, lang: str) -> list[str]:
    """Everything the node says: its first screen and its details ("more"), variants too."""
    texts = [node.text.get(lang, ""), *(v.text.get(lang, "") for v in node.variants)]
    texts += [m.get(lang, "") for m in (node.more, *(v.more for v in node.variants)) if m]
    return texts


_ASKED_WORDS = 6
"""A kind of party counts as one the content asks about when a title, keyword or example of
at most this many content words names it: a long example telling someone's situation names
parties in passing ("I work for a bank in Luxembourg, where do I complain about Meta?")."""


def _example_texts(node: Node, lang: str) -> list[str]:
    return [node.title.get(lang, ""), *node.questions.get(lang, ()), *node.keywords.get(lang, ())]


class WordRow(NamedTuple):
    """What one question word adds to a ranking (:meth:`LanguageIndex.rank`)."""

    nodes: np.ndarray
    """Its score of every node per field (examples, answer texts, n-grams), one after another."""
    examples: np.ndarray
    """The positions of the single examples it scores (every other example scores 0)."""
    scores: np.ndarray
    """Their scores, in that order."""
    length: float
    """Its share of the question's squared tf-idf length."""


def classifier_features(probabilities: np.ndarray, best: int, off: int | None) -> dict[str, float]:
    """What the node classifier says of the ranking's ``best`` node: its probability and the
    off-topic class's (as log-odds, bounded: a linear model weighs 0.9 against 0.99 as it
    weighs 0.1 against 0.5), and whether it puts the same node first."""
    nodes = probabilities[:off] if off is not None else probabilities
    return {
        "clf": _log_odds(float(probabilities[best])),
        "clf_off": _log_odds(float(probabilities[off])) if off is not None else -_LOG_ODDS,
        "clf_agree": float(int(np.argmax(nodes)) == best),
    }


_LOG_ODDS = 8.0
"""The bound of :func:`_log_odds`: a probability of 0.9997."""


def _log_odds(p: float) -> float:
    if p <= 0.0:
        return -_LOG_ODDS
    if p >= 1.0:
        return _LOG_ODDS
    return max(-_LOG_ODDS, min(_LOG_ODDS, math.log(p / (1.0 - p))))


@dataclass(frozen=True)
class Ranking:
    """A question scored against every node of one language."""

    order: np.ndarray  # node positions, best first (the off-topic class left out)
    scores: np.ndarray
    features: dict[str, float]  # confidence features of the best node
    foreign: bool  # names another company the content never mentions, or not on the best node
    related: tuple[int, ...]  # best nodes that share a word with the question, best first
    off_topic: float = 0.0  # the off-topic class's score over the best node's
    fusion: Fusion = FUSION  # how the dense signal joined: the question's language's
    about_training: bool = False  # names Meta (or an app) and its AI training ("meta ai ki")

    @property
    def answerable(self) -> bool:
        """Whether the best node may answer at all, however confident the model is.

        Not when the question names another company, is (almost) as close to the off-topic
        class as to the node, or
        shares too little with the node ("instagram weather cat dog" shares one word in
        four: a near miss) or with the content as a whole (mostly words it never uses)."""
        related = bool(self.related) and self.related[0] == int(self.order[0])
        if not related or self.foreign:
            return False
        if "dense" in self.features and self.fusion.rescues(self.features):
            # Another wording of one of its examples ("Geht ein Widerspruch überhaupt
            # noch?"), however few of the node's words it uses.
            return True
        return (
            # Close to an off-topic request ("marche à suivre" for a parcel) but naming
            # Meta's AI training: the model decides ("opposition IA meta marche à suivre").
            (self.off_topic < OFF_TOPIC_CLOSE or self.about_training)
            and self.features["covered"] >= _MIN_COVERED
            and self.features["known"] >= _MIN_KNOWN
        )


def _indexed_nodes(content: Content) -> list[Node]:
    """The nodes a typed question may be answered with, in index order.

    The steps of the guided checklist (reached by a button that sets an answer) are no
    answer to a typed question: they would drop the user into the middle of the list. Left
    out, they neither answer nor take the margin from a real topic. A step with example
    questions of its own is also a way in that its authors mean to be asked for (the reason
    builder: "can you write a reason for me?")."""
    steps = {o.to for n in content.nodes.values() for o in n.options if o.assign}
    return [
        n
        for n in content.nodes.values()
        if n.id != content.meta.root and (n.id not in steps or n.questions)
    ]


def known_stems(content: Content, lang: str) -> frozenset[str]:
    """:attr:`LanguageIndex.known_stems` without building the index: every stem of the
    words the content's texts in ``lang`` use (what language detection asks about)."""
    lex = Lexicon(lang, content.meta.synonyms.get(lang, ()))
    nodes = _indexed_nodes(content)
    texts = {t for n in nodes for t in (*_example_texts(n, lang), *_answer_texts(n, lang))}
    texts.update(content.meta.off_topic.get(lang, ()))
    split = [words(t) for t in texts]
    # Each different word once: only a text with a word that may start a synonym phrase
    # (before its last word) needs joining, as the index's own reading does.
    spelt = {w for ws in split for w in ws}
    lex.learn(spelt)
    starts = {w for w in spelt if lex.starts_phrase(w)}
    used: set[str] = set()
    for ws in split:
        used.update(ws if starts.isdisjoint(ws[:-1]) else lex.join(ws))
    return frozenset(lex.stem(w) for w in lex.topical(sorted(used)))


def index_key(content: Content, lang: str) -> str:
    """What the index of ``lang`` in ``content`` is built from, as a short key."""
    return f"{lang}-{hashlib.sha256(_index_inputs(content, lang)).hexdigest()}"


def _index_inputs(content: Content, lang: str) -> bytes:
    """Everything :class:`LanguageIndex` reads of ``content`` for ``lang``, as bytes."""
    meta = content.meta
    nodes = [
        (
            n.id,
            [(o.to, bool(o.assign)) for o in n.options],
            _example_texts(n, lang),
            _answer_texts(n, lang),
        )
        for n in content.nodes.values()
    ]
    asked = [(a.node, a.text) for a in content.asked.get(lang, ())]
    inputs = (
        lang,
        meta.root,
        meta.synonyms.get(lang, ()),
        meta.off_topic.get(lang, ()),
        nodes,
        asked,
    )
    return repr(inputs).encode()


_BUILT: dict[tuple[str, str], LanguageIndex] = {}
"""Recently built indexes by what they were built from: a reload reuses the languages whose
texts did not change (building one takes a good part of a second)."""

_PENDING: dict[str, list[Callable[[], object]]] = {}
"""Per language, how to load the indexes of matchers read from the content cache that were
not needed yet (:func:`defer`): before building a language anew, they are loaded and offered
for reuse."""


def defer(lang: str, load: Callable[[], object]) -> None:
    """Record ``load``, which loads (and :meth:`LanguageIndex.remember` s) a cached index of
    ``lang``, so that :meth:`LanguageIndex.of` reuses it rather than building it again."""
    _PENDING.setdefault(lang, []).append(load)


class LanguageIndex:
    """Everything the matcher knows about one language of the content."""

    @classmethod
    def of(cls, content: Content, lang: str, key: str | None = None) -> LanguageIndex:
        """The index of ``lang`` in ``content``: one built from the very same texts before
        in this process (an unchanged language on a reload), else a new one. ``key``: its
        :func:`index_key` if known."""
        made_of = (lang, key or index_key(content, lang))
        found = _BUILT.get(made_of)
        if found is None and lang in _PENDING:
            for load in _PENDING.pop(lang):
                load()
            found = _BUILT.get(made_of)
        if found is None:
            found = cls(content, lang)
            found.key = made_of
            found.remember()
        return found

    def remember(self) -> None:
        """Offer this index for reuse by :meth:`of` (a matcher loaded from the content cache
        calls this: its first reload then rebuilds only the languages that changed)."""
        if self.key is None:
            return
        # The previous content's (still serving while a reload builds) and this one's.
        for old in [k for k in _BUILT if k[0] == self.lang and k != self.key][:-1]:
            del _BUILT[old]
        _BUILT[self.key] = self

    def __init__(self, content: Content, lang: str) -> None:
        self.lang = lang
        self.key: tuple[str, str] | None = None
        """What it was built from, when built by :meth:`of`."""
        self.lexicon = lex = Lexicon(lang, content.meta.synonyms.get(lang, ()))
        nodes = _indexed_nodes(content)
        self.node_ids = [n.id for n in nodes]
        # Each text split into words once: the examples are read again below, and many
        # texts repeat (a title that is also a keyword, an answer shared by its variants).
        split: dict[str, tuple[list[str], list[str]]] = {}

        def tokens(text: str) -> tuple[list[str], list[str]]:
            found = split.get(text)
            if found is None:
                ws = words(text)
                found = split[text] = (ws, lex.join(ws))
            return found

        def content_words(text: str) -> list[str]:
            return lex.topical(tokens(text)[1])

        strong = [[content_words(t) for t in _example_texts(n, lang)] for n in nodes]
        weak = [[content_words(t) for t in _answer_texts(n, lang)] for n in nodes]
        topical = {w for texts in strong + weak for ws in texts for w in ws}
        # The off-topic requests are one more document after the nodes: a pseudo-node that
        # competes in the ranking and is never answered.
        off_topic = [content_words(t) for t in content.meta.off_topic.get(lang, ())]
        self.off_topic: int | None = None
        # What the dense signal compares with, per position (the off-topic class last).
        # The readers' asked questions count there too, never in the words' ranking: they
        # are many, and a reader's chance words would pull unrelated questions to a node.
        self.position_texts: list[list[str]] = [_example_texts(n, lang) for n in nodes]
        if any(off_topic):
            self.position_texts.append(list(content.meta.off_topic.get(lang, ())))
            self.off_topic = len(nodes)
            strong.append(off_topic)
            weak.append([])
        at = {n.id: i for i, n in enumerate(nodes)}
        for asked in content.asked.get(lang, ()):
            position = self.off_topic if asked.node is None else at.get(asked.node)
            if position is not None:
                self.position_texts[position].append(asked.text)
        root = content.nodes.get(content.meta.root)
        greetings = [words(t) for t in (_example_texts(root, lang) if root else ())]
        self.greetings = frozenset(_squeeze(fold(w, lang)) for ws in greetings for w in ws)
        self.salutations = frozenset(_squeeze(fold(ws[0], lang)) for ws in greetings if ws)
        """The words the root's examples open with ("hola", "buenos", "menú"): a greeting has
        one; "tengo q hacer algo" has only words that greetings use later on."""
        self.greeting_texts = frozenset(
            tuple(_squeeze(fold(w, lang)) for w in ws) for ws in greetings if ws
        )
        """The root's examples word for word ("¿qué tal?" opens with a question word)."""

        mentioned = {w for texts in strong + weak for ws in texts for w in ws}
        stem_of = {w: lex.stem(w) for w in mentioned}
        folded = {w: fold(w, lang) for w in mentioned}
        strong_stems = [[stem_of[w] for ws in t for w in ws] for t in strong]
        weak_stems = [[stem_of[w] for ws in t for w in ws] for t in weak]
        self.word = Table.bm25(strong_stems)
        self.word_text = Table.bm25(weak_stems)
        self.char = Table.bm25([[w for ws in t for w in ws] for t in strong], lex.grams)
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
        # The content's spelling of a word typed without its accents ("odmowila" for
        # "odmówiła"), where only one spelling folds to it: the model reads the two apart.
        # Only where the language's data says its speakers often leave the accents off.
        accented: dict[str, str | None] = {}
        data = lang_data.languages().get(lang)
        if data is not None and data.unaccented:
            for w in sorted(mentioned):
                if folded[w] != w and folded[w] not in mentioned:
                    accented[folded[w]] = w if folded[w] not in accented else None
        self.accented = {f: w for f, w in accented.items() if w is not None}
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

        def wordings(owned: list[tuple[int, str]]) -> tuple[dict[tuple[str, ...], set[int]], ...]:
            """Each text's words spelt alike, and up to endings and synonyms, with their
            owners."""
            spelt: dict[tuple[str, ...], set[int]] = {}
            worded: dict[tuple[str, ...], set[int]] = {}
            for owner, t in owned:
                ws, joined = tokens(t)
                spelt.setdefault(tuple(folded.get(w) or fold(w, lang) for w in ws), set()).add(
                    owner
                )
                worded.setdefault(tuple(map(lex.stem, joined)), set()).add(owner)
            return spelt, worded

        own = wordings(said)
        self.exact = [
            {k: next(iter(o)) for k, o in owners.items() if k and len(o) == 1} for owners in own
        ]
        # A reader's asked question said again word for word ("za pozno juz?") has the page
        # it was asked for, where no title, keyword or example says the same and no other
        # asked question says it for another page: a wording the model weighs by its few
        # words is known here as it is. The measured question sets hold no near copies of
        # asked questions, so their figures do not change by it.
        readers = wordings(
            [
                (whose, q.text)
                for q in content.asked.get(lang, ())
                if (whose := self.off_topic if q.node is None else at.get(q.node)) is not None
            ]
        )
        for exact, theirs, ours in zip(self.exact, readers, own, strict=True):
            exact.update(
                (k, next(iter(o))) for k, o in theirs.items() if k and len(o) == 1 and k not in ours
            )
        # The stems of each node's one-word keywords: the words its writers chose to tell it
        # from its siblings ("app" for the in-app path, "facebook" for the Facebook form).
        keyword_nodes: dict[str, set[int]] = {}
        for i, node in enumerate(nodes):
            for k in node.keywords.get(lang, ()):
                ks = content_words(k)
                if len(ks) == 1:
                    keyword_nodes.setdefault(lex.stem(ks[0]), set()).add(i)
        self.keyword_nodes = {
            k: (np.array(sorted(v)), math.log(len(nodes) / len(v)))
            for k, v in keyword_nodes.items()
        }
        # A message whose topical words are only one node's keyword, whatever small words
        # come with it ("¿y en Francia?", "a we Francji?", "und die DPC?"): that node.
        bare: dict[tuple[str, ...], set[int]] = {}
        asking = _ASKING.get(lang, frozenset())
        for i, node in enumerate(nodes):
            for k in node.keywords.get(lang, ()):
                kept = lex.content_words(k)
                if all(w in asking for w in kept):
                    # "wer bist du" without its small words is "wer": a message "wer?" asks
                    # nothing about this node (the keyword said in full still decides).
                    continue
                if key := tuple(lex.stem(w) for w in kept):
                    bare.setdefault(key, set()).add(i)
        for key in [k for k in bare if k in self.exact[1]]:
            # A title or example that says the same owns it (or shares it).
            bare[key].add(self.exact[1][key])
        self.bare_keywords = {k: next(iter(o)) for k, o in bare.items() if len(o) == 1}
        self.example_word = Table.cosine(example_stems)
        self.unknown_idf = math.log((len(example_node) + 1) / 0.5)
        data = lang_data.languages().get(lang)
        self.name_endings = tuple(data.name_endings) if data is not None else ()
        # "z gmaila" in an example: the content talks about Gmail.
        self.other_parties = frozenset(
            p for p in OTHER_PARTIES if not any(p + e in topical for e in ("", *self.name_endings))
        )
        # The other companies the content does talk about, with the pages that name them.
        self.party_pages = {
            party: frozenset(
                i for i in range(len(nodes)) if any(party in ws for ws in strong[i] + weak[i])
            )
            for party in OTHER_PARTIES & topical
        }
        # A kind of party counts as mentioned when a title, keyword or short example names it
        # ("a company page", "school days"); an answer text or a long example naming it in
        # passing is no topic.
        # Spelt as they are, not by stems: "self-employed" says nothing about an employer.
        self.asked_spellings = frozenset(
            folded[w]
            for t in strong[: len(nodes)]
            for ws in t
            if len(ws) <= _ASKED_WORDS
            for w in ws
        )
        self.roles = frozenset(
            f for r in OTHER_ROLES.get(lang, ()) if not self._asked(f := fold(r, lang))
        )
        self.role_tails = frozenset(r for r in self.roles if len(r) >= _MIN_PART)
        self.situations = tuple(
            sorted({fold(w, lang) for w in data.situation_roles}) if data is not None else ()
        )
        self._memoize()

    _MEMOIZED = ("vectors", "aligned", "coverage", "known", "names_role")

    def with_accents(self, text: str) -> str:
        """``text`` with each word typed without its accents spelt as the content spells it
        (:attr:`accented`); other words as typed."""
        if not self.accented:
            return text
        return _WORD_CHARS.sub(lambda m: self.accented.get(m.group().lower(), m.group()), text)

    def _memoize(self) -> None:
        # A word's row is a few KiB (its node scores are dense): a thousand recent words keep
        # the common ones at hand without the cache growing in a long-running bot.
        self.vectors = lru_cache(maxsize=_VECTOR_CACHE)(self._vectors)
        self.aligned = lru_cache(maxsize=_WORD_CACHE)(self._aligned)
        self.coverage = lru_cache(maxsize=_WORD_CACHE)(self._coverage)
        self.known = lru_cache(maxsize=_WORD_CACHE)(self._known)
        self.names_role = lru_cache(maxsize=_WORD_CACHE)(self._names_role)

    def __getstate__(self) -> dict[str, object]:
        """The index without its per-word memos (rebuilt empty when loaded from a cache)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._MEMOIZED}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._memoize()

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
        if f in self.spellings:
            # A word the content uses, typed without its accents ("zdjecia", "perche",
            # "deja"): as sure as a typo, and short words too, which are too short for one.
            return ((self.spellings[f], _TYPO_SURE),)
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
                    f, near, scorer=OSA.distance, score_cutoff=limit, limit=5
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

    def _vectors(self, word: str) -> WordRow:
        """What one question word adds: node scores per field (examples, answer texts,
        n-grams), its scores of the single examples, and its share of the question's squared
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
        # A word is in a few of the thousands of examples: only those are kept (the cache
        # holds a thousand words; dense, they took 45 MiB in two languages).
        used = np.flatnonzero(examples)
        row = WordRow(nodes.ravel(), used, examples[used], length)
        for array in row[:3]:
            array.flags.writeable = False  # shared through the cache
        return row

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

    def keyword_owner(self, text: str, *, words: int = 1) -> int | None:
        """The node one of whose keywords is all that ``text`` names, whatever small words
        come with it ("¿y en Francia?", "a we Francji?"), if only one node has it and the
        keyword has at least ``words`` words."""
        named = self.topical(text)
        return self.bare_keywords.get(named) if len(named) >= words else None

    def topical(self, text: str) -> tuple[str, ...]:
        """The stems of the words of ``text`` that can carry its topic (stop words left out,
        question words kept): what it names, without the small words around it."""
        return tuple(self.lexicon.stem(w) for w in self.lexicon.content_words(text))

    def wording(self, text: str) -> tuple[str, ...]:
        """The stems of every word of ``text``, small words too: what it says, whatever the
        endings, synonyms and punctuation ("Einspruch?" says "widersprechen")."""
        return tuple(self.lexicon.stem(w) for w in self.lexicon.words(text))

    def is_greeting(self, text: str) -> bool:
        """Whether ``text`` is only a greeting: every word one of the root's examples uses
        ("hallo", "guten morgen", drawn out: "hiii") or a filler word, and one of the former
        that opens such an example and is no question word: "¿qué tal?" greets, "¿por qué?"
        and "was?" ask, "tengo q hacer algo" asks something."""
        ws = words(text)
        if not ws or len(ws) > GREETING_WORDS or not self.greetings:
            return False
        asking = _ASKING.get(self.lang, frozenset())
        found = tuple(_squeeze(fold(w, self.lang)) for w in ws) in self.greeting_texts
        for w in ws:
            squeezed = _squeeze(fold(w, self.lang))
            if squeezed in self.greetings:
                opens = squeezed in self.salutations
                found = found or (opens and squeezed not in asking and w not in asking)
            elif not (self.lexicon._is_stop(w) or self.lexicon._is_stop(squeezed)):
                return False
        return found

    def rank(
        self,
        text: str,
        parts: Sequence[tuple[str, float]] = (),
        *,
        dense: np.ndarray | None = None,
        closest: Callable[[int], float] | None = None,
        classified: np.ndarray | None = None,
        boost: np.ndarray | None = None,
    ) -> Ranking | None:
        """Score ``text`` against every node; ``None`` when it has no words at all.

        With ``parts`` (pieces of ``text``, each with a weight), a word counts as much as
        its piece's weight: a long message's question more than its side remarks. ``dense``
        (per position, the off-topic class last: the cosine of the closest text in meaning,
        :class:`bot.matching.semantic.SemanticIndex`) is fused into the ranking and gives
        the decision its features, with ``closest`` (a position's few closest texts, their
        mean cosine: :meth:`SemanticIndex.closest`) and ``classified`` (per position, the node
        classifier's probabilities: :mod:`bot.matching.classifier`); ``boost`` (per node) adds
        what the context says (:mod:`bot.matching.context`)."""
        lang = self.lang
        pieces = parts or [(text, 1.0)]
        weighted = [(w, weight) for piece, weight in pieces for w in self._words(piece)]
        if not weighted and parts:
            weighted = [(w, 1.0) for w in self._words(text)]
        if not weighted or not self.node_ids:
            return None
        ws = [w for w, _ in weighted]
        off = self.off_topic
        # The other party a message names anywhere, unless it only says where the writer
        # was ("weil ich im Krankenhaus lag": a situation); such a one only in what it asks.
        foreign = any(self.names_party(w) for w in ws) or (
            self.elsewhere(ws)
            and (
                any(self.names_role(w) and not self._situation(w) for w in ws)
                or self.elsewhere(self._asked_words(text, pieces))
            )
        )
        # Question words and negations help rank ("why" vs "what") but are no evidence
        # that a node is on topic: "how is the weather" shares "how" with many examples.
        asking = _ASKING.get(lang, frozenset())
        topical = [(w, weight) for w, weight in weighted if w not in asking] or weighted
        n = self.size
        # One row per word (its node scores per field, then its example scores): the
        # question's scores are one weighted sum of rows, a matrix-vector product.
        vectors = [self.vectors(w) for w in ws]
        rows = np.zeros((len(vectors), 3 * n + len(self.example_node)))
        for i, row in enumerate(vectors):
            rows[i, : 3 * n] = row.nodes
            rows[i, 3 * n + row.examples] = row.scores
        weights = np.array([weight for _, weight in weighted])
        summed = weights @ rows
        length = float(weights**2 @ np.array([row.length for row in vectors]))
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
        words_best = -1
        fusion = decision.for_language(lang).fusion
        if dense is not None:
            words_best = int(np.argmax(total if off is None else total[:off]))
            total = total + fusion.dense_weight * fusion.lift(dense)
            if classified is not None and fusion.classifier_weight:
                total = total + fusion.classifier_weight * classified
        if boost is not None:
            total[: len(boost)] += boost
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
        foreign = foreign or self._elsewhere_named(ws, best)
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
            "topical": min(len(topical), _TOPICAL_CAP) / _TOPICAL_CAP,
        }
        if dense is not None:
            nodes_dense = dense[:off] if off is not None else dense
            others = np.delete(nodes_dense, best)
            features["dense"] = float(dense[best])
            features["dense_margin"] = float(dense[best] - (others.max() if len(others) else 0))
            # Bounded below: without off-topic requests (a content that has none) the gap
            # would be far outside anything the model was fitted on (-0.19 at the least).
            gap = (dense[off] if off is not None else -1) - dense[best]
            features["dense_off"] = max(float(gap), -_DENSE_OFF_FLOOR)
            # Whether the words alone and the meaning alone put the same node first: where
            # both agree with the fused ranking it is right far more often.
            features["agree_words"] = float(words_best == best)
            features["agree_dense"] = float(int(np.argmax(nodes_dense)) == best)
            # One close example may be a chance likeness; several close ones say the
            # question is asked the node's way (on the tune split it separates right first
            # places from wrong ones better than the closest alone).
            features["dense_top3"] = closest(best) if closest is not None else features["dense"]
            if classified is not None:
                features.update(classifier_features(classified, best, off))
        # Topics worth suggesting share at least one word with the question (n-gram
        # scores alone are never zero for long texts, whatever the question) or mean the
        # same as one of its examples.
        shared = coverage.max(axis=0) > 0
        if dense is not None:
            shared = shared | (dense[:n] >= fusion.dense_sure)
        related = tuple(int(i) for i in order[:_SUGGEST_POOL] if shared[i])
        # Read only where the off-topic requests come as close as the best node.
        about_training = off_topic >= OFF_TOPIC_CLOSE and _names_training(text, lang)
        return Ranking(order, total, features, foreign, related, off_topic, fusion, about_training)

    def names_party(self, word: str) -> bool:
        """Whether ``word`` names another company the content never talks about, also with
        an ending of the language ("Jak pobrać dane z TikToka?")."""
        return word in self.other_parties or any(
            word.endswith(e) and word[: -len(e)] in self.other_parties for e in self.name_endings
        )

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

    def _situation(self, word: str) -> bool:
        """Whether ``word`` names a kind of party a story often names only as where the
        writer was (the language's ``situation_roles``: "Krankenhaus", "college")."""
        return fold(word, self.lang).startswith(self.situations)

    def _asked(self, f: str) -> bool:
        """Whether a title, example or keyword uses the folded word ``f`` (with an ending)."""
        return any(f + ending in self.asked_spellings for ending in _ENDINGS)

    def elsewhere(self, ws: Sequence[str]) -> bool:
        """Whether words ``ws`` aim at another party than Meta: they name a kind of party the
        content never mentions and neither Meta, its apps nor the AI training ("Widerspruch
        gegen den Rentenbescheid", "access request to my employer")."""
        return not self._names_meta(ws) and any(self.names_role(w) for w in ws)

    def _names_meta(self, ws: Sequence[str]) -> bool:
        """Whether words ``ws`` name Meta, one of its apps or the AI training."""
        return any((f := fold(w, self.lang)) in _META_WORDS or f.startswith(_BRANDS) for w in ws)

    def _elsewhere_named(self, ws: Sequence[str], best: int) -> bool:
        """Whether words ``ws`` name another company the content talks about (Google on the
        page on other companies) but not on node ``best``, and neither Meta nor its apps:
        "gemini guarda lo que le pregunto?" is no question about this bot's own storage."""
        named = [w for w in ws if w in self.party_pages]
        if not named or self._names_meta(ws):
            return False
        return all(best not in self.party_pages[w] for w in named)

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
