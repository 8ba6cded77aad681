"""A menu that asks which app, answered by the question itself.

"Wie widerspreche ich?" offers a page for each app (Facebook, Instagram, WhatsApp). A
question that says which app the writer uses ("hab nur insta, wo leg ich den widerspruch
ein", "I only have Instagram, no Facebook") gets that app's page even where the ranking is
sure of the menu. Where the ranking is unsure between the menu and its pages (its first two
are among them), naming one app decides for that app's page ("solo tengo feisbuk, como me
opongo"), naming several for the menu ("FB + insta opt out?"). An app the question says
someone does not use ("nur insta, kein fb") does not count (:func:`without_denied_platforms`).

Naming an app alone does not move a sure answer: "wie verhindere ich, dass Facebook meine
Fotos nimmt" names Meta by its app and asks how to object on all of them.

Which menus ask which app is read from the content: a menu among whose options are pages
about one app each (by their keywords), for at least two apps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot import lang as lang_data
from bot.content.models import Content
from bot.matching.answers import apps
from bot.matching.clauses import without_denied_platforms
from bot.matching.text import words

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

    def page_for(self, text: str, lang: str, ranked: Sequence[str], *, sure: bool) -> str | None:
        """The page that answers ``text`` instead of ``ranked[0]`` (the ranking's first), or
        ``None`` where it stays; ``sure``: the ranking answers ``ranked[0]`` on its own."""
        if not ranked:
            return None
        menu = self._menu(ranked[0])
        if menu is None:
            return None
        by_app = self.pages[menu]
        kept = without_denied_platforms(text)
        named = apps(kept) & by_app.keys()
        data = _LANGUAGES.get(lang)
        says_which = kept != text or (
            data is not None and any(w in data.only_words for w in words(text))
        )
        unsure_between = not sure and len(ranked) > 1 and self._menu(ranked[1]) == menu
        if len(named) == 1 and (says_which or unsure_between):
            return by_app[named.pop()]
        if len(named) >= 2 and unsure_between:
            return menu
        return None

    def _menu(self, node: str) -> str | None:
        """The menu that asks which app, if ``node`` is one or one of its pages."""
        return node if node in self.pages else self.menu_of.get(node)
