"""Off-topic requests in ``bot.yaml``: optional, per language, checked like every other field.

``bot.yaml`` of the base tree (tests/fixtures/tree.py) has 51 lines; the ``off_topic`` block
added here starts on line 52, its first language on 53, that language's first entry on 54.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.tree import META, TOPICS, write_tree

from bot.content import Problem, read_content

LINE = META.count("\n") + 1


def problems(
    tmp_path: Path, off_topic: str, files: dict[str, str | None] | None = None
) -> list[str]:
    tree = write_tree(tmp_path, {"bot.yaml": META + off_topic, **(files or {})})
    _, found, _ = read_content(tree)
    return [_located(p) for p in found]


def _located(problem: Problem) -> str:
    level = "warning: " if problem.level == "warning" else ""
    return f"{Path(problem.file).name}:{problem.line}: {level}{problem.message}"


def test_off_topic_is_optional(tmp_path: Path) -> None:
    content, found, _ = read_content(write_tree(tmp_path))
    assert content is not None and not found
    assert content.meta.off_topic == {}


def test_entries_per_language_some_languages_only(tmp_path: Path) -> None:
    text = 'off_topic:\n  de:\n    - "Passwort vergessen"\n    - "  Wetter morgen?  "\n'
    content, found, _ = read_content(write_tree(tmp_path, {"bot.yaml": META + text}))
    assert content is not None and not found
    assert content.meta.off_topic == {"de": ("Passwort vergessen", "Wetter morgen?")}


def test_undeclared_language_is_an_error(tmp_path: Path) -> None:
    text = "off_topic:\n  fr:\n    - mot de passe oublié\n"
    assert problems(tmp_path, text) == [
        f"bot.yaml:{LINE}: off_topic uses undeclared language(s): fr"
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('""', "String should have at least 1 character"),
        ('"   "', "String should have at least 1 character"),
        ("", "Input should be a valid string"),  # a dash and nothing after it
        ("42", "Input should be a valid string"),
        ("[a, b]", "Input should be a valid string"),
    ],
)
def test_every_entry_is_a_text(tmp_path: Path, entry: str, message: str) -> None:
    text = f"off_topic:\n  de:\n    - Passwort vergessen\n    - {entry}\n".replace("- \n", "-\n")
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    assert found[0].startswith(f"bot.yaml:{LINE + 3}: 'off_topic.de.1': ")
    assert message in found[0]


def test_a_text_instead_of_a_list_says_so(tmp_path: Path) -> None:
    found = problems(tmp_path, 'off_topic:\n  de: "Passwort vergessen"\n')
    assert len(found) == 1
    assert found[0].startswith(f"bot.yaml:{LINE}: ")
    assert "must be a list of requests" in found[0]


def test_a_list_without_languages_says_so(tmp_path: Path) -> None:
    found = problems(tmp_path, "off_topic: [Passwort vergessen, Wetter]\n")
    assert len(found) == 1
    assert "needs a list per language" in found[0]


def test_entry_without_letters_or_twice_is_a_warning(tmp_path: Path) -> None:
    text = 'off_topic:\n  en:\n    - "?!"\n    - weather\n    - "Weather? "\n'
    assert problems(tmp_path, text) == [
        f"bot.yaml:{LINE + 2}: warning: off-topic entry '?!' (en) has no letters",
        f"bot.yaml:{LINE + 4}: warning: off-topic entry 'Weather?' (en) is listed twice"
        f" (first on line {LINE + 3})",
    ]


def test_entry_that_is_a_nodes_example_is_a_warning(tmp_path: Path) -> None:
    text = 'off_topic:\n  de:\n    - "wie widerspreche ich bei instagram"\n'
    assert problems(tmp_path, text) == [
        f"bot.yaml:{LINE + 2}: warning: off-topic entry 'wie widerspreche ich bei instagram' (de)"
        " is also an example question of node 'objection-instagram'"
    ]
    assert "Wie widerspreche ich bei Instagram?" in TOPICS


def test_shipped_content_has_off_topic_requests_in_every_language() -> None:
    from bot.content import load_content

    content = load_content()
    for lang in content.languages:
        assert len(content.meta.off_topic.get(lang, ())) >= 40, lang
