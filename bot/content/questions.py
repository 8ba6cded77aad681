"""Asked questions: how readers put their questions, each with the page that answers it.

``content/questions/<lang>.tsv`` holds, one per line, a page's id (``-``: no page answers
it, the bot should say it does not know) and a question as a reader typed it, tab-separated,
after a header line ``node<TAB>question``; lines starting with ``#`` are comments. They are
never shown: the matcher's dense signal reads them beside the pages' own example questions
(the nearest question and the node classifier, :mod:`bot.matching.semantic`), so that a
wording readers use reaches its page without an author turning it into an example.

Unlike the examples, they are not tied to one node's YAML and may be many: the files are
made from the question sets the matcher is tuned on (``bench/asked_questions.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DIR = "questions"
"""The folder of asked questions in a content directory."""
HEADER = ("node", "question")
NO_PAGE = "-"


@dataclass(frozen=True)
class Asked:
    """One asked question: its text and the node that answers it (``None``: none does)."""

    node: str | None
    text: str


@dataclass(frozen=True)
class Finding:
    """A problem in a file of asked questions, for the loader to report."""

    file: Path
    line: int
    message: str
    hint: str


def files(directory: Path) -> list[Path]:
    """The files of asked questions in the content ``directory``, in a fixed order."""
    folder = directory / DIR
    return sorted(folder.glob("*.tsv")) if folder.is_dir() else []


def read_questions(
    directory: Path, languages: tuple[str, ...], node_ids: frozenset[str]
) -> tuple[dict[str, tuple[Asked, ...]], list[Finding]]:
    """Every language's asked questions in the content ``directory``, and what is wrong with
    them: a file of no content language, a line without two fields, an unknown node."""
    found: dict[str, tuple[Asked, ...]] = {}
    problems: list[Finding] = []
    for path in files(directory):
        lang = path.stem
        if lang not in languages:
            problems.append(
                Finding(
                    path,
                    0,
                    f"'{lang}' is not a language of the content",
                    f"name the file after one of {', '.join(languages)}",
                )
            )
            continue
        asked: list[Asked] = []
        with path.open(encoding="utf-8", newline="") as f:
            for line, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or row[0].startswith("#") or tuple(row) == HEADER:
                    continue
                if len(row) != 2 or not row[1].strip():
                    problems.append(
                        Finding(
                            path,
                            line,
                            "expected a node id and a question, separated by one tab",
                            f"write e.g. 'how-to-object<TAB>wie widerspreche ich?' ('{NO_PAGE}' "
                            "for a question no page answers)",
                        )
                    )
                    continue
                node, text = row[0].strip(), row[1].strip()
                if node != NO_PAGE and node not in node_ids:
                    problems.append(
                        Finding(
                            path,
                            line,
                            f"unknown node '{node}'",
                            f"use the id of a node, or '{NO_PAGE}' for a question no page answers",
                        )
                    )
                    continue
                asked.append(Asked(None if node == NO_PAGE else node, text))
        found[lang] = tuple(asked)
    return found, problems
