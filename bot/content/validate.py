"""Cross-file validation rules for a content tree.

Each rule appends :class:`Problem` s; all rules run so authors see every problem at once.
Rules: unique ids; option targets exist; every node reachable from the root; no dead
ends; every text in every declared language; https URLs; sources and a checked date on
factual nodes; Telegram limits; sane dates; complete UI strings and commands; answers that
open with a bare yes/no word, undated status words and links that are no checked source. Warns
about answers too long for a phone screen, synonyms listed twice and off-topic entries that
repeat or are a node's own example question.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot import lang as word_lists
from bot.content import conditions
from bot.content.countries import row_field_problems
from bot.content.markup import LINK_PATTERN, links, to_plain, to_telegram_html
from bot.content.models import (
    COMMANDS,
    OPTIONAL_STRINGS,
    PLATFORMS,
    STRINGS,
    WEB_PAGE_STRINGS,
    Content,
    LangText,
    Meta,
    Node,
    Rows,
    TextBlock,
    Variant,
)
from bot.content.variables_check import variable_problems

if TYPE_CHECKING:
    import numpy as np

    from bot.content.loader import Problem, _Doc

TELEGRAM_TEXT_LIMIT = 4096
PHONE_TEXT_LIMIT = 900
"""Visible characters of one answer (links counted by their label) that fit a phone screen."""
TELEGRAM_CALLBACK_LIMIT = 64
_TAG = re.compile(r"<[^>]+>")
# Checked dates must not lie in the future; a day of slack covers time zones.
_TOMORROW = dt.timedelta(days=1)


def https_problem(url: str) -> str | None:
    """Why ``url`` is not a well-formed https URL, or ``None`` when it is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https":
        return "must start with https://"
    if not parts.hostname or "." not in parts.hostname or " " in url:
        return "has no valid host name"
    return None


def telegram_length(markup: str) -> int:
    """Length Telegram counts: the rendered HTML after entity parsing."""
    import html

    return len(html.unescape(_TAG.sub("", to_telegram_html(markup))))


def validate(
    meta: Meta,
    nodes: list[Node],
    docs: dict[str, _Doc],
    meta_file: str,
    *,
    broken: frozenset[str] = frozenset(),
    warnings: bool = True,
    rows: Rows | None = None,
) -> list[Problem]:
    """Run every cross-file rule over parsed nodes and return the problems found.

    ``broken`` holds the ids of nodes that failed to parse (already reported): options
    leading to them are not reported again as leading nowhere. Without ``warnings`` the
    costly warnings (what fits a phone screen, repeated synonyms and off-topic entries) are
    skipped: the bot serves valid content whatever they say, and ``check`` reports them.
    ``rows`` is the country table that blocks fill ``{country.…}`` from.
    """
    from bot.content.loader import Problem

    problems: list[Problem] = []
    langs = meta.languages
    mdoc = docs.get(meta_file)

    def mline(*path: str | int) -> int:
        return mdoc.line(path) if mdoc else 0

    def need_langs(
        text: Mapping[str, object],
        file: str,
        line: int,
        what: str,
        *,
        required: bool = True,
    ) -> None:
        missing = [lang for lang in langs if lang not in text or not text[lang]] if required else []
        extra = [lang for lang in text if lang not in langs]
        if missing:
            problems.append(
                Problem(
                    file,
                    line,
                    f"{what} has no text in: {', '.join(missing)}",
                    f"add '{missing[0]}:' with the translation",
                )
            )
        if extra:
            problems.append(
                Problem(
                    file,
                    line,
                    f"{what} uses undeclared language(s): {', '.join(extra)}",
                    f"declare them in 'languages' or remove them (declared: {', '.join(langs)})",
                )
            )

    # Settings: languages, strings, commands.
    for code in langs:
        if code not in word_lists.languages():
            problems.append(
                Problem(
                    meta_file,
                    mline("languages"),
                    f"language '{code}' has no word lists (bot/lang/{code}.yaml): typed "
                    "questions in it are matched without stop words, question words or stemming",
                    f"add bot/lang/{code}.yaml, modelled on bot/lang/en.yaml",
                    level="warning",
                )
            )
    if meta.default_language not in langs:
        problems.append(
            Problem(
                meta_file,
                mline("default_language"),
                f"default_language '{meta.default_language}' is not declared",
                "add it to 'languages'",
            )
        )
    for key in STRINGS:
        if key not in meta.strings:
            problems.append(
                Problem(
                    meta_file,
                    mline("strings"),
                    f"missing UI string '{key}'",
                    f"add 'strings.{key}' in every language",
                )
            )
    for platform, strings in meta.platform_strings.items():
        if platform not in PLATFORMS:
            problems.append(
                Problem(
                    meta_file,
                    mline("platform_strings", platform),
                    f"unknown platform '{platform}'",
                    f"use one of {', '.join(PLATFORMS)}",
                )
            )
        for key, text in strings.items():
            if key not in meta.strings:
                problems.append(
                    Problem(
                        meta_file,
                        mline("platform_strings", platform, key),
                        f"'{platform}' replaces UI string '{key}', which 'strings' does not define",
                        f"check the spelling, or add 'strings.{key}' first",
                    )
                )
            need_langs(
                text,
                meta_file,
                mline("platform_strings", platform, key),
                f"{platform} string '{key}'",
            )
    # Optional as a whole (a tree for chat platforms only), complete when given.
    for key in WEB_PAGE_STRINGS if meta.web_page else ():
        if key not in meta.web_page:
            problems.append(
                Problem(
                    meta_file,
                    mline("web_page"),
                    f"missing web page string '{key}'",
                    f"add 'web_page.{key}' in every language",
                )
            )
    for key, text in meta.web_page.items():
        if key not in WEB_PAGE_STRINGS:
            problems.append(
                Problem(
                    meta_file,
                    mline("web_page", key),
                    f"unknown web page string '{key}'",
                    f"check the spelling or remove it (known: {', '.join(WEB_PAGE_STRINGS)})",
                )
            )
        need_langs(text, meta_file, mline("web_page", key), f"web page string '{key}'")
    if "{duration}" in "".join(meta.strings.get("privacy", {}).values()):
        for lang in meta.languages:
            missing = {"minute", "hour", "day"} - set(meta.durations.get(lang, {}))
            if missing:
                problems.append(
                    Problem(
                        meta_file,
                        mline("durations"),
                        f"the privacy string says {{duration}} but 'durations' has no "
                        f"{', '.join(sorted(missing))} for '{lang}'",
                        f"add durations.{lang}.<unit>: [singular, plural]",
                    )
                )
    for key, text in meta.strings.items():
        if key not in STRINGS and key not in OPTIONAL_STRINGS:
            problems.append(
                Problem(
                    meta_file,
                    mline("strings", key),
                    f"unknown UI string '{key}'",
                    "check the spelling or remove it",
                )
            )
        need_langs(text, meta_file, mline("strings", key), f"string '{key}'")
        for lang, value in text.items():
            for label, url in links(value):
                if why := https_problem(url):
                    problems.append(
                        Problem(
                            meta_file,
                            mline("strings", key, lang),
                            f"link '{label}' {why}: {url}",
                            "use a full https:// URL",
                        )
                    )
    months = meta.strings.get("months", {})
    for lang, value in months.items():
        if len(value.split(",")) != 12:
            problems.append(
                Problem(
                    meta_file,
                    mline("strings", "months", lang),
                    "'months' needs 12 names",
                    "list January to December, separated by commas",
                )
            )
    seen_alias: dict[str, str] = {}
    for name in COMMANDS:
        if name not in meta.commands:
            problems.append(
                Problem(
                    meta_file,
                    mline("commands"),
                    f"missing command '{name}'",
                    f"add 'commands.{name}' with a description",
                )
            )
    for name, spec in meta.commands.items():
        line = mline("commands", name)
        if name not in COMMANDS:
            problems.append(
                Problem(
                    meta_file,
                    line,
                    f"unknown command '{name}'",
                    f"commands are: {', '.join(COMMANDS)}",
                )
            )
        need_langs(spec.description, meta_file, line, f"command '{name}' description")
        need_langs(spec.aliases, meta_file, line, f"command '{name}' aliases", required=False)
        for alias in (a.lower() for names in spec.aliases.values() for a in names):
            other = seen_alias.get(alias)
            if (other and other != name) or (alias in COMMANDS and alias != name):
                problems.append(
                    Problem(
                        meta_file,
                        line,
                        f"alias '{alias}' is used by two commands",
                        "give each alias to one command",
                    )
                )
            seen_alias[alias] = name

    need_langs(meta.synonyms, meta_file, mline("synonyms"), "synonyms", required=False)
    if warnings:  # warnings only: the bot serves the content whatever they say
        problems += _synonym_problems(meta, meta_file, mline)
    for field in (
        "off_topic",
        "thanks",
        "how_are_you",
        "goodbye",
        "acknowledge",
        "not_understood",
        "sources_asked",
        "more_asked",
        "repeat_asked",
    ):
        need_langs(getattr(meta, field), meta_file, mline(field), field, required=False)
    for field, string in (
        ("thanks", "welcome"),
        ("how_are_you", "how_are_you"),
        ("goodbye", "goodbye"),
        ("acknowledge", "noted"),
        ("not_understood", "not_understood"),
    ):
        if getattr(meta, field) and string not in meta.strings:
            problems.append(
                Problem(
                    meta_file,
                    mline(field),
                    f"'{field}' is set but there is no '{string}' string to answer with",
                    f"add 'strings.{string}' in every language",
                )
            )
    if warnings:
        problems += _off_topic_problems(meta, nodes, meta_file, mline)

    # Nodes: ids, targets, texts, sources, dates.
    by_id: dict[str, Node] = {}
    for node in nodes:
        if node.id in by_id:
            first = by_id[node.id]
            problems.append(
                Problem(
                    node.file,
                    node.line,
                    f"duplicate node id '{node.id}' (first defined at {first.file}:{first.line})",
                    "give every node its own id",
                )
            )
        else:
            by_id[node.id] = node
    if meta.minors is not None and meta.minors.page not in by_id and meta.minors.page not in broken:
        problems.append(
            Problem(
                meta_file,
                mline("minors", "page"),
                f"minors page '{meta.minors.page}' does not exist",
                "set 'minors.page' to the id of the page for readers under that age",
            )
        )
    for page in meta.minors.instead_of if meta.minors is not None else ():
        if page not in by_id and page not in broken:
            problems.append(
                Problem(
                    meta_file,
                    mline("minors", "instead_of"),
                    f"minors.instead_of names '{page}', which does not exist",
                    "list ids of pages whose answer a minor gets the minors page instead of",
                )
            )
    if meta.root not in by_id and meta.root not in broken:
        problems.append(
            Problem(
                meta_file,
                mline("root"),
                f"root node '{meta.root}' does not exist",
                "set 'root' to the id of the main menu",
            )
        )

    today = dt.datetime.now(dt.UTC).date()  # the same day the bot uses
    for node in nodes:
        doc = docs.get(node.file)
        idx = node.index

        def nline(
            *path: str | int, _doc: _Doc | None = doc, _idx: int | None = idx, _node: Node = node
        ) -> int:
            if _doc is None or _idx is None:
                return _node.line
            return _doc.line((_idx, *path))

        need_langs(node.title, node.file, nline("title"), f"node '{node.id}' title")
        need_langs(node.text, node.file, nline("text"), f"node '{node.id}' text")
        if node.more is not None:
            need_langs(node.more, node.file, nline("more"), f"node '{node.id}' more")
        need_langs(
            node.questions,
            node.file,
            nline("questions"),
            f"node '{node.id}' questions",
            required=False,
        )
        need_langs(
            node.keywords,
            node.file,
            nline("keywords"),
            f"node '{node.id}' keywords",
            required=False,
        )
        need_langs(
            node.follow_ups,
            node.file,
            nline("follow_ups"),
            f"node '{node.id}' follow_ups",
            required=False,
        )
        for i, variant in enumerate(node.variants):
            need_langs(
                variant.text, node.file, nline("variants", i), f"node '{node.id}' variant {i + 1}"
            )
            if variant.valid_from is None and variant.before is None:
                problems.append(
                    Problem(
                        node.file,
                        nline("variants", i),
                        "variant has neither 'from' nor 'before'",
                        "add 'from: YYYY-MM-DD' and/or 'before: YYYY-MM-DD'",
                    )
                )
            if variant.valid_from and variant.before and variant.valid_from >= variant.before:
                problems.append(
                    Problem(
                        node.file,
                        nline("variants", i),
                        "variant's 'from' is not before its 'before'",
                        "swap or correct the dates",
                    )
                )
        chosen = chosen_variants(node.variants)
        for i in range(len(node.variants)):
            if i not in chosen:
                problems.append(
                    Problem(
                        node.file,
                        nline("variants", i),
                        f"variant {i + 1} is never shown: earlier variants cover all its days",
                        "the first variant that applies wins: put narrower ranges first",
                    )
                )
        for field, target in (
            ("why", node.why),
            ("how", node.how),
            ("if_not", node.if_not),
            ("instead", node.instead),
        ):
            if target is not None and target not in by_id and target not in broken:
                guess = _closest(target, by_id)
                problems.append(
                    Problem(
                        node.file,
                        nline(field),
                        f"'{field}' names unknown node '{target}'",
                        f"did you mean '{guess}'?" if guess else "use an existing node id",
                    )
                )
        for i, option in enumerate(node.options):
            if option.to not in by_id and option.to not in broken:
                guess = _closest(option.to, by_id)
                problems.append(
                    Problem(
                        node.file,
                        nline("options", i),
                        f"option leads to unknown node '{option.to}'",
                        f"did you mean '{guess}'?" if guess else "use an existing node id",
                    )
                )
            if option.label is not None:
                need_langs(
                    option.label,
                    node.file,
                    nline("options", i),
                    f"node '{node.id}' option {i + 1} label",
                )
            if len(option.to.encode()) > TELEGRAM_CALLBACK_LIMIT:
                problems.append(
                    Problem(
                        node.file,
                        nline("options", i),
                        "button data longer than 64 bytes",
                        "shorten the node id",
                    )
                )
        if (node.kind == "menu" or node.id == meta.root) and not node.options:
            problems.append(
                Problem(
                    node.file,
                    node.line,
                    f"menu '{node.id}' is a dead end: it has no options",
                    "add 'options:' leading on",
                )
            )
        elif node.options and all(o.to == node.id for o in node.options):
            problems.append(
                Problem(
                    node.file,
                    node.line,
                    f"node '{node.id}' only leads to itself",
                    "add an option to another node",
                )
            )
        if node.kind == "info":
            if not node.sources:
                problems.append(
                    Problem(
                        node.file,
                        node.line,
                        f"factual node '{node.id}' has no sources",
                        "add 'sources:' (title, url, checked) or mark it 'kind: menu'",
                    )
                )
            if node.checked is None:
                problems.append(
                    Problem(
                        node.file,
                        node.line,
                        f"factual node '{node.id}' has no checked date",
                        "add 'checked: YYYY-MM-DD'",
                    )
                )
        if node.checked is not None and node.checked > today + _TOMORROW:
            problems.append(
                Problem(
                    node.file,
                    nline("checked"),
                    f"checked date {node.checked} lies in the future",
                    "use the date you actually checked",
                )
            )
        for i, source in enumerate(node.sources):
            if why := https_problem(source.url):
                problems.append(
                    Problem(
                        node.file,
                        nline("sources", i, "url"),
                        f"source URL {why}: {source.url}",
                        "use a full https:// URL",
                    )
                )
            if source.checked is not None and source.checked > today + _TOMORROW:
                problems.append(
                    Problem(
                        node.file,
                        nline("sources", i, "checked"),
                        f"checked date {source.checked} lies in the future",
                        "use the date you actually checked",
                    )
                )
        for text_path, texts, _ in _all_texts(node):
            for lang, value in texts.items():
                for label, url in links(value):
                    if why := https_problem(url):
                        problems.append(
                            Problem(
                                node.file,
                                nline(*text_path, lang),
                                f"link '{label}' {why}: {url}",
                                "use a full https:// URL",
                            )
                        )

    problems += _wording_problems(meta, nodes, docs, meta_file, mline)
    problems += variable_problems(meta, by_id, _line_finder(docs))
    problems += row_field_problems(meta, by_id, rows or {}, _line_finder(docs), mline, meta_file)

    if meta.root in by_id and not any(p.level == "error" for p in problems):
        problems += _reachability(meta, by_id)
        problems += _telegram_limits(Content(meta, by_id, "", rows), warnings=warnings)
    return problems


def _line_finder(docs: dict[str, _Doc]) -> Callable[[Node, tuple[str | int, ...]], int]:
    def line_of(node: Node, path: tuple[str | int, ...]) -> int:
        doc = docs.get(node.file)
        return node.line if doc is None else doc.line((node.index, *path))

    return line_of


def _synonym_problems(meta: Meta, meta_file: str, mline: Callable[..., int]) -> list[Problem]:
    """Warnings for synonym entries that say nothing or are listed twice in one language.

    A word in two groups would join both groups' meanings through it, which is seldom meant.
    """
    from bot.content.loader import Problem

    problems = []
    for lang, groups in meta.synonyms.items():
        first: dict[str, tuple[int, int]] = {}
        for i, group in enumerate(groups):
            for j, entry in enumerate(group):
                key = " ".join(unicodedata.normalize("NFKC", entry).lower().split())
                if not any(c.isalnum() for c in key):
                    problems.append(
                        Problem(
                            meta_file,
                            mline("synonyms", lang, i, j),
                            f"synonym {entry!r} ({lang}) has no letters",
                            "remove it",
                            level="warning",
                        )
                    )
                    continue
                if key in first:
                    g, _ = first[key]
                    where = "twice in this group" if g == i else f"in group {g + 1} too"
                    problems.append(
                        Problem(
                            meta_file,
                            mline("synonyms", lang, i, j),
                            f"synonym '{key}' ({lang}) is listed {where}"
                            f" (first on line {mline('synonyms', lang, *first[key])})",
                            "keep each word in one group; merge the groups if they mean the same",
                            level="warning",
                        )
                    )
                else:
                    first[key] = (i, j)
    return problems


def _off_topic_problems(
    meta: Meta, nodes: list[Node], meta_file: str, mline: Callable[..., int]
) -> list[Problem]:
    """Warnings for off-topic entries that say nothing, repeat, or are a node's own example.

    An entry that is also an example question of a node pulls that very question both ways.
    """
    from bot.content.loader import Problem

    def key(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).lower().split()).strip(" ?!.")

    problems = []
    for lang, entries in meta.off_topic.items():
        examples = {key(q): n.id for n in nodes for q in n.questions.get(lang, ())}
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            k = key(entry)
            line = mline("off_topic", lang, i)
            if not any(c.isalnum() for c in k):
                message = f"off-topic entry {entry!r} ({lang}) has no letters"
                problems.append(Problem(meta_file, line, message, "remove it", level="warning"))
            elif k in seen:
                message = (
                    f"off-topic entry {entry!r} ({lang}) is listed twice"
                    f" (first on line {mline('off_topic', lang, seen[k])})"
                )
                problems.append(Problem(meta_file, line, message, "remove one", level="warning"))
            elif k in examples:
                message = (
                    f"off-topic entry {entry!r} ({lang}) is also an example question of node"
                    f" '{examples[k]}'"
                )
                hint = "remove it here or there: a question cannot be both"
                problems.append(Problem(meta_file, line, message, hint, level="warning"))
            seen.setdefault(k, i)
    return problems


_BARE_URL = re.compile(r"https?://[^\s)\]>]+")
# A sentence ends at . ! ? or a line break, but not after an ordinal ("27. Mai"), a one-letter
# abbreviation ("z. B.") or before a lowercase word or a number ("Art. 21", "bzw. wenn").
_SENTENCE_END = re.compile(
    r"\n+|(?<=[.!?])(?<!\b\d\.)(?<!\b\d\d\.)(?<!\b\w\.)\s+(?=[^\s\da-zäöüß])"
)
# A year (1990-2099) or a numeric full date: every date format a sentence can carry has one.
_DATE = re.compile(r"\b(?:19[89]\d|20\d\d)\b|\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")
_ALONE = frozenset(",.!?;:–—-)*_") | {""}
_MARKUP_LEAD = re.compile(r"^[\s*_>#\-•„“\"'(\[]+")


@dataclass(frozen=True)
class _Words:
    """Finds any of some words or phrases as whole words, ignoring case.

    Most texts hold none of them, and trying a long alternation at every position of a text
    is slow (a third of loading the content took that, and compiling it more): a text that
    holds none of the phrases even as plain strings (lower-cased, blanks as one space) is
    passed over without it, and the pattern is compiled only for a text that may hold one."""

    source: str
    """The pattern, to be compiled ignoring case."""
    phrases: tuple[str, ...]
    """Every phrase, lower-cased, its words one space apart."""

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.source, re.IGNORECASE)

    def search(self, text: str) -> re.Match[str] | None:
        plain = " ".join(text.lower().split())
        if not any(map(plain.__contains__, self.phrases)):
            return None
        return self.pattern.search(text)

    @cached_property
    def _most_words(self) -> int:
        return max(phrase.count(" ") + 1 for phrase in self.phrases)

    def match(self, text: str) -> re.Match[str] | None:
        opening = " ".join(text.lower().split(maxsplit=self._most_words)[: self._most_words])
        if not opening.startswith(self.phrases):
            return None
        return self.pattern.match(text)


def _word_pattern(words: Iterable[str]) -> _Words | None:
    """Whole words or phrases, any of ``words``, ignoring case."""
    alternatives = sorted({" ".join(w.split()) for w in words if w.strip()}, key=len, reverse=True)
    if not alternatives:
        return None
    body = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in alternatives)
    # Only where one of the first letters stands are the alternatives tried: a third of the
    # time, and the same matches (the class ignores case as the words do).
    first = "".join(sorted({re.escape(w[0]) for w in alternatives}))
    # Letters and digits bound a word; "_" does not ("_Nope_" is markup around "Nope").
    source = rf"(?=[{first}])(?<![^\W_])(?:{body})(?![^\W_])"
    return _Words(source, tuple(w.lower() for w in alternatives))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _normal_url(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")


def _wording_problems(
    meta: Meta,
    nodes: list[Node],
    docs: dict[str, _Doc],
    meta_file: str,
    mline: Callable[..., int],
) -> list[Problem]:
    """Errors for answers whose first word, undated status words or unvetted links mislead.

    - A node reachable by a typed question (it has ``questions``) must not open with a bare
      yes/no word from ``yes_no_words``: one question gets "Nein" right, its mirror image
      ("is it too late?" / "can I still?") gets it wrong.
    - A sentence with a word from ``status_words`` needs a date in it, or its text an ``as_of``.
    - Every URL in a node text is a source of some node or listed in ``checked_links``.
    """
    from bot.content.loader import Problem

    problems: list[Problem] = []
    for key in ("yes_no_words", "status_words"):
        words: Mapping[str, object] = getattr(meta, key)
        missing = [lang for lang in meta.languages if not words.get(lang)] if words else []
        if missing:
            problems.append(
                Problem(
                    meta_file,
                    mline(key),
                    f"'{key}' has no words for: {', '.join(missing)}",
                    f"add '{missing[0]}:' with that language's words",
                )
            )
    yes_no = {lang: _word_pattern(w) for lang, w in meta.yes_no_words.items()}
    status = {lang: _word_pattern(w) for lang, w in meta.status_words.items()}
    vetted = {_normal_url(link.url) for link in meta.checked_links}
    vetted |= {_normal_url(s.url) for n in nodes for s in n.sources}
    uses_as_of = False
    for node in nodes:
        doc = docs.get(node.file)

        def nline(*path: str | int, _doc: _Doc | None = doc, _node: Node = node) -> int:
            return _node.line if _doc is None else _doc.line((_node.index, *path))

        as_ofs: list[dt.date | None] = [node.as_of, *(v.as_of for v in node.variants)]
        uses_as_of = uses_as_of or any(as_ofs)
        for text_path, texts, as_of in _all_texts(node):
            for lang, value in texts.items():
                line = nline(*text_path, lang)
                bare, undated, urls = _read_text(value, yes_no.get(lang), status.get(lang))
                if node.questions and bare is not None:
                    problems.append(
                        Problem(
                            node.file,
                            line,
                            f"answer of '{node.id}' ({lang}) opens with '{bare}'",
                            "open with the claim itself: a bare yes/no reads as the"
                            " opposite to someone who asked the question the other way",
                        )
                    )
                for word, short in undated if as_of is None else ():
                    problems.append(
                        Problem(
                            node.file,
                            line,
                            f"'{word}' in '{node.id}' ({lang}) has no date: \"{short}\"",
                            'put the date in the sentence ("Seit Mai 2025 …"), or'
                            " give the text 'as_of: YYYY-MM-DD' so it is shown",
                        )
                    )
                for url in urls:
                    if url.startswith("https://") and _normal_url(url) not in vetted:
                        problems.append(
                            Problem(
                                node.file,
                                line,
                                f"link in '{node.id}' ({lang}) is not a checked source: {url}",
                                "add it to the node's 'sources' (title, url, checked) or to"
                                " 'checked_links' in bot.yaml with the day you checked it",
                            )
                        )
        for i, as_of in enumerate(as_ofs):
            if as_of is not None and as_of > dt.datetime.now(dt.UTC).date() + _TOMORROW:
                path: tuple[str | int, ...] = ("as_of",) if i == 0 else ("variants", i - 1, "as_of")
                problems.append(
                    Problem(
                        node.file,
                        nline(*path),
                        f"as_of date {as_of} lies in the future",
                        "use the day the text describes",
                    )
                )
    if uses_as_of and "as_of" not in meta.strings:
        problems.append(
            Problem(
                meta_file,
                mline("strings"),
                "nodes use 'as_of' but there is no 'as_of' string to show it",
                'add \'strings.as_of\', e.g. de: "Stand {month} {year}:", en: "As of {month}'
                ' {year}:"',
            )
        )
    return problems


_Reading = tuple[str | None, tuple[tuple[str, str], ...], tuple[str, ...]]


# Remembered across loads: a reload reads again only the texts that changed (the content
# has about 1,500 distinct texts in all its languages).
@lru_cache(maxsize=8192)
def _read_text(value: str, opener: _Words | None, status: _Words | None) -> _Reading:
    """What the wording rules need of one text: the bare yes/no word it opens with (if
    any), its sentences with a status word but no date (the word and the sentence, cut
    short), and the URLs it links to."""
    # A link needs "](", a bare URL "://": most texts have neither, and three passes of the
    # link patterns over every text were a third of the check.
    marked = "](" in value
    plain = LINK_PATTERN.sub(r"\g<label>", value) if marked else value
    bare = None
    if opener is not None:
        lead = _MARKUP_LEAD.sub("", plain)
        m = opener.match(lead)
        # Only a word standing alone ("Nein,", "No.") answers yes or no.
        if m is not None and lead[m.end() : m.end() + 1] in _ALONE:
            bare = m.group(0)
    undated = []
    # Sentences are pieces of the text between blanks: none holds a status word when the
    # whole text holds none (most texts), and splitting is the cost.
    if status is not None and status.search(plain):
        for sentence in _sentences(plain):
            if (m := status.search(sentence)) and not _DATE.search(sentence):
                short = sentence if len(sentence) <= 70 else sentence[:67] + "..."
                undated.append((m.group(0), short))
    urls = [url for _, url in links(value)] if marked else []
    if "://" in value:
        # A bare URL at the end of a sentence does not include the full stop.
        rest = LINK_PATTERN.sub("", value) if marked else value
        urls += [u.rstrip(".,;:!?") for u in _BARE_URL.findall(rest)]
    return bare, tuple(undated), tuple(urls)


def _all_texts(node: Node) -> Iterable[tuple[tuple[str | int, ...], LangText, dt.date | None]]:
    """Every text of ``node`` with its path and the ``as_of`` day it is shown under."""
    yield ("text",), node.text, node.as_of
    if node.more is not None:
        yield ("more",), node.more, node.as_of
    for i, variant in enumerate(node.variants):
        yield ("variants", i, "text"), variant.text, variant.as_of
        if variant.more is not None:
            yield ("variants", i, "more"), variant.more, variant.as_of


def chosen_variants(variants: Sequence[Variant]) -> set[int | None]:
    """Which variants (index; ``None`` for the main text) are shown on at least one day.

    The choice only changes on a ``from`` or ``before`` day, so those days and the earliest
    one stand for all days.
    """
    days = {dt.date.min} | {d for v in variants for d in (v.valid_from, v.before) if d}
    return {next((i for i, v in enumerate(variants) if v.applies(d)), None) for d in days}


def _closest(word: str, choices: Iterable[str]) -> str | None:
    from rapidfuzz import process

    found = process.extractOne(word, list(choices))
    return found[0] if found and found[1] >= 70 else None


def _reachability(meta: Meta, by_id: dict[str, Node]) -> list[Problem]:
    from bot.content.loader import Problem

    seen = {meta.root}
    todo = [meta.root]
    while todo:
        for option in by_id[todo.pop()].options:
            if option.to not in seen and option.to in by_id:
                seen.add(option.to)
                todo.append(option.to)
    return [
        Problem(
            n.file,
            n.line,
            f"node '{n.id}' cannot be reached from '{meta.root}'",
            "add an option leading to it from another node",
        )
        for n in by_id.values()
        if n.id not in seen
    ]


def _telegram_limits(content: Content, *, warnings: bool) -> list[Problem]:
    """Errors for answers over Telegram's limit; with ``warnings``, texts too long for a phone.

    The phone warning tries every combination of the variables a node's blocks test
    (:func:`_longest_blocks`), nearly all the time validation takes: only ``check`` asks.
    """
    from bot.content.loader import Problem

    meta = content.meta
    problems = []
    for node in content.nodes.values():
        dates = [dt.date.min] + [d for v in node.variants for d in (v.valid_from, v.before) if d]
        for lang in meta.languages:
            for day in dates:
                answer = content.answer(node, lang, day)
                # Rendering never adds visible characters (markup and URLs go, a bullet
                # stays two): a text this short fits without rendering it.
                if len(answer) <= TELEGRAM_TEXT_LIMIT:
                    continue
                size = telegram_length(answer)
                if size > TELEGRAM_TEXT_LIMIT:
                    problems.append(
                        Problem(
                            node.file,
                            node.line,
                            f"answer of '{node.id}' ({lang}) is {size} characters; "
                            f"Telegram allows {TELEGRAM_TEXT_LIMIT}",
                            "shorten it or move details into a 'more' node",
                        )
                    )
                    break
            if not warnings:
                continue
            problems += _phone_screens(node, content, lang, dates)
    return problems


def _phone_screens(node: Node, content: Content, lang: str, dates: list[dt.date]) -> list[Problem]:
    """Warnings for a first screen, or the details behind "More", too long for a phone.

    With a "More" option, blocks marked ``more`` and the ``more`` text are not on the first
    screen (:meth:`Content.first_screen`) but on a screen of their own (:meth:`Content.details`),
    so each screen is measured apart; without one, everything is one screen.
    """
    from bot.content.loader import Problem

    split = content.more_option
    screens: list[tuple[str, Callable[[TextBlock], bool], Callable[[dt.date], str]]] = [
        (
            "text",
            lambda b: not (split and b.more),
            lambda day: (
                node.text_for(lang, day) + ("" if split else "\n\n" + node.more_for(lang, day))
            ),
        )
    ]
    if split:
        screens.append(("details", lambda b: b.more, lambda day: node.more_for(lang, day)))
    problems = []
    for name, on_screen, opening in screens:
        blocks, when = _longest_blocks(node, content, lang, on_screen)
        for day in dates:
            text = "\n\n".join(t for t in (opening(day).strip(), *blocks) if t)
            visible = len(to_plain(LINK_PATTERN.sub(r"\g<label>", text)))
            if visible > PHONE_TEXT_LIMIT:
                shown = f" with the blocks shown when {when}" if when else ""
                problems.append(
                    Problem(
                        node.file,
                        node.line,
                        f"{name} of '{node.id}' ({lang}){shown} is {visible} characters; "
                        f"about {PHONE_TEXT_LIMIT} fit a phone screen",
                        "put details into a 'more' node behind an option"
                        if name == "text"
                        else "move some details into a node of their own behind an option",
                        level="warning",
                    )
                )
                break
    return problems


_Groups = tuple[list[dict[str, str]], list[tuple["np.ndarray", list[int]]]]
_last_groups: list[tuple[Node, str, _Groups]] = []


def _block_groups(node: Node, domains: dict[str, tuple[str | None, ...]]) -> _Groups:
    """Every combination of ``domains`` and, per block of ``node``, which group of them
    each falls in (combinations that agree on the variables the block reads) and the first
    combination of each group. The same for every language: worked out once per node."""
    import numpy as np  # only check computes this

    wanted = repr(sorted(domains.items()))
    if _last_groups and _last_groups[0][0] is node and _last_groups[0][1] == wanted:
        return _last_groups[0][2]
    combos = list(conditions.assignments(domains))
    groups = []
    for block in node.blocks:
        names = sorted(block.variables)
        index: dict[tuple[str | None, ...], int] = {}
        firsts: list[int] = []
        group_of = np.empty(len(combos), dtype=np.int64)
        for i, values in enumerate(combos):
            shown_by = tuple(values.get(n) for n in names)
            g = index.get(shown_by)
            if g is None:
                g = index[shown_by] = len(firsts)
                firsts.append(i)
            group_of[i] = g
        groups.append((group_of, firsts))
    # One node at a time: validation asks for its languages one after another.
    _last_groups[:] = [(node, wanted, (combos, groups))]
    return combos, groups


def _longest_blocks(
    node: Node, content: Content, lang: str, on_screen: Callable[[TextBlock], bool]
) -> tuple[tuple[str, ...], str]:
    """The texts of ``node``'s ``blocks`` on one screen (``on_screen``) that are shown
    together at most (by length), for some values of the variables they test or fill from,
    and those values in words ("" if none)."""
    if not node.blocks:
        return (), ""
    meta = content.meta
    used = {name for b in node.blocks for name in b.variables}
    compared = conditions.compared(b.condition for b in node.blocks)
    filled = {var for b in node.blocks for var, _ in b.row_fields}
    tested = {
        (v.name, v.value)
        for b in node.blocks
        for v in conditions.names(b.condition)
        if v.value is not None
    }

    def domain(name: str) -> tuple[str | None, ...]:
        values = meta.variables[name].domain(compared=name in compared)
        if meta.variables[name].type != "choice" or name in filled:
            return values
        # Conditions only compare a choice with values: those no condition here names act
        # alike, so one stands for all (thirteen countries would multiply the combinations).
        named = tuple(v for v in values if v is None or (name, v) in tested)
        others = tuple(v for v in values if v is not None and (name, v) not in tested)
        return named + others[:1]

    import numpy as np  # only check computes this

    domains = {n: domain(n) for n in used if n in meta.variables}
    combos, groups = _block_groups(node, domains)
    # Each block rendered once per combination of the variables it reads (a few), its length
    # then spread over every combination of the node's variables (thousands) at once.
    totals = np.zeros(len(combos), dtype=np.int64)
    for block, (group_of, firsts) in zip(node.blocks, groups, strict=True):
        if lang in block.text and on_screen(block):
            rendered = (content.block_text(block, lang, combos[i]) for i in firsts)
            sizes = np.array([0 if t is None else len(t) for t in rendered], dtype=np.int64)
            totals += sizes[group_of]
    # The first combination with the longest text, as trying them in order finds it.
    values = combos[int(np.argmax(totals))]
    shown = (
        content.block_text(b, lang, values) for b in node.blocks if lang in b.text and on_screen(b)
    )
    texts = tuple(t for t in shown if t is not None)
    if not texts:
        return (), ""
    words = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
    return texts, words or "nothing is set"
