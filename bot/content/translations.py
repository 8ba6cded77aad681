"""Translation export and import: the content's texts as gettext PO files.

Volunteers translate in the tools they know (Weblate, Poedit, any PO editor). One PO file per
language, ``content/translations/<lang>.po``, holds every text of the content: each entry's
``msgctxt`` names where the text lives (``how-to-object/text``,
``bot.yaml/strings/fallback``), ``msgid`` is the source-language text (English unless told
otherwise) and ``msgstr`` the translation. Lists (example questions, keywords, aliases, word
lists) are one entry whose lines are the list's items.

The rules:

- ``export`` writes the PO file from the YAML: a translation already in the YAML is the
  entry's ``msgstr``. When the PO file exists, an entry whose source text changed since it
  was translated is marked ``fuzzy`` with the old source as ``#| msgid`` (as gettext's
  ``msgmerge`` does), so translators see what changed.
- ``import`` writes every translated, non-fuzzy entry whose source is still the content's back
  into the YAML files with a round-trip parser, so comments, key order and quoting stay as
  authors wrote them.
- ``stale`` (used by ``check``) lists the entries whose source text changed after they were
  translated: their translation needs review.

A text is any mapping whose keys are all language codes and which has the source language;
nothing here knows the content's schema, so new fields are translatable without changes.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polib
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from yaml import YAMLError
from yaml import safe_load as yaml_safe_load

from bot.content.loader import Problem

LANG_KEY = re.compile(r"^[a-z]{2}$")
LIST_FLAG = "list"
"""Entries whose lines are the items of a list (one item per line)."""
META_FILE = "bot.yaml"
COUNTRIES_FILE = "countries.yaml"
NODE_DIR = "nodes"
TRANSLATION_DIR = "translations"

# Sections of bot.yaml that are language knowledge rather than texts: they are exported too
# (a new language needs them), but as lists.
_PATH_SEP = "/"


@dataclass(frozen=True)
class Text:
    """One translatable text: where it is, its source and its translation (``None`` if none)."""

    context: str
    file: str
    line: int
    source: str | list[str]
    target: str | list[str] | None

    @property
    def is_list(self) -> bool:
        """Whether the text is a list of items rather than one string."""
        return isinstance(self.source, list)


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: keeps comments, order and quoting
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap authors' lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


_BLOCK_START = re.compile(r"^(\s*)(?:- )?[^#]*:\s*[|>][-+0-9]*\s*$")


def _dedent_root_sequence(text: str) -> str:
    """Undo the two spaces ruamel adds before a root sequence's items.

    ruamel indents every sequence alike, so node files (a list at the root, written
    ``- id: …`` at column 0) come out shifted by two columns. Comment lines keep the column
    they were read with, so they are left alone, except inside block scalars (``|``), whose
    lines are text.
    """
    out: list[str] = []
    block_indent: int | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent is not None and stripped.strip() and indent <= block_indent:
            block_indent = None
        in_block = block_indent is not None
        if line.startswith("  ") and (in_block or not stripped.startswith("#")):
            line = line[2:]
        if not in_block and (m := _BLOCK_START.match(line)):
            block_indent = len(m.group(1))
        out.append(line)
    return "".join(out)


def content_files(content_dir: Path) -> list[Path]:
    """The YAML files of a content tree, in the order the loader reads them."""
    countries = content_dir / COUNTRIES_FILE
    nodes = sorted((content_dir / NODE_DIR).glob("*.yaml"))
    return [content_dir / META_FILE, *([countries] if countries.is_file() else []), *nodes]


def _is_text(value: Any, source: str) -> bool:
    return (
        isinstance(value, CommentedMap)
        and source in value
        and all(isinstance(k, str) and LANG_KEY.match(k) for k in value)
        and all(isinstance(v, str | CommentedSeq | CommentedMap) for v in value.values())
    )


def _walk(node: Any, path: tuple[str, ...], source: str) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every language-keyed mapping below ``node`` with its path."""
    if _is_text(node, source):
        yield path, node
        return
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)), source)
    elif isinstance(node, CommentedSeq):
        for i, value in enumerate(node):
            # A node is named by its id, so contexts survive reordering nodes in a file.
            name = None
            if isinstance(value, CommentedMap):
                name = value.get("id") if not path else value.get("code")
            yield from _walk(value, (*path, str(name if name is not None else i)), source)


def _line(item: Any) -> str:
    """One list item as a line: a group of words (synonyms) as ``a, b, c``."""
    if isinstance(item, CommentedSeq):
        return ", ".join(str(v) for v in item)
    return str(item)


def _plain(value: Any) -> str | list[str]:
    """A text as a string, a list (or a unit table such as ``durations``) as lines."""
    if isinstance(value, CommentedSeq):
        return [_line(v) for v in value]
    if isinstance(value, CommentedMap):
        return [f"{k}: {_line(v)}" for k, v in value.items()]
    return str(value)


_FLOW_MARKS = re.compile(r"[,\[\]{}?:#]|^- ")
"""What a plain scalar may not say inside ``[...]`` or ``{...}`` (as the loader, PyYAML, reads
it): "Par courrier, ça marche ?" would become two items, "online?" is no item at all."""


def _scalar(text: str, *, flow: bool = False) -> Any:
    """``text`` as a YAML scalar that the content loader (YAML 1.1) reads back as this string
    (``flow``: as an item of a list or table written in brackets).

    Written plain, "no", "on" or "2025-05-27" would come back as a boolean or a date.
    """
    if flow and _FLOW_MARKS.search(text):
        return DoubleQuotedScalarString(text)
    try:
        plain = yaml_safe_load(text)
    except YAMLError:
        plain = None
    return text if plain == text else DoubleQuotedScalarString(text)


def _from_lines(lines: list[str], like: Any) -> Any:
    """Lines turned back into the shape of the source value ``like``, in its flow style."""

    flow = bool(like.fa.flow_style())

    def shaped(item: str, model: Any) -> Any:
        if isinstance(model, CommentedSeq):
            group = CommentedSeq(
                [_scalar(w.strip(), flow=True) for w in item.split(",") if w.strip()]
            )
            group.fa.set_flow_style()
            return group
        return _scalar(item, flow=flow)

    if isinstance(like, CommentedMap):
        table = CommentedMap()
        for line in lines:
            key, _, rest = line.partition(":")
            table[key.strip()] = shaped(rest.strip(), like.get(key.strip()))
        if flow:
            table.fa.set_flow_style()
        return table
    first = like[0] if len(like) else None
    seq = CommentedSeq([shaped(line, first) for line in lines])
    if flow:
        seq.fa.set_flow_style()
    return seq


def dump(doc: Any) -> str:
    """``doc`` as YAML text in the content files' layout."""
    out = io.StringIO()
    _yaml().dump(doc, out)
    text = out.getvalue()
    return _dedent_root_sequence(text) if isinstance(doc, CommentedSeq) else text


def _load(path: Path) -> Any:
    return _yaml().load(path.read_text(encoding="utf-8"))


def texts(
    content_dir: Path, lang: str, source: str = "en", parsed: dict[Path, Any] | None = None
) -> list[Text]:
    """Every translatable text of the content, with its translation into ``lang`` if any.

    ``parsed``: files read before (path -> document), filled as files are read, so that
    asking for several languages reads each file once; the documents are not changed."""
    found: list[Text] = []
    for path in content_files(content_dir):
        if parsed is None:
            doc = _load(path)
        elif (doc := parsed.get(path)) is None:
            doc = parsed[path] = _load(path)
        prefix = (path.name,) if path.name in (META_FILE, COUNTRIES_FILE) else ()
        for where, mapping in _walk(doc, prefix, source):
            line = mapping.lc.data.get(source, (mapping.lc.line, 0))[0] + 1
            target = mapping.get(lang)
            found.append(
                Text(
                    context=_PATH_SEP.join(where),
                    file=str(path.relative_to(content_dir)),
                    line=line,
                    source=_plain(mapping[source]),
                    target=None if target is None else _plain(target),
                )
            )
    return found


def _msg(value: str | list[str]) -> str:
    return "\n".join(value) if isinstance(value, list) else value


def export(
    content_dir: Path, lang: str, po_path: Path, source: str = "en", *, from_yaml: bool = False
) -> polib.POFile:
    """Write (or update) ``po_path`` with every text of the content for ``lang``.

    Translations come from the PO file where it has one for the same context, else from
    the YAML. An entry whose source changed since it was translated becomes fuzzy, keeping
    the old source as ``previous_msgid`` and the old translation for the translator to fix.

    ``from_yaml``: for an author who changed a text in the YAML in every language at once,
    the YAML's translation wins where it differs from the PO file's (a translation in the PO
    file that was never imported is then lost). Where the source changed and the YAML's
    translation did not, the entry still becomes fuzzy.
    """
    old = {e.msgctxt: e for e in polib.pofile(str(po_path))} if po_path.exists() else {}
    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": "meta-ai-widerspruch-bot content",
        "Language": lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "X-Source-Language": source,
    }
    for text in texts(content_dir, lang, source):
        msgid = _msg(text.source)
        entry = polib.POEntry(
            msgctxt=text.context,
            msgid=msgid,
            msgstr="",
            occurrences=[(text.file, str(text.line))],
            comment="One item per line." if text.is_list else "",
            flags=[LIST_FLAG] if text.is_list else [],
        )
        before = old.get(text.context)
        current = _msg(text.target) if text.target is not None else ""
        if from_yaml and before is not None and current and current != before.msgstr:
            # Rewritten in the YAML since the last export, with its source: it is current.
            entry.msgstr = current
        elif before is not None and before.msgstr:
            entry.msgstr = before.msgstr
            if before.msgid != msgid:
                entry.flags.append("fuzzy")
                entry.previous_msgid = before.msgid
            elif "fuzzy" in before.flags:
                entry.flags.append("fuzzy")
                entry.previous_msgid = before.previous_msgid
        elif text.target is not None:
            entry.msgstr = _msg(text.target)
        po.append(entry)
    po_path.parent.mkdir(parents=True, exist_ok=True)
    po.save(str(po_path))
    return po


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: counts, and contexts in the PO file the content does not have."""

    written: int
    skipped_fuzzy: int
    skipped_changed: int
    """Entries translated from an older source text than the content's: left out like fuzzy
    ones, since the translation may say what the source no longer says."""
    unknown: tuple[str, ...]


def _item_value(text: str, like: Any) -> Any:
    if isinstance(like, CommentedSeq | CommentedMap):
        return _from_lines([line.strip() for line in text.splitlines() if line.strip()], like)
    if "\n" in text:
        return LiteralScalarString(text)
    return _scalar(text)


def _place(mapping: CommentedMap, lang: str, value: Any) -> None:
    """Set ``mapping[lang]``: replace in place, or insert after the last language key.

    The parser keeps a comment that follows a mapping (about the next block) on the last
    value before it, so a key added at the end would come after the comment: the comment
    is moved onto the new last key, and stays where its author put it.
    """
    if lang in mapping:
        mapping[lang] = value
        return
    trailing = _take_trailing_comment(mapping)
    mapping.insert(len(mapping), lang, value)
    if trailing is not None:
        if isinstance(value, CommentedSeq | CommentedMap) and len(value):
            last = len(value) - 1 if isinstance(value, CommentedSeq) else list(value)[-1]
            value.ca.items.setdefault(last, [None, None, None, None])
            value.ca.items[last][0 if isinstance(value, CommentedSeq) else 2] = trailing
        else:
            mapping.ca.items.setdefault(lang, [None, None, None, None])[2] = trailing


def _take_trailing_comment(mapping: CommentedMap) -> Any:
    """Remove and return the comment after the last value of ``mapping`` (or ``None``).

    After a block sequence of lists in brackets (the synonym groups) the parser keeps it as
    the sequence's end, a list of tokens: returned as one token that, like the others, is
    written from the end of the last value's line (one line break more than it kept)."""
    if not mapping:
        return None
    key = list(mapping)[-1]
    value = mapping[key]
    owner: CommentedSeq | CommentedMap = mapping
    slot, where = key, 2
    if isinstance(value, CommentedSeq) and len(value) and value.ca.end:
        ending = value.ca.end
        value.ca.end = []
        joined = copy.copy(ending[0])
        joined.value = "\n" + "".join(t.value for t in ending)
        return joined
    if isinstance(value, CommentedSeq) and len(value):
        owner, slot, where = value, len(value) - 1, 0
    elif isinstance(value, CommentedMap) and len(value):
        return _take_trailing_comment(value)
    tokens = owner.ca.items.get(slot)
    if not tokens or tokens[where] is None:
        return None
    trailing = tokens[where]
    tokens[where] = None
    return trailing


def import_po(content_dir: Path, po_path: Path, lang: str | None = None) -> ImportResult:
    """Write every translated, non-fuzzy entry of ``po_path`` into the content's YAML."""
    po = polib.pofile(str(po_path))
    lang = lang or po.metadata.get("Language") or po_path.stem
    source = po.metadata.get("X-Source-Language", "en")
    # An empty source (a field a language leaves blank) is carried over as empty.
    entries = {e.msgctxt: e for e in po if (e.msgstr or not e.msgid) and not e.obsolete}
    written = fuzzy = changed_source = 0
    seen: set[str] = set()
    yaml = _yaml()
    for path in content_files(content_dir):
        doc = yaml.load(path.read_text(encoding="utf-8"))
        prefix = (path.name,) if path.name in (META_FILE, COUNTRIES_FILE) else ()
        changed = False
        for where, mapping in _walk(doc, prefix, source):
            context = _PATH_SEP.join(where)
            entry = entries.get(context)
            if entry is None:
                continue
            seen.add(context)
            if "fuzzy" in entry.flags:
                fuzzy += 1
                continue
            if entry.msgid != _msg(_plain(mapping[source])):
                changed_source += 1
                continue
            value = _item_value(entry.msgstr, mapping[source])
            current = mapping.get(lang)
            if current is not None and _plain(current) == _plain(value):
                continue
            _place(mapping, lang, value)
            written += 1
            changed = True
        if changed:
            path.write_text(dump(doc), encoding="utf-8")
    unknown = tuple(sorted(set(entries) - seen))
    return ImportResult(
        written=written, skipped_fuzzy=fuzzy, skipped_changed=changed_source, unknown=unknown
    )


@dataclass(frozen=True)
class Stale:
    """A translation made for a source text that has changed since."""

    lang: str
    context: str
    file: str
    line: int


def stale(content_dir: Path) -> list[Stale]:
    """Translations in ``content/translations/*.po`` whose source text has changed since.

    An entry counts when it is translated and not already marked fuzzy (a fuzzy entry is
    known to need review; ``check`` reports those too, as they are not in the YAML yet).
    """
    found: list[Stale] = []
    directory = content_dir / TRANSLATION_DIR
    parsed: dict[Path, Any] = {}  # each content file read once for every language
    for po_path in sorted(directory.glob("*.po")) if directory.is_dir() else ():
        po = polib.pofile(str(po_path))
        lang = po.metadata.get("Language") or po_path.stem
        source = po.metadata.get("X-Source-Language", "en")
        current = {t.context: t for t in texts(content_dir, lang, source, parsed)}
        for entry in po:
            if not entry.msgstr or entry.obsolete:
                continue
            text = current.get(entry.msgctxt or "")
            if text is None:
                continue
            if "fuzzy" in entry.flags or _msg(text.source) != entry.msgid:
                found.append(Stale(lang, entry.msgctxt or "", text.file, text.line))
    return found


def review_problems(content_dir: Path) -> list[Problem]:
    """``check``'s warnings for translations whose source text changed since they were made."""
    return [
        Problem(
            str(content_dir / s.file),
            s.line,
            f"the {s.lang} translation of '{s.context}' was made for an older source text "
            "and needs review",
            f"run 'python -m bot translate export --lang {s.lang}', review the fuzzy entry in "
            f"{TRANSLATION_DIR}/{s.lang}.po, then 'python -m bot translate import'",
            level="warning",
        )
        for s in stale(content_dir)
    ]
