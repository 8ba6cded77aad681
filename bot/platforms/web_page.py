"""The web chat's page: its own words (from the content), the choice of language, and the
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
from bot.content.models import Content
from bot.events import Reply

_STATIC = resources.files("bot") / "web_static"

# --------------------------------------------------------------------------------------
# The page's own words (from the content's ``web_page`` section, like the answers)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageWords:
    """The page's own words in one language: ``words("send")``, ``words("too_long", max=1000)``."""

    lang: str
    words: Mapping[str, str]

    @classmethod
    def of(cls, content: Content, lang: str) -> PageWords:
        """The words of ``content``'s ``web_page`` section in ``lang`` (validated at load)."""
        return cls(lang, {key: text[lang].strip() for key, text in content.meta.web_page.items()})

    def __call__(self, key: str, **values: object) -> str:
        text = self.words[key]
        for name, value in values.items():
            # Not str.format: a translator's stray brace must not break the page.
            text = text.replace("{" + name + "}", str(value))
        return text


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
    words: PageWords,
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
    lang = words.lang
    hidden = _hidden(session, seq, lang)
    entries: list[str] = []
    if said:
        entries.append(
            f'<li class="msg me"><span class="who">{t(words("you"))}:</span> <p>{t(said)}</p></li>'
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
                f'<ul aria-label="{t(words("options"))}">{items}</ul></form>'
            )
        entries.append(
            f'<li class="msg bot" lang="{t(reply["lang"])}">'
            f'<span class="who">{t(words("bot"))}:</span>'
            f'<div class="body">{reply["html"]}</div>{buttons}</li>'
        )
    if not entries:
        entries.append(
            f'<li class="msg bot intro" data-intro="1"><span class="who">{t(words("bot"))}:'
            f'</span><div class="body"><p>{t(words("intro"))}</p></div>'
            f'<form class="options" method="post" action="./">{hidden}<ul>'
            f'<li><button type="submit" name="action" value="start">{t(words("start"))}'
            f"</button></li></ul></form></li>"
        )
    others = [(code, name) for code, name in languages.items() if code != lang]
    switch = "".join(
        f'<button type="submit" name="lang" value="{t(code)}" lang="{t(code)}" '
        f'class="lang">{t(name)}</button>'
        for code, name in others
    )
    if len(others) > 2:
        # Six language names do not fit beside "Forget" on a phone: a disclosure does, with
        # or without JavaScript.
        switch = (
            f'<details class="langs"><summary>{t(words("language"))}</summary>{switch}</details>'
        )
    status = f'<p class="notice" role="alert">{t(notice)}</p>' if notice else ""
    css, js = assets["chat.css"], assets["app.js"]
    script_words = {
        key: words(key, max=max_message)
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
<title>{t(words("title"))}</title>
<link rel="stylesheet" href="chat.css?v={css.version}">
<script src="app.js?v={js.version}" defer></script>
</head>
<body data-max="{max_message}" data-lang="{t(lang)}" data-ui="{data_ui}">
<a class="skip" href="#text">{t(words("skip"))}</a>
<header class="bar">
<h1>{t(words("title"))}</h1>
<div class="tools">
<form method="post" action="./" class="inline" aria-label="{t(words("language"))}">{hidden}{switch}</form>
<form method="post" action="./" class="inline">{hidden}<button type="submit" name="action" value="forget" class="forget" title="{t(words("forget_hint"))}">{t(words("forget"))}</button></form>
</div>
</header>
<main id="main">
<div role="log" aria-live="polite" aria-label="{t(words("log"))}">
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
<label for="text" class="label">{t(words("label"))}</label>
<div class="row">
<input id="text" name="text" type="text" maxlength="{max_message}" placeholder="{t(words("placeholder"))}" enterkeyhint="send">
<button type="submit" name="action" value="send" class="send">{t(words("send"))}</button>
</div>
</form>
</footer>
</body>
</html>
"""
