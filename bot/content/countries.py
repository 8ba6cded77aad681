"""The table of countries: one row per country, one answer per row.

``content/countries.yaml`` holds a ``template`` (title, text and example questions with
placeholders) and ``countries``: per country its name, its data protection authority, how to
complain there, and what that authority or the national consumer groups said, each with its
sources. The loader turns every row into an ordinary node ``country-<code>`` (so the engine,
the matcher and ``check`` need nothing special), which keeps thirteen countries one table
instead of thirteen copies of a node.

Placeholders in the template: ``{name}``, ``{in_country}`` ("in Frankreich", "en France"),
``{authority}``, ``{complaint}`` and ``{advice}``. A row may give its own ``text`` where the
template does not fit (Switzerland, where the GDPR does not apply directly).

The guided checklist uses the table too, so a question and its answers need no copy per
country:

- an option with ``for_each_country: true`` becomes one button per row (``{code}`` in its
  ``to``, ``set`` values and ``if``; ``{name}`` and ``{code}`` in its ``label``, which defaults to
  the country's name), see :func:`expand_options`;
- a block's text may say ``{country.authority}``: the column of the row whose code the variable
  ``country`` holds, filled when the block is shown (:meth:`Content.block_text`); a choice
  variable declared with ``countries: true`` holds every row's code. :func:`row_field_problems`
  checks these placeholders at load.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bot.content.models import ROW_FIELD, LangList, LangText, Meta, Node, Source, _Model

if TYPE_CHECKING:
    from bot.content.loader import Problem

FILE = "countries.yaml"
ID_PREFIX = "country-"
PLACEHOLDERS = ("name", "in_country", "authority", "complaint", "advice")
COLUMNS = PLACEHOLDERS
"""The columns a block can show as ``{country.<column>}``."""
EACH = "for_each_country"
"""The option key that makes one button per row."""
_OPTION_FIELD = re.compile(r"\{(\w*)\}")


class Template(_Model):
    """What every country's answer looks like."""

    title: LangText
    text: LangText
    more: LangText | None = None
    questions: LangList = Field(default_factory=dict)
    follow_ups: LangList = Field(default_factory=dict)
    """Questions about the complaint route typed right after a country's answer ("geht das
    online?"): that answer again (:attr:`bot.content.models.Node.follow_ups`)."""
    options: tuple[str, ...] = ()
    """Node ids offered under every country's answer (the forms, complaints)."""


class Country(_Model):
    """One row: a country, its authority, how to complain, and what was said there."""

    code: str = Field(pattern=r"^[a-z]{2}$")
    name: LangText
    in_country: LangText
    authority: LangText
    complaint: LangText
    advice: LangText
    text: LangText | None = None
    """The whole first screen, where the template does not fit this country."""
    more: LangText | None = None
    questions: LangList = Field(default_factory=dict)
    keywords: LangList = Field(default_factory=dict)
    sources: tuple[Source, ...] = Field(min_length=1)
    checked: dt.date
    as_of: dt.date | None = None


class Seat(_Model):
    """Where Meta's European company sits, and the page for readers elsewhere who ask about
    it."""

    country: str = Field(pattern=r"^[a-z]{2}$")
    """The row of the country Meta's European company sits in (Ireland)."""
    page: str
    """The node on which authority is responsible for the reader."""


class Table(_Model):
    """The whole file."""

    template: Template
    countries: tuple[Country, ...]
    parent: str = "countries"
    """The menu node whose options list the countries (checked like any option target)."""
    cross_border: str | None = None
    """The page for a reader who lives in one country and works in another ("Ich wohne in
    Trier und arbeite in Luxemburg"): a question that says so gets it, not the page of
    either country."""
    shown_first: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Per language, the rows a reader of it sees first wherever the countries are listed
    (``fr: [fr, be, lu]``): in Polish, Poland is the first button, not the tenth."""
    seat: Seat | None = None
    """Meta's seat: a reader who asks whether to complain in that country because Meta sits
    there ("tengo que reclamar en Irlanda porque Meta tiene allí la sede?") gets ``page``,
    not that country's complaint route, unless they say they live there."""
    elsewhere: dict[str, str] = Field(default_factory=dict)
    """The pages for readers in a country without a row, by the value the checklist's
    country question stores for them (``eu: complaint-abroad``, ``other: outside-eu``): a
    place such a page is about, typed at that question ("portugal", "usa"), picks its
    button."""


class TemplateError(ValueError):
    """A placeholder in the template (or a row's own text) that the table does not have."""


def _values(country: Country, lang: str) -> dict[str, str]:
    missing = [key for key in PLACEHOLDERS if lang not in getattr(country, key)]
    if missing:
        raise TemplateError(
            f"country '{country.code}' has no {lang} text for "
            + ", ".join(f"'{key}'" for key in missing)
        )
    return {key: getattr(country, key)[lang] for key in PLACEHOLDERS}


def _format(text: str, values: dict[str, str]) -> str:
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(
            f"unknown placeholder {exc} in {text[:40]!r}…; use "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        ) from exc


def _fill(texts: LangText, country: Country) -> dict[str, str]:
    return {lang: _format(text, _values(country, lang)) for lang, text in texts.items()}


def node_data(table: Table, country: Country) -> dict[str, Any]:
    """One country as raw node data for :class:`bot.content.models.Node`.

    Raises :class:`TemplateError` for a placeholder the table does not know.
    """
    template = table.template
    questions = {
        lang: [_format(q, _values(country, lang)) for q in qs]
        + list(country.questions.get(lang, ()))
        for lang, qs in template.questions.items()
    }
    keywords = {
        lang: [country.name[lang], *country.keywords.get(lang, ())] for lang in country.name
    }
    data: dict[str, Any] = {
        "id": f"{ID_PREFIX}{country.code}",
        "title": _fill(template.title, country),
        "text": _fill(country.text if country.text is not None else template.text, country),
        "questions": questions,
        "follow_ups": {lang: list(qs) for lang, qs in template.follow_ups.items()},
        "keywords": keywords,
        "sources": [s.model_dump(exclude_none=True) for s in country.sources],
        "checked": country.checked,
        "options": [{"to": target} for target in template.options],
    }
    more = country.more if country.more is not None else template.more
    if more is not None:
        data["more"] = _fill(more, country)
    if country.as_of is not None:
        data["as_of"] = country.as_of
    return data


def rows(table: Table) -> dict[str, dict[str, LangText]]:
    """The table as :class:`bot.content.models.Content` fills blocks from it."""
    return {c.code: {key: dict(getattr(c, key)) for key in COLUMNS} for c in table.countries}


class OptionError(ValueError):
    """A ``for_each_country`` option that cannot be expanded; the message says why."""

    index: int = 0
    """The option's position among the node's options."""


def expand_options(options: list[Any], table: Table | None) -> tuple[list[Any], list[int]]:
    """Raw ``options`` of a node with every ``for_each_country`` option made one per row.

    Returns the options and, per original option, how many it became (to keep the line of
    each). Raises :class:`OptionError` (with ``.index``, the option's position) for one that
    cannot be expanded.
    """
    out: list[Any] = []
    counts: list[int] = []
    for index, option in enumerate(options):
        if not isinstance(option, dict) or EACH not in option:
            out.append(option)
            counts.append(1)
            continue
        try:
            made = _expand(option, table)
        except OptionError as exc:
            exc.index = index
            raise
        out += made
        counts.append(len(made))
    return out, counts


def _expand(option: dict[str, Any], table: Table | None) -> list[dict[str, Any]]:
    if option[EACH] is not True:
        raise OptionError(f"'{EACH}' must be true, not {option[EACH]!r}")
    if table is None:
        raise OptionError(
            f"'{EACH}' needs the country table content/{FILE}, which is missing or has errors"
        )
    rest = {k: v for k, v in option.items() if k != EACH}
    made = []
    for country in table.countries:
        one = dict(rest)
        for key in ("to", "if"):
            if isinstance(one.get(key), str):
                one[key] = _fill_option(one[key], country.code, None, key)
        if isinstance(one.get("set"), dict):
            one["set"] = {
                k: _fill_option(v, country.code, None, "set") if isinstance(v, str) else v
                for k, v in one["set"].items()
            }
        label = one.get("label")
        if label is None:
            one["label"] = dict(country.name)
        elif isinstance(label, dict):
            one["label"] = {
                lang: _fill_option(text, country.code, country.name.get(lang, ""), "label")
                if isinstance(text, str)
                else text
                for lang, text in label.items()
            }
        made.append(one)
    return made


def _fill_option(text: str, code: str, name: str | None, key: str) -> str:
    allowed = {"code": code} if name is None else {"code": code, "name": name}

    def fill(match: re.Match[str]) -> str:
        if match[1] not in allowed:
            raise OptionError(
                f"unknown placeholder '{{{match[1]}}}' in '{key}' of a '{EACH}' option; use "
                + " or ".join("{" + k + "}" for k in allowed)
            )
        return allowed[match[1]]

    return _OPTION_FIELD.sub(fill, text)


def row_field_problems(
    meta: Meta,
    nodes: Mapping[str, Node],
    table_rows: Mapping[str, object],
    line_of: Callable[[Node, tuple[str | int, ...]], int],
    meta_line: Callable[..., int],
    meta_file: str = "bot.yaml",
) -> list[Problem]:
    """Errors for ``{variable.column}`` placeholders: an unknown or unsuitable variable, a
    column the table does not have, or one outside a block (nothing to fill it from there);
    and for a ``countries: true`` variable without the table."""
    from rapidfuzz import process

    from bot.content.loader import Problem

    problems: list[Problem] = []
    table_vars = [n for n, spec in meta.variables.items() if spec.countries]
    for name in table_vars:
        if meta.variables[name].type != "choice":
            problems.append(
                Problem(
                    meta_file,
                    meta_line("variables", name, "countries"),
                    f"flag '{name}' cannot hold countries",
                    "write 'type: choice', or remove 'countries: true'",
                )
            )
        if not table_rows:
            problems.append(
                Problem(
                    meta_file,
                    meta_line("variables", name, "countries"),
                    f"variable '{name}' takes its values from content/{FILE}, which is missing",
                    f"add content/{FILE}, or remove 'countries: true' from '{name}'",
                )
            )

    def field_problem(node: Node, path: tuple[str | int, ...], var: str, column: str) -> None:
        where = f"'{{{var}.{column}}}' in '{node.id}'"
        spec = meta.variables.get(var)
        if spec is None or not spec.countries:
            guess = table_vars[0] if len(table_vars) == 1 else None
            known = "" if spec is None else " (it does not hold the table's codes)"
            hint = (
                f"write '{{{guess}.{column}}}'"
                if guess
                else "declare a choice variable with 'countries: true' in bot.yaml"
            )
            problems.append(
                Problem(
                    node.file,
                    line_of(node, path),
                    f"{where} fills from variable '{var}'{known}",
                    hint,
                )
            )
        elif column not in COLUMNS:
            found = process.extractOne(column, COLUMNS)
            near = f"did you mean '{{{var}.{found[0]}}}'? " if found and found[1] >= 70 else ""
            problems.append(
                Problem(
                    node.file,
                    line_of(node, path),
                    f"{where} names column '{column}', which the country table does not have",
                    near + "use one of " + ", ".join(f"{{{var}.{c}}}" for c in COLUMNS),
                )
            )

    for node in nodes.values():
        for i, block in enumerate(node.blocks):
            for lang, text in block.text.items():
                for match in ROW_FIELD.finditer(text):
                    field_problem(node, ("blocks", i, "text", lang), match[1], match[2])
        for path, texts in _other_texts(node):
            for lang, text in texts.items():
                stray = ROW_FIELD.search(text)
                if stray and stray[1] in meta.variables:
                    problems.append(
                        Problem(
                            node.file,
                            line_of(node, (*path, lang)),
                            f"'{stray[0]}' in '{node.id}' is outside a block: only a block's"
                            " text is filled from the chosen country",
                            "move the sentence into a block under 'blocks:'",
                        )
                    )
    return problems


def _other_texts(node: Node) -> list[tuple[tuple[str | int, ...], LangText]]:
    found: list[tuple[tuple[str | int, ...], LangText]] = [(("title",), node.title)]
    found.append((("text",), node.text))
    if node.more is not None:
        found.append((("more",), node.more))
    for i, variant in enumerate(node.variants):
        found.append((("variants", i, "text"), variant.text))
        if variant.more is not None:
            found.append((("variants", i, "more"), variant.more))
    for i, option in enumerate(node.options):
        if option.label is not None:
            found.append((("options", i, "label"), option.label))
    return found
