"""The wheel: it carries the content and works installed, away from the source tree.

Slower than the rest (builds and installs a wheel, a few seconds), but it is the only test
that sees what users get from ``pip install``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
        env=env,
        input=input,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "-w",
        out,
        REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed into its own directory (dependencies come from the test venv)."""
    target = tmp_path_factory.mktemp("site")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        "--target",
        target,
        wheel,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_wheel_contains_code_and_content(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "bot/__main__.py" in names
    assert "bot/shipped_content/bot.yaml" in names
    assert any(re.fullmatch(r"bot/shipped_content/nodes/[^/]+\.yaml", n) for n in names)
    # Every content file of the source tree is shipped.
    shipped = {n.removeprefix("bot/shipped_content/") for n in names if "shipped_content" in n}
    source = {str(p.relative_to(REPO / "content")) for p in (REPO / "content").rglob("*.yaml")}
    assert source <= shipped
    # Tests, benchmarks and local data stay out.
    assert not [n for n in names if n.startswith(("tests/", "bench/", "data/", "content/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_package_finds_its_content(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "PYTHON"))}
    env["PYTHONPATH"] = str(installed)
    probe = run(
        sys.executable,
        "-c",
        "import bot, bot.content as c; print(bot.__file__); print(c.default_content_dir())",
        cwd=elsewhere,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    module, content_dir = probe.stdout.splitlines()
    assert Path(module).is_relative_to(installed)
    assert Path(content_dir) == installed / "bot" / "shipped_content"

    done = run(sys.executable, "-m", "bot", "check", cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"OK: \d+ nodes, languages: de, en, fr, es, it, nl, pl(, \d+ warning\(s\))?", last
    ), last
    assert "Traceback" not in done.stderr

    ask = run(
        sys.executable,
        "-m",
        "bot",
        "ask",
        "--json",
        cwd=elsewhere,
        env=env,
        input="Wie widerspreche ich bei Instagram?\n",
    )
    assert ask.returncode == 0, ask.stderr
    assert '"question": "Wie widerspreche ich bei Instagram?"' in ask.stdout


def test_console_script_is_installed(installed: Path, tmp_path: Path) -> None:
    script = installed / "bin" / "meta-ai-bot"
    assert script.is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "PYTHON"))}
    env["PYTHONPATH"] = str(installed)
    done = run(sys.executable, script, "graph", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("flowchart LR\n")
