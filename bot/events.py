"""Events the engine consumes and actions it produces.

These are plain frozen dataclasses: platform adapters translate their updates into
events and turn actions into API calls. Nothing here knows about a platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Option ids that are not node ids. Node ids never start with "@", so these cannot clash.
BACK = "@back"
MENU = "@menu"
LANG_PREFIX = "@lang:"
LANGUAGES = "@languages"
"""The list of every language, each named in its own words (one button for them all)."""
MORE_PREFIX = "@more:"
"""``@more:<node>``: the details of that node behind "Mehr" / "More"."""
SOURCES_PREFIX = "@sources:"
"""``@sources:<node>``: that node's sources as links, behind "Quellen" / "Sources"."""
PAGE_PREFIX = "@page:"
"""``@page:<node>-<n>``: page ``n`` (from 0) of a node's topics when they don't fit one screen."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all incoming events.

    ``group`` tells the engine the conversation happens in a group chat (answers stay
    general there); ``locale`` is the platform's language hint for the user (e.g.
    Telegram's ``language_code``), used only to pick the language of a new session.
    ``platform`` names where the event came from (set by the runtime): some UI strings are
    worded per platform (the console has no buttons).
    """

    group: bool = False
    locale: str | None = None
    platform: str = ""


@dataclass(frozen=True, kw_only=True)
class Start(Event):
    """The user starts (or restarts) the conversation, optionally deep-linked to a node.

    ``language`` is an explicit choice (e.g. ``chat --lang en``), unlike ``locale``.
    """

    node: str | None = None
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class Text(Event):
    """Free text typed by the user (a question, or a number choosing a shown option)."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Choice(Event):
    """The user picked an option (a button). ``option`` is untrusted input."""

    option: str


@dataclass(frozen=True, kw_only=True)
class Command(Event):
    """A slash command without the slash, e.g. ``Command(name="lang", args="en")``."""

    name: str
    args: str = ""


@dataclass(frozen=True, kw_only=True)
class Unsupported(Event):
    """Something the bot cannot read (sticker, photo, voice, file); ``kind`` names it."""

    kind: str = "other"


@dataclass(frozen=True, kw_only=True)
class Joined(Event):
    """The bot was added to a group chat and should introduce itself once."""


@dataclass(frozen=True)
class Option:
    """One choice offered with a reply. ``id`` is what comes back in a :class:`Choice`."""

    id: str
    label: str


@dataclass(frozen=True)
class Action:
    """Base of all outgoing actions."""


@dataclass(frozen=True, kw_only=True)
class Reply(Action):
    """A message to send to the user.

    ``text`` uses the content's platform-neutral markup (see ``bot.content.markup``);
    adapters render it. ``node`` is the node answered (``None`` for fallbacks and
    notices); ``matched`` says whether free text was matched (``None`` when the reply
    did not answer free text). ``private_node``, when set, asks the adapter to offer a
    button that opens this node in a private chat (used in groups for personal steps).
    """

    text: str
    language: str
    options: tuple[Option, ...] = ()
    node: str | None = None
    matched: bool | None = None
    private_node: str | None = None
    suggestions: tuple[str, ...] = field(default=())
    clarify: tuple[str, ...] = field(default=())
    """The nodes a clarifying question asks between ("Meinst du A oder B?"); the reply's
    options lead to them and ``matched`` is False."""


@dataclass(frozen=True)
class Forget(Action):
    """Erase everything stored about this user. Executed by the runtime, not by adapters."""
