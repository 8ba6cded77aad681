"""Asked questions (``content/questions/<lang>.tsv``, :mod:`bot.content.questions`): read by the
dense signal beside the pages' examples, kept in step with the tune questions they are made of."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.tree import write_tree

from bot.content import load_content
from bot.content.cache import content_key
from bot.matching import Matcher

REPO = Path(__file__).resolve().parent.parent
ASKED = "node\tquestion\n# a comment\nextra\tWer steckt hinter dir?\n-\tWie wird das Wetter?\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "content", {"questions/de.tsv": ASKED})


def test_asked_questions_are_read_with_their_nodes(tree: Path) -> None:
    content = load_content(tree)
    asked = content.asked["de"]
    assert [(a.node, a.text) for a in asked] == [
        ("extra", "Wer steckt hinter dir?"),
        (None, "Wie wird das Wetter?"),
    ]
    assert "en" not in content.asked
    assert content.without_asked().asked == {}
    assert content.without_asked().nodes == content.nodes


def test_the_dense_signal_reads_them_at_their_node_and_the_off_topic_class(tree: Path) -> None:
    index = Matcher(load_content(tree), embedder=None).indexes["de"]
    extra = index.node_ids.index("extra")
    assert "Wer steckt hinter dir?" in index.position_texts[extra]
    # The tree lists no off-topic requests: no class for the question no page answers.
    assert index.off_topic is None
    assert not any("Wie wird das Wetter?" in texts for texts in index.position_texts)
    shipped = load_content(REPO / "content")
    off = next(a.text for a in shipped.asked["de"] if a.node is None)
    de = Matcher(shipped, embedder=None).indexes["de"]
    assert de.off_topic is not None and off in de.position_texts[de.off_topic]
    # Never in the words' ranking: the same words score the same with and without them.
    without = Matcher(load_content(tree).without_asked(), embedder=None).indexes["de"]
    ranked = index.rank("Wer steckt hinter dir?")
    alone = without.rank("Wer steckt hinter dir?")
    assert ranked is not None and alone is not None
    assert list(ranked.order) == list(alone.order)
    assert ranked.scores.tolist() == alone.scores.tolist()


def test_an_asked_question_said_word_for_word_has_its_page(tree: Path) -> None:
    # Lexical only: the words alone would leave so short a question to the model.
    matcher = Matcher(load_content(tree), embedder=None)
    found = matcher.match("wer steckt hinter dir", "de")
    assert (found.node, found.matched) == ("extra", True)
    assert matcher.indexes["de"].exact_owner("Wer steckt hinter dir?") is not None
    # Without the asked questions, nothing says so word for word.
    alone = Matcher(load_content(tree).without_asked(), embedder=None).indexes["de"]
    assert alone.exact_owner("Wer steckt hinter dir?") is None
    # A reader's wording never outranks a page's own: every wording the shipped titles,
    # keywords and examples own keeps its owner.
    shipped = load_content(REPO / "content")
    de = Matcher(shipped, embedder=None).indexes["de"]
    own = Matcher(shipped.without_asked(), embedder=None).indexes["de"]
    for with_asked, alone_exact in zip(de.exact, own.exact, strict=True):
        assert all(with_asked[key] == owner for key, owner in alone_exact.items())


def test_a_changed_question_file_is_another_content(tree: Path) -> None:
    before = content_key(tree)
    (tree / "questions" / "de.tsv").write_text(ASKED + "extra\tBist du ein Mensch?\n")
    assert content_key(tree) != before
    changed = content_key(tree)
    (tree / "questions" / "de.tsv").unlink()
    assert content_key(tree) not in (before, changed)


def test_the_shipped_questions_are_the_tune_questions_but_the_newest_batch() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "asked_questions.py")],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    content = load_content(REPO / "content")
    asked = {a.text for qs in content.asked.values() for a in qs}
    newest = [
        line.split("\t")[3]
        for path in [
            *REPO.glob("tests/qa/questions-fresh-*.tsv"),
            *REPO.glob("tests/qa/languages-tune/*-fresh-*.tsv"),
        ]
        if path.stem.endswith(f"-{_newest()}")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("tune\t")
    ]
    assert newest and not asked & {" ".join(t.split()) for t in newest}


def _newest() -> int:
    return max(
        int(p.stem.rsplit("-", 1)[1])
        for p in [
            *REPO.glob("tests/qa/questions-fresh-*-*.tsv"),
            *REPO.glob("tests/qa/languages-tune/*-fresh-*.tsv"),
        ]
    )


@pytest.mark.parametrize(
    ("text", "lang", "node"),
    [
        ("meine tochter ist 15 und hat insta, werden ihre sachen auch genommen?", "de", "children"),
        ("passo passo per facebook, cosa devo compilare nel modulo?", "it", "object-facebook"),
        ("po co im w ogole moje posty", "pl", "why-meta"),
    ],
)
def test_a_wording_readers_used_reaches_its_page(text: str, lang: str, node: str) -> None:
    # Asked questions of the shipped content, answered surer than by the pages' own examples.
    content = load_content(REPO / "content")
    result = Matcher(content).match(text, lang)
    alone = Matcher(content.without_asked()).match(text, lang)
    assert result.matched and result.node == node
    assert result.score > alone.score
