"""Immutable content models, validated once at load time.

The YAML files are parsed into these models; the engine never sees raw YAML. Field
names are what authors write (see ``docs/content-format.md``); unknown keys are errors.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from bot.content import conditions
from bot.content.questions import Asked

NODE_ID = r"^[a-z0-9][a-z0-9-]{0,47}$"
"""Node ids: lowercase, digits and dashes; short enough for any platform's button data."""

NodeId = Annotated[str, StringConstraints(pattern=NODE_ID)]
LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
LangText = dict[LangCode, str]
"""A text per language, e.g. ``{"de": "Hallo", "en": "Hello"}``."""
LangList = dict[LangCode, tuple[str, ...]]
SynonymWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SynonymGroup = Annotated[tuple[SynonymWord, ...], Field(min_length=2)]
DurationWords = Annotated[tuple[SynonymWord, SynonymWord], Field()]
"""A time unit's singular and plural, e.g. ``("Tag", "Tagen")``."""
"""Words or short phrases that mean the same, e.g. ``("widersprechen", "einspruch")``."""
OffTopicEntry = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A typical request the bot does not answer, e.g. ``"Passwort vergessen"``."""

ROW_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
"""``{country.authority}`` in a block's text: the ``authority`` of the country table's row whose
code the variable ``country`` holds (see docs/content-format.md, "Countries")."""

_SPACES = re.compile(r"(?<=\S) {2,}")
Rows = Mapping[str, Mapping[str, LangText]]
"""The country table as the renderer needs it: code -> column -> text per language."""


SOURCES_NAMED = 3
"""How many sources the line under an answer names (:meth:`Content.sources_line`)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class Source(_Model):
    """A source backing a node's facts."""

    title: str = Field(min_length=1)
    url: str
    checked: dt.date | None = None
    short: str | None = Field(default=None, min_length=1)
    """The name in the one-line sources under an answer ("Verbraucherzentrale NRW", "DPC");
    without it, the title up to its first " – ", ": " or ", "."""
    lang: str | None = Field(default=None, pattern=r"^([a-z]{2}|any)$")
    """The language the page is written in (``de``, ``en``, ...), or ``any`` for one that
    opens in the reader's language (EUR-Lex, Meta's forms): a reader sees the sources in
    their language first and is told which of the others are in which language."""

    def written_in(self, lang: str) -> str | None:
        """The language a reader of ``lang`` would find the page in, where it is another
        one; ``None`` where it is theirs, opens in theirs, or is not known."""
        if self.lang is None or self.lang in ("any", lang):
            return None
        return self.lang

    @property
    def short_name(self) -> str:
        """``short``, or the title's leading name ("Irish DPC – Statement …" → "Irish DPC")."""
        if self.short:
            return self.short.strip()
        return _leading_name(self.title)


_TITLE_BREAK = re.compile(r"\s+[–—-]\s+|:\s|,\s")
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)$")


@functools.lru_cache(maxsize=4096)  # every answer's sources line names them again
def _leading_name(title: str) -> str:
    """The publisher part of a source title: up to the first dash, colon or comma, without a
    trailing "(…)" note; the whole title when it has none."""
    head = _TITLE_BREAK.split(title.strip(), maxsplit=1)[0]
    return _TRAILING_NOTE.sub("", head).strip() or title.strip()


class CheckedLink(_Model):
    """A link the content may use in node texts without listing it as a node's source."""

    url: str
    checked: dt.date


class Variant(_Model):
    """A text valid only in a date range: on/after ``from``, strictly before ``before``."""

    valid_from: dt.date | None = Field(default=None, alias="from")
    before: dt.date | None = None
    text: LangText
    more: LangText | None = None
    """Details behind "More" for this variant; ``None`` keeps the node's ``more``."""
    as_of: dt.date | None = None
    """The day this variant's status sentences describe; shown before its text."""

    def applies(self, today: dt.date) -> bool:
        """Whether this variant is valid on ``today``."""
        if self.valid_from is not None and today < self.valid_from:
            return False
        return not (self.before is not None and today >= self.before)


def _parse_condition(value: str | None) -> str | None:
    # Syntax errors surface at load with the file and line, not when a user taps a button.
    if value is not None:
        conditions.parse(value)
    return value


class OptionRef(_Model):
    """A button on a node leading to another node; the label defaults to its title.

    ``if`` shows the button only when its condition over the session's variables holds;
    ``set`` assigns variables when it is chosen (see docs/content-format.md).
    """

    to: NodeId
    label: LangText | None = None
    when: str | None = Field(default=None, alias="if")
    assign: dict[str, bool | str] = Field(default_factory=dict, alias="set")
    means: Literal["yes", "no", "unsure"] | None = None
    """What the option answers to a yes/no question, so a typed "ja", "nö" or "weiß nicht"
    picks it (the words per language come from ``bot/lang/<code>.yaml``)."""

    _check_when = field_validator("when")(_parse_condition)

    @property
    def condition(self) -> conditions.Condition | None:
        """The parsed ``if`` condition, or ``None`` when the button is always shown."""
        return conditions.parse(self.when) if self.when is not None else None

    def shown(self, values: conditions.Values) -> bool:
        """Whether the button is shown for a session with ``values``."""
        cond = self.condition
        return cond is None or cond.holds(values)

    def assignments(self) -> dict[str, str]:
        """``set`` as stored in the session: flags as ``"true"``/``"false"``."""
        return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in self.assign.items()}


class TextBlock(_Model):
    """A paragraph added after a node's text when its condition holds."""

    when: str = Field(alias="if")
    text: LangText
    more: bool = False
    """Shown behind "More" with the node's details instead of on the first screen."""

    _check_when = field_validator("when")(_parse_condition)

    @property
    def condition(self) -> conditions.Condition:
        """The parsed ``if`` condition."""
        return conditions.parse(self.when)

    @functools.cached_property
    def row_fields(self) -> tuple[tuple[str, str], ...]:
        """The ``{variable.column}`` placeholders of its text, in any language, each once."""
        found = (m.groups() for text in self.text.values() for m in ROW_FIELD.finditer(text))
        return tuple(dict.fromkeys((var, column) for var, column in found))

    @property
    def variables(self) -> frozenset[str]:
        """Every variable whose value decides whether and how it is shown."""
        tested = {v.name for v in conditions.names(self.condition)}
        return frozenset(tested | {var for var, _ in self.row_fields})


class VariableSpec(_Model):
    """A per-session variable: a ``flag`` (true/false) or a ``choice`` among ``values``."""

    type: Literal["flag", "choice"]
    values: tuple[str, ...] = ()
    description: LangText
    """What the variable records, shown by /privacy in each language."""
    countries: bool = False
    """A choice that also holds the code of every row of ``countries.yaml`` (the loader adds
    them before ``values``), so blocks can show ``{country.authority}`` of the chosen row."""

    def domain(self, *, compared: bool = True) -> tuple[str | None, ...]:
        """Every value it can hold, ``None`` meaning not set yet.

        ``compared=False`` says no condition compares this flag with a value: then "false"
        acts exactly like "not set", and leaving it out keeps the combinations to try few.
        """
        if self.type != "flag":
            return (None, *self.values)
        return (None, "true", "false") if compared else (None, "true")


class Node(_Model):
    """One answer or menu in the dialogue tree."""

    id: NodeId
    title: LangText
    text: LangText
    """The first screen: answers the question asked, in at most about 500 characters."""
    more: LangText | None = None
    """Details, one tap away behind "Mehr" / "More"."""
    variants: tuple[Variant, ...] = ()
    options: tuple[OptionRef, ...] = ()
    blocks: tuple[TextBlock, ...] = ()
    """Paragraphs shown after the text only when their ``if`` condition holds."""
    questions: LangList = Field(default_factory=dict)
    keywords: LangList = Field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    checked: dt.date | None = None
    as_of: dt.date | None = None
    """The day the main text's status sentences describe; shown before it ("Stand …:")."""
    kind: Literal["info", "menu"] = "info"
    personal: bool = False
    why: NodeId | None = None
    """The node that answers "warum?" / "why?" typed right after this one (optional; without
    it the follow-up is matched with this node as context)."""
    how: NodeId | None = None
    """The node that answers "wie mache ich das?" / "how do I do that?" typed right after this
    one (optional): after the page on the right to object, the steps to object."""
    if_not: NodeId | None = None
    """The node that answers "und wenn nicht?" / "what if I don't?" typed right after this one
    (optional): after the steps to object, what happens without an objection."""
    instead: NodeId | None = None
    """The node that answers "was kann ich stattdessen tun?" / "what can I do instead?" typed
    right after this one (optional; without it the follow-up is ranked among the nodes this
    one offers): after "Meta AI can't be switched off", how to avoid it."""
    follow_ups: LangList = Field(default_factory=dict)
    """Per language, questions typed right after this node that it answers though alone they
    name no topic ("geht das online?" after a country's complaint route): typed here, they
    keep the reader on this node. Never read for a question on its own."""
    # Where the node was defined, for error messages; set by the loader, not by authors.
    file: str = Field(default="", exclude=True)
    line: int = Field(default=0, exclude=True)
    index: int = Field(default=0, exclude=True)

    def text_for(self, lang: str, today: dt.date) -> str:
        """The node's text in ``lang``, taking the first date variant valid ``today``."""
        for variant in self.variants:
            if variant.applies(today):
                return variant.text[lang]
        return self.text[lang]

    def more_for(self, lang: str, today: dt.date) -> str:
        """The details behind "More" in ``lang`` (the valid variant's, else the node's), or ""."""
        for variant in self.variants:
            if variant.applies(today):
                if variant.more is not None:
                    return variant.more[lang]
                break
        return self.more[lang] if self.more is not None else ""

    def as_of_for(self, today: dt.date) -> dt.date | None:
        """The ``as_of`` date of the text shown ``today`` (its variant's, else the node's)."""
        for variant in self.variants:
            if variant.applies(today):
                return variant.as_of
        return self.as_of


class CommandSpec(_Model):
    """A slash command: its description per language and extra names per language."""

    description: LangText
    aliases: LangList = Field(default_factory=dict)


COMMANDS = ("start", "help", "menu", "back", "lang", "privacy", "forget")
"""Commands the engine implements; content gives them descriptions and aliases."""

STRINGS = (
    "back",
    "menu",
    "help",
    "fallback",
    "fallback_suggestions",
    "sources",
    "checked",
    "months",
    "date_format",
    "language_name",
    "language_switched",
    "language_unknown",
    "privacy",
    "forgotten",
    "unsupported",
    "intro",
    "outdated_option",
    "unknown_command",
    "private_hint",
    "open_private",
    "share",
    "rate_limited",
    "disclaimer",
)
"""UI strings every content tree must define in every language."""

PLATFORMS = ("console", "telegram", "matrix")
"""Platforms whose UI strings the content may word differently (``platform_strings``)."""

OPTIONAL_STRINGS = (
    "stale",
    "no_such_option",
    "welcome",
    "goodbye",
    "noted",
    "how_are_you",
    "not_understood",
    "label_colon",
    "as_of",
    "privacy_variables",
    "node_gone",
    "clarify",
    "more",
    "more_topics",
    "more_places",
    "unavailable",
    "guided_hint",
    "guided_hint_yes_no",
    "guided_hint_choice",
    "guided_hint_which",
    "guided_carried",
)
"""UI strings a content tree may define; the feature using one is off without it."""

WEB_PAGE_STRINGS = (
    "title",
    "intro",
    "start",
    "label",
    "placeholder",
    "send",
    "forget",
    "forget_hint",
    "log",
    "you",
    "bot",
    "options",
    "language",
    "skip",
    "connecting",
    "offline",
    "waiting",
    "too_long",
    "empty",
    "slow",
    "bad",
)
"""The web chat page's own words (``web_page``): its title, form labels and notices."""


class Minors(_Model):
    """The page for a message that only states an age below ``below`` ("ich bin 16")."""

    below: int = Field(ge=1, le=120)
    page: NodeId
    instead_of: tuple[NodeId, ...] = ()
    """Pages whose answer is an adult's: a question that states an age below ``below`` and
    would get one of them ("ho 17 anni, meta usa le mie foto?": what Meta does) gets
    ``page`` instead."""


class Meta(_Model):
    """Settings of the whole tree, from ``content/bot.yaml``."""

    languages: tuple[LangCode, ...] = Field(min_length=1)
    default_language: LangCode
    root: NodeId
    checked: dt.date
    stale_after_days: int = Field(default=180, ge=1)
    strings: dict[str, LangText]
    commands: dict[str, CommandSpec]
    synonyms: dict[LangCode, tuple[SynonymGroup, ...]] = Field(default_factory=dict)
    """Per language, groups of words that the matcher treats as one (not every language needs
    them)."""
    off_topic: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, typical requests the bot does not answer (account help, other companies'
    AI, small talk): a question closer to these than to any node gets the fallback."""

    source_languages: dict[LangCode, dict[LangCode, str]] = Field(default_factory=dict)
    """Per reader's language, how a source written in another language is marked in the
    sources list ("auf Englisch", "en alemán"); without an entry, that language's own name."""
    minors: Minors | None = None
    """Where a message that only says the writer is younger than ``below`` goes (see
    :mod:`bot.matching.ages`); without it, such a message is matched like any other."""
    thanks: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, words people end a conversation with ("danke", "ok", "tschüss"): a
    message made only of them gets the ``welcome`` string instead of "not understood"."""
    goodbye: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, the words of ``thanks`` that say goodbye ("tschüss", "bye"): such a
    message gets the ``goodbye`` string rather than ``welcome``."""
    acknowledge: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, the words of ``thanks`` that only acknowledge ("ok", "alles klar",
    "capito"): a message made only of them gets the ``noted`` string ("Alles klar! …"), not
    "you're welcome" for thanks nobody said."""
    how_are_you: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, ways to ask the bot how it is ("wie geht's?", "ça va ?"): a message
    that is one of them, perhaps after a greeting, gets the ``how_are_you`` string and the
    current page's buttons."""
    not_understood: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, ways to say one did not understand ("versteh ich nicht", "hä?", "no
    entiendo"): a message that is one of them gets the ``not_understood`` string (which asks
    what is unclear) and the current page's buttons, not a page about the form."""
    sources_asked: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, ways to ask where the page just read has its facts from ("Quelle?",
    "woher weißt du das?", "source?"): such a message as a whole gets that page's sources."""
    more_asked: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, ways to ask for more of the page just read ("mehr Infos", "tell me
    more"): such a message as a whole gets that page's details (its sources where it has
    none)."""
    repeat_asked: dict[LangCode, tuple[OffTopicEntry, ...]] = Field(default_factory=dict)
    """Per language, ways to ask for the page just read again ("nochmal bitte", "can you
    repeat that?"): such a message as a whole gets that page again."""

    yes_no_words: LangList = Field(default_factory=dict)
    """Per language, bare yes/no words ("Ja", "Nein", "Doch"): an answer reachable by a typed
    question must not open with one, because it contradicts half the ways to ask."""
    status_words: LangList = Field(default_factory=dict)
    """Per language, words that say how things stand now ("bisher", "currently"): a sentence
    with one needs a date, or its text an ``as_of``."""
    checked_links: tuple[CheckedLink, ...] = ()
    platform_strings: dict[str, dict[str, LangText]] = Field(default_factory=dict)
    """Per platform (``console``, ``telegram``, ``matrix``), UI strings that replace the general
    ones there: the console has no buttons to tap, so its help says to type numbers."""
    durations: dict[LangCode, dict[Literal["minute", "hour", "day"], DurationWords]] = Field(
        default_factory=dict
    )
    """Per language, each time unit's singular and plural as the ``privacy`` string uses them
    after "Nach"/"after" ("1 Tag", "30 Tagen"): ``{duration}`` is filled with them."""
    web_page: dict[str, LangText] = Field(default_factory=dict)
    """The web chat page's own words around the answers, one of each ``WEB_PAGE_STRINGS``; the
    web chat needs them, the other platforms do not."""
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    """Per-session variables that options set and conditions test (a guided checklist)."""
    """Links node texts may use besides the nodes' sources, each with the day it was checked."""

    @field_validator("synonyms", mode="before")
    @classmethod
    def _groups_are_lists(cls, value: object) -> object:
        # The likely slip is a flat list of words instead of a list of groups; say so plainly
        # rather than "Input should be a valid tuple".
        if isinstance(value, dict):
            for lang, groups in value.items():
                if isinstance(groups, list | tuple) and any(isinstance(g, str) for g in groups):
                    raise ValueError(
                        f"synonyms for '{lang}' must be a list of groups, each a list in"
                        " brackets, e.g. [[widersprechen, einspruch], [foto, bild]]"
                    )
        return value

    @field_validator("off_topic", mode="before")
    @classmethod
    def _off_topic_are_lists(cls, value: object) -> object:
        # Plain words for the likely slips: a list without languages, or one text instead of
        # a list of them.
        if isinstance(value, list | tuple):
            raise ValueError(
                "off_topic needs a list per language, e.g. de: [Passwort vergessen] and"
                " en: [forgot my password]"
            )
        if isinstance(value, dict):
            for lang, entries in value.items():
                if isinstance(entries, str):
                    raise ValueError(
                        f"off_topic for '{lang}' must be a list of requests, one per line"
                        " starting with '- ', or in brackets: [Passwort vergessen, Wetter heute]"
                    )
        return value


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ANSWER_CACHE_SIZE = 4096
"""Rendered answers kept per content tree (a few days' worth for every node and language)."""


class Content:
    """A validated content tree. Built only by :func:`bot.content.load_content`."""

    def __init__(
        self,
        meta: Meta,
        nodes: Mapping[str, Node],
        source_dir: str,
        rows: Rows | None = None,
        *,
        asked: Mapping[str, tuple[Asked, ...]] | None = None,
        cross_border: str | None = None,
        seat: tuple[str, str] | None = None,
        shown_first: Mapping[str, tuple[str, ...]] | None = None,
        elsewhere: Mapping[str, str] | None = None,
    ) -> None:
        self.meta = meta
        self.nodes: Mapping[str, Node] = dict(nodes)
        self.source_dir = source_dir
        self.rows: Rows = dict(rows or {})
        """The country table (code -> column -> text per language) for ``{country.…}``."""
        self.asked: Mapping[str, tuple[Asked, ...]] = dict(asked or {})
        """Per language, questions as readers asked them, each with the node that answers it
        (:mod:`bot.content.questions`): read by the matcher, never shown."""
        self.cross_border = cross_border
        """The page for a reader who lives in one country and works in another (the country
        table's ``cross_border``), if the table names one."""
        self.seat = seat
        """The country page of Meta's seat and the page for readers elsewhere who ask about
        it (the country table's ``seat``), if the table names one."""
        self.elsewhere: Mapping[str, str] = dict(elsewhere or {})
        """The pages for readers in a country without a row, by the country value the
        checklist stores for them (the country table's ``elsewhere``)."""
        self.shown_first: Mapping[str, tuple[str, ...]] = dict(shown_first or {})
        """Per language, the country rows listed first (the country table's
        ``shown_first``): a reader's own countries before the others."""
        self._answers: dict[tuple[str, str, dt.date], str] = {}
        self._dates: dict[tuple[dt.date, str], str] = {}
        self._aliases: dict[str, str] = {}
        for name, spec in meta.commands.items():
            self._aliases[name] = name
            for names in spec.aliases.values():
                for alias in names:
                    self._aliases[alias.lower()] = name

    def without_asked(self) -> Content:
        """This content without its asked questions: what the nodes alone teach the matcher
        (the question sets are measured against it, and the decision fitted on them, without
        the index holding the very questions it is judged on)."""
        return self.keeping_asked(lambda _lang, _asked: False)

    def keeping_asked(self, keep: Callable[[str, Asked], bool]) -> Content:
        """This content with only the asked questions that ``keep`` (given each one's
        language) accepts: a content that has not learnt some of them."""
        asked = {lang: tuple(a for a in qs if keep(lang, a)) for lang, qs in self.asked.items()}
        kept = {lang: qs for lang, qs in asked.items() if qs}
        return Content(
            self.meta,
            self.nodes,
            self.source_dir,
            self.rows,
            asked=kept,
            cross_border=self.cross_border,
            seat=self.seat,
            shown_first=self.shown_first,
            elsewhere=self.elsewhere,
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """The declared languages, the default first in declaration order."""
        return self.meta.languages

    @property
    def root(self) -> Node:
        """The main menu."""
        return self.nodes[self.meta.root]

    def string(self, key: str, lang: str, *, platform: str = "", **values: object) -> str:
        """A UI string in ``lang`` with ``{placeholders}`` filled from ``values``; the
        ``platform``'s own version of it when the content has one."""
        own = self.meta.platform_strings.get(platform, {}).get(key)
        text = (own or self.meta.strings[key])[lang].strip()
        if values:
            text = _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
        return text

    def label(self, key: str, lang: str) -> str:
        """The UI string ``key`` as a label before a text ("Quellen:"), with the optional
        ``label_colon`` string's punctuation where the content has it (French puts a
        no-break space before the colon)."""
        colon = self.meta.strings.get("label_colon", {}).get(lang, ":")
        return self.string(key, lang) + colon

    def command_name(self, word: str) -> str | None:
        """Map a typed command or one of its aliases to its canonical name."""
        return self._aliases.get(word.lower())

    def duration(self, length: dt.timedelta, lang: str) -> str:
        """``length`` in words ("1 Tag", "30 Tagen", "12 hours"): whole days when it is at
        least a day, else hours, else minutes; in days when ``durations`` lacks ``lang``."""
        seconds = length.total_seconds()
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size or unit == "minute":
                count = max(1, round(seconds / size))
                break
        words = self.meta.durations.get(lang, {})
        if unit not in words:
            return str(max(1, round(seconds / 86400)))
        one, many = words[unit]
        return f"{count} {one if count == 1 else many}"

    def commands(self, lang: str) -> tuple[tuple[str, str], ...]:
        """``(command, description)`` pairs in ``lang``, e.g. for Telegram's command menu."""
        return tuple((name, spec.description[lang]) for name, spec in self.meta.commands.items())

    def format_date(self, day: dt.date, lang: str) -> str:
        """A date written the way ``lang`` readers expect (month names come from content)."""
        # Many answers share a checked date: each is written once per tree and language.
        written = self._dates.get((day, lang))
        if written is None:
            months = [m.strip() for m in self.string("months", lang).split(",")]
            month = months[day.month - 1] if len(months) == 12 else f"{day.month:02d}"
            written = self.string("date_format", lang, day=day.day, month=month, year=day.year)
            if len(self._dates) < _ANSWER_CACHE_SIZE:
                self._dates[(day, lang)] = written
        return written

    @property
    def more_option(self) -> bool:
        """Whether a node's details go behind a "More" option (the content defines the ``more``
        string); without it they follow the first screen, as one long answer."""
        return "more" in self.meta.strings

    def answer(self, node: Node, lang: str, today: dt.date) -> str:
        """The reply for ``node``: its first screen, then the one line naming its sources and
        when it was checked (the links and details are one option away)."""
        # Content never changes once loaded: render each answer once per language and day
        # (variants and the age note depend on the day), not on every button press.
        key = (node.id, lang, today)
        own = self.nodes.get(node.id) is node
        if own and (cached := self._answers.get(key)) is not None:
            return cached
        text = self._render_answer(node, lang, today)
        if own:
            if len(self._answers) >= _ANSWER_CACHE_SIZE:
                self._answers.clear()
            self._answers[key] = text
        return text

    def answer_for(self, node: Node, lang: str, today: dt.date, values: conditions.Values) -> str:
        """Like :meth:`answer`, with the node's ``blocks`` whose conditions hold for ``values``."""
        if not node.blocks:
            return self.answer(node, lang, today)
        return self._render_answer(node, lang, today, values)

    def first_screen(
        self, node: Node, lang: str, today: dt.date, values: conditions.Values | None = None
    ) -> str:
        """What a reply shows first: the ``as_of`` label, the text valid ``today`` and the
        blocks not marked ``more`` whose conditions hold for ``values`` (none without them)."""
        parts = [node.text_for(lang, today).strip()]
        if not self.more_option:
            parts.append(node.more_for(lang, today).strip())
        if values is not None:
            parts += [
                self.block_text(b, lang, values) or ""
                for b in node.blocks
                if not b.more or not self.more_option
            ]
        return self._dated(node, lang, today, "\n\n".join(p for p in parts if p))

    def block_text(self, block: TextBlock, lang: str, values: conditions.Values) -> str | None:
        """``block``'s text in ``lang`` for a session with ``values``, its ``{country.…}``
        filled from the row the variable names; ``None`` when it is not shown: its condition
        fails, or a variable it fills from holds no row's code (nothing to fill it with)."""
        if not block.condition.holds(values):
            return None
        text = block.text[lang]
        if not block.row_fields:
            return text.strip()
        if any(values.get(var) not in self.rows for var, _ in block.row_fields):
            return None

        def fill(match: re.Match[str]) -> str:
            column = self.rows[values[match[1]]].get(match[2], {})
            return column.get(lang, "").strip()

        # A column may be empty for one country (Switzerland's complaint): no double spaces.
        return _SPACES.sub(" ", ROW_FIELD.sub(fill, text)).strip()

    def details(
        self, node: Node, lang: str, today: dt.date, values: conditions.Values | None = None
    ) -> str:
        """The details behind "More": the ``more`` text valid ``today`` and the blocks marked
        ``more`` whose conditions hold; "" when there are none (or no "More" option)."""
        if not self.more_option:
            return ""
        parts = [node.more_for(lang, today).strip()]
        if values is not None:
            parts += [self.block_text(b, lang, values) or "" for b in node.blocks if b.more]
        body = "\n\n".join(p for p in parts if p)
        # The details may be read on their own (an old "Mehr" button): they carry the date too.
        return self._dated(node, lang, today, body) if body else ""

    def _dated(self, node: Node, lang: str, today: dt.date, body: str) -> str:
        """``body`` after the ``as_of`` label of the text shown ``today`` ("Stand Januar 2026:")."""
        if (as_of := node.as_of_for(today)) is None or "as_of" not in self.meta.strings:
            return body
        # Status sentences ("bisher", "currently") are true on one day; say which.
        months = [m.strip() for m in self.string("months", lang).split(",")]
        month = months[as_of.month - 1] if len(months) == 12 else f"{as_of.month:02d}"
        label = self.string(
            "as_of", lang, month=month, year=as_of.year, date=self.format_date(as_of, lang)
        )
        return f"{label} {body}"

    def checked_note(self, node: Node, lang: str, today: dt.date) -> str:
        """ "Stand: 3. Dezember 2026" for the node's ``checked`` date, with the ``stale`` note
        when that is long ago; "" without a date."""
        if node.checked is None:
            return ""
        stamp = self.string("checked", lang, date=self.format_date(node.checked, lang))
        # Readers deserve to know when "last checked" is long ago, not only authors.
        age = (today - node.checked).days
        if age > self.meta.stale_after_days and "stale" in self.meta.strings:
            stamp += " " + self.string("stale", lang)
        return stamp

    def _language_note(self, other: str, lang: str) -> str:
        """How a reader of ``lang`` is told a source is in ``other``: the content's
        ``source_languages``, else that language's own name, else its code."""
        if said := self.meta.source_languages.get(lang, {}).get(other):
            return said
        return self.string("language_name", other) if other in self.languages else other.upper()

    def sources_for(self, node: Node, lang: str) -> tuple[Source, ...]:
        """``node``'s sources as a reader of ``lang`` sees them: those in their language (or
        in any) first, then the others, each group in the order the content gives."""
        return tuple(sorted(node.sources, key=lambda s: s.written_in(lang) is not None))

    def sources_line(self, node: Node, lang: str, today: dt.date) -> str:
        """One line under an answer: "Quellen: Verbraucherzentrale NRW, DPC · Stand: …"
        (short names, each once; the links are behind the "Quellen" option).

        The line names the sources a reader of ``lang`` can read, else the first few, at most
        :data:`SOURCES_NAMED`, and "…" where the list behind "Quellen" has more: pages that
        apply EU-wide cite sources in every language, and eight names in the reader's face are
        a paragraph on a phone."""
        parts = []
        ordered = self.sources_for(node, lang)
        readable = [s for s in ordered if s.written_in(lang) is None] or list(ordered)
        names = list(dict.fromkeys(s.short_name for s in readable))[:SOURCES_NAMED]
        if names:
            more = len({s.short_name for s in ordered}) > len(names)
            parts.append(f"{self.label('sources', lang)} {', '.join(names)}{' …' if more else ''}")
        if stamp := self.checked_note(node, lang, today):
            parts.append(stamp)
        line = " · ".join(parts)
        # Italic when nothing in it could end the emphasis early.
        return f"_{line}_" if line and "_" not in line else line

    def sources_list(self, node: Node, lang: str, today: dt.date) -> str:
        """The links behind "Quellen": each source as ``- [title](url)`` with the day it was
        checked, then when the answer as a whole was checked."""
        items = []
        for s in self.sources_for(node, lang):
            notes = []
            if (other := s.written_in(lang)) is not None:
                # "(auf Englisch)": a reader who opens a page in another language knows before
                # the tap.
                notes.append(self._language_note(other, lang))
            # The day each source was checked, only where it is not the answer's own (said once,
            # under the list): on a phone, the same date after every link is noise.
            if s.checked is not None and s.checked != node.checked:
                notes.append(self.string("checked", lang, date=self.format_date(s.checked, lang)))
            items.append(f"- [{s.title}]({s.url})" + "".join(f" ({n})" for n in notes))
        parts = [f"**{self.label('sources', lang)}**\n" + "\n".join(items)] if items else []
        if stamp := self.checked_note(node, lang, today):
            parts.append(f"_{stamp}_" if "_" not in stamp else stamp)
        return "\n\n".join(parts)

    def _render_answer(
        self, node: Node, lang: str, today: dt.date, values: conditions.Values | None = None
    ) -> str:
        parts = [self.first_screen(node, lang, today, values)]
        if line := self.sources_line(node, lang, today):
            parts.append(line)
        return "\n\n".join(p for p in parts if p)
