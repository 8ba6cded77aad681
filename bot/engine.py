"""The dialogue engine: a pure function from (state, event, now) to (new state, actions).

No network, no clock, no platform types: adapters and the runtime do all I/O. The rules:

- A missing state starts a new session at the root, in the platform's language if the
  content has it, else the content's default language.
- A state whose node is no longer in the content (it was removed by a reload) moves to the
  root, keeping the language; a ``Choice`` or typed text then gets the menu with the
  ``node_gone`` note (commands and ``Start`` work as usual).
- ``Start`` resets the back stack and shows the root or the deep-linked node.
- ``Choice`` of a node id moves there (pushing the current node on the back stack);
  ``@back`` pops, ``@menu`` goes to the root, ``@lang:xx`` switches language
  (``@languages`` lists them). Anything else (forged, malformed or outdated data) gets a
  friendly note and the menu.
- ``Choice`` of ``@set:<node>-<index>`` sets that option's variables, if the option is shown
  for the session's variables now, and moves to its target; options and text blocks with an
  ``if`` appear only when their condition holds.
- ``Text`` equal to an offered option's label (case and spaces ignored) picks that option;
  so does the label of one of the current node's buttons on another page or in another
  language ("Polen" or "Poland" at the country question).
- ``Text`` that is a bare number ("2", "2.", "2)") picks that option of the last reply; a
  number not on the list says so and shows the list again; with no list (new session) the
  menu. Text starting with "/" is a command; other text is matched against the content, in
  the session's language and, if that fails, in the language the text is written in. Below
  the matcher's confidence the reply is an honest fallback with the closest topics. When
  two topics fit about equally well the reply asks which one is meant, with both as
  options, instead of answering the first (``Reply.clarify``, ``matched`` False).
- Notes (help, privacy, unknown command, non-text) leave the user where they were and
  offer the current page's options again.
- Typed text that asks about the page the user is at without naming anything ("bist du
  sicher?", "who did it?": ``MatchResult.again``) gets the page's details when its "More"
  is on screen, else its sources when their button is, else the page again.
- A node's reply is its first screen (the ``as_of`` label, the text, the blocks not marked
  ``more``) and one line naming its sources. When the node has details (``more``, blocks
  marked ``more``) the reply offers ``@more:<node>`` ("Mehr"), which shows them; a node
  with sources offers ``@sources:<node>`` ("Quellen"), which lists the links. Both screens
  offer the node's options again. Either id for a node without details or sources (forged,
  or outdated by a content update) gets the friendly note and the menu.
- A node shows at most ``MAX_TOPICS`` of its own options on one screen; more are split
  into pages of about equal size, each leading on with ``@page:<node>-<n>`` ("Weitere
  Themen"), and "Back" on a later page goes to the page before. A question whose every
  shown option is an answer (it sets variables) is never split: someone looking for their
  own answer (their country) must not have to guess that it is on the next page.
- ``Command`` names and their per-language aliases come from content.
- ``/forget`` returns ``None`` as the new state plus a :class:`Forget` action: the
  runtime erases everything, then sends the confirmation.
- In groups, nodes marked ``personal`` are not shown; the reply offers a private chat.
- Every event produces at least one reply; the engine never raises on user input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from bot.content import conditions
from bot.content.countries import ID_PREFIX as COUNTRY_PAGE
from bot.content.models import Content, Node, OptionRef
from bot.events import (
    BACK,
    LANG_PREFIX,
    LANGUAGES,
    MENU,
    MORE_PREFIX,
    PAGE_PREFIX,
    SOURCES_PREFIX,
    Action,
    Choice,
    Command,
    Event,
    Forget,
    Joined,
    Option,
    Reply,
    Start,
    Text,
    Unsupported,
)
from bot.language_detect import fold
from bot.matching import Matcher, MatchResult, answers
from bot.state import SessionState

MAX_BACK = 20
"""How deep the back stack goes; older steps are dropped so state stays small."""

SET_PREFIX = "@set:"
"""Option ids of buttons that set variables: ``@set:<node>-<index of the option>`` (one colon
and at most 32 characters after it, the shape platform adapters accept as button data)."""

MAX_TOPICS = 7
"""A node's own options on one screen; a phone shows about that many buttons at once."""

LANGUAGE_BUTTONS = 2
"""The main menu offers each other language as a button while there are at most this many;
beyond that, one button (``@languages``) opens the list of every language."""

MAX_TEXT = 2000
"""Longer input is cut before matching; nobody's question needs more."""

GUIDED_LEAVE = 0.8
"""At a checklist question, typed text that is no answer leaves the list only when it is a
question the matcher is at least this sure about; anything else repeats the question."""
_PLACE_ANSWER_WORDS = 6
"""Longer messages that name a country at the question where someone lives are questions of
their own ("und wo beschwere ich mich in Österreich, wenn Meta nicht antwortet?")."""

Result = tuple[SessionState | None, tuple[Action, ...]]
T = TypeVar("T")


class Engine:
    """Turns events into replies for one content tree."""

    def __init__(
        self, content: Content, matcher: Matcher | None = None, *, session_ttl: dt.timedelta
    ) -> None:
        self.content = content
        self.matcher = matcher or Matcher(content)
        self.session_ttl = session_ttl
        self._handlers: dict[type[Event], Callable[[SessionState, Event, dt.datetime], Result]] = {
            Start: self._start,
            Choice: self._choice,
            Text: self._text,
            Command: self._command,
            Unsupported: self._unsupported,
            Joined: self._joined,
        }
        self._typed_commands = typed_commands(content)

    def prepare(
        self, *, background: bool = False, languages: Collection[str] | None = None
    ) -> None:
        """Load what matching typed questions needs before the first user asks (see
        :meth:`bot.matching.Matcher.prepare`)."""
        self.matcher.prepare(background=background, languages=languages)

    # -- entry point ---------------------------------------------------------------------

    def handle(self, state: SessionState | None, event: Event, now: dt.datetime) -> Result:
        """Apply ``event`` to ``state`` at time ``now``; returns the new state and actions."""
        if state is None or state.language not in self.content.languages:
            state = self.new_state(event, now)
        elif state.node not in self.content.nodes:
            state = self._rehome(state)
            if isinstance(event, Choice) or (
                isinstance(event, Text) and not event.text.strip().startswith("/")
            ):
                note = self.content.string(
                    "node_gone" if "node_gone" in self.content.meta.strings else "outdated_option",
                    state.language,
                )
                return self._show(state.with_(last_seen=now), state.node, event, now, prefix=note)
        state = state.with_(last_seen=now)
        handler = self._handlers.get(type(event))
        if handler is None:
            return self._fallback(state, event, "", now)
        return handler(state, event, now)

    def _rehome(self, state: SessionState) -> SessionState:
        """``state`` moved to the root after its node vanished, without stale references."""
        declared = self.content.meta.variables
        return state.with_(
            node=self.content.meta.root,
            back=(),
            offered=(),
            variables=tuple((k, v) for k, v in state.variables if k in declared),
        )

    def new_state(self, event: Event, now: dt.datetime) -> SessionState:
        """A fresh session at the root, in the best language the event suggests."""
        explicit = event.language if isinstance(event, Start) else None
        found = self.language_of(explicit or event.locale)
        return SessionState(
            node=self.content.meta.root,
            language=found or self.content.meta.default_language,
            language_chosen=found is not None and explicit is not None,
            last_seen=now,
        )

    def language_of(self, hint: str | None) -> str | None:
        """The content's language that a language tag or locale names ("de", "de-DE",
        "pt_BR"), if it has it."""
        if hint:
            code = hint.split("-")[0].split("_")[0].lower()
            if code in self.content.languages:
                return code
        return None

    def inline(
        self, text: str, *, locale: str | None, now: dt.datetime, limit: int = 10
    ) -> tuple[Reply, ...]:
        """Answers to offer for a question asked outside any conversation (Telegram inline mode).

        The best matches for ``text`` (the menu's topics when nothing matches), each shown
        as in a group, since the answer is posted into someone's chat: personal topics only
        point to a private chat (``private_node``). Stateless: nothing is stored.
        """
        event = Text(text=text, group=True, locale=locale)
        state = self.new_state(event, now)
        text = text.strip()[:MAX_TEXT]
        ids: list[str] = []
        if text:
            detected = self.matcher.detect_language(text, locale=locale)
            state = state.with_(language=detected or state.language)
            result = self.matcher.match(text, state.language)
            ids = [result.node] if result.matched and result.node else []
            ids += [n for n in result.candidates if n not in ids]
            # A greeting matches the main menu, which is no card: the menu's topics are.
            ids = [n for n in ids if n != self.content.meta.root]
        if not ids:
            ids = [o.to for o in self.content.root.options]
        replies: list[Reply] = []
        for node_id in ids[:limit]:
            if node_id in self.content.nodes and node_id != self.content.meta.root:
                _, actions = self._show(state, node_id, event, now)
                replies += [a for a in actions if isinstance(a, Reply)]
        return tuple(replies)

    # -- events --------------------------------------------------------------------------

    def _start(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        assert isinstance(event, Start)
        if event.language and event.language in self.content.languages:
            state = state.with_(language=event.language, language_chosen=True)
        target = (
            event.node
            if event.node and event.node in self.content.nodes
            else self.content.meta.root
        )
        back = (self.content.meta.root,) if target != self.content.meta.root else ()
        return self._show(state.with_(back=back), target, event, now)

    def _choice(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        assert isinstance(event, Choice)
        return self._choose(state, event.option, event, now)

    def _choose(self, state: SessionState, option: str, event: Event, now: dt.datetime) -> Result:
        if option == BACK:
            return self._back(state, event, now)
        if option == MENU:
            return self._show(state.with_(back=()), self.content.meta.root, event, now)
        if option.startswith(LANG_PREFIX):
            return self._set_language(state, option.removeprefix(LANG_PREFIX), event, now)
        if option == LANGUAGES:
            return self._set_language(state, "", event, now)
        if option in self.content.nodes:
            return self._go(state, option, event, now)
        if option.startswith((MORE_PREFIX, SOURCES_PREFIX, PAGE_PREFIX)):
            return self._aside(state, option, event, now)
        if option.startswith(SET_PREFIX):
            chosen = self._setting_option(state, option)
            if chosen is not None:
                values = dict(state.variables) | chosen.assignments()
                state = state.with_(variables=tuple(sorted(values.items())))
                return self._go(state, chosen.to, event, now)
        note = self.content.string("outdated_option", state.language)
        return self._show(state.with_(back=()), self.content.meta.root, event, now, prefix=note)

    def _text(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        assert isinstance(event, Text)
        text = event.text.strip()[:MAX_TEXT]
        if text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            command = Command(
                name=name, args=args.strip(), group=event.group, platform=event.platform
            )
            return self._command(state, command, now)
        labelled = self._option_by_label(state, text)
        if labelled is not None:
            return self._choose(state, labelled, event, now)
        number = _option_number(text)
        if number is None and state.offered:
            # "the second one", "die zweite": the button in that place.
            number = answers.ordinal(text, state.language)
        if number is not None:
            if not state.offered:
                # Nothing on screen to pick from (a new or erased session): show the menu.
                return self._show(state.with_(back=()), self.content.meta.root, event, now)
            if 1 <= number <= len(state.offered):
                return self._choose(state, state.offered[number - 1], event, now)
            return self._no_such_option(state, event, now)
        asked = self.matcher.language_asked(text, state.language)
        if asked is not None:
            # "do you speak French?", "auf Englisch bitte": as /lang fr would. A language the
            # content lacks gets the list of those it has, in the language asked in.
            if not asked and not state.language_chosen:
                written_in = self.matcher.detect_language(
                    text, current=state.language, locale=event.locale
                )
                state = state.with_(language=written_in or state.language)
            return self._set_language(state, asked, event, now)
        typed = self._typed_commands.get(_as_typed(text))
        if typed is not None:
            # "hilfe", "zurück", "ayuda", "Start over": a command typed without its slash.
            name, typed_in = typed
            if typed_in is not None and not state.language_chosen:
                state = state.with_(language=typed_in)
            command = Command(
                name=name, group=event.group, locale=event.locale, platform=event.platform
            )
            return self._command(state, command, now)
        guided = self._guided_answer(state, text, event, now)
        if guided is not None:
            return guided
        requested = self._page_request(state, text, event, now)
        if requested is not None:
            return requested
        root = self.content.meta.root
        if not state.language_chosen and state.node == root and not state.back:
            greets_in = self.matcher.greeting_language(text, state.language)
            own = (event.locale or "").split("-")[0].lower()
            if greets_in not in (None, own) and self.matcher.thanks_language(text, own) == own:
                greets_in = None  # "ciao" from a German phone says goodbye
            if greets_in is not None:
                # "ciao", "cześć", "salut" before anything was read: a greeting in the language
                # it greets in (Italian, Polish, French), not a goodbye in another ("Tschüss!").
                return self._go(state.with_(language=greets_in), root, event, now, matched=True)
        for said_in, answer in (
            (self.matcher.thanks_language, "welcome"),
            (self.matcher.how_are_you_language, "how_are_you"),
            (self.matcher.not_understood_language, "not_understood"),
        ):
            said = said_in(text, state.language)
            if said:
                if (
                    answer == "welcome"
                    and "goodbye" in self.content.meta.strings
                    and self.matcher.says_goodbye(text, said)
                ):
                    answer = "goodbye"  # "tschüss": not "you're welcome"
                elif (
                    answer == "welcome"
                    and "noted" in self.content.meta.strings
                    and self.matcher.only_acknowledges(text, said)
                ):
                    answer = "noted"  # "ok": nobody said thanks
                return self._small_talk(state, said, answer, event, now)
        if not state.language_chosen:
            # A short message that fits the session's language as well as another ("ok",
            # "ja") stays in it; where the words leave it open, the platform's language decides.
            detected = self.matcher.detect_language(
                text, current=state.language, locale=event.locale
            )
            if detected:
                state = state.with_(language=detected)
        context = self._context(state)
        # At the menu, the context is a topic a fallback suggested, not a page that was read.
        suggested = context is not None and context != state.node
        if state.language_chosen:
            result = self._match_chosen(text, state.language, context, event.locale, suggested)
        else:
            result = self.matcher.match(text, state.language, context=context, suggested=suggested)
        if result.matched and result.node:
            aside = self._next_aside(state, result.node) if result.again else None
            if aside is not None:
                # "bist du sicher?": the page's details or sources say more than its first
                # screen again.
                return _answered(self._aside(state, aside, event, now))
            new_state, actions = self._go(state, result.node, event, now, matched=True)
            return new_state, actions
        if result.clarify and "clarify" in self.content.meta.strings:
            return self._clarify(state, result.clarify)
        return self._fallback(state, event, text, now, result.candidates)

    def _match_chosen(
        self, text: str, lang: str, context: str | None, locale: str | None, suggested: bool
    ) -> MatchResult:
        """``text`` matched for someone who chose ``lang``: someone who chose German may
        still ask in English; understand it, answer in German.

        The chosen language first, by its words; where they are unsure, the words of the
        language the text is written in before the meaning in either (the model is the slow
        part, and words that decide in the question's own language say more than its
        meaning compared with another language's examples). Detected only then, so a
        message the chosen language's words decide costs no detection."""
        result = self.matcher.match_by_words(text, lang, context=context, suggested=suggested)
        if result is not None and result.matched:
            return result
        detected = self.matcher.detect_language(text, locale=locale)
        other_lang = detected if detected and detected != lang else None
        if other_lang is not None and result is None:
            other = self.matcher.match_by_words(
                text, other_lang, context=context, suggested=suggested
            )
            if other is not None and other.matched:
                return other
        if result is None:
            result = self.matcher.match(text, lang, context=context, suggested=suggested)
        if not result.matched and other_lang is not None:
            other = self.matcher.match(text, other_lang, context=context, suggested=suggested)
            if other.matched:
                return other
        return result

    def _context(self, state: SessionState) -> str | None:
        """What a follow-up ("warum?", "und bei Instagram?") refers to: the node the user is
        at; at the menu after a question that was not understood (or asked which of two
        topics was meant), the closest topic then suggested, the one the question was about
        as far as the bot could tell ("und bei Insta?" after a fallback that offered the
        Facebook steps)."""
        root = self.content.meta.root
        if state.node != root:
            return state.node if state.node in self.content.nodes else None
        suggested = [o for o in state.offered if o in self.content.nodes and o != root]
        # A fallback and a clarifying question offer their topics and then the menu; the
        # menu itself offers no "menu" button.
        if suggested and state.offered[-1] == MENU:
            return suggested[0]
        return root

    def _clarify(self, state: SessionState, nodes: tuple[str, ...]) -> Result:
        lang = state.language
        # Titles that are questions themselves lose their "?" inside the question.
        first, second = (self.content.nodes[n].title[lang].rstrip("?.! ") for n in nodes[:2])
        options = [Option(n, self.content.nodes[n].title[lang]) for n in nodes[:2]]
        options.append(Option(MENU, self.content.string("menu", lang)))
        reply = Reply(
            text=self.content.string("clarify", lang, first=first, second=second),
            language=lang,
            options=tuple(options),
            matched=False,
            suggestions=nodes[:2],
            clarify=nodes[:2],
        )
        return state.with_(offered=tuple(o.id for o in options)), (reply,)

    def _command(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        assert isinstance(event, Command)
        word = event.name.split("@", 1)[0].lstrip("/")
        name = self.content.command_name(word)
        lang = state.language
        if name == "start":
            start = Start(
                node=event.args.split(" ")[0] or None,
                group=event.group,
                locale=event.locale,
                platform=event.platform,
            )
            return self._start(state, start, now)
        if name == "help":
            help_text = self.content.string("help", lang, platform=event.platform)
            return self._notice(state, help_text, event, now)
        if name == "menu":
            return self._show(state.with_(back=()), self.content.meta.root, event, now)
        if name == "back":
            return self._back(state, event, now)
        if name == "lang":
            # "/lang de-AT", "/lang pt_BR": the language of a locale tag.
            code = re.split(r"[-_]", event.args.strip().lower(), maxsplit=1)[0]
            return self._set_language(state, code, event, now)
        if name == "privacy":
            days = max(1, round(self.session_ttl.total_seconds() / 86400))
            duration = self.content.duration(self.session_ttl, lang)
            text = self.content.string(
                "privacy", lang, platform=event.platform, days=days, duration=duration
            )
            if extra := self._privacy_variables(lang):
                text = f"{text}\n\n{extra}"
            return self._notice(state, text, event, now)
        if name == "forget":
            # One button, so a phone user has something to tap to start again.
            menu = Option(MENU, self.content.string("menu", lang))
            reply = Reply(
                text=self.content.string("forgotten", lang), language=lang, options=(menu,)
            )
            return None, (Forget(), reply)
        return self._notice(state, self.content.string("unknown_command", lang), event, now)

    def _unsupported(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        return self._notice(state, self.content.string("unsupported", state.language), event, now)

    def _joined(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        intro = self.content.string("intro", state.language, platform=event.platform)
        return self._notice(state, intro, event, now, keep_place=False)

    # -- building blocks -----------------------------------------------------------------

    def _go(
        self,
        state: SessionState,
        node_id: str,
        event: Event,
        now: dt.datetime,
        *,
        matched: bool | None = None,
        prefix: str = "",
    ) -> Result:
        back = state.back
        if node_id != state.node:
            back = (*state.back, state.node)[-MAX_BACK:]
        if node_id == self.content.meta.root:
            back = ()
        return self._show(
            state.with_(back=back), node_id, event, now, matched=matched, prefix=prefix
        )

    def _back(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        back = [n for n in state.back if n in self.content.nodes]
        target = back.pop() if back else self.content.meta.root
        return self._show(state.with_(back=tuple(back)), target, event, now)

    def _language_label(self, lang: str) -> str:
        """The label of the button that lists the languages: "🌐" and what ``/lang`` is
        called in ``lang`` ("Sprache", "Language")."""
        spec = self.content.meta.commands.get("lang")
        if spec is not None and lang in spec.description:
            return f"🌐 {spec.description[lang]}"
        return "🌐 " + " · ".join(
            self.content.string("language_name", c) for c in self.content.languages
        )

    def _set_language(
        self, state: SessionState, code: str, event: Event, now: dt.datetime
    ) -> Result:
        if code not in self.content.languages:
            names = ", ".join(
                f"{c} ({self.content.string('language_name', c)})" for c in self.content.languages
            )
            text = self.content.string(
                "language_unknown", state.language, platform=event.platform, languages=names
            )
            return self._notice(state, text, event, now, lang_options=True, keep_place=False)
        state = state.with_(language=code, language_chosen=True)
        note = self.content.string("language_switched", code)
        return self._show(state, state.node, event, now, prefix=note)

    def _show(
        self,
        state: SessionState,
        node_id: str,
        event: Event,
        now: dt.datetime,
        *,
        prefix: str = "",
        matched: bool | None = None,
        page: int = 0,
    ) -> Result:
        node = self.content.nodes[node_id]
        lang = state.language
        if event.group and node.personal:
            text = self.content.string("private_hint", lang, topic=node.title[lang])
            options = self._nav_options(state, node_id)
            reply = Reply(
                text=_join(prefix, text),
                language=lang,
                options=options,
                node=node_id,
                matched=matched,
                private_node=node_id,
            )
            return state.with_(offered=tuple(o.id for o in options)), (reply,)
        if page > 0:
            # A later screen of a menu's buttons: its title, not the menu's text again (the
            # greeting of the main menu a second time under "More topics").
            count = self._page_count(state, node)
            text = f"**{node.title[lang]}** ({page + 1}/{count})"
        else:
            text = self.content.answer_for(node, lang, now.date(), dict(state.variables))
        options = self._node_options(state, node, today=now.date(), page=page)
        reply = Reply(
            text=_join(prefix, text), language=lang, options=options, node=node_id, matched=matched
        )
        return state.with_(node=node_id, offered=tuple(o.id for o in options)), (reply,)

    def _node_options(
        self,
        state: SessionState,
        node: Node,
        *,
        today: dt.date | None = None,
        page: int = 0,
        skip: str = "",
    ) -> tuple[Option, ...]:
        """The options under ``node``'s page ``page``: its own (those of that page), "More
        topics", "More" and "Sources" (not ``skip``, the one just shown), then the way back.
        Without ``today``, "More" is offered whenever the node may have details."""
        lang = state.language
        values = dict(state.variables)
        shown = self._own_countries_first(
            [(i, o) for i, o in enumerate(node.options) if o.shown(values)], lang
        )
        topics = [
            Option(
                f"{SET_PREFIX}{node.id}-{i}" if o.assign else o.to,
                o.label[lang] if o.label else self.content.nodes[o.to].title[lang],
            )
            for i, o in shown
        ]
        pages = _pages(topics, self._page_size(node, values))
        page = min(max(page, 0), len(pages) - 1)
        options = list(pages[page])
        if page + 1 < len(pages):
            # A list of countries goes on with "Weitere Länder", not with "Weitere Themen".
            countries = sum(o.to.startswith(COUNTRY_PAGE) for _, o in shown) * 2 > len(shown)
            more = "more_places" if countries and "more_places" in self.content.meta.strings else ""
            label = self.content.string(more or "more_topics", lang)
            options.append(Option(f"{PAGE_PREFIX}{node.id}-{page + 1}", label))
        options += self._aside_options(state, node, today, skip)
        if page > 0:
            # "Back" on a later page turns the page back, as people expect of a list.
            back = Option(f"{PAGE_PREFIX}{node.id}-{page - 1}", self.content.string("back", lang))
            options.append(back)
        if node.id == self.content.meta.root:
            others = [code for code in self.content.languages if code != lang]
            if len(others) <= LANGUAGE_BUTTONS:
                options += [
                    Option(f"{LANG_PREFIX}{code}", self.content.string("language_name", code))
                    for code in others
                ]
            else:
                # Six languages would be six buttons under the menu: one opens the list,
                # where each language is named in its own words.
                options.append(Option(LANGUAGES, self._language_label(lang)))
            return tuple(options)
        nav = self._nav_options(state, node.id)
        if page > 0:
            nav = tuple(o for o in nav if o.id != BACK)
        return (*options, *nav)

    def _max_topics(self) -> int:
        """Topics per screen; all on one when the content has no "more topics" label."""
        return MAX_TOPICS if "more_topics" in self.content.meta.strings else 1_000_000

    def _page_size(self, node: Node, values: conditions.Values) -> int:
        """Options per screen of ``node``: all of a question's answers on one screen."""
        shown = [o for o in node.options if o.shown(values)]
        if shown and all(o.assign for o in shown):
            return len(shown)
        return self._max_topics()

    def _aside_options(
        self, state: SessionState, node: Node, today: dt.date | None, skip: str
    ) -> list[Option]:
        """ "More" when ``node`` has details for this session ``today``, "Sources" when it has
        sources; ``skip`` ("more" or "sources") leaves out the one on screen."""
        lang = state.language
        options = []
        if skip != "more" and self.content.more_option:
            if today is None:
                maybe = (
                    node.more is not None
                    or any(v.more is not None for v in node.variants)
                    or any(b.more for b in node.blocks)
                )
            else:
                maybe = bool(self.content.details(node, lang, today, dict(state.variables)))
            if maybe:
                options.append(Option(f"{MORE_PREFIX}{node.id}", self.content.string("more", lang)))
        if skip != "sources" and node.sources:
            label = self.content.string("sources", lang)
            options.append(Option(f"{SOURCES_PREFIX}{node.id}", label))
        return options

    def _next_aside(self, state: SessionState, node_id: str) -> str | None:
        """The screen that answers a question about the page on screen that names nothing
        ("bist du sicher?", "wirklich?"): from its first screen the details, from the
        details the sources, from the sources (whose screen offers "More" again) none, so
        that asking on does not go round in circles but shows the page again."""
        more, sources = f"{MORE_PREFIX}{node_id}", f"{SOURCES_PREFIX}{node_id}"
        node = self.content.nodes.get(node_id)
        on_sources = node is not None and bool(node.sources) and sources not in state.offered
        if more in state.offered and not on_sources:
            return more
        return sources if sources in state.offered else None

    def _aside(self, state: SessionState, option: str, event: Event, now: dt.datetime) -> Result:
        """``@more:<node>``, ``@sources:<node>`` or ``@page:<node>-<n>``: a second screen of a
        node (its details, its links, more of its topics), with its options again."""
        kind, _, arg = option.removeprefix("@").partition(":")
        node_id, page = arg, 0
        if kind == "page":
            node_id, _, number = arg.rpartition("-")
            page = int(number) if number.isdigit() and len(number) <= 3 else -1
        node = self.content.nodes.get(node_id)
        lang = state.language
        today = now.date()
        text = ""
        if node is not None and event.group and node.personal:
            # Personal steps stay out of groups, whichever screen of them is asked for.
            return self._go(state, node.id, event, now)
        if node is not None and kind == "page":
            if 0 <= page < self._page_count(state, node):
                return self._show(self._step(state, node.id), node.id, event, now, page=page)
        elif node is not None and kind == "more":
            text = self.content.details(node, lang, today, dict(state.variables))
        elif node is not None and kind == "sources":
            text = self.content.sources_list(node, lang, today) if node.sources else ""
        if node is None or not text:
            note = self.content.string("outdated_option", lang)
            return self._show(state.with_(back=()), self.content.meta.root, event, now, prefix=note)
        on_page = state.node == node.id
        state = self._step(state, node.id).with_(node=node.id)
        if on_page and state.back[-1:] != (node.id,):
            # The details or sources of the page just read are a screen of their own: "back"
            # returns to the page.
            state = state.with_(back=(*state.back, node.id)[-MAX_BACK:])
        options = self._node_options(state, node, today=today, skip=kind)
        reply = Reply(text=text, language=lang, options=options, node=node.id)
        return state.with_(offered=tuple(o.id for o in options)), (reply,)

    def _step(self, state: SessionState, node_id: str) -> SessionState:
        """``state`` with the back stack of someone moving to ``node_id`` (as :meth:`_go`)."""
        if node_id == self.content.meta.root:
            return state.with_(back=())
        if node_id == state.node:
            return state
        if state.back[-1:] == (state.node,):
            return state  # leaving a page's details or sources: the page is on the stack
        return state.with_(back=(*state.back, state.node)[-MAX_BACK:])

    def _own_countries_first(
        self, shown: list[tuple[int, OptionRef]], lang: str
    ) -> list[tuple[int, OptionRef]]:
        """A node's ``shown`` options (each with its index) with the countries of ``lang``'s
        readers first (the country table's ``shown_first``), in that order; the rest keep
        theirs. A country's button leads to its page (``country-pl``) or is an answer that
        sets it (the checklist's "Polska")."""
        first = self.content.shown_first.get(lang)
        if not first:
            return shown
        rank = {code: i for i, code in enumerate(first)}

        def place(item: tuple[int, OptionRef]) -> int:
            option = item[1]
            codes = (
                [option.to.removeprefix(COUNTRY_PAGE)] if option.to.startswith(COUNTRY_PAGE) else []
            )
            codes += [v for v in option.assign.values() if isinstance(v, str)]
            return min((rank[c] for c in codes if c in rank), default=len(rank))

        return sorted(shown, key=place)

    def _page_on_screen(self, state: SessionState, node: Node) -> int:
        """Which of ``node``'s pages of buttons the user has on screen: the one whose buttons
        were offered last ("Weitere Themen" shows the second page of the menu; a number typed
        wrong there must not bring back the first)."""
        offered = set(state.offered)
        for page in range(self._page_count(state, node)):
            ids = {o.id for o in self._node_options(state, node, page=page)}
            if ids and ids <= offered:
                return page
        return 0

    def _page_count(self, state: SessionState, node: Node) -> int:
        values = dict(state.variables)
        shown = sum(1 for o in node.options if o.shown(values))
        return len(_pages([None] * shown, self._page_size(node, values)))

    def _privacy_variables(self, lang: str) -> str:
        """Which checklist marks a session may hold, from the declared variables' descriptions."""
        declared = self.content.meta.variables
        if not declared or "privacy_variables" not in self.content.meta.strings:
            return ""
        listed = "; ".join(spec.description[lang] for spec in declared.values())
        return self.content.string("privacy_variables", lang, variables=listed)

    def _setting_option(self, state: SessionState, option: str) -> OptionRef | None:
        """The button behind a ``@set:node-index`` id, if it exists and is shown right now."""
        node_id, _, index = option.removeprefix(SET_PREFIX).rpartition("-")
        node = self.content.nodes.get(node_id)
        if node is None or not index.isdigit() or int(index) >= len(node.options):
            return None
        chosen = node.options[int(index)]
        # A forged or old button must not set what the page would not offer now.
        return chosen if chosen.assign and chosen.shown(dict(state.variables)) else None

    def _option_by_label(self, state: SessionState, text: str) -> str | None:
        """The offered option whose label is exactly ``text`` (case and spaces ignored); else
        the current node's button with that label on another of its pages or in another
        language ("Polen" while the first page of countries is on screen, "France" in a German
        chat)."""
        if not state.offered or state.node not in self.content.nodes:
            return None
        wanted = " ".join(text.casefold().split())
        node = self.content.nodes[state.node]
        for page in range(self._page_count(state, node)):
            for o in self._node_options(state, node, page=page):
                if o.id in state.offered and " ".join(o.label.casefold().split()) == wanted:
                    return o.id
        values = dict(state.variables)
        for i, ref in enumerate(node.options):
            labels = ref.label.values() if ref.label else ()
            if ref.shown(values) and any(" ".join(t.casefold().split()) == wanted for t in labels):
                return f"{SET_PREFIX}{node.id}-{i}" if ref.assign else ref.to
        return None

    def _guided_answer(
        self, state: SessionState, text: str, event: Event, now: dt.datetime
    ) -> Result | None:
        """Text typed at a question of the guided checklist (a page whose buttons set
        answers): "ja", "nö", "weiß nicht", "ja nutz ich" or the app the question asks about
        picks the button that means it; a short message that says one button's label picks
        that button ("ich wohne in Österreich"). A clear question about another topic is answered;
        anything else repeats the question with a hint, so nobody drops out of the list."""
        node = self.content.nodes.get(state.node)
        if node is None:
            return None
        question = _Question(node, state)
        if not question.shown:
            return None
        lang = state.language
        shown = question.shown
        if answers.asks(text, lang):
            # "facebook erledigt? was heißt das", "what does meta ai done mean": a question
            # about the list ticks nothing; a question of its own is answered as usual.
            result = self.matcher.match(text, lang)
            if result.matched and result.node and result.score >= GUIDED_LEAVE:
                return None
            hint = self._guided_hint(question.hinted, lang, event.platform)
            return self._show(state, node.id, event, now, prefix=hint, matched=False)
        said = answers.answer(text, lang, question.asked)
        if question.choices and not answers.apps(text) & question.asked:
            # "no", "sì" at the reason builder: its buttons are choices, not answers to a
            # yes/no question, though "I never agreed" reads as a no.
            said = None
        fitting = question.fitting(text, said)
        chosen = answers.pick_option(text, lang, fitting) if fitting else None
        if chosen is not None:
            answered = self._choose(state, f"{SET_PREFIX}{node.id}-{chosen}", event, now)
            return self._carried(answered, text, event, now)
        if said is None:
            # "ich wohne in Österreich" at the question where someone lives: the button.
            labelled = answers.named_option(text, question.every_label)
            if labelled is None:
                # Before the places: "outside the eu" is the button "Outside the EU/EEA", though
                # "eu" is also a word of the page for other EU countries.
                labelled = answers.words_of_option(text, lang, question.every_label)
            if labelled is None:
                labelled = self._place_answer(shown, text, lang)
            if labelled is not None:
                return self._choose(state, f"{SET_PREFIX}{node.id}-{labelled}", event, now)
            result = self.matcher.match(text, lang)
            if result.matched and result.node and result.score >= GUIDED_LEAVE:
                return None  # a question of its own: answered as usual
        return self._show(
            state,
            node.id,
            event,
            now,
            prefix=self._guided_hint(question.hinted, lang, event.platform, which=bool(fitting)),
            matched=False,
        )

    def _carried(self, result: Result, text: str, event: Event, now: dt.datetime) -> Result:
        """``result`` of an answer to a checklist question, or, where the same message also
        answers the next question, the answer to that one: "nur insta" at "Hast du Facebook?"
        says no Facebook and yes to "Hast du Instagram?", which is not asked again; "only
        facebook" says no to it.

        Only a next question about one app carries over: yes where the message names that
        app, no where it says it is only about others; and only where nothing in the message
        denies or doubts ("kein Facebook, aber Insta" would deny Instagram too, read as a
        whole). A question about several apps or none (linked? objected where?) is asked."""
        state = result[0]
        node = self.content.nodes.get(state.node) if state is not None else None
        if state is None or node is None:
            return result
        question = _Question(node, state)
        lang = state.language
        if len(question.asked) != 1 or answers.meaning(text, lang) in ("no", "unsure"):
            return result
        if answers.apps(text) & question.asked:
            said = "yes"
        elif answers.other_apps_only(text, lang, question.asked) == "no":
            said = "no"
        else:
            return result
        fitting = question.fitting(text, said)
        chosen = answers.pick_option(text, lang, fitting) if fitting else None
        if chosen is None:
            return result
        # Said on screen, so that nobody types an answer to a question no longer asked.
        ref = question.shown[chosen]
        values = dict(state.variables) | ref.assignments()
        note = (
            self.content.string("guided_carried", lang, answer=question.labels[chosen])
            if "guided_carried" in self.content.meta.strings
            else ""
        )
        state = state.with_(variables=tuple(sorted(values.items())))
        carried = self._go(state, ref.to, event, now, prefix=note)
        return self._carried(carried, text, event, now)

    def _place_answer(self, shown: Mapping[int, OptionRef], text: str, lang: str) -> int | None:
        """The one button among ``shown`` whose answer is the country ``text`` names in any
        form ("w Polsce", "mieszkam w Polsce", "in Italia" at "Wo wohnst du?"), where the
        labels give only the country's name ("Polska"); a short answer only."""
        if len(text.split()) > _PLACE_ANSWER_WORDS:
            return None
        places = self.matcher.places_named(text, lang)
        if len(places) != 1:
            return None
        elsewhere = self.content.elsewhere
        found = [
            i
            for i, o in shown.items()
            if any(elsewhere.get(str(v), f"{COUNTRY_PAGE}{v}") in places for v in o.assign.values())
        ]
        if len(found) != 1:
            return None
        if next(iter(places)) in elsewhere.values() and self._shares_a_label(shown, found[0], text):
            # "anderes land", "eea": the page for readers outside shares words with the button
            # for other EU countries; only a place of its own ("usa", "portugal") says which.
            return None
        return found[0]

    def _shares_a_label(self, shown: Mapping[int, OptionRef], chosen: int, text: str) -> bool:
        """Whether ``text`` has a word of another button's label than ``chosen``'s (in any
        language)."""
        said = answers.letter_words(text)
        return any(
            said & answers.letter_words(label)
            for i, o in shown.items()
            if i != chosen and o.label
            for label in o.label.values()
        )

    def _guided_hint(
        self, meanings: Mapping[int, str], lang: str, platform: str, *, which: bool = False
    ) -> str:
        """What to type at a checklist question, for the answers it has: yes, no and not sure
        (``guided_hint``), yes and no (``guided_hint_yes_no``), or others, such as countries
        (``guided_hint_choice``); with ``which``, the answer fits several buttons and must say
        which (``guided_hint_which``). The general hint where the content has no specific one,
        the fallback where it has none; each as worded for ``platform`` (Telegram's buttons)."""
        said = set(meanings.values())
        if which:
            specific = "guided_hint_which"
        elif not {"yes", "no"} <= said:
            specific = "guided_hint_choice"
        elif "unsure" not in said:
            specific = "guided_hint_yes_no"
        else:
            specific = "guided_hint"
        for name in (specific, "guided_hint"):
            if name in self.content.meta.strings:
                return self.content.string(name, lang, platform=platform)
        return self.content.string("fallback", lang, platform=platform)

    def _nav_options(self, state: SessionState, node_id: str) -> tuple[Option, ...]:
        lang = state.language
        options = []
        root = self.content.meta.root
        if state.back and state.back[-1] != root:
            options.append(Option(BACK, self.content.string("back", lang)))
        if node_id != root:
            options.append(Option(MENU, self.content.string("menu", lang)))
        return tuple(options)

    def _notice(
        self,
        state: SessionState,
        text: str,
        event: Event,
        now: dt.datetime,
        *,
        lang_options: bool = False,
        keep_place: bool = True,
    ) -> Result:
        """A note (help, privacy, ...) that leaves the user where they were: with
        ``keep_place`` it offers the current page's options again, so a number typed from
        the list still on screen keeps working."""
        lang = state.language
        options: list[Option] = []
        if lang_options:
            options += [
                Option(f"{LANG_PREFIX}{c}", self.content.string("language_name", c))
                for c in self.content.languages
            ]
        if keep_place:
            node = self.content.nodes[state.node]
            page = self._page_on_screen(state, node)
            options += self._node_options(state, node, today=now.date(), page=page)
        if not any(o.id == MENU for o in options) and (
            not keep_place or state.node != self.content.meta.root
        ):
            options.append(Option(MENU, self.content.string("menu", lang)))
        return state.with_(offered=tuple(o.id for o in options)), (
            Reply(text=text, language=lang, options=tuple(options)),
        )

    def _page_request(
        self, state: SessionState, text: str, event: Event, now: dt.datetime
    ) -> Result | None:
        """The page just read again, its sources or its details, for a message that asks for
        one of them without naming the page ("Quelle?", "tell me more", "nochmal bitte":
        :meth:`bot.matching.Matcher.page_request`); ``None`` at the menu, and where the page
        has no such screen (the message is then read as a question)."""
        node = self.content.nodes.get(state.node or "")
        if node is None or node.id == self.content.meta.root:
            return None
        asked = self.matcher.page_request(text, state.language)
        if asked is None:
            return None
        kind, lang = asked
        if not state.language_chosen:
            state = state.with_(language=lang)
        if kind == "repeat":
            return self._go(state, node.id, event, now, matched=True)
        if (
            kind == "more"
            and self.content.more_option
            and self.content.details(node, state.language, now.date(), dict(state.variables))
        ):
            option = f"{MORE_PREFIX}{node.id}"
        elif node.sources:
            option = f"{SOURCES_PREFIX}{node.id}"
        else:
            return None
        return _answered(self._aside(state, option, event, now))

    def _small_talk(
        self, state: SessionState, lang: str, answer: str, event: Event, now: dt.datetime
    ) -> Result:
        """The ``answer`` string to thanks, "how are you?" or "I don't understand" said in
        ``lang``, with the current page's buttons: no question, so no match and no "not
        understood"."""
        if not state.language_chosen:
            state = state.with_(language=lang)
        text = self.content.string(answer, state.language, platform=event.platform)
        new_state, actions = self._notice(state, text, event, now)
        reply = actions[0]
        assert isinstance(reply, Reply)
        return new_state, (dataclasses.replace(reply, matched=False),)

    def _no_such_option(self, state: SessionState, event: Event, now: dt.datetime) -> Result:
        if "no_such_option" not in self.content.meta.strings:
            return self._notice(state, self.content.string("fallback", state.language), event, now)
        # "Choose 1 to N" for the buttons the notice shows again (the page's), which after a
        # fallback are more than the one "Menu" it offered.
        shown, actions = self._notice(state, "", event, now)
        count = len(shown.offered) if shown is not None else len(state.offered)
        text = self.content.string(
            "no_such_option", state.language, platform=event.platform, count=count
        )
        return shown, tuple(
            dataclasses.replace(a, text=text) if isinstance(a, Reply) else a for a in actions
        )

    def _fallback(
        self,
        state: SessionState,
        event: Event,
        text: str,
        now: dt.datetime,
        candidates: tuple[str, ...] = (),
    ) -> Result:
        lang = state.language
        # The topics closest to the text, from the match that just failed (not matched again).
        suggestions = candidates[:3] if text else ()
        options = [
            Option(n, self.content.nodes[n].title[lang])
            for n in suggestions
            if n in self.content.nodes
        ]
        options.append(Option(MENU, self.content.string("menu", lang)))
        key = "fallback_suggestions" if suggestions else "fallback"
        reply = Reply(
            text=self.content.string(key, lang),
            language=lang,
            options=tuple(options),
            matched=False if text else None,
            suggestions=suggestions,
        )
        return state.with_(offered=tuple(o.id for o in options)), (reply,)


class _Question:
    """A checklist question as a typed answer meets it: its buttons that set answers and are
    shown, what each means (yes, no, unsure), and the apps it asks about."""

    def __init__(self, node: Node, state: SessionState) -> None:
        values = dict(state.variables)
        lang = state.language
        self.shown = {i: o for i, o in enumerate(node.options) if o.assign and o.shown(values)}
        self.labels = {i: (o.label[lang] if o.label else "") for i, o in self.shown.items()}
        self.every_label = {
            i: list(o.label.values()) if o.label else [] for i, o in self.shown.items()
        }
        """Each button's label in every language ("ich wohne in Spain" names a button too)."""
        self.meanings = {
            i: o.means or answers.label_meaning(self.labels[i], lang) for i, o in self.shown.items()
        }
        self.asked = answers.apps(" ".join([node.title[lang], *self.labels.values()]))
        self.choices = not any(o.means for o in self.shown.values())
        """No button says what it answers (``means``): its buttons are choices (countries,
        reasons, ticks), not yes, no or not sure, whatever their labels read like."""
        self.hinted = {} if self.choices else self.meanings
        """The meanings the hint names (:meth:`Engine._guided_hint`): none for choices."""

    def fitting(self, text: str, said: str | None) -> dict[int, str]:
        """The labels of the buttons that mean what ``text`` answers (``said``).

        "ja" answers a question of yes and no, not "Wo wohnst du?", whose country buttons
        mean yes only by default: there it would pick the first country. Naming the app a
        button is about still picks it ("facebook" at the checklist: Facebook done)."""
        yes_no = {"yes", "no"} <= set(self.meanings.values()) or bool(
            answers.apps(text) & self.asked
        )
        return {
            i: self.labels[i]
            for i, meant in self.meanings.items()
            if meant == said and (yes_no or self.shown[i].means is not None)
        }


def _answered(result: Result) -> Result:
    """``result`` with its reply marked as an answer to the message (a screen of the page
    asked about, not a button pressed)."""
    state, actions = result
    return state, tuple(
        dataclasses.replace(a, matched=True) if isinstance(a, Reply) else a for a in actions
    )


TYPED_COMMANDS = ("start", "menu", "back", "help", "lang", "privacy")
"""The commands a message runs when it is only the command's name, an alias or its description
in a menu ("hilfe", "zurück", "Start over", "Sprache wechseln"), without the slash. Not
``forget``: erasing someone's data takes the command itself ("löschen" alone may mean a post)."""


def typed_commands(content: Content) -> dict[str, tuple[str, str | None]]:
    """Each way to type a command of :data:`TYPED_COMMANDS` without its slash, as
    :func:`_as_typed` reads a message -> the command and the language it is in (``None``
    where several languages spell it alike: "menu")."""
    found: dict[str, set[tuple[str, str | None]]] = {}
    for name, spec in content.meta.commands.items():
        if name not in TYPED_COMMANDS:
            continue
        found.setdefault(_as_typed(name), set()).add((name, None))
        spellings = [(lang, a) for lang, aliases in spec.aliases.items() for a in aliases]
        for lang, typed in [*spellings, *spec.description.items()]:
            found.setdefault(_as_typed(typed), set()).add((name, lang))
    commands: dict[str, tuple[str, str | None]] = {}
    for key, owners in found.items():
        names = {name for name, _ in owners}
        if not key or len(names) > 1:
            continue  # two commands spelt alike: neither
        langs = {lang for _, lang in owners if lang is not None}
        commands[key] = (names.pop(), langs.pop() if len(langs) == 1 else None)
    # Typed without accents ("zmien jezyk" for "Zmień język", as phones without Polish keys
    # type it), where that is no other way to type a command ("Menü" stays German, "menu" not).
    for key, command in list(commands.items()):
        commands.setdefault(fold(key), command)
    return commands


def _as_typed(text: str) -> str:
    """``text`` as :func:`typed_commands` compares it: lower case, words only."""
    return " ".join(re.findall(r"\w+", text.casefold()))


_NUMBER = re.compile(r"^(\d{1,3})\s*[.)]?$")


def _option_number(text: str) -> int | None:
    """The option number in "2", "2." or "2)"; ``None`` for anything else."""
    # \d is a decimal digit of any script ("٣", "１"), all of which int() reads; "²" is not one.
    match = _NUMBER.match(text)
    return int(match.group(1)) if match else None


def _pages(items: list[T], size: int) -> list[list[T]]:
    """``items`` in pages of at most ``size``, as even as possible (8 topics: 4 and 4, not
    7 and a lonely 1); one page, possibly empty, when they fit."""
    if len(items) <= size:
        return [items]
    count = -(-len(items) // size)
    per = -(-len(items) // count)
    return [items[i : i + per] for i in range(0, len(items), per)]


def _join(prefix: str, text: str) -> str:
    return f"{prefix}\n\n{text}" if prefix else text
