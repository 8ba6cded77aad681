"""Print the measured answer quality at the end of every run that measured it."""

from __future__ import annotations

import pytest

from .qa_set import Summary
from .test_accuracy import FIGURES


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """One line: in-scope accuracy, out-of-scope fallback, wrong-confident, counts."""
    summary: Summary | None = config.stash.get(FIGURES, None)
    if summary is not None:
        terminalreporter.write_line(
            f"answer quality on {summary.n_in} held-out in-scope and {summary.n_out} "
            f"out-of-scope questions: {summary.accuracy:.1%} right, {summary.fallback:.1%} "
            f"fallback, {summary.wrong_confident:.1%} wrong-confident, {summary.clarified:.1%} "
            f"asked which of two topics was meant ({summary.clarified_right:.0%} of those offered "
            "the right one)"
        )
