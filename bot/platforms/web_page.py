"""The web chat's page: its own words in German and English, the choice of language, and the
HTML of the page (also the answer to a form post when the browser runs no JavaScript).

Pure functions, no I/O beyond reading the packaged script, style sheet and widget once.
Everything shown is escaped; the bot's texts arrive as HTML from
:func:`bot.content.markup.to_web_html`, which escapes all but its own markup.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.content.markup import to_web_html
from bot.events import Reply

_STATIC = resources.files("bot") / "web_static"

# --------------------------------------------------------------------------------------
# The page's own words (the content's texts come from the content)
# --------------------------------------------------------------------------------------

UI: Mapping[str, Mapping[str, str]] = {
    "de": {
        "title": "Meta-KI: Fragen und Widerspruch",
        "intro": "Frag mich, wie Meta deine Daten für KI nutzt und wie du widersprichst. "
        "Kein Konto, keine Cookies; was du schreibst, wird nicht gespeichert.",
        "start": "Los geht's",
        "label": "Deine Frage",
        "placeholder": "Frage eingeben …",
        "send": "Senden",
        "forget": "Vergessen",
        "forget_hint": "Löscht sofort, was der Bot über dieses Gespräch weiß.",
        "log": "Unterhaltung",
        "you": "Du",
        "bot": "Bot",
        "options": "Antwortmöglichkeiten",
        "language": "Sprache",
        "skip": "Zur Eingabe springen",
        "connecting": "Verbinde …",
        "offline": "Verbindung unterbrochen, ich versuche es gleich wieder …",
        "waiting": "Der Bot antwortet …",
        "too_long": "Deine Nachricht ist zu lang: höchstens {max} Zeichen.",
        "empty": "Schreib eine Frage oder wähle eine Antwortmöglichkeit.",
        "slow": "Zu viele Nachrichten aus deinem Netz. Warte eine Minute und versuch es dann noch einmal.",
        "bad": "Das konnte ich nicht lesen. Lade die Seite neu und versuch es noch einmal.",
        "forgotten_page": "Neues Gespräch.",
        "new_chat": "Neues Gespräch beginnen",
    },
    "en": {
        "title": "Meta AI: questions and objection",
        "intro": "Ask me how Meta uses your data for AI and how to object. "
        "No account, no cookies; what you type is not stored.",
        "start": "Let's start",
        "label": "Your question",
        "placeholder": "Type a question …",
        "send": "Send",
        "forget": "Forget",
        "forget_hint": "Erases at once what the bot knows about this conversation.",
        "log": "Conversation",
        "you": "You",
        "bot": "Bot",
        "options": "Options",
        "language": "Language",
        "skip": "Skip to the message field",
        "connecting": "Connecting …",
        "offline": "Connection lost, trying again in a moment …",
        "waiting": "The bot is answering …",
        "too_long": "Your message is too long: {max} characters at most.",
        "empty": "Type a question or pick an option.",
        "slow": "Too many messages from your network. Wait a minute, then try again.",
        "bad": "I could not read that. Reload the page and try again.",
        "forgotten_page": "New conversation.",
        "new_chat": "Start a new conversation",
    },
}


def ui(lang: str, key: str, **values: object) -> str:
    """The page's text ``key`` in ``lang`` (English for a language it lacks)."""
    words = UI.get(lang) or UI["en"]
    return words[key].format(**values) if values else words[key]


def pick_language(header: str | None, languages: Sequence[str], default: str) -> str:
    """The best of ``languages`` for an ``Accept-Language`` header, else ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            with contextlib.suppress(ValueError):
                quality = float(match.group(1))
        code = tag.strip().lower().split("-")[0]
        if code in languages and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else default


# --------------------------------------------------------------------------------------
# Rendering (pure)
# --------------------------------------------------------------------------------------


def reply_json(reply: Reply) -> dict[str, Any]:
    """A reply as the page's script receives it: escaped HTML, language and options."""
    return {
        "html": to_web_html(reply.text),
        "lang": reply.language,
        "options": [{"id": o.id, "label": o.label} for o in reply.options],
    }


@dataclass(frozen=True)
class Asset:
    """A static file: its bytes, content type and a short hash for cache-busting URLs."""

    body: bytes
    content_type: str
    version: str


def load_assets() -> dict[str, Asset]:
    """The page's script, style sheet and the embedding script, from the package."""
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    assets = {}
    for name in ("app.js", "chat.css", "widget.js"):
        body = (_STATIC / name).read_bytes()
        suffix = name[name.rindex(".") :]
        version = hashlib.sha256(body).hexdigest()[:12]
        assets[name] = Asset(body, types[suffix], version)
    return assets


def _hidden(session: str, seq: int, lang: str) -> str:
    # The page's language travels with each form too: a post has no ?lang= to read.
    return (
        f'<input type="hidden" name="session" value="{html.escape(session)}">'
        f'<input type="hidden" name="seq" value="{seq}">'
        f'<input type="hidden" name="hl" value="{html.escape(lang)}">'
    )


def render_page(
    *,
    lang: str,
    languages: Mapping[str, str],
    session: str,
    seq: int,
    assets: Mapping[str, Asset],
    said: str | None = None,
    replies: Sequence[dict[str, Any]] = (),
    notice: str | None = None,
    max_message: int = 1000,
) -> str:
    """The chat page. With ``replies`` it is the answer to a form post (no JavaScript): the
    visitor's message, the bot's replies and the options as buttons of small forms that carry
    the session id and the next sequence number in hidden fields (no cookies)."""
    t = html.escape
    hidden = _hidden(session, seq, lang)
    entries: list[str] = []
    if said:
        entries.append(
            f'<li class="msg me"><span class="who">{t(ui(lang, "you"))}:</span> '
            f"<p>{t(said)}</p></li>"
        )
    for index, reply in enumerate(replies):
        buttons = ""
        if reply["options"] and index == len(replies) - 1:
            items = "".join(
                f'<li><button type="submit" name="option" value="{t(o["id"])}">'
                f"{t(o['label'])}</button></li>"
                for o in reply["options"]
            )
            buttons = (
                f'<form class="options" method="post" action="./">{hidden}'
                f'<ul aria-label="{t(ui(lang, "options"))}">{items}</ul></form>'
            )
        entries.append(
            f'<li class="msg bot" lang="{t(reply["lang"])}">'
            f'<span class="who">{t(ui(lang, "bot"))}:</span>'
            f'<div class="body">{reply["html"]}</div>{buttons}</li>'
        )
    if not entries:
        entries.append(
            f'<li class="msg bot intro" data-intro="1"><span class="who">{t(ui(lang, "bot"))}:'
            f'</span><div class="body"><p>{t(ui(lang, "intro"))}</p></div>'
            f'<form class="options" method="post" action="./">{hidden}<ul>'
            f'<li><button type="submit" name="action" value="start">{t(ui(lang, "start"))}'
            f"</button></li></ul></form></li>"
        )
    switch = "".join(
        f'<button type="submit" name="lang" value="{t(code)}" lang="{t(code)}" '
        f'class="lang">{t(name)}</button>'
        for code, name in languages.items()
        if code != lang
    )
    status = f'<p class="notice" role="alert">{t(notice)}</p>' if notice else ""
    css, js = assets["chat.css"], assets["app.js"]
    script_words = {
        key: ui(lang, key, max=max_message)
        for key in (
            "you",
            "bot",
            "options",
            "connecting",
            "offline",
            "waiting",
            "empty",
            "too_long",
        )
    }
    data_ui = t(json.dumps(script_words, ensure_ascii=False))
    return f"""<!doctype html>
<html lang="{t(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>{t(ui(lang, "title"))}</title>
<link rel="stylesheet" href="chat.css?v={css.version}">
<script src="app.js?v={js.version}" defer></script>
</head>
<body data-max="{max_message}" data-lang="{t(lang)}" data-ui="{data_ui}">
<a class="skip" href="#text">{t(ui(lang, "skip"))}</a>
<header class="bar">
<h1>{t(ui(lang, "title"))}</h1>
<div class="tools">
<form method="post" action="./" class="inline" aria-label="{t(ui(lang, "language"))}">{hidden}{switch}</form>
<form method="post" action="./" class="inline">{hidden}<button type="submit" name="action" value="forget" class="forget" title="{t(ui(lang, "forget_hint"))}">{t(ui(lang, "forget"))}</button></form>
</div>
</header>
<main id="main">
<div role="log" aria-live="polite" aria-label="{t(ui(lang, "log"))}">
<ol id="log" class="log">
{"".join(entries)}
</ol>
</div>
{status}
<p id="status" class="status" role="status"></p>
</main>
<footer class="composer">
<form id="composer" method="post" action="./" autocomplete="off">
{hidden}
<label for="text" class="label">{t(ui(lang, "label"))}</label>
<div class="row">
<input id="text" name="text" type="text" maxlength="{max_message}" placeholder="{t(ui(lang, "placeholder"))}" enterkeyhint="send">
<button type="submit" name="action" value="send" class="send">{t(ui(lang, "send"))}</button>
</div>
</form>
</footer>
</body>
</html>
"""
