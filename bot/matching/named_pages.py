"""Pages offered one per app or one per country, picked by the app or country a question names.

"Wie widerspreche ich?" offers a page for each app (Facebook, Instagram, WhatsApp). A
question that says which app the writer uses ("hab nur insta, wo leg ich den widerspruch
ein", "I only have Instagram, no Facebook") gets that app's page even where the ranking is
sure of the menu. Where the ranking is unsure between the menu and its pages (its first two
are among them), naming one app decides for that app's page ("solo tengo feisbuk, como me
opongo"), naming several for the menu ("FB + insta opt out?"). An app the question says
someone does not use ("nur insta, kein fb") does not count (:func:`without_denied_platforms`).
Naming an app alone does not move a sure answer: "wie verhindere ich, dass Facebook meine
Fotos nimmt" names Meta by its app and asks how to object on all of them.

The pages on complaints and authorities offer a page for each country of the country table.
Where the ranking is unsure between them and the country pages, a question that names one
country, by any of its page's keywords ("servus, bin aus wien, wo beschwer ich mich",
"je suis installée a dublin, je porte plainte aupres de qui ?"), gets that country's page; so
does one the ranking is unsure of, where the question names it. A writer who says where they
live ("Soy de Burgos pero vivo en Rotterdam") gets that country's page, even where the ranking
is sure of the country they come from.

Which pages offer which is read from the content: a menu among whose options are pages about
one app each (by their keywords), for at least two apps; any page that offers pages of the
country table (``country-<code>``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot import lang as lang_data
from bot.content.countries import ID_PREFIX
from bot.content.models import Content
from bot.matching.answers import apps
from bot.matching.clauses import PIECE, SENTENCE, without_denied_platforms
from bot.matching.text import (
    _META_WORDS,
    OTHER_PARTIES,
    OTHER_ROLES,
    STOPWORDS,
    content_words,
    stem,
    words,
)

_LANGUAGES = lang_data.languages()


@dataclass(frozen=True)
class AppMenus:
    """The menus that offer a page for each app, and the pages they offer."""

    pages: Mapping[str, Mapping[str, str]]
    """Menu -> app -> the menu's page about that app."""
    menu_of: Mapping[str, str]
    """An app's page -> the menu that offers it."""

    @classmethod
    def of(cls, content: Content) -> AppMenus:
        """The content's menus that ask which app."""
        pages: dict[str, dict[str, str]] = {}
        for node in content.nodes.values():
            if node.kind != "menu":
                continue
            by_app: dict[str, str] = {}
            for option in node.options:
                target = content.nodes.get(option.to)
                if target is None or target.kind == "menu":
                    continue
                named = {a for kws in target.keywords.values() for k in kws for a in apps(k)}
                if len(named) == 1:
                    by_app.setdefault(named.pop(), target.id)
            if len(by_app) >= 2:
                pages[node.id] = by_app
        menu_of = {page: menu for menu, by_app in pages.items() for page in by_app.values()}
        return cls(pages, menu_of)

    def page_for(
        self, text: str, lang: str, ranked: Sequence[str], *, sure: bool, refusing: bool = False
    ) -> str | None:
        """The page that answers ``text`` instead of ``ranked[0]`` (the ranking's first), or
        ``None`` where it stays; ``sure``: the ranking answers ``ranked[0]`` on its own;
        ``refusing``: the text says the writer does not want something, so its negation
        denies no app ("je veux pas que fb et insta se servent de mes photos")."""
        menu = next((m for r in ranked[:2] if (m := self._menu(r)) is not None), None)
        if menu is None:
            return None
        by_app = self.pages[menu]
        kept = text if refusing else without_denied_platforms(text)
        named = apps(kept) & by_app.keys()
        data = _LANGUAGES.get(lang)
        only = data.only_words if data is not None else frozenset()
        says_which = kept != text or any(w in only for w in words(text))
        if self._menu(ranked[0]) != menu:
            # The menu or one of its pages close behind: a question that says plainly which
            # app the writer uses is about that app ("ho solo fb, niente instagram. cosa devo
            # compilare?" ranks the page on the form's questions first). "only" must stand
            # right before the app: "the link just opens the facebook start page" says no such.
            plainly = (kept != text and apps(text) - apps(kept)) or _only_before_app(text, only)
            return by_app[named.pop()] if len(named) == 1 and plainly else None
        unsure_between = not sure and len(ranked) > 1 and self._menu(ranked[1]) == menu
        if len(named) == 1 and (says_which or unsure_between):
            return by_app[named.pop()]
        one_of_two = len(named) == 2 and ranked[0] in {by_app[a] for a in named}
        if len(named) >= 2 and (unsure_between or (one_of_two and not says_which)):
            # "fb et insta": the menu that asks which app, not the steps of one of them.
            return menu
        return None

    def _menu(self, node: str) -> str | None:
        """The menu that asks which app, if ``node`` is one or one of its pages."""
        return node if node in self.pages else self.menu_of.get(node)


_ONLY_BEFORE = 2
"""How close before an app's name an only-word must stand to say which app the writer uses
("ho solo fb", "ik heb alleen een facebookaccount")."""


def _only_before_app(text: str, only: frozenset[str]) -> bool:
    """Whether an only-word of ``only`` stands at most :data:`_ONLY_BEFORE` words before the
    name of an app in ``text``."""
    ws = words(text)
    return any(
        w in only and any(apps(n) for n in ws[i + 1 : i + 1 + _ONLY_BEFORE])
        for i, w in enumerate(ws)
    )


@dataclass(frozen=True)
class CountryPages:
    """The places the content has a page for (each country of the country table, another EU
    country, outside the EU), the pages about complaints and authorities that offer them,
    and the words that name each place."""

    places: frozenset[str]
    """The pages the country table's menu offers (``country-<code>``, ``complaint-abroad``)."""
    offering: frozenset[str]
    """Pages that offer country pages (complaints, authorities, the countries menu)."""
    names: Mapping[str, Mapping[tuple[str, ...], str]]
    """Language -> a place page's keyword, as stems -> that page (empty where two
    places share it: "Ausland")."""
    asking: Mapping[str, frozenset[str]]
    """Language -> stems of the words these pages are asked with, the places' names aside
    ("beschweren", "klacht", "competente"): a question naming a place without one of them
    asks something else ("bester Urlaubsort in Spanien")."""
    roles: Mapping[str, frozenset[str]]
    """Language -> stems of other parties and of the kinds of party a complaint may be aimed
    at besides Meta ("Arbeitgeber", "empresa")."""
    shared: frozenset[str] = frozenset()
    """Place pages that share a keyword with a page about something else (Ireland's with the
    page on Meta's lead authority in Dublin): naming such a place may mean the other thing."""
    cross_border: str | None = None
    """The page for a reader who lives in one country and works in another (the country
    table's ``cross_border``)."""
    seat: tuple[str, str] | None = None
    """The country page of Meta's seat and the page for readers elsewhere who ask about it
    (the country table's ``seat``)."""

    @classmethod
    def of(cls, content: Content) -> CountryPages:
        """The content's place pages and the pages that offer them."""
        countries = {ID_PREFIX + code for code in content.rows} & content.nodes.keys()
        offering = frozenset(
            n.id for n in content.nodes.values() if any(o.to in countries for o in n.options)
        )
        places = set(countries)
        for menu in offering:
            if content.nodes[menu].kind == "menu":
                places |= {o.to for o in content.nodes[menu].options}
        names = _place_names(content, places)
        roles = {
            lang: frozenset(
                stem(w, lang) for w in OTHER_ROLES.get(lang, frozenset()) | OTHER_PARTIES
            )
            for lang in content.languages
        }
        asking = {
            lang: _asking_words(content, offering | places, names.get(lang, {}), lang)
            for lang in content.languages
        }
        others = [n for n in content.nodes.values() if n.id not in places and n.id not in offering]
        other_keys = {
            (lang, k.casefold()) for n in others for lang, ks in n.keywords.items() for k in ks
        }
        shared = frozenset(
            page
            for page in places
            for lang, ks in content.nodes[page].keywords.items()
            if any((lang, k.casefold()) in other_keys for k in ks)
        )
        return cls(
            frozenset(places),
            offering,
            names,
            asking,
            roles,
            shared,
            content.cross_border,
            content.seat,
        )

    def across(self, text: str, lang: str, ranked: Sequence[str]) -> str | None:
        """The page for readers across borders, where ``text`` says the writer lives in one
        place and works in another ("Ich wohne in Trier und arbeite in Luxemburg. Wo kann ich
        mich beschweren?") and the ranking's first is about places: either country's
        authority takes the complaint, and one country's page would hide the other. "I live
        and work in Luxembourg" names one place."""
        data = _LANGUAGES.get(lang)
        if self.cross_border is None or data is None or not ranked:
            return None
        if not self._about_places(ranked[0]):
            return None
        # Piece by piece: "vivo ad Amsterdam per lavoro. In Olanda ..." and "vivo en Dublín
        # por trabajo, allí a quién reclamo" work nowhere.
        said = [[w.casefold() for w in ws] for ws in _pieces(text)]
        lives = any(_says_where(ws, data.living_words, data.place_words) for ws in said)
        works = any(_says_where(ws, data.working_words, data.place_words) for ws in said)
        return self.cross_border if lives and works else None

    def about_seat(self, text: str, lang: str, ranked: Sequence[str]) -> str | None:
        """The page on which authority is responsible (the table's ``seat``), where the
        ranking's first is the country Meta sits in, or that page with the country next (the
        bot would ask which is meant), and ``text`` asks about going there because of it
        ("devo fare reclamo in Irlanda visto che Meta ha sede lì?") or weighs it against
        another country ("który urząd jest od tego, irlandzki czy polski?"), from a writer
        who does not say they live there: every authority takes its residents' complaints."""
        data = _LANGUAGES.get(lang)
        if self.seat is None or data is None or not ranked:
            return None
        country, page = self.seat
        if ranked[0] != country and (ranked[0] != page or country not in ranked[1:2]):
            return None
        lived = self.lived_in(text, lang)
        if country in lived:
            return None
        seat_named = any(w in data.seat_words for w in words(text))
        if seat_named or (len(self.named(text, lang)) > 1 and not lived):
            return page
        return None

    def page_for(
        self, text: str, lang: str, ranked: Sequence[str], *, sure: bool, tied: bool = False
    ) -> str | None:
        """The place page that answers ``text`` instead of ``ranked[0]``, or ``None``: only
        where the ranking is unsure between pages about places and complaints, or unsure of
        the place the text names, or sure of a place other than where the writer lives
        (:meth:`lived_in`); and the text aims at no other party ("skarga do uodo na
        pracodawce" is about an employer).

        ``tied``: sure, but of two pages about equally (the bot would ask which one is
        meant): the place named decides ("je suis de Bruxelles, je porte plainte auprès de
        qui ?"), unless it may mean something else too (:attr:`shared`: "Irland oder hier?"
        asks where Meta's lead authority is)."""
        if not ranked:
            return None
        lived = self.lived_in(text, lang)
        # Sure of one place's page, from a writer who lives in a country of the table ("je suis
        # belge mais je vis à Lyon, je me plains où ?"): where they live decides. "Abroad" and
        # "another EU country" say no country.
        elsewhere = (
            ranked[0] in self.places
            and len(lived) == 1
            and ranked[0] not in lived
            and all(p.startswith(ID_PREFIX) for p in lived)
        )
        if sure and not tied and not elsewhere:
            return None
        # Unsure between places, or of a place the question names ("servus, i wohn in wien –
        # bei wem beschwer i mi?", the ranking's next being the page on noyb).
        places = elsewhere or (len(ranked) >= 2 and all(map(self._about_places, ranked[:2])))
        if not (places or ranked[0] in self.places):
            return None
        said = words(text)
        if any(stem(w, lang) in self.roles.get(lang, ()) for w in said) and not any(
            w in _META_WORDS for w in said
        ):
            return None
        if not any(stem(w, lang) in self.asking.get(lang, ()) for w in content_words(text, lang)):
            return None
        named = self.named(text, lang)
        if len(named) > 1 and len(lived) == 1:
            # "Soy de Burgos pero vivo en Rotterdam": where the writer lives decides.
            named = lived
        if len(named) != 1 or (sure and tied and named <= self.shared):
            return None
        if not places and named != {ranked[0]}:
            return None
        return named.pop()

    def only_place(self, text: str, lang: str) -> str | None:
        """The place page of the one place ``text`` names and says nothing else besides, but
        small words and words of living there or coming from it ("im in dublin", "bin aus
        Wien"): where the reader is, asking whether this applies there. Not a message that
        opens with "and" ("und die in Hamburg?"): that follows something up."""
        named = self.named(text, lang)
        if len(named) != 1:
            return None
        page = next(iter(named))
        data = _LANGUAGES.get(lang)
        small = STOPWORDS.get(lang, frozenset())
        if data is not None:
            small = (
                small
                | data.living_words
                | data.place_words
                | data.origin_words
                | data.question_words
            )
        name_stems = {
            part for key, owner in self.names.get(lang, {}).items() if owner == page for part in key
        }
        said = words(text)
        rest = [w for w in said if w not in small and stem(w, lang) not in name_stems]
        if rest or (data is not None and said[0] in data.and_words):
            return None  # says more, or "und die in Hamburg?" follows something up
        # A place whose words another page shares ("dpc", "dublin": Ireland's authority is
        # also Meta's lead one) counts only where the message says the reader is there.
        there = data is not None and any(
            w in data.place_words | data.origin_words and stem(after, lang) in name_stems
            for w, after in itertools.pairwise(said)
        )
        return page if page not in self.shared or there else None

    def named(self, text: str, lang: str) -> set[str]:
        """The place pages whose keywords ``text`` names."""
        # A small word that is also a place's stem ("para" and París, "mon" and Mons, "us")
        # names the place only in capitals, as an abbreviation ("the US").
        capitals = set(re.findall(r"\b[A-Z]{2,3}\b", text))
        small = STOPWORDS.get(lang, frozenset())
        said = [
            "" if w in small and w.upper() not in capitals else stem(w, lang) for w in words(text)
        ]
        found = set()
        starting = self._by_first.get(lang, {})
        for i, first in enumerate(said):
            for key, page in starting.get(first, ()):
                if tuple(said[i : i + len(key)]) == key:
                    found.add(page)
        return found

    @functools.cached_property
    def _by_first(self) -> dict[str, dict[str, list[tuple[tuple[str, ...], str]]]]:
        """Language -> a keyword's first stem -> the keywords starting with it and their
        pages (every message is searched for place names: a lookup per word, not per key)."""
        out: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
        for lang, keys in self.names.items():
            starting = out.setdefault(lang, {})
            for key, page in keys.items():
                if page and key:
                    starting.setdefault(key[0], []).append((key, page))
        return out

    def lived_in(self, text: str, lang: str) -> set[str]:
        """The place pages ``text`` says the writer lives in: named right after a word of
        living and the word that says where ("llevo cinco años viviendo en Rotterdam")."""
        data = _LANGUAGES.get(lang)
        if data is None:
            return set()
        found: set[str] = set()
        for ws in _pieces(text):
            said = [w.casefold() for w in ws]
            # "vivo en Milán", "mieszkam od lat w Niemczech": the place follows a word that
            # says where; "woon als nederlander in ..." names a nationality.
            for at in _where(said, data.living_words, data.place_words, _LIVED_REACH):
                found |= self.named(" ".join(ws[at + 1 : at + 1 + _PLACE_REACH + 1]), lang)
        return found

    def _about_places(self, node: str) -> bool:
        return node in self.offering or node in self.places


_LIVED_REACH = 5
"""How many words after a word of living the word that says where may come ("mieszkam od
pięciu lat w Niemczech")."""

_PLACE_REACH = 2
"""How many words after a word of living or working its place word may come ("arbeite aber
in Frankreich")."""


def _pieces(text: str) -> list[list[str]]:
    """The words of each piece of ``text`` (its sentences split at commas and the like)."""
    return [words(p) for s in SENTENCE.findall(text) for p in PIECE.findall(s)]


def _where(
    said: Sequence[str], verbs: frozenset[str], where: frozenset[str], reach: int
) -> Iterator[int]:
    """For each word of ``verbs`` in ``said`` followed by a word of ``where`` at most
    ``reach`` words after it, the position of the first such word."""
    for i, w in enumerate(said):
        if w in verbs:
            ahead = range(i + 1, min(i + 1 + reach, len(said)))
            at = next((j for j in ahead if said[j] in where), None)
            if at is not None:
                yield at


def _says_where(said: Sequence[str], verbs: frozenset[str], where: frozenset[str]) -> bool:
    """Whether a word of ``verbs`` in ``said`` is followed closely (:data:`_PLACE_REACH`) by a
    word of ``where``."""
    return any(True for _ in _where(said, verbs, where, _PLACE_REACH))


def _place_names(content: Content, places: set[str]) -> dict[str, dict[tuple[str, ...], str]]:
    """Language -> each place page's keywords, as stems -> the page ("" where two places
    share a keyword: it names neither)."""
    names: dict[str, dict[tuple[str, ...], str]] = {}
    for page in sorted(places):
        for lang, keywords in content.nodes[page].keywords.items():
            by_lang = names.setdefault(lang, {})
            for keyword in keywords:
                key = tuple(stem(w, lang) for w in words(keyword))
                if key:
                    by_lang[key] = "" if by_lang.get(key, page) != page else page
    return names


def _asking_words(
    content: Content,
    pages: frozenset[str] | set[str],
    names: Mapping[tuple[str, ...], str],
    lang: str,
) -> frozenset[str]:
    """Stems of the words of ``pages``' titles and keywords in ``lang``, without the places'
    names and question words ("quale autorità?" and "qual è la capitale?" share "quale"),
    and of the words that ask whether something applies there ("does this apply in
    Portugal?")."""
    data = _LANGUAGES.get(lang)
    skipped = {w for key in names for w in key} | (
        {stem(w, lang) for w in data.question_words} if data else set()
    )
    texts = [
        t
        for page in pages
        for node in (content.nodes[page],)
        for t in (node.title.get(lang, ""), *node.keywords.get(lang, ()))
    ]
    scope = {stem(w, lang) for w in data.scope_words} if data else set()
    return frozenset(
        stem(w, lang) for t in texts for w in content_words(t, lang) if stem(w, lang) not in skipped
    ) | frozenset(scope)
