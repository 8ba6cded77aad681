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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from bot.content.models import LangList, LangText, Source, _Model

FILE = "countries.yaml"
ID_PREFIX = "country-"
PLACEHOLDERS = ("name", "in_country", "authority", "complaint", "advice")


class Template(_Model):
    """What every country's answer looks like."""

    title: LangText
    text: LangText
    more: LangText | None = None
    questions: LangList = Field(default_factory=dict)
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


class Table(_Model):
    """The whole file."""

    template: Template
    countries: tuple[Country, ...]
    parent: str = "countries"
    """The menu node whose options list the countries (checked like any option target)."""


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
