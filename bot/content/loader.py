"""Load content YAML safely, keep line numbers, and turn every problem into a readable report.

Loading never raises anything but :class:`ContentError`: a broken file becomes a list of
``file:line: message`` problems with a hint, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.content.countries import (
    ID_PREFIX,
    OptionError,
    Table,
    TemplateError,
    expand_options,
    node_data,
    rows,
)
from bot.content.models import Content, Meta, Node, OptionRef
from bot.content.questions import Asked, read_questions

Path_ = tuple[str | int, ...]

META_FILE = "bot.yaml"
NODES_DIR = "nodes"
COUNTRIES_FILE = "countries.yaml"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in the content, with where it is and how to fix it."""

    file: str
    line: int
    message: str
    hint: str = ""
    level: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "warning: " if self.level == "warning" else ""
        hint = f" (fix: {self.hint})" if self.hint else ""
        return f"{where}: {prefix}{self.message}{hint}"


class ContentError(Exception):
    """The content is invalid; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class _Doc:
    """A parsed YAML file with a map from data paths to line numbers."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1


class _BadValue(yaml.constructor.ConstructorError):
    """A scalar the safe loader recognised but could not convert, e.g. ``2025-02-30``."""

    def __init__(self, node: yaml.ScalarNode, reason: str) -> None:
        self.kind = "date" if node.tag.endswith(":timestamp") else node.tag.rsplit(":", 1)[-1]
        value = str(node.value)
        self.value = value if len(value) <= 40 else value[:40] + "…"
        self.reason = reason
        super().__init__(None, None, f"invalid {self.kind} {self.value!r}", node.start_mark)


class _Loader(yaml.SafeLoader):
    """The safe loader; scalars it cannot convert become marked errors, not ValueErrors."""


def _checked(construct: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def wrapper(loader: Any, node: Any) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            # Only the date library's reasons ("day is out of range for month") help authors.
            reason = str(exc) if node.tag.endswith(":timestamp") else ""
            raise _BadValue(node, reason) from None

    return wrapper


for _tag in ("bool", "int", "float", "timestamp"):
    _name = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_name, _checked(yaml.SafeLoader.yaml_constructors[_name]))


# libyaml parses ten times faster than the pure-Python parser and reads the same events,
# but it accepts a little more: tabs as separators, "?" inside plain scalars in flow lists,
# a comment right after a "|" or ">" header, byte order marks, characters the Python
# reader refuses, deeper nesting. Files using any of that (or aliases), and every file
# libyaml rejects, go through _Loader, so results and error messages stay exactly _Loader's.
_MAX_FAST_DEPTH = 100
# Two patterns that open with a literal character: searched many times faster than one that
# opens with a class of two.
_BLOCK_HEADER_COMMENTS = (re.compile(r"\|[0-9+-]*#"), re.compile(r">[0-9+-]*#"))
_FastLoader: type[Any] | None = None
_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = dict(_Loader.yaml_implicit_resolvers)
# _FastBuild.tag resolves tags as the safe loader does without its steps for path and
# catch-all resolvers: only while _Loader has none.
if (
    getattr(yaml, "__with_libyaml__", False)
    and not _Loader.yaml_path_resolvers
    and None not in _Loader.yaml_implicit_resolvers
):

    class _CLoader(yaml.CSafeLoader):
        """libyaml's parser with _Loader's constructors."""

        yaml_constructors = _Loader.yaml_constructors
        yaml_multi_constructors = _Loader.yaml_multi_constructors

    _FastLoader = _CLoader


class _NotFast(Exception):
    """The file uses something only _Loader may decide on (see above)."""


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_KEY_TAGS_NOT_FAST = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})


def _parse_fast(text: str, display: str) -> tuple[_Doc | None, list[Problem]] | None:
    """The file read by libyaml, with its line map and duplicate keys, or ``None`` when
    _Loader must decide."""
    if (
        _FastLoader is None
        or "\t" in text
        or "\ufeff" in text
        or yaml.reader.Reader.NON_PRINTABLE.search(text)
        or any(header.search(text) for header in _BLOCK_HEADER_COMMENTS)
    ):
        return None
    loader = _FastLoader(text)
    try:
        loader.get_event()  # the stream's start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # the document's start
        problems: list[Problem] = []
        lines: dict[Path_, int] = {}
        # One pass over libyaml's events builds the data as _Loader's constructors would
        # for plain mappings, lists and strings, records every line (as _walk does) and
        # checks that the Python parser reads the text the same way; anything else is left
        # to _Loader. Reading events, not the node tree libyaml composes, saves making a
        # node object per value (a third of parsing the content).
        data = _FastBuild(loader, lines, problems, display).value(loader.get_event(), (), False, 0)
        loader.get_event()  # the document's end
        if not loader.check_event(yaml.StreamEndEvent):
            return None  # another document: _Loader says so
        return _Doc(display, data, lines), problems
    except Exception:
        return None  # _Loader reports it
    finally:
        loader.dispose()


class _FastBuild:
    """Data, line map and duplicate keys from libyaml's events, in one pass."""

    def __init__(
        self, loader: Any, lines: dict[Path_, int], problems: list[Problem], file: str
    ) -> None:
        self.loader = loader
        self.lines = lines
        self.problems = problems
        self.file = file

    def tag(self, event: Any) -> str:
        """The tag of a scalar, resolved as the safe loader's composer does."""
        tag = event.tag
        if tag is not None and tag != "!":
            return str(tag)
        if event.implicit[0]:
            for resolved, regexp in _IMPLICIT.get(event.value[:1], ()):
                if regexp.match(event.value):
                    return resolved
        return _STR

    def scalar(self, event: Any, tag: str, in_flow: bool) -> Any:
        if in_flow and not event.style and "?" in event.value:  # plain: None or ""
            raise _NotFast
        if tag == _STR:
            if not event.value and not event.style:
                raise _NotFast  # "!" alone: libyaml reads "", the Python parser None
            return event.value
        node = yaml.ScalarNode(
            tag, event.value, event.start_mark, event.end_mark, style=event.style
        )
        return self.loader.construct_object(node)

    def value(self, event: Any, path: Path_, in_flow: bool, depth: int) -> Any:
        """The data of the value that opens with ``event``; reads the events up to its end."""
        kind = type(event)
        if depth > _MAX_FAST_DEPTH or kind is yaml.AliasEvent:
            raise _NotFast  # deep nesting, or an alias
        self.lines.setdefault(path, event.start_mark.line + 1)
        if kind is yaml.ScalarEvent:
            if event.tag is None and not event.implicit[0]:
                return event.value  # quoted, untagged: a string (most texts)
            return self.scalar(event, self.tag(event), in_flow)
        if event.tag not in (None, "!"):
            raise _NotFast  # a collection with a tag of its own
        flow = in_flow or bool(event.flow_style)
        # Each event is taken once and handed down: asking libyaml to peek first would
        # double the calls into it, the bulk of parsing.
        get = self.loader.get_event
        if kind is yaml.SequenceStartEvent:
            items: list[Any] = []
            item = get()
            while type(item) is not yaml.SequenceEndEvent:
                items.append(self.value(item, (*path, len(items)), flow, depth + 1))
                item = get()
            return items
        if kind is not yaml.MappingStartEvent:
            raise _NotFast
        data: dict[Any, Any] = {}
        keys: set[str] = set()
        key_event: Any = get()
        while type(key_event) is not yaml.MappingEndEvent:
            if type(key_event) is not yaml.ScalarEvent or depth + 1 > _MAX_FAST_DEPTH:
                raise _NotFast
            key_tag = self.tag(key_event)
            if key_tag in _KEY_TAGS_NOT_FAST:
                raise _NotFast
            key = str(key_event.value)
            mark: Any = key_event.start_mark  # libyaml's marks: never None
            line = mark.line + 1
            if key in keys:
                self.problems.append(
                    Problem(
                        self.file,
                        line,
                        f"duplicate key '{key}'",
                        "each key may appear once per block; merge or remove the repeated one",
                    )
                )
            keys.add(key)
            key_path = (*path, key)
            self.lines[key_path] = line
            constructed = self.scalar(key_event, key_tag, flow)
            data[constructed] = self.value(get(), key_path, flow, depth + 1)
            key_event = get()
        return data


def _walk(
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    problems: list[Problem],
    file: str,
    parents: tuple[yaml.Node, ...] = (),
) -> None:
    if any(node is p for p in parents):
        # An alias inside its own anchor: the data would be infinitely deep. The node is the
        # anchored one, so the line of the alias is the nearest line recorded on the way here.
        line = next(
            (lines[path[:end]] for end in range(len(path), 0, -1) if path[:end] in lines), 1
        )
        problems.append(
            Problem(
                file,
                line,
                "recursive alias: a block refers to itself",
                "remove the '*alias' that points into its own '&anchor' block",
            )
        )
        return
    parents = (*parents, node)
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(
                        file,
                        key_node.start_mark.line + 1,
                        f"duplicate key '{key}'",
                        "each key may appear once per block; merge or remove the repeated one",
                    )
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, problems, file, parents)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, problems, file, parents)


_PARSED: dict[str, tuple[str, _Doc | None, list[Problem]]] = {}
"""The files parsed last, by name, with their text: a reload parses only the files that
changed. Nothing that reads content changes what parsing returned (copies are handed out)."""
_PARSED_KEEP = 64


def parse_yaml(path: Path, display: str) -> tuple[_Doc | None, list[Problem]]:
    """Parse one file with the safe loader, recording the line of every key and item."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display, 0, f"cannot read file: {exc}", "save it as UTF-8 text")]
    seen = _PARSED.get(display)
    if seen is not None and seen[0] == text:
        _, doc, problems = seen
    else:
        doc, problems = _parse_text(text, display)
        _PARSED.pop(display, None)
        while len(_PARSED) >= _PARSED_KEEP:
            del _PARSED[next(iter(_PARSED))]
        _PARSED[display] = (text, doc, problems)
    # The line map is changed by the loader (options made one per country): a copy.
    return (None if doc is None else _Doc(doc.file, doc.data, dict(doc.lines))), list(problems)


def _parse_text(text: str, display: str) -> tuple[_Doc | None, list[Problem]]:
    fast = _parse_fast(text, display)
    if fast is not None:
        return fast
    problems: list[Problem] = []
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return None, [
            Problem(
                display,
                line,
                f"character U+{char:04X} is not allowed in YAML",
                "remove it; control characters cannot appear in content files",
            )
        ]
    try:
        root = loader.get_single_node()
        if root is None:
            return _Doc(display, None, {}), []
        data = loader.construct_document(root)
    except _BadValue as exc:
        mark = exc.problem_mark
        hint = (
            "write dates as YYYY-MM-DD and check that the day exists"
            if exc.kind == "date"
            else "quote the value if it is meant as text"
        )
        return None, [
            Problem(
                display,
                mark.line + 1 if mark else 0,
                f"invalid {exc.kind} {exc.value!r}" + (f": {exc.reason}" if exc.reason else ""),
                hint,
            )
        ]
    except RecursionError:
        return None, [Problem(display, 0, "the file is nested too deeply", "flatten it")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or "invalid YAML"
        return None, [
            Problem(
                display,
                line,
                f"YAML syntax error: {what}",
                "check indentation and quoting; texts containing ':' or '#' need quotes or '|'",
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Problem(display, 0, f"YAML error: {exc}", "check the file's syntax")]
    finally:
        loader.dispose()
    return _doc(display, root, data, problems)


def _doc(
    display: str, root: yaml.Node, data: Any, problems: list[Problem]
) -> tuple[_Doc | None, list[Problem]]:
    lines: dict[Path_, int] = {}
    _walk(root, (), lines, problems, display)
    if any(p.message.startswith("recursive alias") for p in problems):
        return None, problems
    return _Doc(display, data, lines), problems


def _fields(model: type[BaseModel]) -> list[str]:
    return [
        f.alias or name
        for name, f in model.model_fields.items()
        if name not in ("file", "line", "index")
    ]


def _pydantic_problems(
    doc: _Doc, base: Path_, exc: ValidationError, model: type[BaseModel]
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc: Path_ = tuple(err["loc"])
        path = (*base, *loc)
        line = doc.line(path)
        where = ".".join(str(p) for p in loc) or "this block"
        kind = err["type"]
        if kind == "extra_forbidden":
            from rapidfuzz import process  # only for typos: valid content never needs it

            key = str(loc[-1])
            allowed = _fields(model) if len(loc) == 1 else []
            guess = process.extractOne(key, allowed) if allowed else None
            hint = f"did you mean '{guess[0]}'?" if guess and guess[1] >= 70 else "remove it"
            if allowed:
                hint += " Allowed keys: " + ", ".join(allowed)
            out.append(Problem(doc.file, line, f"unknown key '{where}'", hint))
        elif kind == "missing":
            out.append(
                Problem(doc.file, line, f"missing required key '{where}'", f"add '{loc[-1]}:'")
            )
        elif kind.startswith("date"):
            out.append(
                Problem(
                    doc.file,
                    line,
                    f"invalid date in '{where}': {err['input']!r}",
                    "write dates as YYYY-MM-DD",
                )
            )
        elif kind == "string_pattern_mismatch" and loc[-1] in ("id", "to", "root"):
            out.append(
                Problem(
                    doc.file,
                    line,
                    f"invalid node id {err['input']!r} in '{where}'",
                    "use lowercase letters, digits and '-', at most 48 characters",
                )
            )
        elif kind == "string_pattern_mismatch":
            out.append(
                Problem(
                    doc.file,
                    line,
                    f"invalid language code {err['input']!r}",
                    "use two letters, e.g. de",
                )
            )
        else:
            out.append(
                Problem(doc.file, line, f"'{where}': {err['msg']}", "see docs/content-format.md")
            )
    return out


def default_content_dir() -> Path:
    """Where content is: ``BOT_CONTENT_DIR``, else the shipped copy, else the source tree's."""
    env = os.environ.get("BOT_CONTENT_DIR")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent.parent
    shipped = package / "shipped_content"
    if shipped.is_dir():
        return shipped
    return package.parent / "content"


def read_content(
    directory: Path, *, warnings: bool = True
) -> tuple[Content | None, list[Problem], dict[str, _Doc]]:
    """Parse and validate a content directory; returns the content (if valid) and all problems.

    Without ``warnings``, the costly warnings are not computed (the bot needs only errors).
    """
    from bot.content.validate import validate  # validation rules live in their own module

    problems: list[Problem] = []
    docs: dict[str, _Doc] = {}
    meta_path = directory / META_FILE
    if not meta_path.is_file():
        return (
            None,
            [Problem(str(meta_path), 0, "content settings file is missing", f"create {META_FILE}")],
            docs,
        )

    meta_doc, found = parse_yaml(meta_path, _display(meta_path))
    problems += found
    meta: Meta | None = None
    if meta_doc is not None:
        docs[meta_doc.file] = meta_doc
        if not isinstance(meta_doc.data, dict):
            problems.append(
                Problem(
                    meta_doc.file, 1, "expected a mapping of settings", "see docs/content-format.md"
                )
            )
        else:
            try:
                meta = Meta.model_validate(meta_doc.data)
            except ValidationError as exc:
                problems += _pydantic_problems(meta_doc, (), exc, Meta)

    # The country table first: options of the nodes may make one button per country.
    table: Table | None = None
    countries_path = directory / COUNTRIES_FILE
    if countries_path.is_file():
        table, found = _read_table(countries_path, docs)
        problems += found

    nodes: list[Node] = []
    broken: set[str] = set()  # ids of nodes that failed to parse, reported already
    node_files = (
        sorted((directory / NODES_DIR).rglob("*.yaml")) if (directory / NODES_DIR).is_dir() else []
    )
    if not node_files:
        problems.append(
            Problem(_display(directory / NODES_DIR), 0, "no node files found", "add nodes/*.yaml")
        )
    for path in node_files:
        doc, found = parse_yaml(path, _display(path))
        problems += found
        if doc is None or doc.data is None:
            continue
        docs[doc.file] = doc
        if not isinstance(doc.data, list):
            problems.append(
                Problem(doc.file, 1, "expected a list of nodes", "start each node with '- id: ...'")
            )
            continue
        for i, raw in enumerate(doc.data):
            line = doc.line((i,))
            if not isinstance(raw, dict):
                problems.append(
                    Problem(
                        doc.file, line, "expected a node (a mapping)", "start it with '- id: ...'"
                    )
                )
                continue
            internal = [k for k in ("file", "line", "index") if k in raw]
            if internal:
                problems.append(
                    Problem(
                        doc.file,
                        doc.line((i, internal[0])),
                        f"unknown key '{internal[0]}'",
                        "remove it",
                    )
                )
                continue
            if isinstance(raw.get("options"), list):
                try:
                    options, counts = expand_options(raw["options"], table)
                except OptionError as exc:
                    problems.append(
                        Problem(
                            doc.file,
                            doc.line((i, "options", exc.index)),
                            str(exc),
                            "see 'Countries' in docs/content-format.md",
                        )
                    )
                    continue
                if len(options) != len(raw["options"]):
                    raw = {**raw, "options": options}
                    _renumber_options(doc, i, counts)
            try:
                nodes.append(
                    Node.model_validate({**raw, "file": doc.file, "line": line, "index": i})
                )
            except ValidationError as exc:
                problems += _pydantic_problems(doc, (i,), exc, Node)
                if isinstance(raw.get("id"), str):
                    broken.add(raw["id"])

    table_rows: dict[str, dict[str, dict[str, str]]] = {}
    if table is not None:
        nodes, found = _with_countries(table, nodes, docs[_display(countries_path)])
        problems += found
        table_rows = rows(table)
        if meta is not None:
            meta = _with_country_codes(meta, tuple(table_rows))

    asked: dict[str, tuple[Asked, ...]] = {}
    if meta is not None:
        asked, findings = read_questions(
            directory, meta.languages, frozenset(n.id for n in nodes) | broken
        )
        problems += [Problem(_display(f.file), f.line, f.message, f.hint) for f in findings]

    content = None
    if meta is not None:
        problems += validate(
            meta,
            nodes,
            docs,
            meta_doc.file if meta_doc else META_FILE,
            broken=frozenset(broken),
            warnings=warnings,
            rows=table_rows,
        )
        if not any(p.level == "error" for p in problems):
            content = Content(
                meta,
                {n.id: n for n in nodes},
                str(directory),
                table_rows,
                asked=asked,
                cross_border=table.cross_border if table is not None else None,
                shown_first=table.shown_first if table is not None else None,
                elsewhere=table.elsewhere if table is not None else None,
                seat=(
                    (ID_PREFIX + table.seat.country, table.seat.page)
                    if table is not None and table.seat is not None
                    else None
                ),
            )
    return content, problems, docs


def _with_country_codes(meta: Meta, codes: tuple[str, ...]) -> Meta:
    """``meta`` with every row's code among the values of each ``countries: true`` choice."""
    variables = {
        name: spec.model_copy(
            update={"values": (*codes, *(v for v in spec.values if v not in codes))}
        )
        if spec.countries
        else spec
        for name, spec in meta.variables.items()
    }
    return meta.model_copy(update={"variables": variables})


def _renumber_options(doc: _Doc, index: int, counts: list[int]) -> None:
    """Keep the lines of node ``index``'s options right after some became one per country:
    every button made from one option points at that option's lines."""
    starts = [sum(counts[:k]) for k in range(len(counts))]
    lines: dict[Path_, int] = {}
    for path, line in doc.lines.items():
        if path[:2] == (index, "options") and len(path) > 2 and isinstance(path[2], int):
            old = path[2]
            if old < len(counts):
                for new in range(starts[old], starts[old] + counts[old]):
                    lines[(index, "options", new, *path[3:])] = line
                continue
        lines[path] = line
    doc.lines = lines


def _read_table(path: Path, docs: dict[str, _Doc]) -> tuple[Table | None, list[Problem]]:
    """The country table, validated, or ``None`` with the problems that prevent it."""
    doc, problems = parse_yaml(path, _display(path))
    if doc is None or doc.data is None:
        return None, problems
    if not isinstance(doc.data, dict):
        problems.append(
            Problem(
                doc.file, 1, "expected 'template:' and 'countries:'", "see docs/content-format.md"
            )
        )
        return None, problems
    try:
        table = Table.model_validate(doc.data)
    except ValidationError as exc:
        return None, problems + _pydantic_problems(doc, (), exc, Table)
    # The generated nodes' fields point at their row: validate() finds lines by node index.
    lines = {path[1:]: line for path, line in doc.lines.items() if path[:1] == ("countries",)}
    docs[doc.file] = _Doc(doc.file, doc.data, lines)
    # And the lines of the table's other keys, for a problem that is not a node's.
    docs[doc.file].lines.update(
        {
            key: doc.line(key)
            for key in (
                ("parent",),
                ("cross_border",),
                ("seat",),
                ("shown_first",),
                ("elsewhere",),
            )
        }
    )
    return table, problems


def _with_countries(table: Table, nodes: list[Node], doc: _Doc) -> tuple[list[Node], list[Problem]]:
    """The nodes plus one node per row of the country table, listed under its parent menu."""
    problems: list[Problem] = []
    made: list[Node] = []
    for i, country in enumerate(table.countries):
        line = doc.line((i,))
        try:
            data = node_data(table, country)
            made.append(Node.model_validate({**data, "file": doc.file, "line": line, "index": i}))
        except TemplateError as exc:
            problems.append(
                Problem(doc.file, line, str(exc), "add the missing text, or fix the template")
            )
        except ValidationError as exc:
            problems += _pydantic_problems(doc, (i,), exc, Node)
    listed = {o.to for n in nodes if n.id == table.parent for o in n.options}
    extra = tuple(OptionRef(to=n.id) for n in made if n.id not in listed)
    out = [
        n.model_copy(update={"options": (*n.options, *extra)}) if n.id == table.parent else n
        for n in nodes
    ]
    ids = {n.id for n in nodes}
    codes = {c.code for c in table.countries}
    seat = table.seat
    unlisted = sorted({c for listed in table.shown_first.values() for c in listed} - codes)
    # (key, whether it is fine, what is wrong, the fix)
    checks = [
        (
            "parent",
            table.parent in ids,
            f"the country menu '{table.parent}' is not a node",
            f"add a node with id '{table.parent}' (kind: menu) or set 'parent:'",
        ),
        (
            "elsewhere",
            set(table.elsewhere.values()) <= ids,
            f"a page of 'elsewhere' is not a node: {sorted(set(table.elsewhere.values()) - ids)}",
            "set each value of 'elsewhere:' to the id of the page for readers there",
        ),
        (
            "cross_border",
            table.cross_border is None or table.cross_border in ids,
            f"the cross-border page '{table.cross_border}' is not a node",
            "set 'cross_border:' to the id of the page on complaints across countries",
        ),
        (
            "seat",
            seat is None or seat.country in codes,
            f"the seat's country '{seat.country if seat else ''}' is no row of the table",
            "set 'seat: country:' to the code of the country Meta's European company sits in",
        ),
        (
            "shown_first",
            not unlisted,
            "'shown_first' names a country that is no row of the table: " + ", ".join(unlisted),
            "list only the codes of the table's rows under each language",
        ),
        (
            "seat",
            seat is None or seat.page in ids,
            f"the seat's page '{seat.page if seat else ''}' is not a node",
            "set 'seat: page:' to the id of the page on which authority is responsible",
        ),
    ]
    problems += [
        Problem(doc.file, doc.line((key,)), message, fix)
        for key, fine, message, fix in checks
        if not fine
    ]
    return out + made, problems


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_content(directory: Path | str | None = None) -> Content:
    """Load and validate content; raise :class:`ContentError` listing every error.

    Warnings are left to ``python -m bot check``: they never stop the bot from serving.
    """
    directory = Path(directory) if directory else default_content_dir()
    content, problems, _ = read_content(directory, warnings=False)
    errors = [p for p in problems if p.level == "error"]
    if content is None or errors:
        raise ContentError(errors or [Problem(str(directory), 0, "content could not be loaded")])
    return content


def stale_nodes(content: Content, today: dt.date, max_age_days: int | None = None) -> list[Problem]:
    """Warnings for nodes whose ``checked`` date is older than ``max_age_days``."""
    days = max_age_days if max_age_days is not None else content.meta.stale_after_days
    out = []
    for node in content.nodes.values():
        if node.checked is not None and (today - node.checked).days > days:
            out.append(
                Problem(
                    node.file,
                    node.line,
                    f"node '{node.id}' was last checked on {node.checked} (over {days} days ago)",
                    "re-check its facts and sources, then update 'checked'",
                    level="warning",
                )
            )
    return out
