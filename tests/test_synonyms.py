"""Synonym groups in ``bot.yaml``: optional, per language, checked like every other field.

``bot.yaml`` of the base tree (tests/fixtures/tree.py) has 51 lines; the synonyms added
here start on line 52.
"""

from __future__ import annotations

from pathlib import Path

from fixtures.tree import META, write_tree

from bot.content import Problem, read_content

SYN_LINE = META.count("\n") + 1


def problems(tmp_path: Path, synonyms: str) -> list[str]:
    _, found, _ = read_content(write_tree(tmp_path, {"bot.yaml": META + synonyms}))
    return [_located(p) for p in found]


def _located(problem: Problem) -> str:
    level = "warning: " if problem.level == "warning" else ""
    return f"{Path(problem.file).name}:{problem.line}: {level}{problem.message}"


def test_synonyms_are_optional(tmp_path: Path) -> None:
    content, found, _ = read_content(write_tree(tmp_path))
    assert content is not None and not found
    assert content.meta.synonyms == {}


def test_groups_per_language_some_languages_only(tmp_path: Path) -> None:
    text = "synonyms:\n  de:\n    - [widersprechen, Einspruch, opt out]\n    - [insta, ig]\n"
    content, found, _ = read_content(write_tree(tmp_path, {"bot.yaml": META + text}))
    assert content is not None and not found
    assert content.meta.synonyms == {
        "de": (("widersprechen", "Einspruch", "opt out"), ("insta", "ig"))
    }


def test_word_in_two_groups_is_a_warning_with_both_lines(tmp_path: Path) -> None:
    text = "synonyms:\n  de:\n    - [widersprechen, einspruch]\n    - [foto, Einspruch]\n"
    assert problems(tmp_path, text) == [
        f"bot.yaml:{SYN_LINE + 3}: warning: synonym 'einspruch' (de) is listed in group 1 too"
        f" (first on line {SYN_LINE + 2})"
    ]


def test_word_twice_in_one_group(tmp_path: Path) -> None:
    text = "synonyms:\n  en:\n    - [object, objection, Object]\n"
    assert problems(tmp_path, text) == [
        f"bot.yaml:{SYN_LINE + 2}: warning: synonym 'object' (en) is listed twice in this group"
        f" (first on line {SYN_LINE + 2})"
    ]


def test_entry_without_letters(tmp_path: Path) -> None:
    text = 'synonyms:\n  en:\n    - [object, "?!"]\n'
    assert problems(tmp_path, text) == [
        f"bot.yaml:{SYN_LINE + 2}: warning: synonym '?!' (en) has no letters"
    ]


def test_undeclared_language_is_an_error(tmp_path: Path) -> None:
    text = "synonyms:\n  fr:\n    - [objecter, opposer]\n"
    assert problems(tmp_path, text) == [
        f"bot.yaml:{SYN_LINE}: synonyms uses undeclared language(s): fr"
    ]


def test_a_flat_list_says_groups_are_lists(tmp_path: Path) -> None:
    found = problems(tmp_path, "synonyms:\n  de: [widersprechen, einspruch]\n")
    assert len(found) == 1
    assert found[0].startswith(f"bot.yaml:{SYN_LINE}: ")
    assert "list of groups" in found[0]


def test_a_group_needs_two_words(tmp_path: Path) -> None:
    found = problems(tmp_path, "synonyms:\n  de:\n    - [widersprechen]\n    - [a, '  ']\n")
    assert len(found) == 3, found
    assert found[0].startswith(f"bot.yaml:{SYN_LINE + 2}: 'synonyms.de.0': ")
    assert "at least 2 items" in found[0]
    assert {f.split(": ")[0] for f in found[1:]} == {f"bot.yaml:{SYN_LINE + 3}"}
