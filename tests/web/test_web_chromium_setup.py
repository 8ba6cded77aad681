"""The browser tests' set-up: on a fresh machine, as root with apt-get, Chromium and its driver
are installed once; otherwise the browser tests are skipped with a reason. A fake apt-get
stands in for the real one here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from . import browser


def fake_apt(directory: Path, chromium: Path, driver: Path, *, fail: bool = False) -> Path:
    """An apt-get that records its calls and, on install, creates the two programs."""
    script = directory / "apt-get"
    calls = directory / "calls"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        + ("exit 100\n" if fail else "")
        + f'if [ "$1" = install ]; then touch {chromium} {driver}; fi\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return calls


@pytest.fixture
def missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    chromium, driver = tmp_path / "chromium", tmp_path / "chromedriver"
    monkeypatch.setattr(browser, "CHROMIUM", chromium)
    monkeypatch.setattr(browser, "CHROMEDRIVER", driver)
    monkeypatch.setattr(browser, "INSTALL_LOG", tmp_path / "apt-install.log")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return chromium, driver


def test_installs_chromium_as_root_with_apt(
    missing: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_apt(tmp_path, *missing)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert browser.ensure_chromium() is None
    assert calls.read_text().splitlines() == [
        "update",
        "install -y --no-install-recommends chromium chromium-driver",
    ]
    # Installed now: nothing more to do.
    assert browser.ensure_chromium() is None
    assert len(calls.read_text().splitlines()) == 2


def test_a_failed_install_skips_with_the_log(
    missing: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_apt(tmp_path, *missing, fail=True)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    reason = browser.ensure_chromium()
    assert reason is not None and "update failed (100)" in reason
    assert str(tmp_path / "apt-install.log") in reason


def test_without_root_it_says_what_to_install(
    missing: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_apt(tmp_path, *missing)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = browser.ensure_chromium()
    assert reason is not None and "apt-get install chromium chromium-driver" in reason
    assert not calls.exists()
