"""Match a free-text question to the node that answers it, or abstain.

Lexical matching built from well-kept parts: Snowball stemming (inflection), rapidfuzz
(typos) and BM25 from rank-bm25 (ranking). Every node is indexed from its title, example
questions and keywords (strong evidence) and from its answer texts (weak evidence).
German compounds are split against the content's own vocabulary and umlaut spellings
(ae/oe/ue/ss) are folded, both in the index and in questions.

Confidence is not the BM25 score (which is unbounded) but how much of the question the
best node explains: the IDF-weighted share of the question's content words it contains,
blended with the closest example question. Words the content never uses (other
companies, the weather) weigh against the match, so off-topic questions fall below the
threshold and the engine answers honestly that it did not understand.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

from bot.content.models import Content, Node

_WORD = re.compile(r"[^\W\d_]+|\d+")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a"})
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")

_STEMMERS = {"de": "german", "en": "english", "fr": "french", "es": "spanish", "it": "italian"}
_STEM_SLACK = 80
"""Twice the most letters a Snowball stemmer strips as suffixes (German: under 30)."""

# Function words and everyday filler carry no topic; they would only add noise and, worse,
# count as "unexplained" words against a correct match in a long, chatty question.
STOPWORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        ab aber alle allem allen aller alles als also am an andere anderen auch auf aus bei beim
        bin bis bist bitte da dabei dafür damit dann das dass dazu dein deine deinem deinen
        deiner dem den denen denn der des dich die dies diese diesem diesen dieser dieses dir
        doch dort du durch eigentlich ein eine einem einen einer eines einfach einmal er es etwa
        etwas euch euer für gar geht gerade gibt habe haben hab hallo hast hat hatte hätte heißt
        hey hi hier hin ich ihm ihn ihnen ihr ihre im immer in ist ja jemand jetzt kann kannst
        kein keine keinen könnte könnten mal man mein meine meinem meinen meiner meines mich mir
        mit muss musst müssen nach nein nicht nichts noch nun nur ob oder ohne schon sehr sein
        seine sich sie sind so sollte soll sollen sowas um und uns unser unsere unter viel von vom
        vor war waren warum was weil weiß wenn wer werde werden wie wieso wieder will wir wird
        wirklich wo wollen würde zu zum zur über weshalb ganz ok okay denn halt echt eben
        genau gerne grad irgendwie mache machen macht kriege kriegt bekomme bekommen sagen
        leute frage fragen ahoi moin servus na also nen ne nem ner ganze ganzen dies jetzt
        gut danke bzw usw eigentlich überhaupt trotzdem schon gestern heute
        morgen da drin drauf dran darauf darum davon wurde wurden worden sei gewesen kommt
        """.split()  # noqa: SIM905 - a word list reads best as one block
    ),
    "en": frozenset(
        """
        a about after all also am an and any are as at be because been being but by
        can could did do does doing don done each even ever for from get gets getting got had
        has have having he hello her here hey hi him his how i if im i'm in into is it its
        just know let like me might more most much must my need needs no not now of off ok
        okay on one only or other our out please really s same say says she should so some
        someone something still such t than thank thanks that the their them then there
        these they thing things this those to too u us very want wanna was way we well were
        what whats when where which while who why will with would yes yet you your yours
        ur pls plz guys anyone anybody tell told said hear heard actually basically exactly
        right ll ve re d m gonna gotta wondering question questions help
        """.split()  # noqa: SIM905
    ),
}

# Spellings people type that the content does not: abbreviations and common variants.
# Keys are folded lower-case words; values are replacement words (then stemmed).
SYNONYMS: dict[str, dict[str, str]] = {
    "de": {
        "insta": "instagram",
        "instagramm": "instagram",
        "ig": "instagram",
        "fb": "facebook",
        "fratzenbuch": "facebook",
        "wa": "whatsapp",
        "whats": "whatsapp",
        "watsapp": "whatsapp",
        "einspruch": "widerspruch",
        "einsprechen": "widersprechen",
        "optout": "widerspruch",
        "ai": "ki",
        "dsgvo": "dsgvo",
        "gdpr": "dsgvo",
        "account": "konto",
        "accounts": "konten",
        "profil": "konto",
        "mail": "email",
        "deadline": "frist",
        "kinder": "kind",
    },
    "en": {
        "insta": "instagram",
        "ig": "instagram",
        "fb": "facebook",
        "wa": "whatsapp",
        "whats": "whatsapp",
        "optout": "opt",
        "ki": "ai",
        "dsgvo": "gdpr",
        "mail": "email",
        "profile": "account",
        "pic": "photo",
        "pics": "photos",
        "pictures": "photos",
        "picture": "photo",
        "images": "photos",
        "image": "photo",
        "kids": "children",
        "kid": "child",
    },
}

# Other companies and products: a question about them is not about Meta's training, even
# when it shares every other word with a node ("opt out of LinkedIn AI training").
# Unless the content itself talks about them, they weigh heavily against any match.
OTHER_PARTIES = frozenset(
    """
    tiktok linkedin google gmail gemini bard youtube openai chatgpt gpt claude anthropic
    microsoft copilot bing apple icloud siri amazon alexa twitter grok snapchat telegram
    signal pinterest reddit netflix spotify samsung xing discord twitch temu shein ebay
    paypal telekom vodafone
    """.split()  # noqa: SIM905
)

# Strong verbs whose stems Snowball leaves apart (widerspruch / widersprech / widersproch).
_LEMMAS: dict[str, dict[str, str]] = {
    "de": {
        "widerspruch": "widersprech",
        "widersproch": "widersprech",
        "widersprich": "widersprech",
        "widerspricht": "widersprech",
        "widerspruchsrecht": "widersprech",
        "wiedersprech": "widersprech",
        "wiederspruch": "widersprech",
        "wiedersproch": "widersprech",
    },
    "en": {"objection": "object", "opt": "opt"},
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
    stem = stem.translate(_FOLD)
    if lang == "de":
        stem = _DIGRAPHS.sub(lambda m: m.group(1)[0], stem)
    return _LEMMAS.get(lang, {}).get(stem, stem)


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``: punctuation, emoji and symbols dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    # "opt-out", "e-mail", "whats app": one word each, as the content writes them.
    text = text.replace("opt-out", "optout").replace("opt out", "optout")
    text = text.replace("e-mail", "email").replace("whats app", "whatsapp")
    return _WORD.findall(text)


def terms(text: str, lang: str) -> list[str]:
    """Stemmed, umlaut-folded content words of ``text`` in ``lang``."""
    stop = STOPWORDS.get(lang, frozenset())
    syn = SYNONYMS.get(lang, {})
    out = []
    for w in words(text):
        if w in stop:
            continue
        out.append(_stem(syn.get(w, w), lang))
    return out


def _node_texts(node: Node, lang: str) -> list[str]:
    texts = [node.text.get(lang, "")]
    texts += [v.text.get(lang, "") for v in node.variants]
    texts += [o.label.get(lang, "") for o in node.options if o.label]
    return texts


class _LanguageIndex:
    """Everything the matcher knows about one language of the content."""

    def __init__(self, content: Content, lang: str) -> None:
        self.lang = lang
        self.stop = STOPWORDS.get(lang, frozenset())
        nodes = [n for n in content.nodes.values() if n.id != content.meta.root]
        self.node_ids = [n.id for n in nodes]
        strong_texts = [
            [n.title.get(lang, ""), *n.questions.get(lang, ()), *n.keywords.get(lang, ())]
            for n in nodes
        ]
        weak_texts = [_node_texts(n, lang) for n in nodes]
        # The vocabulary compounds are split against: every word the content uses.
        plain: list[list[list[str]]] = [
            [terms(t, lang) for t in texts] for texts in strong_texts + weak_texts
        ]
        self.vocab_set = frozenset(t for doc in plain for text in doc for t in text)
        self.parts_vocab = frozenset(t for t in self.vocab_set if len(t) >= 4)
        # No piece longer than this can stem to a known part: stemming at most halves a word
        # twice (ae/oe/ue become one letter in the stemmer and again after folding) and
        # strips under _STEM_SLACK / 2 letters of suffixes. split() skips longer pieces
        # instead of stemming every tail of a long word (quadratic: seconds for one
        # 2000-letter "word"); the result is the same.
        longest = max(
            [len(t) for t in self.parts_vocab] + [len(k) for k in _LEMMAS.get(lang, {})],
            default=0,
        )
        self.max_part = 4 * longest + _STEM_SLACK
        self.vocab = sorted(self.vocab_set)

        self.strong: list[frozenset[str]] = []
        self.weak: list[frozenset[str]] = []
        self.examples: list[tuple[int, frozenset[str]]] = []
        docs: list[list[str]] = []
        for i in range(len(nodes)):
            strong_terms: list[str] = []
            for text in strong_texts[i]:
                example = self.expand(terms(text, lang))
                if example:
                    self.examples.append((i, frozenset(example)))
                strong_terms += example
            weak_terms = [t for text in weak_texts[i] for t in self.expand(terms(text, lang))]
            self.strong.append(frozenset(strong_terms))
            self.weak.append(frozenset(weak_terms))
            # Strong fields count double in the ranking.
            docs.append(strong_terms * 2 + weak_terms)
        self.bm25 = BM25Okapi(docs or [[""]])
        n = max(len(nodes), 1)
        df: dict[str, int] = {}
        for i in range(len(nodes)):
            for t in self.strong[i] | self.weak[i]:
                df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.idf_unknown = math.log(1 + (n + 0.5) / 0.5)
        self.known = frozenset(df)
        self.other_parties = frozenset(_stem(w, lang) for w in OTHER_PARTIES) - self.known
        # What _score() needs of each example apart from the question, computed once: its
        # weight (the same sum, so the same float) and, per term, the examples that contain
        # it, so a question only visits the examples it shares a term with.
        self.example_weights = [sum(self.idf[t] for t in ex) for _, ex in self.examples]
        with_term: dict[str, list[int]] = {}
        for k, (_, ex) in enumerate(self.examples):
            for t in ex:
                with_term.setdefault(t, []).append(k)
        self.examples_with = {t: tuple(ks) for t, ks in with_term.items()}

    def foreign(self, text: str) -> list[str]:
        """Names of other companies in ``text`` that the content never mentions."""
        return [w for w in words(text) if w in OTHER_PARTIES and w not in self.known]

    def expand(self, ts: Iterable[str]) -> list[str]:
        """Terms plus the parts of German compounds (``widerspruchsformular`` adds both)."""
        out: list[str] = []
        for t in ts:
            out.append(t)
            if self.lang == "de" and len(t) >= 8:
                out.extend(self.split(t))
        return out

    @lru_cache(maxsize=16384)  # noqa: B019 - one index per content tree, lives as long as it
    def split(self, term: str) -> tuple[str, ...]:
        """Split a compound into two known words (with an optional linking "s")."""
        best: tuple[str, ...] = ()
        # Cuts with a head too long to be known (even without a linking "s") cannot match.
        for cut in range(min(len(term) - 4, self.max_part + 1), 3, -1):
            head, tail = term[:cut], term[cut:]
            if len(tail) > self.max_part:
                break  # the tails only get longer
            tail_stem = _stem(tail, self.lang)
            if tail_stem not in self.parts_vocab and tail not in self.parts_vocab:
                continue
            tail_term = tail_stem if tail_stem in self.parts_vocab else tail
            for h in (head, head[:-1] if head.endswith("s") else ""):
                if len(h) >= 4:
                    h_term = _stem(h, self.lang)
                    if h_term in self.parts_vocab:
                        return (h_term, tail_term)
                    if h in self.parts_vocab:
                        return (h, tail_term)
        return best

    @lru_cache(maxsize=16384)  # noqa: B019
    def resolve(self, term: str) -> tuple[tuple[str, ...], float]:
        """Map a question term onto the index: itself, compound parts or a typo fix.

        Returns the terms and how far to trust them (typo fixes are a guess).
        """
        if term in self.known:
            return (term,), 1.0
        if self.lang == "de" and len(term) >= 8:
            parts = self.split(term)
            if parts:
                return parts, 0.9
        if len(term) >= 5 and not term.isdigit():
            cutoff = 80 if len(term) >= 7 else 76
            hit = process.extractOne(term, self.vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
            if hit and hit[0] in self.known:
                return (hit[0],), 0.8
        return (), 0.0


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
            score = 0.0
            for w in ws:
                if w in stop or w in _DETECT_HINTS.get(lang, ()):
                    score += 1.0
                elif _stem(SYNONYMS.get(lang, {}).get(w, w), lang) in index.known:
                    score += 0.5
            if lang == "de" and re.search(r"[äöüß]", text.lower()):
                score += 1.5
            scores[lang] = score
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            return None
        return ranked[0][0]

    def _score(self, text: str, lang: str) -> tuple[list[tuple[float, int]], float]:
        index = self._indexes[lang]
        weighted: list[tuple[tuple[str, ...], float]] = []
        for term in terms(text, lang):
            if term in index.other_parties:
                continue  # counted in full below, never typo-fixed into a known word
            resolved, trust = index.resolve(term)
            weighted.append((resolved, trust))
        query = [t for resolved, _ in weighted for t in resolved]
        if not query or not index.node_ids:
            return [], 0.0
        bm = index.bm25.get_scores(query)
        top = max(bm) or 1.0
        total = sum(
            max((index.idf[t] for t in resolved), default=index.idf_unknown)
            for resolved, _ in weighted
        )
        total += sum(3 * index.idf_unknown for t in index.foreign(text))
        qset = frozenset(query)
        # Words nobody in the content uses still belong to the question's side of the ratio.
        unexplained = total - sum(
            max(index.idf[t] for t in resolved) for resolved, _ in weighted if resolved
        )
        q_weight = sum(index.idf[t] for t in qset) + unexplained
        best_example: dict[int, float] = {}
        for k in sorted({k for t in qset for k in index.examples_with.get(t, ())}):
            i, example = index.examples[k]
            common = qset & example
            num = 2 * sum(index.idf[t] for t in common)
            den = q_weight + index.example_weights[k]
            best_example[i] = max(best_example.get(i, 0.0), num / den)
        ranked = []
        for i in range(len(index.node_ids)):
            if bm[i] <= 0 and i not in best_example:
                continue
            got = 0.0
            for resolved, trust in weighted:
                w = 0.0
                for t in resolved:
                    if t in index.strong[i]:
                        w = max(w, index.idf[t] * trust)
                    elif t in index.weak[i]:
                        w = max(w, 0.5 * index.idf[t] * trust)
                got += w
            coverage = got / total if total else 0.0
            score = 0.55 * coverage + 0.35 * best_example.get(i, 0.0) + 0.1 * max(bm[i], 0) / top
            ranked.append((score, i))
        ranked.sort(reverse=True)
        return ranked, total

    def match(self, text: str, lang: str) -> MatchResult:
        """Match ``text`` in ``lang``; ``matched`` is False when the matcher abstains."""
        index = self._indexes[lang]
        ranked, _ = self._score(text, lang)
        if not ranked:
            return MatchResult(None, 0.0, False, lang)
        score, best = ranked[0]
        candidates = tuple(index.node_ids[i] for _, i in ranked[:3])
        matched = score >= self.threshold
        return MatchResult(
            index.node_ids[best] if matched else None, round(score, 3), matched, lang, candidates
        )

    def suggest(self, text: str, lang: str, limit: int = 3) -> Sequence[str]:
        """Up to ``limit`` node ids that come closest to ``text`` (for fallbacks)."""
        return self.match(text, lang).candidates[:limit]


# Frequent words that tell the languages apart but are not stopwords for matching.
_DETECT_HINTS: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        widerspruch widersprechen daten konto beiträge löschen frist zu spät formular geht
        funktioniert wann wo welche gilt reicht nutzt kinder bilder rechte gericht
        """.split()  # noqa: SIM905
    ),
    "en": frozenset(
        """
        object objection opt data account posts delete deadline late form works work when
        which does use used using kids pictures rights court my is the
        """.split()  # noqa: SIM905
    ),
}
