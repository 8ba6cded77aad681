"""``check`` reports every warning it did before warnings left the serving path.

``tests/fixtures/check_warnings`` is the test tree plus defects that only warn (synonyms,
off-topic entries, stale nodes, text blocks too long for a phone screen when shown together);
``check_warnings.expected`` is what ``python -m bot check`` printed for it when the bot still
computed every warning on each load.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.content import load_content, read_content

REPO = Path(__file__).resolve().parent.parent
TREE = Path("tests/fixtures/check_warnings")
EXPECTED = REPO / "tests" / "fixtures" / "check_warnings.expected"


def test_check_prints_the_same_warnings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # problems name files relative to the working directory
    assert main(["check", str(TREE)]) == 0
    out, err = capsys.readouterr()
    assert out + err == EXPECTED.read_text(encoding="utf-8")


def test_the_bot_loads_the_tree_without_computing_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    _, problems, _ = read_content(TREE, warnings=False)
    assert not any("phone screen" in p.message for p in problems)
    assert len(load_content(TREE).nodes) == 6
