"""The Dockerfile's steps, replayed without Docker.

Docker builds can't run everywhere the tests do, so this reads the Dockerfile, builds the
package from exactly the files it copies, installs it into a fresh virtual environment the
way ``pip install .`` in the image does, and starts the bot from another directory with the
image's environment: it must find its shipped content and keep its data in ``BOT_DATA_DIR``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, with continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in instructions:
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_image_runs_as_non_root_with_a_data_volume() -> None:
    steps = _instructions()
    words = [w for w, _ in steps]
    assert steps[0][0] == "FROM" and "slim" in steps[0][1]
    users = [rest for w, rest in steps if w == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert words.index("USER") < words.index("CMD")
    volumes = [rest for w, rest in steps if w == "VOLUME"]
    assert volumes and _env(steps)["BOT_DATA_DIR"] in volumes[-1]
    assert [rest for w, rest in steps if w == "CMD"] == ['["python", "-m", "bot", "run"]']


def test_package_built_from_the_copied_files_runs(tmp_path: Path) -> None:
    steps = _instructions()
    context = tmp_path / "src"
    context.mkdir()
    for word, rest in steps:
        if word != "COPY":
            continue
        *sources, dest = shlex.split(rest)
        for source in sources:
            src = ROOT / source
            into_dir = dest.endswith("/") or dest == "." or len(sources) > 1
            target = context / dest / src.name if into_dir else context / dest
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)

    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr

    # The image installs dependencies from PyPI; offline, this venv borrows them from ours.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wheel = next(wheels.glob("*.whl"))
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    # Only now, so pip doesn't find this package already installed there. Plain path lines,
    # appended after the venv's own site-packages: the installed wheel wins over any copy there.
    deps = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    Path(site_dir, "deps.pth").write_text("\n".join(sorted(deps)) + "\n")

    data = tmp_path / "data"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    env.update(_env(steps))
    env["BOT_DATA_DIR"] = str(data)
    env.pop("PYTHONPATH", None)
    # The image's CMD with no credentials and no terminal (a container): one line, exit 2.
    run = subprocess.run(
        [str(python), "-m", "bot", "run"],
        stdin=subprocess.DEVNULL,
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "TELEGRAM_BOT_TOKEN, MATRIX_HOMESERVER: none set" in run.stderr
    assert "Traceback" not in run.stderr
    chat = subprocess.run(
        [str(python), "-m", "bot", "chat"],
        input="/help\n",
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0, chat.stderr
    assert "/forget" in chat.stdout
    located = subprocess.run(
        [str(python), "-c", "import bot; print(bot.__file__)"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert str(env_dir) in located.stdout  # the installed package, not the checkout
    # The console keeps nothing on disk; the chat platforms' runtime keeps its state in the volume.
    assert not data.exists()
    served = subprocess.run(
        [str(python), "-c", SERVE_STATE],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 0, served.stderr
    assert (data / "secret").exists()
    assert any(data.glob("sessions*"))


SERVE_STATE = """
import asyncio
from bot.runtime import Conversation, Runtime
from bot.events import Start

async def main():
    runtime = await Runtime.from_settings()
    await runtime.handle(Conversation("telegram", "1", "1"), Start())
    await runtime.close()

asyncio.run(main())
"""
