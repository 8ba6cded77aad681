"""The matcher: a question (and where the user is) in, a node or a fallback out."""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

from bot import lang as lang_data
from bot.content.cache import Part
from bot.content.models import Content
from bot.language_detect import LanguageDetector
from bot.matching import decision
from bot.matching.ages import age_in, stated_age, without_age
from bot.matching.answers import apps, letter_words
from bot.matching.classifier import (
    CLASSIFIERS_DIR,
    Classifiers,
    ClassifierStore,
    classifier_key,
)
from bot.matching.clauses import _REMARK, asking_parts, without_denied_platforms
from bot.matching.context import (
    NEAR_COVERED,
    NEAR_DENSE_OFF,
    NEAR_WORDS,
    OPTION_SURE,
    FollowUp,
    asked_here,
    asks_how_after_story,
    boost_array,
    follow_up,
    names_nothing,
    names_of_page,
    nearest_neighbour,
    neighbourhood,
    off_topic_reading,
    one_topic_word,
    titled_option,
)
from bot.matching.decision import FUSED, LEXICAL
from bot.matching.languages_asked import language_asked
from bot.matching.lexical import (
    _LONG,
    GREETING_WORDS,
    OFF_TOPIC_CLOSE,
    LanguageIndex,
    Ranking,
    defer,
    index_key,
    known_stems,
)
from bot.matching.named_pages import AppMenus, CountryPages
from bot.matching.semantic import (
    Embedder,
    EmbeddingCache,
    SemanticIndex,
    default_cache_dir,
    default_embedder,
    meaning_wanted,
)
from bot.matching.shipped import shipped_path
from bot.matching.text import _META_WORDS, Lexicon, content_words, fold, words

_OPENING = re.compile(r"([^,.!?;:\n]*)[,.!?;:\n]*(.*)", re.DOTALL)
"""A message's first clause (up to punctuation) and the rest."""


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
    again: bool = False
    """The message asks about the page the user is at without naming anything ("bist du
    sicher?"): the page's details answer it better than its first screen again."""


log = logging.getLogger(__name__)

T = TypeVar("T")

BACKGROUND_OVER = 300
"""More texts than this to embed (a minute or more on one core) are embedded in the
background when the bot starts, instead of keeping it from serving."""

ALONE_SURE = 0.9
"""A follow-up that names its own topic is answered by it alone from this confidence on (and a
question that is no follow-up, without a look at the page just read). 0.9 since the fitted
model weighs products of features and is surer of short questions: on the multi-turn tune
set it resolves as many follow-ups and more changes of topic than 0.8 did."""


KEYWORD_SURE = 0.75
"""How sure a message is that names only one node's keyword among small words: enough to
answer it, less than the exact wording. A follow-up ("and on Instagram?") is not decided
this way at all: it asks about the page just read."""


OPTION_NAMED = 0.5
"""How sure a follow-up read alone must be of a topic the page just read offers to go there
rather than back to the page."""


CONTEXT_SURE = 0.1
"""A follow-up answered by a neighbour of the page the user is at needs only this much
confidence: the page itself says what the short question is about."""

NEIGHBOUR_BEHIND = 0.6
"""How close to the best page (a share of its score) a page around the one just read must
rank to answer a follow-up that moves on ("auch aus der KI?" after the right to erasure)
where the best page is none of them: one word the whole content uses ("KI") lifts a page
away from the conversation ahead of the one it is about (chosen on the tune conversations:
0.5 and 0.6 answered four more follow-ups right and none wrong, 0.7 one)."""


NAMED_FLOOR = 0.1
"""How sure the model must be of a question for the app or place it names to pick a page
(:mod:`bot.matching.named_pages`): below it the ranking is noise, and "instagram keeps saying
action blocked" would get the Instagram objection steps for naming Instagram. Right answers
of the rule on the tune questions start at 0.116 ("solo tengo feisbuk, como me opongo ahi")."""


_RECENT_RANKS = 64
"""Words-only rankings a matcher keeps (the questions being answered right now: ``ask``
asks a group of them by their words, embeds what they need, then asks them again)."""
_RANKS_LOCK = threading.Lock()


class _MeaningNeeded(Exception):
    """Raised inside :meth:`Matcher.match_by_words` where the dense signal would be computed."""


_WORDS_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("words_only", default=False)
"""Set while :meth:`Matcher.match_by_words` runs (per thread: matchers are shared)."""

_WANTED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("wanted", default=None)
"""Set while :meth:`Matcher.words_or_wanted` runs: where the meaning of a text not embedded
yet would be computed, the text is noted here instead and the question given up."""


class Matcher:
    """Find the node answering a question; built once per content tree."""

    def __init__(
        self,
        content: Content,
        *,
        threshold: float | None = None,
        embedder: Embedder | Literal["default"] | None = "default",
        cache: EmbeddingCache | None = None,
    ) -> None:
        """``embedder``: the dense signal (``None``: words only; by default the shipped
        model where it loads); ``cache``: where the content's vectors are kept (by default
        :func:`default_cache_dir`). ``threshold`` overrides the fitted one.

        The model and the content's vectors are loaded when the first question needs its
        meaning, not here: a start-up whose first questions the words decide (and ``ask``,
        ``check``) never waits for them."""
        self.content = content
        # Each language's index is built when a question first needs it (a start-up, or
        # ``ask`` in one language, builds one of seven); the content cache keeps each in a
        # file of its own.
        self.indexes = _Indexes(
            {
                lang: Part(key, functools.partial(LanguageIndex.of, content, lang, key))
                for lang in content.languages
                for key in (index_key(content, lang),)
            }
        )
        self._default_model = embedder == "default"
        self._pending = self._default_model and meaning_wanted()
        self._embedder = None if embedder == "default" else embedder
        self._cache = cache
        self.semantic: dict[str, SemanticIndex] = {}
        """The content's vectors per language, built on first need (:meth:`semantic_index`)."""
        # Steps of the guided checklist (reached by a button that sets an answer) and menus
        # are no answer to a question: never offered in a clarifying question.
        steps = {o.to for n in content.nodes.values() for o in n.options if o.assign}
        self.not_topics = frozenset(
            steps | {n.id for n in content.nodes.values() if n.kind == "menu"}
        )
        self._app_menus = AppMenus.of(content)
        self._country_pages = CountryPages.of(content)
        self._titles: dict[tuple[str, str], str] = {}
        """A page's title as typed (:func:`_folded`) in a language, and the page: "tijdlijn"
        is the page titled "Tijdlijn" (checklist steps aside)."""
        for node in content.nodes.values():
            if node.id in steps or node.id == content.meta.root:
                continue
            for title_lang, title in node.title.items():
                self._titles.setdefault((title_lang, _folded(title, title_lang)), node.id)
        self._assembled = frozenset(
            n.id for n in content.nodes.values() if n.blocks and not n.questions
        )
        """Pages put together from the checklist's answers (``blocks``), not asked for in words."""
        self.cascade = True
        """Whether a question the words alone are sure about skips the dense signal
        (``False`` when fitting the fused model, which needs its features everywhere)."""
        self._thanks = _letter_words_by_lang(content.meta.thanks)
        self._goodbyes = _letter_words_by_lang(content.meta.goodbye)
        self._acknowledgements = _letter_words_by_lang(content.meta.acknowledge)
        root = content.nodes.get(content.meta.root)
        self._greetings = {
            lang: frozenset(
                fold(ws[0], lang)
                for said in (*root.questions.get(lang, ()), *root.keywords.get(lang, ()))
                if len(ws := words(said)) == 1
            )
            for lang in content.languages
            if root is not None
        }
        """One-word greetings per language: the main menu's examples and keywords of one
        word ("ciao", "moin")."""
        self._how_are_you = _phrases_by_lang(content.meta.how_are_you)
        self._how_are_you_words = GREETING_WORDS + max(
            (len(p) for phrases in self._how_are_you.values() for p in phrases), default=0
        )
        self._not_understood = _phrases_by_lang(content.meta.not_understood)
        self._page_requests = {
            kind: _phrases_by_lang(getattr(content.meta, f"{kind}_asked")) for kind in PAGE_REQUESTS
        }
        self._threshold = threshold
        self._preparing: threading.Thread | None = None
        self._classifiers: Classifiers | None = None
        self._lock = threading.RLock()
        """Held while the model, the vectors or a language's index are loaded, so that two
        threads matching at once (``ask``) load each only once."""
        # What language detection needs of each language: the stems its content uses, made
        # (or read from the cache) without building or loading that language's index.
        self._vocabulary = {
            lang: (
                Lexicon(lang, content.meta.synonyms.get(lang, ())),
                Part(f"vocabulary-{part.key}", functools.partial(known_stems, content, lang)),
            )
            for lang, part in self.indexes.parts.items()
        }
        self._detector = LanguageDetector(content.languages, known=self._uses)

    def __getstate__(self) -> dict[str, object]:
        """What a cached matcher keeps: the words' index, never the model or vectors (they
        are loaded from their own cache, and whether to use them is decided when loaded)."""
        state = dict(self.__dict__)
        state["indexes"] = self.indexes.parts
        for name in (
            "_embedder",
            "_cache",
            "semantic",
            "_pending",
            "_preparing",
            "_classifiers",
            "_lock",
            "_recent_ranks",
        ):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        # From the content cache each language's index comes as a part not unpickled yet:
        # loaded when that language is first needed.
        self.indexes = _Indexes(state["indexes"], cached=True)  # type: ignore[arg-type]
        # A model given by the caller is not cached with the matcher: words only then.
        self._pending = self._default_model and meaning_wanted()
        self._embedder = None
        self._cache = None
        self.semantic = {}
        self._preparing = None
        self._classifiers = None
        self._lock = threading.RLock()

    @property
    def embedder(self) -> Embedder | None:
        """The dense signal's model (loaded on first use), or ``None``: words only."""
        if self._pending:
            with self._lock:
                if self._pending:
                    # The model first: another thread that sees neither may match by words.
                    self._embedder = default_embedder()
                    self._pending = False
        return self._embedder

    @property
    def threshold(self) -> float:
        """The confidence from which a question is answered: the fused model's while the
        dense signal is (or may still be) there, else the words-only model's."""
        if self._threshold is not None:
            return self._threshold
        meaning = self._pending or self._embedder is not None
        return (FUSED if meaning else LEXICAL).threshold

    def prepare(
        self, *, background: bool = False, languages: Collection[str] | None = None
    ) -> None:
        """Build every language's index, and load the model and the content's vectors of
        every language (embedding what the cache lacks), now, so that no user's question
        waits for them: a running bot calls this before it serves, a reload before it swaps
        the content.

        With ``background``, where more than :data:`BACKGROUND_OVER` texts still need
        embedding (new content without its shipped vectors: minutes on one core), that is
        done in a thread and questions are matched by words alone until it is done.

        ``languages``: only these (the console's one user), the others when first asked."""
        wanted = [lang for lang in self.indexes if languages is None or lang in languages]
        self.build_indexes(wanted)
        embedder = self.embedder
        if background and embedder is not None:
            cache = self._embedding_cache(embedder)
            texts = [t for lang in wanted for ts in self.indexes[lang].position_texts for t in ts]
            todo = len(cache.missing(embedder.name, [t for t in texts if t.strip()]))
            if todo > BACKGROUND_OVER:
                log.warning(
                    "%d texts of the content have no vectors yet (run `python -m bot embed`"
                    " after changing the content): matching by words only until they are"
                    " embedded",
                    todo,
                )
                self._preparing = threading.Thread(
                    target=self._prepare_all, args=(wanted,), name="embed-content", daemon=True
                )
                self._preparing.start()
                return
        self._prepare_all(wanted)

    def build_indexes(self, languages: Collection[str] | None = None) -> None:
        """Build (or read from the cache) every language's index now (or those of
        ``languages``), and take from each what language detection needs (otherwise read on
        its own when first needed)."""
        for lang, (_, known) in self._vocabulary.items():
            if languages is None or lang in languages:
                known.put(self.indexes[lang].known_stems)

    def _prepare_all(self, languages: Collection[str]) -> None:
        for lang in languages:
            self.semantic_index(lang, fit_later=True)
        if self._preparing is not None:
            log.info("matching by meaning ready")

    def _embedding_cache(self, embedder: Embedder) -> EmbeddingCache:
        if self._cache is None:
            source = self.content.source_dir
            shipped = shipped_path(source, embedder.name) if source else None
            self._cache = EmbeddingCache(default_cache_dir(embedder.name), shipped=shipped)
        return self._cache

    def semantic_index(self, lang: str, *, fit_later: bool = False) -> SemanticIndex | None:
        """The content of ``lang`` as vectors (built on first call), ``None`` without a model
        and (to other threads) while :meth:`prepare` builds them in the background.

        Its classifier is read from the shipped or cached ones, else fitted now; with
        ``fit_later``, a long fit is done in a thread (:class:`Classifiers`), the questions
        decided without the classifier until it is done."""
        found = self.semantic.get(lang)
        if found is not None or self._building():
            return found
        with self._lock:
            found = self.semantic.get(lang)
            if found is None and (embedder := self.embedder) is not None:
                cache = self._embedding_cache(embedder)
                texts = self.indexes[lang].position_texts
                found = SemanticIndex(embedder, cache, texts)
                key = classifier_key(embedder.name, texts)
                self._classifiers_for(cache).attach(found, key, later=fit_later)
                self.semantic[lang] = found
        return found

    def classifiers_pending(self) -> bool:
        """Whether classifiers are still being fitted in the background."""
        return self._classifiers is not None and self._classifiers.pending()

    def _classifiers_for(self, cache: EmbeddingCache) -> Classifiers:
        """Who reads, fits and keeps the classifiers: beside ``cache``'s vectors."""
        if self._classifiers is None:
            directory, shipped = cache.directory, cache.shipped
            self._classifiers = Classifiers(
                ClassifierStore(
                    directory / CLASSIFIERS_DIR if directory is not None else None,
                    shipped.parent / CLASSIFIERS_DIR if shipped is not None else None,
                )
            )
        return self._classifiers

    def _building(self) -> bool:
        """Whether another thread is building the vectors now (not the one asking)."""
        thread = self._preparing
        return thread is not None and thread.is_alive() and thread is not threading.current_thread()

    def detect_language(
        self, text: str, *, current: str | None = None, locale: str | None = None
    ) -> str | None:
        """The most likely declared language of ``text``, or ``None`` when unclear; see
        :class:`bot.language_detect.LanguageDetector` (``current``: the session's language,
        ``locale``: the platform's)."""
        return self._detector.detect(text, current=current, locale=locale)

    def _uses(self, lang: str, word: str) -> bool:
        """Whether the content uses ``word`` (up to its stem) in ``lang``."""
        lexicon, known = self._vocabulary[lang]
        return lexicon.stem(word) in known.get()

    def match(
        self, text: str, lang: str, context: str | None = None, *, suggested: bool = False
    ) -> MatchResult:
        """Match ``text`` in ``lang``; ``matched`` is False when the matcher abstains.

        ``context``: the node the user is at (from the session state), so that a follow-up
        ("warum?", "und bei Instagram?") is read with it (:mod:`bot.matching.context`).
        ``suggested``: the context is only the closest topic a fallback suggested, a page the
        user has not read; a follow-up may then lead to its neighbours ("und bei Insta?"
        after the Facebook steps were suggested) but not to that page itself on the strength
        of its title ("wie mache ich das?" says nothing about it), only where it names what
        the page speaks of ("und Jugendliche?" after the page on children was suggested).

        A message of only words of thanks or goodbye (:meth:`thanks_language`) is no question:
        never matched, whatever page its words appear on ("gracias" in a confirmation email's
        description); nor is one that asks for a language (:meth:`language_asked`: "spreek
        je ook Frans?" is not about France)."""
        if (
            self.thanks_language(text, lang)
            or self.how_are_you_language(text, lang)
            or self.not_understood_language(text, lang)
            or self.language_asked(text, lang) is not None
            or _asks_to_translate(text, lang)
            or _asks_to_calculate(text, lang)
            or (_only_yes_or_no(text, lang) and not self._says_a_page(text, lang))
        ):
            return MatchResult(None, 0.0, False, lang)
        minors = self.content.meta.minors
        if (
            minors is not None
            and (age := stated_age(text, lang)) is not None
            and age < minors.below
        ):
            # "mam 16 lat": whether any of this applies to the writer, a minor.
            return MatchResult(minors.page, 1.0, True, lang, (minors.page,))
        if (
            context is not None
            and not suggested
            and asked_here(self.content, context, text, self.indexes[lang].lexicon)
            and not self._offered_alone(text, lang, context)
        ):
            # The author says the page just read answers this ("geht das online?" after
            # a country's complaint route).
            return MatchResult(context, 1.0, True, lang, (context,))
        place = (
            self._country_pages.only_place(text, lang)
            if context in (None, self.content.meta.root)
            else None
        )
        if place is not None:
            # "im in dublin", "bin aus Wien" with nothing read: what applies where the reader
            # is. After a page, "und in der Schweiz?" is a follow-up of that page.
            return MatchResult(place, 1.0, True, lang, (place,))
        result = self._in_place(text, lang, context)
        age = age_in(text, lang)
        if age is not None and not result.matched and not result.clarify:
            # "ich bin 45 Jahre alt, ist es zu spät?": the age says who asks, not what.
            result = self._in_place(without_age(text, lang), lang, context)
        first = result.node or next(iter(result.clarify or result.candidates), None)
        if (
            minors is not None
            and age is not None
            and age < minors.below
            and (
                first in minors.instead_of
                or (not (result.matched or result.clarify) and bool(result.candidates))
            )
        ):
            # "ho 17 anni e ho ig, meta usa le mie foto?": what applies to a minor, where the
            # answer would be an adult's or none; not an off-topic question ("the weather?").
            return MatchResult(minors.page, 1.0, True, lang, (minors.page,))
        titled = None if result.matched else self._titles.get((lang, _folded(text, lang)))
        if titled is not None:
            # A page's title typed as it stands ("cronologia", "Tijdlijn"), where the words
            # alone left the matcher unsure: that page.
            return MatchResult(titled, 1.0, True, lang, (titled, *result.candidates))
        page = self.content.nodes.get(context or "")
        if (
            page is not None
            and page.kind != "menu"
            and page.id != self.content.meta.root
            and not suggested
            and not result.matched
            and not result.clarify
            and result.candidates
            and result.score >= OPTION_SURE
            and result.candidates[0] in {o.to for o in page.options}
        ):
            # Unsure on its own, but the page just read offers that topic.
            result = MatchResult(result.candidates[0], result.score, True, lang, result.candidates)
        if (
            suggested
            and result.matched
            and result.node == context
            and follow_up(self.content, context, text, lang) is not None
            and not names_of_page(self.content, context or "", text, lang)
        ):
            return MatchResult(None, result.score, False, lang, result.candidates)
        if not suggested and not result.matched and not result.clarify:
            return self._on_page(text, lang, context) or result
        return result

    def _says_a_page(self, text: str, lang: str) -> bool:
        """Whether ``text`` is word for word a page's title, keyword or example ("nie mam
        konta", "non ho un account": the checklist's "no" and the page for readers without
        an account)."""
        owner = self.indexes[lang].exact_owner(self._without_greeting(text, lang))
        return owner is not None and owner != self.indexes[lang].off_topic

    def _offered_alone(self, text: str, lang: str, context: str) -> bool:
        """Whether ``text`` read on its own is sure of a topic the page ``context`` offers as
        an option of its own, with the one word it names: "how do I object?" after a country's
        complaint route shares that word with the page's follow-up "do I have to object to
        Meta first?", but the page offers how to object."""
        page = self.content.nodes.get(context)
        if page is None or not one_topic_word(self.content, text, self.indexes[lang].lexicon):
            return False
        alone = self._match(text, lang)
        return (
            alone.matched and alone.node != context and alone.node in {o.to for o in page.options}
        )

    def language_asked(self, text: str, lang: str | None = None) -> str | None:
        """The code of the language ``text`` asks the bot to use ("do you speak French?":
        ``fr``), ``""`` for one the content lacks, ``None`` when it asks for none
        (:mod:`bot.matching.languages_asked`); in a chat in ``lang``, a bare name only as a
        reader of ``lang`` would type it."""
        return language_asked(text, self.content.languages, lang)

    def thanks_language(self, text: str, first: str | None = None) -> str | None:
        """The language in which ``text`` is only words of thanks or goodbye (the content's
        ``thanks``), ``first`` tried first; ``None``: it says something else, or it is a
        greeting in ``first`` ("ciao" greets in Italian and says goodbye in German)."""
        said = letter_words(text)
        if not said:
            return None
        if first in self._thanks and self._greets(text, first):
            return None
        for lang in (first, *self._thanks):
            if lang is not None and said <= self._thanks.get(lang, frozenset()):
                return lang
        return None

    def only_acknowledges(self, text: str, lang: str) -> bool:
        """Whether ``text`` (words of thanks in ``lang``: :meth:`thanks_language`) only
        acknowledges ("ok", "alles klar", "va bene"): every word among the content's
        ``acknowledge`` words of ``lang``."""
        said = letter_words(text)
        return bool(said) and said <= self._acknowledgements.get(lang, frozenset())

    def greeting_language(self, text: str, first: str | None = None) -> str | None:
        """The language in which ``text`` is a one-word greeting ("ciao": Italian, "cześć":
        Polish, "salut": French), ``first`` tried first; ``None`` for any other message."""
        for lang in (first, *self._greetings):
            if lang is not None and self._greets(text, lang):
                return lang
        return None

    def says_goodbye(self, text: str, lang: str) -> bool:
        """Whether ``text`` (words of thanks in ``lang``: :meth:`thanks_language`) says
        goodbye ("tschüss", "danke, ciao"): one of its words is among the content's
        ``goodbye`` words of ``lang``."""
        return bool(letter_words(text) & self._goodbyes.get(lang, frozenset()))

    def _greets(self, text: str, lang: str) -> bool:
        """Whether ``text`` is one word the main menu's examples or keywords in ``lang`` are
        on their own (a greeting such as "ciao")."""
        ws = words(text)
        return len(ws) == 1 and fold(ws[0], lang) in self._greetings.get(lang, ())

    def how_are_you_language(self, text: str, first: str | None = None) -> str | None:
        """The language in which ``text`` asks the bot how it is (one of the content's
        ``how_are_you``, perhaps after a greeting: "hallo, wie geht's?", "salut ça va ?"),
        ``first`` tried first; ``None``: it says something else ("wie geht das?")."""
        ws = words(text)
        if len(ws) > self._how_are_you_words:
            return None  # longer than any greeting and phrase together: a question
        return self._phrase_language(self._how_are_you, ws, first, after_greeting=True)

    def not_understood_language(self, text: str, first: str | None = None) -> str | None:
        """The language in which ``text`` says the writer did not understand (one of the
        content's ``not_understood`` as the whole message: "versteh ich nicht", "hä?", "no
        entiendo"), ``first`` tried first; ``None``: it says something else ("ich verstehe
        das Formular nicht" asks about the form)."""
        return self._phrase_language(self._not_understood, words(text), first)

    def page_request(self, text: str, first: str | None = None) -> tuple[str, str] | None:
        """What ``text`` asks of the page just read, as a whole message, and the language it
        asks in: ``("sources", lang)`` for "Quelle?", ``("more", lang)`` for "tell me more",
        ``("repeat", lang)`` for "nochmal bitte" (:data:`PAGE_REQUESTS`; the content's
        ``sources_asked``, ``more_asked`` and ``repeat_asked``); ``None`` for anything else
        ("Quellen zum Urteil in Köln?" asks about the ruling), ``first`` tried first."""
        ws = words(text)
        for kind, phrases in self._page_requests.items():
            lang = self._phrase_language(phrases, ws, first)
            if lang is not None:
                return kind, lang
        return None

    def _phrase_language(
        self,
        phrases: Mapping[str, tuple[tuple[str, ...], ...]],
        ws: Sequence[str],
        first: str | None,
        *,
        after_greeting: bool = False,
    ) -> str | None:
        """The language of ``phrases`` (folded words per language) one of which words ``ws``
        are, ``first`` tried first; with ``after_greeting``, perhaps after a greeting."""
        for lang in (first, *phrases):
            if lang is None:
                continue
            # Folded without filling fold's cache: seven languages' forms of every short
            # message would crowd out the words matching uses.
            said = tuple(fold.__wrapped__(w, lang) for w in ws)
            for phrase in phrases.get(lang, ()):
                opening = said[: len(said) - len(phrase)]
                if said[len(opening) :] == phrase and (
                    not opening
                    or (after_greeting and self.indexes[lang].is_greeting(" ".join(opening)))
                ):
                    return lang
        return None

    def _on_page(self, text: str, lang: str, context: str | None) -> MatchResult | None:
        """The page the user is at, for a short message that names nothing of its own and is
        no off-topic request ("bist du sicher?", "who did it?"): it can only be about what
        was just read (:func:`bot.matching.context.names_nothing`)."""
        if context is None or not neighbourhood(self.content, context):
            # At the menu or a checklist question there is no page to be about.
            return None
        if not names_nothing(self.content, text, self.indexes[lang].lexicon):
            return None
        if self._names_unknown(text, lang):
            # A word the content never uses names something it does not know ("auch
            # Reels?"), not nothing.
            return None
        ranking = self.ranking(text, lang)
        if ranking is None or ranking.foreign:
            return None
        dense_off = self._dense_off(text, lang)
        if dense_off is None:
            # Words alone do not tell "what's the time?" from "who did it?".
            return None
        if off_topic_reading(ranking.off_topic, ranking.features["covered"], dense_off):
            return None
        return MatchResult(context, 0.0, True, lang, (context,), again=True)

    def _dense_off(self, text: str, lang: str) -> float | None:
        """How much closer in meaning ``text`` is to the closest off-topic request than to
        the closest topic's texts (negative: closer to a topic); ``None`` without the dense
        signal or off-topic requests."""
        index = self.indexes[lang]
        off = index.off_topic
        semantic = self.semantic_index(lang) if off is not None else None
        if off is None or semantic is None:
            return None
        meaning = self.meaning_text(text, lang)
        if _WORDS_ONLY.get():
            raise _MeaningNeeded
        dense = self._cosines(semantic, meaning)
        return float(dense[off] - dense[:off].max())

    @staticmethod
    def _cosines(semantic: SemanticIndex, meaning: str) -> np.ndarray:
        """``meaning``'s cosines with ``semantic``'s positions; under :meth:`words_or_wanted`,
        a meaning not embedded yet is noted and the question given up instead."""
        wanted = _WANTED.get()
        if wanted is not None and not semantic.embedder.knows(meaning):
            wanted.append(meaning)
            raise _MeaningNeeded
        return semantic.scores(meaning)

    def _in_place(self, text: str, lang: str, context: str | None) -> MatchResult:
        """:meth:`match` for a context the user has read."""
        node = self.content.nodes.get(context) if context else None
        if node is None or node.kind == "menu" or node.id == self.content.meta.root:
            return self._at_page(text, lang, context)  # no page read: a question on its own
        with decision.setting(decision.AT_PAGE, True):
            return self._at_page(text, lang, context)

    def _at_page(self, text: str, lang: str, context: str | None) -> MatchResult:
        # Before the exact wording: "warum?" may be one node's keyword, but after an answer
        # it asks about that answer.
        followed = follow_up(self.content, context, text, lang)
        hood = neighbourhood(self.content, context)
        if followed is None:
            single = self.decided(text, lang) or self._match(text, lang)
            if single.matched and single.score < ALONE_SURE:
                leaning = self._leaning(text, lang, context, hood, single)
                if leaning is not None:
                    return leaning
            if single.matched or single.clarify:
                return single
            # Unsure alone, but short: the page just read may say what it is about.
            near = self._near(text, lang, hood, single.score)
            if near is not None:
                return near
            # Read as a new question would be, with the node classifier: sure, and of the
            # page or a page around it ("und was kam nach dem August?" after the timeline).
            # Not of another page: the classifier's surer verdicts were not weighed against
            # the page just read (decision.AT_PAGE).
            if not decision.AT_PAGE.get() or not hood:
                return single  # no page read: that reading was the one alone
            with decision.setting(decision.AT_PAGE, False):
                alone = self._match(text, lang)
            if alone.matched and alone.node in hood:
                return alone
            return single
        # A follow-up is decided with the parameters its rules were set with: the fit sees
        # single questions only, and its surer verdicts on short questions would answer
        # "what if I don't?" alone instead of with the page just read.
        with decision.setting(decision.AS_BEFORE, True):
            return self._followed(text, lang, context, followed, hood)

    def _followed(
        self,
        text: str,
        lang: str,
        context: str | None,
        followed: FollowUp,
        hood: dict[str, float],
    ) -> MatchResult:
        """:meth:`_in_place` for a follow-up (``followed``) of the page ``context``."""
        decided = followed.why or followed.here
        if decided and decided in self.content.nodes:
            return MatchResult(decided, 1.0, True, lang, (decided,))
        alone: MatchResult | None = None
        if not followed.only_here:
            # "und die Verbraucherzentrale?" names its topic: read alone first, unless that
            # is unsure and the page's neighbours do not include it.
            # A bare keyword word does not count here: after an answer, "and on Instagram?"
            # asks about that answer on Instagram, not for Instagram's own page. A keyword of
            # several words names a topic of its own ("und Artikel 17?" after the right to
            # object).
            alone = self.decided(text, lang, keyword_words=2) or self._match(text, lang)
            if alone.matched and (alone.score >= ALONE_SURE or alone.node in hood):
                return alone
            # Sure of its own topic by the decision that answers single questions: a new
            # question that happens to point ("Was speichert eigentlich dieser Bot?" after
            # the page on damages), not a case of the page.
            with decision.setting(decision.AS_BEFORE, False):
                single = self._match(text, lang)
            if single.matched and single.score >= ALONE_SURE:
                return single
            if not alone.matched and self._off_topic(text, lang):
                # "how much does that cost?" after the Instagram steps: as close to the
                # off-topic requests as to any topic; the page's title would answer it with
                # the page, which does not say.
                return alone
        with_page = followed.text != text  # read with the page's title: it points back
        if not followed.only_here:
            # A neighbour whose own words clearly fit it ("und die Verbraucherzentrale?"
            # after noyb, "can I object there too?" after WhatsApp). One that points back
            # ("wie schalte ich den ein?") is first read with the page before the pages
            # around the page's own options may answer it.
            close = {n: w for n, w in hood.items() if w >= 1.0} if with_page else hood
            near = self._near(text, lang, close, alone.score if alone else 0.0)
            if near is not None:
                return near
        if not followed.only_here and with_page and self._names_unknown(text, lang):
            # Read with the page, but it names what the content never speaks of ("kann ich
            # denen spenden?" after noyb): the page's title would answer it with the page.
            return alone or self._match(text, lang)
        found, in_context = self._in_context(followed, lang, context)
        if found is not None:
            return self._option_named(text, found, alone, context)
        if not followed.only_here and with_page:
            near = self._near(text, lang, hood, alone.score if alone else 0.0)
            if near is not None:
                return near
        return in_context if alone is None else alone

    def _option_named(
        self, text: str, found: MatchResult, alone: MatchResult | None, context: str | None
    ) -> MatchResult:
        """``found`` (a follow-up ``text`` read with the page just read), unless it is that
        page and the message names one of the topics the page offers: by that topic's title
        (:func:`~bot.matching.context.titled_option`), or by the message alone pointing to
        it ("the right to object, what's that?" after the page on rights asks for that topic,
        which the page's title read with it outweighs)."""
        node = self.content.nodes.get(context or "")
        if node is None or found.node != node.id:
            return found
        titled = titled_option(self.content, node.id, text, found.language)
        if titled is not None:
            return MatchResult(titled, found.score, True, found.language, (titled,))
        if alone is None or not alone.candidates:
            return found
        first = alone.candidates[0]
        if alone.score < OPTION_NAMED or first not in {o.to for o in node.options}:
            return found
        return MatchResult(first, alone.score, True, found.language, alone.candidates)

    def _leaning(
        self,
        text: str,
        lang: str,
        context: str | None,
        hood: dict[str, float],
        single: MatchResult,
    ) -> MatchResult | None:
        """A short message the words answer only half sure with a page other than the one
        the user is at and its options, read with that page's title: the page or one of its
        options if that reading is surer ("muss ich für die Seite extra widersprechen?" after
        the page on clubs and Pages asks about the Page, not about several accounts)."""
        node = self.content.nodes.get(context or "")
        if node is None or not hood or len(words(text)) > NEAR_WORDS:
            return None
        near = [node.id, *(o.to for o in node.options)]
        if single.node in near:
            return None
        asked = apps(text)
        titled = apps(self.content.nodes[single.node].title.get(lang, "")) if single.node else set()
        if asked & titled and not asked & apps(node.title.get(lang, "")):
            # "so how do we object on fb" after the page on clubs and Pages: the page for that
            # app, which the page just read does not speak of by its title.
            return None
        index = self.indexes[lang]
        boost = boost_array(index.node_ids, dict.fromkeys(near, 0.0))
        read = self._match(f"{text} {node.title.get(lang, '')}", lang, boost)
        if read.matched and read.node in near and read.score > single.score:
            return read
        return None

    def _off_topic(self, text: str, lang: str) -> bool:
        """Whether ``text`` alone is (almost) as close to the off-topic requests as to any
        topic."""
        ranking = self.ranking(text, lang)
        return ranking is not None and ranking.off_topic >= OFF_TOPIC_CLOSE

    def _names_unknown(self, text: str, lang: str) -> bool:
        """Whether ``text`` has a word the content of ``lang`` never uses (up to its stem)."""
        return any(not self._uses(lang, w) for w in content_words(text, lang) if w.isalpha())

    def _in_context(
        self, followed: FollowUp, lang: str, context: str | None
    ) -> tuple[MatchResult | None, MatchResult]:
        """A follow-up's reading ranked with its context bonus: the answer if it gives one
        (else ``None``), and the ranking's verdict either way."""
        index = self.indexes[lang]
        boost = boost_array(index.node_ids, followed.boost)
        in_context = self._match(followed.text, lang, boost)
        if context in in_context.clarify:
            # Between the page just read and another: the other one is what is new.
            other = next(n for n in in_context.clarify if n != context)
            return MatchResult(
                other, in_context.score, True, lang, in_context.candidates
            ), in_context
        if not followed.sure and in_context.node not in followed.boost:
            # The message seemed to be about something else; read with the page, it may only
            # land on the page or what it offers.
            return None, in_context
        if in_context.matched or in_context.clarify:
            return in_context, in_context
        behind = self._neighbour_behind(followed, lang, context)
        if behind is not None:
            return MatchResult(
                behind, in_context.score, True, lang, in_context.candidates
            ), in_context
        first = in_context.candidates[:1]
        if (
            followed.sure
            and first
            and followed.boost.get(first[0], 0) > 0
            and in_context.score >= CONTEXT_SURE
        ):
            # A neighbour of the page, close enough: the context is evidence of its own.
            found = MatchResult(first[0], in_context.score, True, lang, in_context.candidates)
            return found, in_context
        return None, in_context

    def _neighbour_behind(self, followed: FollowUp, lang: str, context: str | None) -> str | None:
        """For a follow-up that moves on from ``context`` (the page gets no bonus) and is
        ranked first with a page not around it: the first page around it among the
        suggestions, if it comes close (:data:`NEIGHBOUR_BEHIND`)."""
        if not followed.sure or followed.boost.get(context or "", 0.0) >= 0:
            return None
        index = self.indexes[lang]
        ranking = self.ranking(followed.text, lang, boost_array(index.node_ids, followed.boost))
        if ranking is None or not ranking.related or ranking.foreign:
            return None
        best = int(ranking.order[0])
        if followed.boost.get(index.node_ids[best], 0.0) > 0:
            return None
        for i in ranking.related[:3]:
            node = index.node_ids[i]
            if followed.boost.get(node, 0.0) > 0:
                if ranking.scores[i] >= NEIGHBOUR_BEHIND * ranking.scores[best]:
                    return node
                return None
        return None

    def match_by_words(
        self, text: str, lang: str, context: str | None = None, *, suggested: bool = False
    ) -> MatchResult | None:
        """What :meth:`match` answers where the words alone decide it (the dense signal, the
        slow part, is not needed), else ``None``: then only :meth:`match` knows.

        Cheap: a caller with two languages to try (a user who chose one and typed in
        another) asks the words of both before the meaning of either."""
        try:
            with decision.setting(_WORDS_ONLY, True):
                return self.match(text, lang, context, suggested=suggested)
        except _MeaningNeeded:
            return None

    def words_or_wanted(self, ask: Callable[[], T]) -> tuple[T | None, str | None]:
        """``ask()`` (which matches questions with this matcher) run up to the first text
        whose meaning would have to be embedded: its outcome if it needed none (or only
        vectors already at hand), else ``None`` and that text.

        Lets a caller with many questions at once (``ask``) embed the texts they need
        together (:meth:`embed_ahead`, cheaper per text than one by one) and then ask again:
        the outcome is the same as asking once, the vectors of a batch being those of each
        text alone."""
        wanted: list[str] = []
        try:
            with decision.setting(_WANTED, wanted):
                return ask(), None
        except _MeaningNeeded:
            if not wanted:
                raise
            return None, wanted[0]

    def embed_ahead(self, texts: Sequence[str]) -> None:
        """Embed ``texts`` (as :meth:`words_or_wanted` names them) together
        (:meth:`Embedder.embed_batches`), so that the questions that need them find their
        vectors."""
        embedder = self.embedder
        if embedder is not None:
            embedder.embed_batches(texts)

    def _near(
        self, text: str, lang: str, hood: dict[str, float], score: float
    ) -> MatchResult | None:
        """``text`` answered by the neighbour of the page the user is at whose own words
        clearly fit it (:func:`bot.matching.context.nearest_neighbour`), if it is short and
        reads as being about the bot's topics at all."""
        if not hood or len(words(text)) > NEAR_WORDS or not _names_more(text, lang):
            # Nothing named but question words ("what about the US?", whose "us" is a small
            # word): no page's own words can fit it.
            return None
        index = self.indexes[lang]
        ranking = self.ranking(text, lang)
        if ranking is None or ranking.foreign or ranking.off_topic >= OFF_TOPIC_CLOSE:
            return None
        features = ranking.features
        if features["covered"] < NEAR_COVERED and features.get("dense_off", 0.0) > NEAR_DENSE_OFF:
            # Half its words unknown to the content and about as close in meaning to the
            # off-topic requests as to any topic ("wer wird deutscher Meister"): no topic.
            return None
        node = nearest_neighbour(index.node_ids, ranking.scores, ranking.related, hood)
        if node is None:
            return None
        return MatchResult(node, score, True, lang, (node,))

    def _match(self, text: str, lang: str, boost: np.ndarray | None = None) -> MatchResult:
        index = self.indexes[lang]
        ranking = self.ranking(text, lang, boost)
        if ranking is None:
            return MatchResult(None, 0.0, False, lang)
        # (Almost) as close to the off-topic requests as to any topic: none worth suggesting.
        off_topic = ranking.off_topic >= OFF_TOPIC_CLOSE
        decides = decision.for_language(lang)
        score = decides.confidence(ranking.features) if ranking.answerable else 0.0
        # The bar of the model that scored it: words only while the content's vectors are
        # still being built in the background.
        model = decides.model_for(ranking.features)
        bar = model.threshold if self._threshold is None else self._threshold
        # A near copy of one of the best node's examples answers whatever the model says
        # (:meth:`Fusion.near_copy`): its few words weigh little against its meaning.
        near_copy = ranking.answerable and decides.fusion.near_copy(ranking.features)
        matched = score >= bar or near_copy
        # An answer has its node first (answerable: the best node is related); off topic, no
        # topic is worth suggesting unless the meaning says the question is one after all.
        related = tuple(index.node_ids[i] for i in ranking.related[:3])
        matched = matched and bool(related)  # nothing to answer with (a zero threshold)
        candidates = () if off_topic and not matched else related
        # "Ich will nicht, dass Meta meine Posts nimmt": however sure of the page on what
        # Meta does, the writer asks how to stop it (the page's ``how``).
        refusing = ranking.answerable and bool(candidates) and _refuses(text, lang)
        # "Meta nimmt unsere Fotos für die KI, sagt meine Tochter. Wie geht das?": the story
        # names the page, the question after it asks for that page's ``how``. Where the page
        # is itself the steps, the question says what the ranking was unsure of: no floor.
        asks_how = (
            ranking.answerable
            and bool(candidates)
            and (matched or score >= NAMED_FLOOR or self.content.nodes[candidates[0]].how is None)
            and asks_how_after_story(self.content, candidates[0], text, lang)
        )
        # The two closest topics are about equally close: the bot would ask which is meant.
        tied = ranking.features["margin"] < decides.clarify_margin
        aim = self.content.nodes[candidates[0]].how if refusing or asks_how else None
        if asks_how and aim is None:
            # The page is itself the steps ("... man muss widersprechen. Wie geht das?" of the
            # steps to object): it answers, or the page of the app the story names.
            matched = True
        if (
            aim is None
            and ranking.answerable
            and candidates
            and not off_topic
            and (matched or score >= NAMED_FLOOR)
        ):
            # "hab nur insta, wo widersprech ich?": the menu asks which app; the question
            # has said it ("bin aus wien, wo beschwer ich mich?": which country).
            aim = (
                self._app_menus.page_for(text, lang, candidates, sure=matched, refusing=refusing)
                or self._country_pages.across(text, lang, candidates)
                or self._country_pages.about_seat(text, lang, candidates)
                or self._country_pages.page_for(text, lang, candidates, sure=matched, tied=tied)
            )
        if aim is not None:
            # Before any clarifying question: the question has said which page it means.
            rest = tuple(c for c in candidates if c != aim)
            return MatchResult(aim, round(score, 3), True, lang, (aim, *rest))
        topics = [n for n in candidates if n not in self.not_topics]
        if matched and tied and len(topics) >= 2 and candidates[0] == topics[0]:
            # Two real topics about equally close: ask which one is meant. Never a step of
            # the guided checklist or a menu: they are no answer to a question.
            return MatchResult(None, round(score, 3), False, lang, candidates, tuple(topics[:2]))
        node = candidates[0] if matched else None
        return MatchResult(node, round(score, 3), matched, lang, candidates)

    def decided(self, text: str, lang: str, *, keyword_words: int = 1) -> MatchResult | None:
        """The verdict on ``text`` that needs no ranking, if any: a message that is only a
        greeting matches the root (the engine shows the menu); one that says word for word
        what one node's title, keyword or example says matches that node, and one that says
        what an off-topic request says abstains. A keyword counts only where the message
        names at least ``keyword_words`` words of it."""
        index = self.indexes[lang]
        if index.is_greeting(text):
            return MatchResult(self.content.meta.root, 1.0, True, lang)
        text = self._without_greeting(text, lang)
        owner = index.exact_owner(text)
        if owner is None:
            named = _names_more(text, lang)
            keyword = index.keyword_owner(text, words=keyword_words) if named else None
            if keyword is None:
                return None
            # Sure, but less than the exact wording: after an answer, the page's own
            # neighbours may say what the keyword means ("and from the trained AI?").
            node = index.node_ids[keyword]
            return MatchResult(node, KEYWORD_SURE, True, lang, (node,))
        if owner == index.off_topic:
            return MatchResult(None, 0.0, False, lang)
        node = index.node_ids[owner]
        if node in self._assembled:
            # The title of a page put together from the checklist's answers ("Et ensuite ?",
            # "¿Y después?") is also an everyday follow-up: no verdict by its wording.
            return None
        return MatchResult(node, 1.0, True, lang, (node,))

    def _without_greeting(self, text: str, lang: str) -> str:
        """``text`` without the greeting it opens with ("Guten Morgen, ist es zu spät?"):
        it says nothing about the question."""
        found = _OPENING.match(text)
        if found and found.group(2).strip() and self.indexes[lang].is_greeting(found.group(1)):
            return found.group(2)
        return text

    def ranking(self, text: str, lang: str, boost: np.ndarray | None = None) -> Ranking | None:
        """Every node's score for ``text`` in ``lang``, with the confidence features.

        A long message often explains a situation before it asks ("Ich bin 78, mein Enkel
        hat mir Facebook eingerichtet ... Wie kann ich das verhindern?"): the question
        decides, the side remarks count less (:func:`asking_parts`). A greeting it opens
        with is left out."""
        index = self.indexes[lang]
        text, parts = self._read(text, lang)
        dense = closest = classified = None
        words_only, meaning = self._words_first(text, lang, parts, boost)
        if meaning is not None and _WORDS_ONLY.get():
            raise _MeaningNeeded
        if meaning is not None and (semantic := self.semantic_index(lang)) is not None:
            dense = self._cosines(semantic, meaning)
            closest = functools.partial(semantic.closest, meaning)
            # At a page already read, the rules that weigh the page against a reading alone
            # (context, ALONE_SURE) were set without the classifier.
            if decision.for_language(lang).uses_classifier and not decision.AT_PAGE.get():
                classified = semantic.probabilities(meaning)
        if dense is None and words_only is not None:
            whole: Ranking | None = words_only  # the same ranking again: not computed twice
        else:
            whole = index.rank(
                text, dense=dense, closest=closest, classified=classified, boost=boost
            )
        if whole is None or not parts:
            return whole
        focused = index.rank(
            text, parts, dense=dense, closest=closest, classified=classified, boost=boost
        )
        # Read both ways, the same topic: as sure as the surer reading ("Wie kann ich das
        # verhindern?" says what is asked, the situation before it what "das" is).
        confidence = decision.for_language(lang).confidence
        if (
            focused is not None
            and whole.answerable
            and int(whole.order[0]) == int(focused.order[0])
            and confidence(whole.features) > confidence(focused.features) * focused.answerable
        ):
            return whole
        return focused

    def _read(self, text: str, lang: str) -> tuple[str, list[tuple[str, float]]]:
        """``text`` as :meth:`ranking` reads it (without the greeting it opens with and the
        platforms it denies) and, for a long message, its parts (:func:`asking_parts`)."""
        index = self.indexes[lang]
        text = without_denied_platforms(self._without_greeting(text, lang))
        parts = asking_parts(text, lang) if len(index.lexicon.content_words(text)) >= _LONG else []
        return text, parts

    def _words_first(
        self,
        text: str,
        lang: str,
        parts: Sequence[tuple[str, float]],
        boost: np.ndarray | None = None,
    ) -> tuple[Ranking | None, str | None]:
        """The ranking by words alone (where the dense signal may be used and the cascade is
        on) and what the dense signal has to read of ``text`` (``None``: nothing, the words
        are sure, or too unsure for meaning to make it an answer, or there is no model).
        ``text`` and ``parts`` as :meth:`_read` gives them."""
        if not (self._pending or self._embedder is not None):
            return None, None
        if not self.cascade:
            return None, self._meaning(text, parts, lang)
        words_only = self._words_ranking(text, lang, boost)
        if words_only is None:
            return None, None  # no words at all ("🍕🍕🍕"): nothing to rank, whatever it means
        # Where the words alone are sure, meaning adds nothing: no embedding (the slow part
        # of a reply) for most questions; nor where they are so unsure that meaning would not
        # make it an answer.
        decides = decision.for_language(lang)
        probability = decides.lexical.probability(words_only.features)
        sure = (
            words_only.answerable
            and probability >= decides.fusion.words_sure
            and words_only.features["margin"] >= decides.clarify_margin
        )
        # Unsure because two topics tie ("widerspruch meta ki": the objection or Meta AI) is
        # no hopeless case: the meaning decides between them. Not where the off-topic
        # requests are as close as either topic: then it is most likely none.
        tied = (
            words_only.features["margin"] < decides.clarify_margin
            and words_only.features["off_topic"] < OFF_TOPIC_CLOSE
        )
        skip = sure or (probability < decides.fusion.words_hopeless and not tied)
        return words_only, None if skip else self._meaning(text, parts, lang)

    def _words_ranking(self, text: str, lang: str, boost: np.ndarray | None) -> Ranking | None:
        """``text`` ranked by its words alone; the last few without context are kept: a
        question asked by its words first (:meth:`match_by_words`) and then in full is
        ranked once."""
        if boost is not None:
            return self.indexes[lang].rank(text, boost=boost)
        key = (lang, text)
        recent = self.__dict__.setdefault("_recent_ranks", OrderedDict())
        with _RANKS_LOCK:
            found: Ranking | None = recent.get(key)
        if found is None:
            found = self.indexes[lang].rank(text)
            with _RANKS_LOCK:
                recent[key] = found
                if len(recent) > _RECENT_RANKS:
                    recent.popitem(last=False)
        return found

    def meaning_text(self, text: str, lang: str) -> str:
        """What the dense signal reads of ``text`` (see :meth:`ranking`): without the greeting
        it opens with and the platforms it denies, a long message's asking sentences only
        (with the story's words where they name nothing of the topic:
        :meth:`_with_story`), as much of them as the model reads (:meth:`Embedder.clip`)."""
        return self._meaning(*self._read(text, lang), lang)

    def _meaning(self, text: str, parts: Sequence[tuple[str, float]], lang: str) -> str:
        """What the model reads of ``text`` (``parts``: as :meth:`_read` gives them)."""
        index = self.indexes[lang]
        asked = index.with_accents(_asking_text(text, parts))
        clipped = self._clip(asked)
        if clipped != asked and not parts:
            # Too long for the model, though too short to be read in parts ("Ich lag lange
            # im Krankenhaus. Wie kann ich der KI-Nutzung widersprechen?"): what it asks
            # says what is meant, not the opening that would fit.
            parts = asking_parts(asked, lang)
            if parts:
                clipped = self._clip(_asking_text(asked, parts).strip())
        if parts:
            clipped = self._with_story(clipped, parts, lang)
        return clipped

    def _with_story(self, asking: str, parts: Sequence[tuple[str, float]], lang: str) -> str:
        """What the model reads of a long message whose question names nothing of the topic
        ("... dass Facebook unsere Fotos nicht nimmt. Was muss ich da machen?", "Waar begin
        ik?"): the question (``asking``, as clipped) and, after it, up to
        :data:`_STORY_WORDS` words of the story before it (``parts``' side remarks) that the
        content uses. The question alone reads as any question; the model reads only so
        many tokens, so the story's small words are left out. Ordering the story's words by
        how many examples use them did better on the tune questions out of fold (92.4 %
        right against 92.2 %) than rarest first (92.1 %) or in the story's order."""

        def topical(word: str) -> bool:
            # A word of Meta, the training or one of the apps.
            return fold(word, lang) in _META_WORDS or bool(apps(word))

        if any(topical(w) for w in words(asking)):
            return asking
        index = self.indexes[lang]
        data = lang_data.languages().get(lang)
        asked = data.question_words if data is not None else frozenset()
        story = list(
            dict.fromkeys(
                w
                for piece, weight in parts
                if weight <= _REMARK
                for w in index.lexicon.content_words(piece)
                if w not in asked and index.known(w) >= _STORY_KNOWN
            )
        )
        if not story:
            return asking
        # Meta's words and the apps' first, then the words the content's examples use most
        # (the topic's words: "Fotos", "widersprechen"), not those of one story ("Enkel").
        key = [w for w in story if topical(w)]
        rest = sorted((w for w in story if w not in key), key=lambda w: index.vectors(w).length)
        return self._clip(" ".join([asking.strip(), *(key + rest)[:_STORY_WORDS]]))

    def _clip(self, text: str) -> str:
        """What the model reads of ``text`` (:meth:`Embedder.clip`)."""
        embedder = self.embedder
        return text if embedder is None else embedder.clip(text)

    def places_named(self, text: str, lang: str) -> frozenset[str]:
        """The place pages (a country's, ``country-<code>``) whose names ``text`` says, in any
        form the content's keywords give ("w Polsce", "in Italia", "Wien")."""
        return frozenset(self._country_pages.named(text, lang))

    def suggest(self, text: str, lang: str, limit: int = 3) -> Sequence[str]:
        """Up to ``limit`` node ids that come closest to ``text`` (for fallbacks)."""
        return self.match(text, lang).candidates[:limit]


def _folded(text: str, lang: str) -> str:
    """A message, a title or a phrase as they are compared whole: its words, folded."""
    return " ".join(fold(w, lang) for w in words(text))


def _only_yes_or_no(text: str, lang: str) -> bool:
    """Whether ``text`` is only a yes, a no or a "don't know" ("oui", "yes", "nein danke"):
    an answer to no question the bot asked (the checklist's are read before any matching),
    which topic words it shares with some example decides nothing ("oui" got the reasons of
    the Cologne ruling, "yes" the legal basis)."""
    said = _folded(text, lang)
    return bool(said) and said in _yes_no_phrases(lang)


@functools.cache
def _yes_no_phrases(lang: str) -> frozenset[str]:
    """The language's yes, no and "don't know" phrases as :func:`_only_yes_or_no` compares
    them (made once: every message is compared with them)."""
    data = lang_data.languages().get(lang)
    if data is None:
        return frozenset()
    phrases = data.yes_words | data.no_words | data.unsure_words
    return frozenset(_folded(p, lang) for p in phrases)


PAGE_REQUESTS = ("sources", "more", "repeat")
"""What a message may ask of the page just read without naming it (:meth:`Matcher.page_request`):
its sources, more of it, or the page again."""


def _phrases_by_lang(
    entries: Mapping[str, Sequence[str]],
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Per language, the phrases of a list of the content (``how_are_you``), each as the
    folded words a message is compared with."""
    return {
        lang: tuple(tuple(fold(w, lang) for w in words(entry)) for entry in texts)
        for lang, texts in entries.items()
    }


def _letter_words_by_lang(entries: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Per language, the words of a list of the content (``thanks``, ``goodbye``), as
    :func:`letter_words` reads a message."""
    return {
        lang: frozenset(w for entry in texts for w in letter_words(entry))
        for lang, texts in entries.items()
    }


def _asks_to_translate(text: str, lang: str) -> bool:
    """Whether ``text`` opens by asking how a word is said in another language (the
    language's ``translation_phrases``): "cómo se dice gracias en francés" names France's
    language, not a question about France. Not where it names Meta, its apps or the
    training: "comment on dit non à Meta pour l'IA ?" asks how to object."""
    said = _spelt(text, lang)
    translating = any(said.startswith(p) for p in _phrases(lang, "translation_phrases"))
    return translating and not _names_meta(text)


def _asks_to_calculate(text: str, lang: str) -> bool:
    """Whether ``text`` asks for a share of a number ("hoeveel is 15 procent van 80", "what
    is 20% of 150"): a sum to work out, which the page on the survey's percentages does not
    answer. Not where it names Meta, its apps or the training."""
    if not any(ch.isdigit() for ch in text):
        return False
    said = _spelt(text.replace("%", f" {_PERCENT} "), lang)
    return bool(_calculation(lang).search(said)) and not _names_meta(text)


def _names_meta(text: str) -> bool:
    """Whether a word of ``text`` names Meta, its apps or the training, as spelt."""
    return any(w in _META_WORDS for w in words(text))


_PERCENT = "percentsign"
"""What a message's "%" is read as (:func:`words` drops it)."""


@functools.cache
def _calculation(lang: str) -> re.Pattern[str]:
    """A number, a word for per cent, at most two words and another number that ends the
    message, as :func:`_spelt` writes it: "nur 7% von 1000 Befragten wollen das?" asks
    about the survey."""
    shares = [*_phrases(lang, "percent_phrases"), f" {_PERCENT} "]
    alternatives = "|".join(re.escape(p) for p in shares)
    return re.compile(rf" \d+(?:{alternatives})(?:[^\d\s]+ ){{0,2}}\d+ $")


def _spelt(text: str, lang: str) -> str:
    """``text``'s words folded, between single spaces and with one at each end, so that a
    phrase spelt the same way is found as whole words."""
    return f" {' '.join(fold(w, lang) for w in words(text))} "


@functools.cache
def _phrases(lang: str, field: str) -> tuple[str, ...]:
    """The phrase list ``field`` of ``lang``'s language data as :func:`_spelt` writes a
    message (once per language, not for every message)."""
    data = lang_data.languages().get(lang)
    return tuple(_spelt(p, lang) for p in getattr(data, field)) if data is not None else ()


_QUOTED = re.compile(r"(?:^|(?<=\s))[\'\"„“«‘][^\'\"“”»’]+[\'\"“”»’](?=[\s.,;:!?]|$)")
"""A stretch of a message in quotes, opened after a space ("j'ai" is no quote)."""


def _refuses(text: str, lang: str) -> bool:
    """Whether ``text`` says the writer does not want something (the language's
    ``refusal_phrases``: "je veux pas que ...")."""
    # A refusal quoted is not the writer's ("if I post 'je refuse que Meta ...'").
    said = _spelt(_QUOTED.sub(" ", text), lang)
    return any(p in said for p in _phrases(lang, "refusal_phrases"))


def _names_more(text: str, lang: str) -> bool:
    """Whether ``text`` names more than question words: "what about the US?" (whose "us"
    is a small word) is no keyword "what are you" of the page about the bot."""
    data = lang_data.languages().get(lang)
    found = content_words(text, lang)
    return data is None or any(w not in data.question_words for w in found)


def _asking_text(text: str, parts: Sequence[tuple[str, float]]) -> str:
    """What the dense signal reads of a long message: its asking sentences, without the
    side remarks before them. The cost of an embedding grows with every word, and the
    question says what is meant ("Meine Enkelin hat mir Instagram eingerichtet. Wie mache
    ich dort den Widerspruch?" keeps the question, not the story)."""
    asking = [piece for piece, weight in parts if weight > _REMARK]
    return " ".join(asking) if asking else text


_STORY_WORDS = 5
"""Words of a story the model reads after a question that names nothing of the topic
(:meth:`Matcher._with_story`): 3 and 8 did no better on the tune questions."""
_STORY_KNOWN = 0.9
"""How surely the content must use a word of the story for the model to read it
(:meth:`LanguageIndex.known`)."""


class _Indexes(Mapping[str, LanguageIndex]):
    """A matcher's index per language, each built (or loaded from its cache part) on first
    use."""

    def __init__(self, parts: Mapping[str, Part[LanguageIndex]], *, cached: bool = False) -> None:
        self.parts = dict(parts)
        self._loaded: dict[str, LanguageIndex] = {}
        # One language at a time: building one offers it to every matcher (_BUILT).
        self._lock = threading.RLock()
        if cached:
            for lang in self.parts:
                # A reload that builds this language again first reads this one, if its
                # texts are the same (the content cache's part, unpickled then).
                defer(lang, functools.partial(self._offer, lang))

    def _offer(self, lang: str) -> None:
        # Only one that is on disk: one being built is what asked (LanguageIndex.of).
        if self.parts[lang].readable():
            self[lang]

    def __getitem__(self, lang: str) -> LanguageIndex:
        found = self._loaded.get(lang)
        if found is not None:
            return found
        with self._lock:
            found = self._loaded.get(lang)
            if found is None:
                found = self.parts[lang].get()
                if not isinstance(found, LanguageIndex):
                    raise TypeError(f"not an index: {type(found).__name__}")
                found.remember()
                self._loaded[lang] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)
