"""The content's small, platform-neutral markup and its renderers.

Authors write ``**bold**``, ``_italic_``, ``[label](https://url)`` and list lines that
start with ``- `` or ``1. ``. Each platform renders that: Telegram HTML, Matrix HTML
(plus a plain ``body``) and plain text for the console. Everything that is not markup
is escaped, so content and user input can never inject HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# One scanner for all inline markup. Links come first so that "_" or "**" inside a URL
# never starts emphasis; italics need a non-word character before them for the same reason.
_INLINE = re.compile(
    r"\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
    r"|\*\*(?P<bold>[^\n]+?)\*\*"
    r"|(?<![\w/])_(?P<italic>[^_\n]+?)_(?!\w)"
)
_BULLET = re.compile(r"^\s*[-*•]\s+(?P<item>.*)$")
_NUMBERED = re.compile(r"^\s*(?P<num>\d{1,2})[.)]\s+(?P<item>.*)$")

LINK_PATTERN = re.compile(r"\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)")
"""Matches ``[label](url)``; used by validation to find every link in a text."""


@dataclass(frozen=True)
class Span:
    """A run of inline text: plain, bold, italic or a link (``url`` set)."""

    text: str
    style: str = ""  # "", "b" or "i"
    url: str | None = None


def spans(text: str) -> Iterator[Span]:
    """Split one line into styled spans."""
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            yield Span(text[pos : m.start()])
        if m.group("label") is not None:
            yield Span(m.group("label"), url=m.group("url"))
        elif m.group("bold") is not None:
            yield Span(m.group("bold"), "b")
        else:
            yield Span(m.group("italic"), "i")
        pos = m.end()
    if pos < len(text):
        yield Span(text[pos:])


def links(text: str) -> list[tuple[str, str]]:
    """Return every ``(label, url)`` pair in ``text``."""
    return [(m.group("label"), m.group("url")) for m in LINK_PATTERN.finditer(text)]


def _inline(line: str, render: Callable[[Span], str]) -> str:
    return "".join(render(s) for s in spans(line))


def _plain_span(s: Span) -> str:
    if s.url is None or s.text == s.url:
        return s.url or s.text
    return f"{s.text} ({s.url})"


def _html_span(s: Span) -> str:
    body = html.escape(s.text, quote=False)
    if s.url is not None:
        # Validation keeps other schemes out of content; this keeps them out of any text.
        if not s.url.startswith(("https://", "http://")):
            return f"{body} ({html.escape(s.url, quote=False)})"
        return f'<a href="{html.escape(s.url, quote=True)}">{body}</a>'
    if s.style:
        return f"<{s.style}>{body}</{s.style}>"
    return body


def to_plain(text: str) -> str:
    """Render markup as plain text: emphasis dropped, links as ``label (url)``."""
    out = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            line = "• " + bullet.group("item")
        out.append(_inline(line, _plain_span))
    return "\n".join(out)


def to_telegram_html(text: str) -> str:
    """Render markup as Telegram HTML (``parse_mode="HTML"``); lists become bullet lines."""
    out = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            out.append("• " + _inline(bullet.group("item"), _html_span))
        else:
            out.append(_inline(line, _html_span))
    return "\n".join(out)


@dataclass(frozen=True)
class _List:
    """Consecutive list lines of one kind: ``ul`` (bullets) or ``ol`` (numbered from ``start``)."""

    kind: str
    start: int
    items: list[str]

    def open_tag(self) -> str:
        # A list continued after a paragraph ("3. ...") must not restart at 1.
        return f'<ol start="{self.start}">' if self.start != 1 else f"<{self.kind}>"


def _blocks(text: str) -> Iterator[_List | str | None]:
    """The lines of ``text`` with list lines grouped into lists; ``None`` for a blank line."""
    current: _List | None = None
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        kind = "ul" if bullet else "ol" if numbered else ""
        if current and kind != current.kind:
            yield current
            current = None
        item = bullet or numbered
        if item:
            if current is None:
                current = _List(kind, int(numbered.group("num")) if numbered else 1, [])
            current.items.append(item.group("item"))
        else:
            yield line if line.strip() else None
    if current:
        yield current


def to_matrix_html(text: str) -> str:
    """Render markup as Matrix ``formatted_body`` HTML with real ``<ul>``/``<ol>`` lists."""
    parts: list[str] = []
    for block in _blocks(text):
        if isinstance(block, _List):
            items = "".join(f"<li>{_inline(item, _html_span)}</li>" for item in block.items)
            parts.append(f"{block.open_tag()}{items}</{block.kind}>")
        elif block is not None:
            parts.append(_inline(block, _html_span) + "<br>")
        else:
            parts.append("<br>")
    return "".join(parts).removesuffix("<br>")


def _web_span(s: Span) -> str:
    body = html.escape(s.text, quote=False)
    if s.url is not None:
        if not s.url.startswith(("https://", "http://")):
            return f"{body} ({html.escape(s.url, quote=False)})"
        # A new tab keeps the chat; noopener/noreferrer keep the page and its address private.
        return (
            f'<a href="{html.escape(s.url, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{body}</a>'
        )
    if s.style == "b":
        return f"<strong>{body}</strong>"
    if s.style == "i":
        return f"<em>{body}</em>"
    return body


def to_web_html(text: str) -> str:
    """Render markup as HTML for the web chat: ``<p>`` paragraphs, real lists, links that
    open in a new tab without passing on the page (``rel="noopener noreferrer"``).

    Everything that is not markup is escaped, so the result can be inserted as it is.
    """
    parts: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            parts.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()

    for block in _blocks(text):
        if isinstance(block, _List):
            flush()
            items = "".join(f"<li>{_inline(item, _web_span)}</li>" for item in block.items)
            parts.append(f"{block.open_tag()}{items}</{block.kind}>")
        elif block is not None:
            paragraph.append(_inline(block, _web_span))
        else:
            flush()
    flush()
    return "".join(parts)
