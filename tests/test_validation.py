"""Content validation: one broken fixture per rule, each reported as ``file:line: message``.

Every case starts from the valid tree in tests/fixtures/tree.py and changes one thing,
mostly in ``nodes/50-extra.yaml`` (the node ``extra``, linked from the root):

    1 - id: extra
    2   title: {de: Über den Bot, en: About the bot}
    3   text: {de: "ÜBER-DE", en: "ABOUT-EN"}
    4   sources:
    5     - {title: Bot, url: "https://example.org/bot"}
    6   checked: 2025-05-01

or in ``bot.yaml`` (line 1 languages, 2 default_language, 3 root, 4 checked, 5 strings,
6-30 one string per line with months on 13-15, 31 commands).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from fixtures.tree import EXTRA, META, TOPICS, write_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import ContentError, Problem, load_content, read_content
from bot.content.loader import parse_yaml

EXTRA_FILE = "nodes/50-extra.yaml"
REPO = Path(__file__).resolve().parent.parent

Files = dict[str, str | None]
Check = Callable[[Files], list[str]]


def extra(old: str, new: str) -> Files:
    """The base tree with one edit to nodes/50-extra.yaml."""
    assert old in EXTRA, old
    return {EXTRA_FILE: EXTRA.replace(old, new, 1)}


def add_to_extra(lines: str) -> Files:
    """The base tree with lines appended to the node ``extra``."""
    return {EXTRA_FILE: EXTRA + lines}


def meta(old: str, new: str) -> Files:
    """The base tree with one edit to bot.yaml."""
    assert META.count(old) == 1, old
    return {"bot.yaml": META.replace(old, new)}


def located(problem: Problem) -> str:
    """A problem as `check` prints it, without the hint."""
    level = "warning: " if problem.level == "warning" else ""
    return f"{problem.file}:{problem.line}: {level}{problem.message}"


@pytest.fixture
def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Check:
    """Write a tree with ``files`` changed and return its problems as ``file:line: message``."""
    monkeypatch.chdir(tmp_path)  # problems name files relative to the working directory

    def run(files: Files) -> list[str]:
        write_tree(tmp_path, files)
        content, problems, _ = read_content(Path("."))
        errors = [p for p in problems if p.level == "error"]
        assert (content is None) == bool(errors)
        return [located(p) for p in problems]

    return run


def test_base_tree_is_valid(check: Check) -> None:
    assert check({}) == []


CASES = [
    # -- YAML itself --
    pytest.param(
        extra("title: {de: Über den Bot, en: About the bot}", "title: {de: Über: den, en: x"),
        "nodes/50-extra.yaml:2: YAML syntax error: expected ',' or '}', but got ':'",
        id="yaml-syntax-error",
    ),
    pytest.param(
        add_to_extra("  checked: 2025-05-02\n"),
        "nodes/50-extra.yaml:7: duplicate key 'checked'",
        id="duplicate-key",
    ),
    pytest.param(
        extra("- id: extra\n", "- id: extra\n\n  k: &a [*a]\n"),
        "nodes/50-extra.yaml:3: recursive alias: a block refers to itself",
        id="recursive-alias",
    ),
    pytest.param(
        {EXTRA_FILE: "- id: extra\n  title: x\x07y\n"},
        "nodes/50-extra.yaml:2: character U+0007 is not allowed in YAML",
        id="control-character",
    ),
    pytest.param(
        {EXTRA_FILE: "id: extra\n"},
        "nodes/50-extra.yaml:1: expected a list of nodes",
        id="file-not-a-list",
    ),
    pytest.param(
        add_to_extra("- just a sentence\n"),
        "nodes/50-extra.yaml:7: expected a node (a mapping)",
        id="node-not-a-mapping",
    ),
    pytest.param(
        {"bot.yaml": "- de\n- en\n"},
        "bot.yaml:1: expected a mapping of settings",
        id="settings-not-a-mapping",
    ),
    # -- keys and types --
    pytest.param(
        add_to_extra("  titel: {de: x, en: y}\n"),
        "nodes/50-extra.yaml:7: unknown key 'titel'",
        id="unknown-key",
    ),
    pytest.param(
        add_to_extra("  line: 7\n"),
        "nodes/50-extra.yaml:7: unknown key 'line'",
        id="internal-key",
    ),
    pytest.param(
        meta("checked: 2025-05-01\n", "checked: 2025-05-01\ncolour: blue\n"),
        "bot.yaml:5: unknown key 'colour'",
        id="unknown-settings-key",
    ),
    pytest.param(
        extra("- id: extra\n", "- id: extra\n  personal: sometimes\n"),
        "nodes/50-extra.yaml:2: 'personal': Input should be a valid boolean, unable to interpret input",
        id="wrong-type",
    ),
    pytest.param(
        meta("checked: 2025-05-01\n", "checked: 2025-05-01\nstale_after_days: soon\n"),
        "bot.yaml:5: 'stale_after_days': Input should be a valid integer, unable to parse string as an integer",
        id="wrong-type-in-settings",
    ),
    pytest.param(
        extra("  title: {de: Über den Bot, en: About the bot}\n", ""),
        "nodes/50-extra.yaml:1: missing required key 'title'",
        id="missing-key",
    ),
    pytest.param(
        meta("root: start\n", ""),
        "bot.yaml:1: missing required key 'root'",
        id="missing-settings-key",
    ),
    pytest.param(
        extra("id: extra", "id: Extra_Page"),
        "nodes/50-extra.yaml:1: invalid node id 'Extra_Page' in 'id'",
        id="invalid-node-id",
    ),
    # -- languages --
    pytest.param(
        extra('text: {de: "ÜBER-DE", en: "ABOUT-EN"}', 'text: {de: "ÜBER-DE"}'),
        "nodes/50-extra.yaml:3: node 'extra' text has no text in: en",
        id="missing-language",
    ),
    pytest.param(
        extra('text: {de: "ÜBER-DE", en: "ABOUT-EN"}', 'text: {de: "ÜBER-DE", en: ""}'),
        "nodes/50-extra.yaml:3: node 'extra' text has no text in: en",
        id="empty-translation",
    ),
    pytest.param(
        extra("en: About the bot}", "en: About the bot, fr: À propos}"),
        "nodes/50-extra.yaml:2: node 'extra' title uses undeclared language(s): fr",
        id="unknown-language",
    ),
    pytest.param(
        extra("en: About the bot}", "en: About the bot, eng: About}"),
        "nodes/50-extra.yaml:2: invalid language code 'eng'",
        id="invalid-language-code",
    ),
    pytest.param(
        meta("default_language: de", "default_language: fr"),
        "bot.yaml:2: default_language 'fr' is not declared",
        id="default-language-not-declared",
    ),
    pytest.param(
        meta('share: {de: "Teilen", en: "Share"}', 'share: {de: "Teilen"}'),
        "bot.yaml:28: string 'share' has no text in: en",
        id="ui-string-missing-language",
    ),
    # -- ids and the tree --
    pytest.param(
        add_to_extra(
            "\n- id: deadline\n  kind: menu\n  title: {de: a, en: b}\n"
            "  text: {de: a, en: b}\n  options: [{to: start}]\n"
        ),
        "nodes/50-extra.yaml:8: duplicate node id 'deadline' (first defined at nodes/10-topics.yaml:31)",
        id="duplicate-id",
    ),
    pytest.param(
        add_to_extra("  options:\n    - to: objektion\n"),
        "nodes/50-extra.yaml:8: option leads to unknown node 'objektion'",
        id="unknown-option-target",
    ),
    pytest.param(
        meta("root: start", "root: home"),
        "bot.yaml:3: root node 'home' does not exist",
        id="unknown-root",
    ),
    pytest.param(
        add_to_extra(
            "\n- id: orphan\n  kind: menu\n  title: {de: a, en: b}\n"
            "  text: {de: a, en: b}\n  options: [{to: start}]\n"
        ),
        "nodes/50-extra.yaml:8: node 'orphan' cannot be reached from 'start'",
        id="unreachable-node",
    ),
    pytest.param(
        extra("- id: extra\n", "- id: extra\n  kind: menu\n"),
        "nodes/50-extra.yaml:1: menu 'extra' is a dead end: it has no options",
        id="dead-end-menu",
    ),
    pytest.param(
        add_to_extra("  options: [{to: extra}]\n"),
        "nodes/50-extra.yaml:1: node 'extra' only leads to itself",
        id="dead-end-loop",
    ),
    # -- facts: sources, dates, links --
    pytest.param(
        extra('  sources:\n    - {title: Bot, url: "https://example.org/bot"}\n', ""),
        "nodes/50-extra.yaml:1: factual node 'extra' has no sources",
        id="info-node-without-sources",
    ),
    pytest.param(
        extra("  checked: 2025-05-01\n", ""),
        "nodes/50-extra.yaml:1: factual node 'extra' has no checked date",
        id="info-node-without-checked",
    ),
    pytest.param(
        extra("https://example.org/bot", "http://example.org/bot"),
        "nodes/50-extra.yaml:5: source URL must start with https://: http://example.org/bot",
        id="source-not-https",
    ),
    pytest.param(
        extra("https://example.org/bot", "https://localhost/bot"),
        "nodes/50-extra.yaml:5: source URL has no valid host name: https://localhost/bot",
        id="source-without-host",
    ),
    pytest.param(
        extra('en: "ABOUT-EN"', 'en: "ABOUT-EN, see [the site](www.example.org)"'),
        "nodes/50-extra.yaml:3: link 'the site' must start with https://: www.example.org",
        id="inline-link-not-https",
    ),
    pytest.param(
        add_to_extra(
            "  variants:\n    - before: 2025-05-27\n"
            "      text:\n        de: a\n        en: '[x](javascript:alert(1))'\n"
        ),
        "nodes/50-extra.yaml:11: link 'x' must start with https://: javascript:alert(1",
        id="inline-link-in-variant",
    ),
    pytest.param(
        meta('help: {de: "HILFE-DE",', 'help: {de: "[Hilfe](ftp://example.org/h)",'),
        "bot.yaml:8: link 'Hilfe' must start with https://: ftp://example.org/h",
        id="inline-link-in-ui-string",
    ),
    pytest.param(
        extra("  checked: 2025-05-01\n", "  checked: 2999-01-01\n"),
        "nodes/50-extra.yaml:6: checked date 2999-01-01 lies in the future",
        id="future-checked-date",
    ),
    pytest.param(
        extra(
            'url: "https://example.org/bot"}',
            'url: "https://example.org/bot", checked: 2999-01-01}',
        ),
        "nodes/50-extra.yaml:5: checked date 2999-01-01 lies in the future",
        id="future-source-date",
    ),
    pytest.param(
        extra("  checked: 2025-05-01\n", "  checked: 2025-02-30\n"),
        "nodes/50-extra.yaml:6: invalid date '2025-02-30': day is out of range for month",
        id="impossible-date",
    ),
    pytest.param(
        extra("  checked: 2025-05-01\n", "  checked: 1.5.2025\n"),
        "nodes/50-extra.yaml:6: invalid date in 'checked': '1.5.2025'",
        id="date-in-wrong-format",
    ),
    pytest.param(
        add_to_extra("  variants:\n    - text: {de: a, en: b}\n"),
        "nodes/50-extra.yaml:8: variant has neither 'from' nor 'before'",
        id="variant-without-dates",
    ),
    pytest.param(
        add_to_extra(
            "  variants:\n    - {from: 2025-06-01, before: 2025-05-01, text: {de: a, en: b}}\n"
        ),
        "nodes/50-extra.yaml:8: variant's 'from' is not before its 'before'",
        id="variant-dates-reversed",
    ),
    pytest.param(
        add_to_extra(
            "  variants:\n"
            "    - {before: 2025-05-27, text: {de: a, en: b}}\n"
            "    - {before: 2025-05-23, text: {de: c, en: d}}\n"
        ),
        "nodes/50-extra.yaml:9: variant 2 is never shown: earlier variants cover all its days",
        id="variant-hidden-by-an-earlier-one",
    ),
    # -- platform limits --
    pytest.param(
        extra('en: "ABOUT-EN"', 'en: "' + "x" * 4100 + '"'),
        "nodes/50-extra.yaml:1: answer of 'extra' (en) is 4136 characters; Telegram allows 4096",
        id="telegram-text-too-long",
    ),
    pytest.param(
        # Node ids are capped at 48 ASCII characters, so every option's callback data
        # (the id, or "@lang:xx") stays within Telegram's 64 bytes.
        add_to_extra("  options:\n    - to: " + "a" * 65 + "\n"),
        f"nodes/50-extra.yaml:8: invalid node id '{'a' * 65}' in 'options.0.to'",
        id="callback-data-too-long",
    ),
    # -- UI strings and commands --
    pytest.param(
        meta('  share: {de: "Teilen", en: "Share"}\n', ""),
        "bot.yaml:5: missing UI string 'share'",
        id="missing-ui-string",
    ),
    pytest.param(
        meta('  share: {de: "Teilen", en: "Share"}\n', '  shar: {de: "Teilen", en: "Share"}\n'),
        "bot.yaml:28: unknown UI string 'shar'",
        id="unknown-ui-string",
    ),
    pytest.param(
        meta("commands:\n", "platform_strings:\n  fax:\n    help: {de: a, en: b}\ncommands:\n"),
        "bot.yaml:33: unknown platform 'fax'",
        id="platform-strings-unknown-platform",
    ),
    pytest.param(
        meta("commands:\n", "platform_strings:\n  console:\n    hlep: {de: a, en: b}\ncommands:\n"),
        "bot.yaml:34: 'console' replaces UI string 'hlep', which 'strings' does not define",
        id="platform-strings-unknown-string",
    ),
    pytest.param(
        meta("commands:\n", "platform_strings:\n  console:\n    help: {de: a}\ncommands:\n"),
        "bot.yaml:34: console string 'help' has no text in: en",
        id="platform-strings-missing-language",
    ),
    pytest.param(
        {
            "bot.yaml": META.replace(
                '  privacy: {de: "DATENSCHUTZ-DE {days} Tage", en: "PRIVACY-EN {days} days"}',
                '  privacy: {de: "DATENSCHUTZ-DE {duration}", en: "PRIVACY-EN {duration}"}',
            ).replace(
                "commands:\n",
                "durations:\n  de: {minute: [Minute, Minuten], hour: [Stunde, Stunden], "
                "day: [Tag, Tagen]}\ncommands:\n",
            )
        },
        "bot.yaml:32: the privacy string says {duration} but 'durations' has no day, hour, minute "
        "for 'en'",
        id="durations-missing-language",
    ),
    pytest.param(
        meta('    de: "Januar, Februar,', '    de: "Februar,'),
        "bot.yaml:14: 'months' needs 12 names",
        id="months-incomplete",
    ),
    pytest.param(
        meta(
            '  privacy:\n    description: {de: "Datenschutz", en: "Privacy"}\n'
            "    aliases: {de: [datenschutz]}\n",
            "",
        ),
        "bot.yaml:32: missing command 'privacy'",
        id="missing-command",
    ),
    pytest.param(
        meta("commands:\n", 'commands:\n  reboot:\n    description: {de: "Neu", en: "New"}\n'),
        "bot.yaml:33: unknown command 'reboot'",
        id="unknown-command",
    ),
    pytest.param(
        meta("aliases: {de: [zurueck]}", "aliases: {de: [zurueck, menue]}"),
        "bot.yaml:38: alias 'menue' is used by two commands",
        id="alias-used-twice",
    ),
    pytest.param(
        meta("aliases: {de: [zurueck]}", "aliases: {de: [zurueck, help]}"),
        "bot.yaml:38: alias 'help' is used by two commands",
        id="alias-is-another-command",
    ),
    pytest.param(
        meta('description: {de: "Zurück", en: "Back"}', 'description: {de: "Zurück"}'),
        "bot.yaml:38: command 'back' description has no text in: en",
        id="command-description-missing-language",
    ),
    pytest.param(
        meta("aliases: {de: [zurueck]}", "aliases: {de: [zurueck], it: [indietro]}"),
        "bot.yaml:38: command 'back' aliases uses undeclared language(s): it",
        id="command-alias-unknown-language",
    ),
    pytest.param(
        {
            "questions/de.tsv": "node\tquestion\nextra\tWas bist du?\nobjektion\tWie widerspreche ich?\n"
        },
        "questions/de.tsv:3: unknown node 'objektion'",
        id="asked-question-unknown-node",
    ),
    pytest.param(
        {"questions/en.tsv": "node\tquestion\nhow do I object?\n"},
        "questions/en.tsv:2: expected a node id and a question, separated by one tab",
        id="asked-question-without-node",
    ),
    pytest.param(
        {"questions/fr.tsv": "node\tquestion\nextra\tqui es-tu ?\n"},
        "questions/fr.tsv:0: 'fr' is not a language of the content",
        id="asked-questions-of-an-undeclared-language",
    ),
]


@pytest.mark.parametrize(("files", "expected"), CASES)
def test_each_rule_reports_file_line_and_message(check: Check, files: Files, expected: str) -> None:
    assert expected in check(files)


def test_hints_say_how_to_fix(check: Check) -> None:
    write = add_to_extra("  titel: {de: x, en: y}\n  options:\n    - to: objektion\n")
    check(write)
    _, problems, _ = read_content(Path("."))
    hints = {p.message: p.hint for p in problems}
    assert hints["unknown key 'titel'"].startswith("did you mean 'title'?")
    assert str(next(p for p in problems if p.message == "unknown key 'titel'")).startswith(
        "nodes/50-extra.yaml:7: unknown key 'titel' (fix: did you mean 'title'?"
    )


def test_unknown_target_suggests_closest_id(check: Check) -> None:
    check(add_to_extra("  options:\n    - to: objektion\n"))
    _, problems, _ = read_content(Path("."))
    (problem,) = [p for p in problems if "objektion" in p.message]
    assert problem.hint == "did you mean 'objection'?"


def test_unreadable_file(check: Check, tmp_path: Path) -> None:
    write_tree(tmp_path)
    (tmp_path / EXTRA_FILE).write_bytes(b"- id: extra\n  title: \xff\xfe\n")
    _, problems, _ = read_content(Path("."))
    assert next((p.file, p.message.split(":")[0]) for p in problems) == (
        "nodes/50-extra.yaml",
        "cannot read file",
    )


def test_missing_settings_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"bot.yaml": None})
    with pytest.raises(ContentError) as err:
        load_content(tmp_path)
    assert [p.message for p in err.value.problems] == ["content settings file is missing"]


def test_no_node_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bot.yaml").write_text(META, encoding="utf-8")
    _, problems, _ = read_content(Path("."))
    assert "nodes: no node files found" in [f"{p.file}: {p.message}" for p in problems]


def test_long_text_is_a_warning_not_an_error(check: Check) -> None:
    found = check(extra('en: "ABOUT-EN"', 'en: "' + "Wort " * 300 + '"'))
    assert found
    assert all(": warning: " in line for line in found), found


def test_all_problems_reported_at_once(check: Check, tmp_path: Path) -> None:
    files = {
        **meta('  share: {de: "Teilen", en: "Share"}\n', ""),
        "nodes/10-topics.yaml": TOPICS.replace(
            "https://example.org/case", "http://example.org/case"
        ),
        EXTRA_FILE: EXTRA + "  titel: {de: x, en: y}\n",
        "nodes/60-broken.yaml": "- id: [unclosed\n",
    }
    found = check(files)
    for expected in (
        "bot.yaml:5: missing UI string 'share'",
        "nodes/10-topics.yaml:51: source URL must start with https://: http://example.org/case",
        "nodes/50-extra.yaml:7: unknown key 'titel'",
        "nodes/60-broken.yaml:2: YAML syntax error: expected ',' or ']', but got '<stream end>'",
    ):
        assert expected in found, found
    # load_content raises one error carrying all of them, sorted by file and line.
    with pytest.raises(ContentError) as err:
        load_content(Path("."))
    problems = err.value.problems
    assert problems == sorted(problems)
    assert len(problems) == len([f for f in found if ": warning: " not in f])
    assert str(err.value).splitlines()[0].startswith("bot.yaml:5: missing UI string 'share'")


GARBAGE = {
    "binary": bytes(range(256)) * 4,
    "nul": b"- id: x\x00\n",
    "tabs": b"\t- id: x\n\t\ttitle: y\n",
    "deep": b"[" * 600 + b"]" * 600,
    "recursive": b"- &n\n  id: extra\n  options: [*n]\n",
    "bad-scalars": b"- id: extra\n  personal: !!bool maybe\n  checked: 2025-13-45\n",
    "huge-int": b"- id: extra\n  index: 1" + b"0" * 5000 + b"\n",
    "python-tag": b"- !!python/object/apply:os.system [echo hi]\n",
    "many-docs": b"- id: a\n---\n- id: b\n",
}


GARBAGE_SAYS = {
    "binary": (0, "cannot read file: 'utf-8' codec can't decode byte 0x80"),
    "nul": (1, "character U+0000 is not allowed in YAML"),
    "tabs": (1, "YAML syntax error: found character '\\t' that cannot start any token"),
    "deep": (0, "the file is nested too deeply"),
    "recursive": (3, "recursive alias: a block refers to itself"),
    "bad-scalars": (2, "invalid bool 'maybe'"),
    "huge-int": (2, "invalid int '1000000000"),
    "python-tag": (1, "YAML syntax error: could not determine a constructor for the tag"),
    "many-docs": (2, "YAML syntax error: but found another document"),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_files_become_problems(tmp_path: Path, name: str) -> None:
    line, says = GARBAGE_SAYS[name]
    path = tmp_path / "x.yaml"
    path.write_bytes(GARBAGE[name])
    doc, problems = parse_yaml(path, "x.yaml")
    assert doc is None
    assert [(p.line, p.message.startswith(says)) for p in problems][:1] == [(line, True)], problems
    # In a content tree: the same problem at the same line, and the tree is not loaded.
    write_tree(tmp_path, {EXTRA_FILE: None})
    (tmp_path / EXTRA_FILE).write_bytes(GARBAGE[name])
    content, problems, _ = read_content(tmp_path)
    assert content is None
    assert any(
        p.file.endswith(EXTRA_FILE) and p.line == line and p.message.startswith(says)
        for p in problems
    ), problems


_UNREADABLE = object()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_parses_or_reports(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        doc, problems = parse_yaml(path, "x.yaml")
        try:
            # PyYAML's own safe loader is the oracle for what a file that parses holds.
            expected: object = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, ValueError, UnicodeDecodeError, RecursionError):
            expected = _UNREADABLE
        if doc is None:
            assert problems, "a file that does not parse must say why"
            assert all(str(p).startswith("x.yaml") and p.message for p in problems)
        else:
            assert expected is not _UNREADABLE, "parsed a file PyYAML rejects"
            assert repr(doc.data) == repr(expected)


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "content").rglob("*.yaml")) + sorted((REPO / "bot" / "lang").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_libyaml_reads_the_shipped_files_as_the_python_parser_does(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path (libyaml's events) gives the data, lines and problems of the slow one."""
    from bot.content import loader

    text = path.read_text(encoding="utf-8")
    fast = loader._parse_fast(text, path.name)
    assert fast is not None, "the shipped files are read by libyaml"
    monkeypatch.setattr(loader, "_FastLoader", None)
    assert loader._parse_fast(text, path.name) is None
    slow_doc, slow_problems = loader._parse_text(text, path.name)
    fast_doc, fast_problems = fast
    assert fast_doc is not None and slow_doc is not None
    assert repr(fast_doc.data) == repr(slow_doc.data)
    assert fast_doc.lines == slow_doc.lines
    assert fast_problems == slow_problems


def test_broken_file_never_prints_a_traceback(tmp_path: Path) -> None:
    write_tree(tmp_path, {EXTRA_FILE: None})
    (tmp_path / EXTRA_FILE).write_bytes(b"\x00\xff garbage: [ {\n" + bytes(range(1, 32)))
    (tmp_path / "nodes" / "60-date.yaml").write_text("- id: x\n  checked: 2025-02-30\n")
    (tmp_path / "nodes" / "70-loop.yaml").write_text("- &n\n  id: y\n  options: [*n]\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "BOT_CONTENT_DIR": ""},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert re.search(r"^nodes/50-extra\.yaml(:\d+)?: ", done.stdout, re.M), done.stdout
    assert "nodes/60-date.yaml:2: invalid date '2025-02-30'" in done.stdout
    assert "nodes/70-loop.yaml:3: recursive alias" in done.stdout
    assert re.search(r"^\d+ error\(s\) in ", done.stderr, re.M)


def test_shipped_content_passes_with_summary() -> None:
    """Smoke test of the real content; exact node counts and texts are not asserted."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "BOT_CONTENT_DIR"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"OK: \d+ nodes, languages: de, en, fr, es, it, nl, pl(, \d+ warning\(s\))?", last
    ), last
    # Everything before the summary is a warning with a location.
    for line in done.stdout.strip().splitlines()[:-1]:
        assert re.match(r"^\S+\.yaml:\d+: warning: ", line), line
    assert done.stderr == ""


def test_a_broken_node_is_reported_once(check: Check) -> None:
    # The node that fails to parse is still known by id: its parents don't lead "nowhere".
    found = check(extra("- id: extra\n", "- id: extra\n  personal: sometimes\n"))
    errors = [line for line in found if ": warning: " not in line]
    assert errors == [
        "nodes/50-extra.yaml:2: 'personal': Input should be a valid boolean, unable to interpret input"
    ]


def test_thanks_need_a_welcome_string(check: Check) -> None:
    files = meta(
        "checked: 2025-05-01\n", "checked: 2025-05-01\nthanks: {de: [danke], en: [thanks]}\n"
    )
    found = check(files)
    assert "bot.yaml:5: 'thanks' is set but there is no 'welcome' string to answer with" in found


def test_how_are_you_needs_its_answer(check: Check) -> None:
    files = meta(
        "checked: 2025-05-01\n",
        'checked: 2025-05-01\nhow_are_you: {de: ["wie geht\'s"], en: [how are you]}\n',
    )
    found = check(files)
    assert (
        "bot.yaml:5: 'how_are_you' is set but there is no 'how_are_you' string to answer with"
        in found
    )


def test_not_understood_needs_its_answer(check: Check) -> None:
    files = meta(
        "checked: 2025-05-01\n",
        "checked: 2025-05-01\nnot_understood: {de: [hä], en: [huh]}\n",
    )
    found = check(files)
    assert (
        "bot.yaml:5: 'not_understood' is set but there is no 'not_understood' string to answer"
        " with" in found
    )


# -- wording rules: yes/no openers, undated status words, links that are not sources --

WORDING = """\
yes_no_words:
  de: ["ja", "nein", "doch", "jein"]
  en: ["yes", "no", "nope"]
status_words:
  de: [bisher, derzeit, noch nicht, letztes jahr]
  en: [so far, currently, not yet, last year]
"""
"""Appended to bot.yaml after its 53 lines: yes_no_words on line 54, status_words on 57."""

AS_OF_STRING = '  as_of: {de: "Stand {month} {year}:", en: "As of {month} {year}:"}\n'
ASKED = '  questions: {de: ["Über den Bot?"], en: ["About the bot?"]}\n'


def worded(*node_edits: tuple[str, str], as_of_string: bool = False, asked: bool = True) -> Files:
    """The base tree with word lists in bot.yaml and edits to the node ``extra``."""
    text = EXTRA
    for old, new in node_edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    if asked:
        text += ASKED
    settings = META + WORDING
    if as_of_string:
        settings = settings.replace("strings:\n", "strings:\n" + AS_OF_STRING, 1)
    return {"bot.yaml": settings, EXTRA_FILE: text}


def node_text(de: str, en: str) -> tuple[str, str]:
    """An edit replacing the text of ``extra`` (line 3) with these two."""
    return ('text: {de: "ÜBER-DE", en: "ABOUT-EN"}', f'text: {{de: "{de}", en: "{en}"}}')


def errors(found: list[str]) -> list[str]:
    return [line for line in found if ": warning: " not in line]


def test_yes_no_opener_of_a_question_node_is_an_error(check: Check) -> None:
    found = check(worded(node_text("Nein, das geht nicht.", "No. It doesn't.")))
    assert errors(found) == [
        "nodes/50-extra.yaml:3: answer of 'extra' (de) opens with 'Nein'",
        "nodes/50-extra.yaml:3: answer of 'extra' (en) opens with 'No'",
    ]


def test_yes_no_opener_hint_says_open_with_the_claim(check: Check) -> None:
    check(worded(node_text("Ja, klar.", "Fine.")))
    _, problems, _ = read_content(Path("."))
    (problem,) = [p for p in problems if "opens with" in p.message]
    assert problem.hint.startswith("open with the claim itself")


def test_yes_no_opener_behind_markup_is_found(check: Check) -> None:
    found = check(worded(node_text("**Doch** – das geht.", "_Nope_, never.")))
    assert errors(found) == [
        "nodes/50-extra.yaml:3: answer of 'extra' (de) opens with 'Doch'",
        "nodes/50-extra.yaml:3: answer of 'extra' (en) opens with 'Nope'",
    ]


def test_yes_no_opener_in_a_date_variant_is_an_error(check: Check) -> None:
    variant = (
        "  checked: 2025-05-01\n",
        "  checked: 2025-05-01\n  variants:\n    - before: 2025-05-27\n"
        '      text: {de: "Widersprechen geht.", en: "Yes: you can."}\n',
    )
    found = check(worded(variant))
    assert errors(found) == ["nodes/50-extra.yaml:9: answer of 'extra' (en) opens with 'Yes'"]


def test_claim_first_and_words_that_only_start_alike_pass(check: Check) -> None:
    # "Nobody", "No one" and "Jahr" are not yes/no words; "Jein" is German only.
    found = check(
        worded(node_text("Widersprechen kannst du weiterhin. Jahrelang ging das.", "No one knows."))
    )
    assert errors(found) == []
    assert errors(check(worded(node_text("Jahre später.", "Jein, said nobody.")))) == []


def test_yes_no_opener_without_questions_is_allowed(check: Check) -> None:
    # Reached only by a button: the asker saw the button's label, not a yes/no question.
    assert errors(check(worded(node_text("Ja, genau.", "Yes, exactly."), asked=False))) == []


def test_yes_no_words_come_from_content(check: Check) -> None:
    files = worded(node_text("Jawohl, so ist es.", "Right."))
    assert errors(check(files)) == []
    files["bot.yaml"] = files["bot.yaml"].replace('"jein"]', '"jein", "jawohl"]')
    assert errors(check(files)) == [
        "nodes/50-extra.yaml:3: answer of 'extra' (de) opens with 'Jawohl'"
    ]


def test_word_lists_need_every_declared_language(check: Check) -> None:
    files = worded()
    files["bot.yaml"] = files["bot.yaml"].replace('  en: ["yes", "no", "nope"]\n', "")
    line = files["bot.yaml"].splitlines().index("yes_no_words:") + 1
    assert errors(check(files)) == [f"bot.yaml:{line}: 'yes_no_words' has no words for: en"]


def test_status_word_without_a_date_is_an_error(check: Check) -> None:
    found = check(worded(node_text("Bisher ist kein Urteil bekannt.", "Currently none.")))
    assert errors(found) == [
        "nodes/50-extra.yaml:3: 'Bisher' in 'extra' (de) has no date:"
        ' "Bisher ist kein Urteil bekannt."',
        "nodes/50-extra.yaml:3: 'Currently' in 'extra' (en) has no date: \"Currently none.\"",
    ]


def test_a_text_read_before_is_judged_again_where_it_now_stands(check: Check) -> None:
    # Loading again reuses what was read in unchanged texts: not the verdict on them.
    text = node_text("Nein, bisher nicht.", "No. Currently none.")
    found = errors(check(worded(text)))
    assert [line.split(": ", 1)[1] for line in found] == [
        "answer of 'extra' (de) opens with 'Nein'",
        "'bisher' in 'extra' (de) has no date: \"Nein, bisher nicht.\"",
        "answer of 'extra' (en) opens with 'No'",
        "'Currently' in 'extra' (en) has no date: \"Currently none.\"",
    ]
    as_of = ("  checked: 2025-05-01\n", "  checked: 2025-05-01\n  as_of: 2025-05-01\n")
    assert errors(check(worded(text, as_of, as_of_string=True, asked=False))) == []
    assert errors(check(worded(text))) == found
    assert errors(check(worded(node_text("Nein.", "Currently none.")))) == [
        "nodes/50-extra.yaml:3: answer of 'extra' (de) opens with 'Nein'",
        "nodes/50-extra.yaml:3: 'Currently' in 'extra' (en) has no date: \"Currently none.\"",
    ]


def test_status_word_needs_the_date_in_its_own_sentence(check: Check) -> None:
    de = "Im Mai 2025 begann das Training. Ein Urteil gibt es noch nicht."
    en = "Training began in May 2025. There is no ruling so far."
    found = check(worded(node_text(de, en)))
    assert errors(found) == [
        "nodes/50-extra.yaml:3: 'noch nicht' in 'extra' (de) has no date:"
        ' "Ein Urteil gibt es noch nicht."',
        "nodes/50-extra.yaml:3: 'so far' in 'extra' (en) has no date:"
        ' "There is no ruling so far."',
    ]


def test_status_word_with_a_date_in_the_sentence_passes(check: Check) -> None:
    # An ordinal ("27. Mai") or an abbreviation ("z. B.") does not end the sentence.
    de = "Derzeit, also seit dem 27. Mai 2025, läuft z. B. das Training."
    en = "As of 02.12.2026 no ruling is known so far."
    assert errors(check(worded(node_text(de, en)))) == []


def test_status_word_in_a_variant_is_checked_too(check: Check) -> None:
    variant = (
        "  checked: 2025-05-01\n",
        "  checked: 2025-05-01\n  variants:\n    - from: 2025-05-27\n"
        '      text: {de: "Seit Mai 2025 läuft es.", en: "It is not yet known."}\n',
    )
    assert errors(check(worded(variant))) == [
        "nodes/50-extra.yaml:9: 'not yet' in 'extra' (en) has no date: \"It is not yet known.\""
    ]


def test_as_of_allows_status_words_and_is_shown(check: Check) -> None:
    files = worded(
        node_text("Bisher ist kein Urteil bekannt.", "So far no ruling is known."),
        ("  checked: 2025-05-01\n", "  checked: 2025-05-01\n  as_of: 2026-01-08\n"),
        as_of_string=True,
    )
    assert errors(check(files)) == []
    content = load_content(Path("."))
    node = content.nodes["extra"]
    day = dt.date(2026, 12, 2)
    assert content.answer(node, "de", day).startswith(
        "Stand Januar 2026: Bisher ist kein Urteil bekannt."
    )
    assert content.answer(node, "en", day).startswith("As of January 2026: So far no ruling")


def test_as_of_of_a_variant_is_shown_only_on_its_days(check: Check) -> None:
    variant = (
        "  checked: 2025-05-01\n",
        "  checked: 2025-05-01\n  variants:\n    - before: 2025-05-27\n      as_of: 2025-05-20\n"
        '      text: {de: "Derzeit offen.", en: "Currently open."}\n',
    )
    files = worded(variant, as_of_string=True)
    assert errors(check(files)) == []
    content = load_content(Path("."))
    node = content.nodes["extra"]
    assert content.answer(node, "de", dt.date(2025, 5, 26)).startswith("Stand Mai 2025: Derzeit")
    assert content.answer(node, "de", dt.date(2025, 5, 27)).startswith("ÜBER-DE")


def test_as_of_needs_its_string(check: Check) -> None:
    files = worded(("  checked: 2025-05-01\n", "  checked: 2025-05-01\n  as_of: 2025-05-01\n"))
    assert errors(check(files)) == [
        "bot.yaml:5: nodes use 'as_of' but there is no 'as_of' string to show it"
    ]


def test_as_of_in_the_future_is_an_error(check: Check) -> None:
    files = worded(
        ("  checked: 2025-05-01\n", "  checked: 2025-05-01\n  as_of: 2999-01-01\n"),
        as_of_string=True,
    )
    assert errors(check(files)) == [
        "nodes/50-extra.yaml:7: as_of date 2999-01-01 lies in the future"
    ]


def test_link_that_is_no_source_is_an_error(check: Check) -> None:
    link = "[Seite](https://example.org/unlisted)"
    found = check(worded(node_text(f"Siehe {link}.", "See https://example.org/bare.")))
    assert errors(found) == [
        "nodes/50-extra.yaml:3: link in 'extra' (de) is not a checked source:"
        " https://example.org/unlisted",
        "nodes/50-extra.yaml:3: link in 'extra' (en) is not a checked source:"
        " https://example.org/bare",
    ]


def test_link_hint_names_sources_and_checked_links(check: Check) -> None:
    check(worded(node_text("[x](https://example.org/unlisted)", "EN")))
    _, problems, _ = read_content(Path("."))
    (problem,) = [p for p in problems if "not a checked source" in p.message]
    assert "'sources'" in problem.hint and "'checked_links'" in problem.hint


def test_links_to_sources_and_checked_links_pass(check: Check) -> None:
    # Its own source, another node's source (trailing slash aside), a declared checked link.
    de = "[Bot](https://example.org/bot) und [Meta](https://example.org/meta/)"
    en = "[Form](https://example.org/form?a=1&b=2)"
    assert errors(check(worded(node_text(de, en)))) == []


def test_shipped_content_keeps_its_word_lists_in_bot_yaml() -> None:
    settings = yaml.safe_load((REPO / "content" / "bot.yaml").read_text(encoding="utf-8"))
    for key in ("yes_no_words", "status_words"):
        assert set(settings[key]) == set(settings["languages"]), key
    assert "nein" in settings["yes_no_words"]["de"] and "no" in settings["yes_no_words"]["en"]


def test_text_blocks_shown_together_count_towards_the_phone_screen(check: Check) -> None:
    variables = (
        "variables:\n"
        "  place:\n    type: choice\n    values: [home, away]\n"
        "    description: {de: Ort, en: place}\n"
        "  extra_info:\n    type: flag\n    description: {de: Info, en: info}\n"
    )
    five = "x" * 500
    nine = "y" * 300
    blocks = (
        "  blocks:\n"
        f'    - {{if: place == home, text: {{de: "{five}", en: "{five}"}}}}\n'
        f'    - {{if: place == away, text: {{de: "{five}", en: "{five}"}}}}\n'
        f'    - {{if: extra_info, text: {{de: "{nine}", en: "{nine}"}}}}\n'
    )
    extra = EXTRA.replace("  sources:\n", blocks + "  sources:\n")
    # One of the exclusive 500s plus the 300: 800 and the text, under the limit.
    assert check({"bot.yaml": META + variables, "nodes/50-extra.yaml": extra}) == []
    longer = extra.replace(nine, "y" * 420)
    found = check({"bot.yaml": META + variables, "nodes/50-extra.yaml": longer})
    # "ÜBER-DE" (7) + 500 + 420, joined by blank lines (2 × 2); "ABOUT-EN" is one longer.
    assert found == [
        f"nodes/50-extra.yaml:1: warning: text of 'extra' ({lang}) with the blocks shown when "
        f"extra_info=true, place=home is {size} characters; about 900 fit a phone screen"
        for lang, size in (("de", 931), ("en", 932))
    ]


def test_details_behind_more_count_towards_their_own_screen(check: Check) -> None:
    """With a "More" option, blocks marked ``more`` are not on the first screen but on the
    details screen, and each screen is measured on its own."""
    variables = (
        "variables:\n"
        "  place:\n    type: choice\n    values: [home, away]\n"
        "    description: {de: Ort, en: place}\n"
        "  extra_info:\n    type: flag\n    description: {de: Info, en: info}\n"
    )
    with_more = META.replace(
        '  sources: {de: "Quellen", en: "Sources"}\n',
        '  sources: {de: "Quellen", en: "Sources"}\n  more: {de: "Mehr", en: "More"}\n',
    )
    assert with_more != META

    def tree(details: int) -> Files:
        blocks = (
            "  blocks:\n"
            f'    - {{if: place == home, text: {{de: "{"x" * 500}", en: "{"x" * 500}"}}}}\n'
            f"    - {{if: extra_info, more: true, text: "
            f'{{de: "{"y" * details}", en: "{"y" * details}"}}}}\n'
        )
        node = EXTRA.replace("  sources:\n", blocks + "  sources:\n")
        return {"bot.yaml": with_more + variables, "nodes/50-extra.yaml": node}

    # 500 on the first screen, 420 behind "More": together over 900, apart both under.
    assert check(tree(420)) == []
    assert check(tree(950)) == [
        f"nodes/50-extra.yaml:1: warning: details of 'extra' ({lang}) with the blocks shown "
        f"when extra_info=true is 950 characters; about 900 fit a phone screen"
        for lang in ("de", "en")
    ]


def test_a_language_without_word_lists_is_a_warning(
    check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import lang

    only_german = {"de": lang.languages()["de"]}
    monkeypatch.setattr(lang, "languages", lambda: only_german)
    assert check({}) == [
        "bot.yaml:1: warning: language 'en' has no word lists (bot/lang/en.yaml): typed "
        "questions in it are matched without stop words, question words or stemming"
    ]


def test_loading_again_reads_a_changed_file_and_repeats_an_unchanged_ones_problems(
    tmp_path: Path,
) -> None:
    # Files are parsed once per text: a second load must see an edit, and must report an
    # unchanged file's problems at the same lines.
    broken = EXTRA.replace("  checked: 2025-05-01\n", "  checked: 2025-05-01\n  color: red\n")
    tree = write_tree(tmp_path, {"nodes/50-extra.yaml": broken})
    first = [str(p) for p in read_content(tree)[1]]
    again = [str(p) for p in read_content(tree)[1]]
    assert first == again and any("50-extra.yaml:7:" in p and "color" in p for p in first)
    (tree / "nodes/50-extra.yaml").write_text("# moved\n" + broken, encoding="utf-8")
    moved = [str(p) for p in read_content(tree)[1]]
    assert any("50-extra.yaml:8:" in p and "color" in p for p in moved), moved
    (tree / "nodes/50-extra.yaml").write_text(EXTRA, encoding="utf-8")
    assert load_content(tree).nodes["extra"].title["de"] == "Über den Bot"


@pytest.mark.parametrize("field", ["why", "how", "if_not", "instead"])
def test_a_follow_up_answer_must_name_a_node(check: Check, field: str) -> None:
    problems = check(add_to_extra(f"  {field}: objektion\n"))
    assert f"{EXTRA_FILE}:7: '{field}' names unknown node 'objektion'" in problems
