"""Translation export and import: PO files that translators' tools read, written back into YAML."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
import yaml

from bot.content import load_content
from bot.content.translations import content_files, export, import_po, review_problems, texts

REPO = Path(__file__).resolve().parent.parent
FLOW_PT = re.compile(r", pt: (\[[^\]]*\]|\"[^\"]*\"|'(?:[^']|'')*'|[^,}]*)(?=})")
SHIPPED = REPO / "content"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the shipped content that a test may change."""
    target = tmp_path / "content"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("translations"))
    return target


def _translate_all(po: polib.POFile, lang: str = "fr") -> None:
    """A stand-in translator: every text gets a marked copy of its source."""
    for entry in po:
        lines = entry.msgid.split("\n")
        if "list" in entry.flags:
            entry.msgstr = "\n".join(lines)
        else:
            entry.msgstr = "\n".join(f"«{lang}» {line}" if line else line for line in lines)


def test_round_trip_keeps_every_line_and_loads(tree: Path) -> None:
    before = {p: p.read_text(encoding="utf-8") for p in content_files(tree)}
    po_path = tree / "translations" / "pt.po"
    po = export(tree, "pt", po_path)
    assert len(po) > 400
    # Every entry says where it lives: context and file:line for the translator's tool.
    first = po[0]
    assert first.msgctxt and first.occurrences
    assert all(not e.msgstr for e in po), "nothing is translated into pt yet"
    _translate_all(po, "pt")
    po.save()

    result = import_po(tree, po_path)
    assert result.written == len(po)
    assert result.unknown == ()

    for path, old in before.items():
        new = path.read_text(encoding="utf-8")
        old_lines = old.splitlines()
        # Only lines were added (or, in a one-line {de: …, en: …} mapping, the pt entry at
        # its end): every original line, comments included, is still there, in order.
        new_lines = [FLOW_PT.sub("", line) for line in new.splitlines()]
        it = iter(new_lines)
        assert all(line in it for line in old_lines), f"{path.name} lost or reordered lines"

    meta = tree / "bot.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace(
            "languages: [de, en, fr, es, it, nl, pl]", "languages: [de, en, fr, es, it, nl, pl, pt]"
        ),
        encoding="utf-8",
    )
    content = load_content(tree)
    assert "pt" in content.languages
    node = content.nodes["how-to-object"]
    assert node.title["pt"] == "«pt» " + node.title["en"]
    today = dt.date(2026, 12, 3)
    assert node.text_for("pt", today).startswith("«pt» ")
    # Word lists stay words, not booleans: "no" and "yes" are strings after the trip.
    raw = yaml.safe_load(meta.read_text(encoding="utf-8"))
    assert raw["yes_no_words"]["pt"] == raw["yes_no_words"]["en"]
    assert raw["durations"]["pt"] == raw["durations"]["en"]
    assert raw["synonyms"]["pt"] == raw["synonyms"]["en"]

    # Exporting again gives back exactly what was imported.
    again = export(tree, "pt", tree / "translations" / "pt-again.po")
    assert {e.msgctxt: e.msgstr for e in again} == {e.msgctxt: e.msgstr for e in po}


def test_a_comment_about_the_next_block_stays_before_it(tmp_path: Path) -> None:
    """A language added at the end of a text goes above a comment that introduces the next
    node, a list item or a nested mapping, not below it."""
    tree = tmp_path / "content"
    shutil.copytree(SHIPPED, tree, ignore=shutil.ignore_patterns("translations"))
    nodes = tree / "nodes" / "99-comments.yaml"
    nodes.write_text(
        "- id: comment-a\n"
        "  title: {de: A, en: A}\n"
        "  text:\n"
        "    de: Erster Text.\n"
        "    en: First text.\n"
        "  # About comment-b: a scalar text above.\n"
        "- id: comment-b\n"
        "  title: {de: B, en: B}\n"
        "  text:\n"
        "    de: Zweiter Text.\n"
        "    en: Second text.\n"
        "  questions:\n"
        "    de:\n"
        "    - Was ist B?\n"
        "    en:\n"
        "    - What is B?\n"
        "  # About the end: a list above.\n",
        encoding="utf-8",
    )
    po_path = tree / "translations" / "pt.po"
    po = export(tree, "pt", po_path)
    _translate_all(po, "pt")
    po.save()
    import_po(tree, po_path)

    lines = nodes.read_text(encoding="utf-8").splitlines()
    at = {line.strip(): i for i, line in enumerate(lines)}
    assert at["pt: «pt» First text."] < at["# About comment-b: a scalar text above."]
    assert at["# About comment-b: a scalar text above."] == at["- id: comment-b"] - 1
    assert at["- What is B?"] < at["# About the end: a list above."] == len(lines) - 1
    assert lines[at["# About the end: a list above."] - 2].strip() == "pt:"


def test_a_comment_after_a_list_of_groups_stays_before_the_next_key(tree: Path) -> None:
    """A language's synonym groups added after the last language's list go above the comment
    that introduces the next setting, which the parser keeps as that list's end, not below
    it: the file comes back as it was before that language was removed."""
    settings = tree / "bot.yaml"
    shipped = settings.read_text(encoding="utf-8")
    po_path = tree / "translations" / "pl.po"
    export(tree, "pl", po_path)
    start = shipped.index("\n  pl:\n    - [", shipped.index("\nsynonyms:\n"))
    end = shipped.index("\n\n# Words people end", start)
    settings.write_text(shipped[:start] + shipped[end:], encoding="utf-8")

    result = import_po(tree, po_path, "pl")

    assert result.written == 1
    assert settings.read_text(encoding="utf-8") == shipped


def test_changed_source_is_flagged_for_review(tree: Path) -> None:
    po_path = tree / "translations" / "fr.po"
    po = export(tree, "fr", po_path)
    _translate_all(po)
    po.save()
    import_po(tree, po_path)
    assert review_problems(tree) == []

    # An author rewrites one English title after it was translated.
    nodes = tree / "nodes" / "20-object.yaml"
    text = nodes.read_text(encoding="utf-8")
    nodes.write_text(
        text.replace("en: How do I object?", "en: How do I object to the training?", 1),
        encoding="utf-8",
    )
    problems = review_problems(tree)
    assert [p.level for p in problems] == ["warning"]
    assert "how-to-object/title" in problems[0].message
    assert problems[0].file.endswith("20-object.yaml") and problems[0].line > 0
    # Importing the old PO file again does not write the translation of the old English.
    again = import_po(tree, po_path)
    assert (again.written, again.skipped_changed) == (0, 1)

    # The next export marks it fuzzy with the old source, keeping the old translation...
    po = export(tree, "fr", po_path)
    entry = next(e for e in po if e.msgctxt == "how-to-object/title")
    assert "fuzzy" in entry.flags
    assert entry.previous_msgid == "How do I object?"
    assert entry.msgid == "How do I object to the training?"
    assert entry.msgstr == "«fr» How do I object?"
    # ...and an import leaves fuzzy entries out until a translator has reviewed them.
    result = import_po(tree, po_path)
    assert result.skipped_fuzzy == 1
    entry.msgstr = "Comment m'opposer à l'entraînement ?"
    entry.flags.remove("fuzzy")
    po.save()
    import_po(tree, po_path)
    assert review_problems(tree) == []
    mine = next(t for t in texts(tree, "fr") if t.context == "how-to-object/title")
    assert mine.target == "Comment m'opposer à l'entraînement ?"


def test_texts_changed_in_every_language_in_the_yaml_are_taken_from_there(tree: Path) -> None:
    """An author who rewrote a text in the YAML in every language exported, cleared the
    review marks, and so kept the old translations in the PO file: the next import would have
    brought them back."""
    po_path = tree / "translations" / "fr.po"
    export(tree, "fr", po_path)
    nodes = tree / "nodes" / "20-object.yaml"
    text = nodes.read_text(encoding="utf-8")
    text = text.replace("en: How do I object?", "en: How do I object for free?", 1)
    french = next(t.target for t in texts(tree, "fr") if t.context == "how-to-object/title")
    assert french is not None
    text = text.replace(f"fr: {french}", "fr: Comment m'opposer gratuitement ?", 1)
    # Only the English of another title: its French still needs review.
    text = text.replace("en: Objecting on Facebook", "en: Objecting through Facebook", 1)
    nodes.write_text(text, encoding="utf-8")
    assert "fr: Comment m'opposer gratuitement ?" in text
    po = export(tree, "fr", po_path, from_yaml=True)
    title = next(e for e in po if e.msgctxt == "how-to-object/title")
    assert title.msgstr == "Comment m'opposer gratuitement ?" and "fuzzy" not in title.flags
    other = next(e for e in po if e.msgctxt == "object-facebook/title")
    assert "fuzzy" in other.flags and other.previous_msgid == "Objecting on Facebook"
    result = import_po(tree, po_path)
    assert result.written == 0, "the YAML already holds every current translation"


def test_cli_export_and_import(tree: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--content", str(tree), "translate", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )

    done = run("export", "--lang", "nl")
    assert done.returncode == 0, done.stderr
    po_path = tree / "translations" / "nl.po"
    assert po_path.is_file()
    assert "to translate or review" in done.stdout
    po = polib.pofile(str(po_path))
    assert po.metadata["Language"] == "nl"
    entry = next(e for e in po if e.msgctxt == "bot.yaml/strings/back")
    entry.msgstr = "◀ Terug"
    po.save()
    done = run("import", str(po_path))
    assert done.returncode == 0, done.stderr
    assert "texts written" in done.stdout
    raw = yaml.safe_load((tree / "bot.yaml").read_text(encoding="utf-8"))
    assert raw["strings"]["back"]["nl"] == "◀ Terug"

    bad = run("export")
    assert bad.returncode == 2 and "--lang" in bad.stderr
    bad = run("export", "--lang", "french")
    assert bad.returncode == 2 and "two-letter" in bad.stderr


@pytest.mark.parametrize("lang", ["fr", "es", "it", "nl", "pl"])
def test_the_shipped_po_files_hold_the_contents_translations(tree: Path, lang: str) -> None:
    """A text edited in the YAML is edited in its PO file too: else the next import (a
    volunteer's Weblate round) silently brings the old wording back."""
    result = import_po(tree, SHIPPED / "translations" / f"{lang}.po")
    assert (result.written, result.skipped_fuzzy, result.skipped_changed) == (0, 0, 0), (
        f"translations/{lang}.po differs from the YAML: after changing a text in every "
        f"language, run 'python -m bot translate export --lang {lang} --from-yaml'"
    )
    assert result.unknown == ()


def test_a_translation_in_a_bracketed_list_keeps_its_commas(tmp_path: Path) -> None:
    # Written plain inside [...], "Par courrier, ça marche ?" would be two items and "online?"
    # no YAML at all.
    tree = tmp_path / "content"
    tree.mkdir()
    (tree / "bot.yaml").write_text(
        'thanks: {en: ["ok"], fr: ["ok"]}\n'
        'how_are_you: {en: ["by post, does that work?", "how are you"], fr: []}\n',
        encoding="utf-8",
    )
    po = polib.POFile()
    po.append(
        polib.POEntry(
            msgctxt="bot.yaml/how_are_you",
            msgid="by post, does that work?\nhow are you",
            msgstr="Par courrier, ça marche ?\nen ligne?\n[bien] {ou} quoi: # non",
            flags=["list"],
        )
    )
    path = tmp_path / "fr.po"
    po.save(str(path))
    import_po(tree, path, "fr")
    back = yaml.safe_load((tree / "bot.yaml").read_text(encoding="utf-8"))
    assert back["how_are_you"]["fr"] == [
        "Par courrier, ça marche ?",
        "en ligne?",
        "[bien] {ou} quoi: # non",
    ]
