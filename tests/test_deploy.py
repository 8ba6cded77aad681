"""The deployment files: the image's health probe against a running bot, the compose file,
the systemd unit, and the settings they name.

Docker and systemd do not run here; the files are read the way they would read them (YAML,
the unit's ``key=value`` lines) and the one command that runs inside the container, the
health probe, is run for real against ``python -m bot run`` on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(ROOT / "tests" / "telegram"))

from fake_bot_api import FakeBotApi  # noqa: E402

WAIT = 30.0
VARIABLE = re.compile(r"\b((?:BOT|TELEGRAM|MATRIX|WEB)_[A-Z][A-Z_]*[A-Z])\b")


# -- reading the files -------------------------------------------------------------------


def dockerfile_steps() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        word, _, rest = (pending + line).partition(" ")
        pending = ""
        steps.append((word.upper(), rest.strip()))
    return steps


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile_steps():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def healthcheck() -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options (``{"interval": "30s", ...}``) and its exec-form command."""
    [rest] = [rest for word, rest in dockerfile_steps() if word == "HEALTHCHECK"]
    options, _, command = rest.partition(" CMD ")
    parsed = dict(opt.removeprefix("--").split("=", 1) for opt in options.split())
    return parsed, json.loads(command)


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def unit() -> dict[str, list[tuple[str, str]]]:
    """The systemd unit as ``{section: [(key, value), ...]}``; keys may repeat, as in systemd."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in (DEPLOY / "meta-ai-bot.service").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"not key=value: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def documented_variables() -> set[str]:
    """Every variable in the first cell of a settings table in README.md or docs/*.md."""
    names: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in doc.read_text(encoding="utf-8").splitlines():
            if line.startswith("| `"):
                names |= set(VARIABLE.findall(line.split("|")[1]))
    return names


# -- the health probe against a running bot ----------------------------------------------


class Output:
    """The bot's combined output, read as it comes; waits are for lines, with a timeout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.text = ""
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            async with self._changed:
                self.text += line.decode(errors="replace")
                self._changed.notify_all()

    async def wait_for(self, pattern: str) -> re.Match[str]:
        regex = re.compile(pattern)
        try:
            async with asyncio.timeout(WAIT), self._changed:
                await self._changed.wait_for(lambda: regex.search(self.text) is not None)
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in the output:\n{self.text}") from None
        found = regex.search(self.text)
        assert found is not None
        return found

    async def close(self) -> None:
        await self._reader


@asynccontextmanager
async def running_bot(api: FakeBotApi, data: Path) -> AsyncIterator[tuple[Output, int]]:
    """``python -m bot run`` with Telegram and the health listener on a free loopback port."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{api.port}",
        TELEGRAM_POLL_TIMEOUT="1",
        TELEGRAM_REQUEST_TIMEOUT="20",
        BOT_DATA_DIR=str(data),
        BOT_HTTP_LISTEN="127.0.0.1:0",
        PYTHONUNBUFFERED="1",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = Output(proc)
    try:
        port = int((await output.wait_for(r"http://127\.0\.0\.1:(\d+)/healthz")).group(1))
        yield output, port
        proc.terminate()
        async with asyncio.timeout(WAIT):
            assert await proc.wait() == 0, output.text
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await output.close()
    assert "Traceback" not in output.text, output.text


async def probe(command: list[str], listen: str) -> tuple[int, str]:
    """Run the container's health command here: its ``python`` is ours, the image's env."""
    assert command[0] == "python"
    env = {**os.environ, **image_env(), "BOT_HTTP_LISTEN": listen}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(WAIT):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode(errors="replace")


async def test_healthcheck_passes_only_while_the_bot_is_ready(tmp_path: Path) -> None:
    options, command = healthcheck()
    assert image_env()["BOT_HTTP_LISTEN"] == "127.0.0.1:8080"
    # The probe must give up before Docker does.
    assert options["timeout"] == "5s" and "timeout=4" in command[-1]

    async with FakeBotApi() as api:
        # Nothing listening: the probe fails.
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            unused = free.getsockname()[1]
        code, said = await probe(command, f"127.0.0.1:{unused}")
        assert code == 1
        assert "Connection refused" in said

        # Telegram answers its first setMyCommands late, so for those seconds the bot runs,
        # serves /healthz, but has not connected Telegram yet.
        api.fail("setMyCommands", "slow", delay=6.0)
        async with running_bot(api, tmp_path / "data") as (output, port):
            code, said = await probe(command, f"127.0.0.1:{port}")
            assert code == 1
            assert "HTTP Error 503" in said
            assert "Telegram bot @" not in output.text  # still not connected after the probe

            await output.wait_for(r"Telegram bot @TestBot running")
            assert await probe(command, f"127.0.0.1:{port}") == (0, "")
            # The compose file's listener (all interfaces) is probed on loopback as well.
            bot_env = compose_bot()["environment"]
            assert bot_env["BOT_HTTP_LISTEN"] == "0.0.0.0:8080"
            assert await probe(command, f"0.0.0.0:{port}") == (0, "")
        assert api.violations == []


# -- compose -----------------------------------------------------------------------------


def compose_bot() -> dict[str, object]:
    services = compose()["services"]
    assert isinstance(services, dict)
    bot = services["bot"]
    assert isinstance(bot, dict)
    return bot


def test_compose_runs_the_image_with_redis_a_volume_and_an_env_file() -> None:
    spec = compose()
    services = spec["services"]
    assert isinstance(services, dict)
    assert set(services) == {"bot", "redis"}
    bot, redis = services["bot"], services["redis"]

    # Built from this repository's Dockerfile.
    build = bot["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"

    env = bot["environment"]
    assert env["BOT_STORE"] == "redis://redis:6379/0"
    assert env["BOT_DATA_DIR"] == image_env()["BOT_DATA_DIR"] == "/data"
    # The data directory is a named volume, declared at the top level.
    mounts = [m.split(":") for m in bot["volumes"]]
    assert ["bot-data", "/data"] in mounts
    assert "bot-data" in spec["volumes"]

    # Settings come from an env file made from the example next to the compose file.
    assert bot["env_file"] == "bot.env"
    assert (DEPLOY / "bot.env.example").is_file()

    assert bot["restart"] == redis["restart"] == "unless-stopped"
    assert bot["depends_on"] == {"redis": {"condition": "service_healthy"}}

    # The same probe as the image's, with the same timings.
    options, command = healthcheck()
    check = bot["healthcheck"]
    assert check["test"] == ["CMD", *command]
    for key in ("interval", "timeout", "retries"):
        assert str(check[key]) == options[key]
    assert check["start_period"] == options["start-period"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert redis["image"].startswith("redis:")
    assert any(m.endswith(":/data") for m in redis["volumes"])

    # Health and metrics are published on the host's loopback only.
    assert bot["ports"] == ["127.0.0.1:8080:8080"]
    # No "$": compose would substitute it.
    assert "$" not in (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")


# -- systemd -----------------------------------------------------------------------------


def test_systemd_unit_runs_the_venv_reloads_on_sighup_and_is_hardened() -> None:
    sections = unit()
    assert set(sections) == {"Unit", "Service", "Install"}
    service = sections["Service"]
    [start] = values(service, "ExecStart")
    python, *args = shlex.split(start)
    assert python.startswith("/") and python.endswith("/bin/python")
    assert args == ["-m", "bot", "run"]
    assert values(service, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert values(service, "EnvironmentFile") == ["/etc/meta-ai-bot/bot.env"]

    [state] = values(service, "StateDirectory")
    env = dict(
        item.split("=", 1) for line in values(service, "Environment") for item in shlex.split(line)
    )
    assert env["BOT_DATA_DIR"] == f"%S/{state}"  # %S is /var/lib
    assert env["BOT_HTTP_LISTEN"] == "127.0.0.1:9090"

    assert values(service, "DynamicUser") == ["yes"] or values(service, "User")
    assert values(service, "ProtectSystem") == ["strict"]
    assert values(service, "NoNewPrivileges") == ["yes"]
    assert values(service, "ProtectHome") == ["yes"]
    assert values(service, "PrivateTmp") == ["yes"]
    # A wrong setting (status 2) is not restarted in a loop; other failures are.
    assert values(service, "Restart") == ["on-failure"]
    assert values(service, "RestartPreventExitStatus") == ["2"]
    assert values(service, "KillSignal") == ["SIGTERM"]
    assert values(sections["Install"], "WantedBy") == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    text = (DEPLOY / "meta-ai-bot.service").read_text(encoding="utf-8")
    [start] = values(unit()["Service"], "ExecStart")
    # The venv of the example does not exist here; this interpreter stands in for it.
    copy = tmp_path / "meta-ai-bot.service"
    copy.write_text(text.replace(shlex.split(start)[0], sys.executable), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr


# -- settings ------------------------------------------------------------------------------


def test_every_variable_in_the_deploy_files_is_documented() -> None:
    documented = documented_variables()
    assert {"BOT_DATA_DIR", "BOT_HTTP_LISTEN", "BOT_STORE", "TELEGRAM_BOT_TOKEN"} <= documented
    for path in sorted(DEPLOY.iterdir()):
        named = set(VARIABLE.findall(path.read_text(encoding="utf-8")))
        assert named - documented == set(), path.name
    for word, rest in dockerfile_steps():
        assert set(VARIABLE.findall(rest)) - documented == set(), word


def test_env_example_names_every_documented_variable_and_sets_none() -> None:
    lines = (DEPLOY / "bot.env.example").read_text(encoding="utf-8").splitlines()
    assert all(not line or line.startswith("#") for line in lines)
    examples = [m.group(1) for line in lines if (m := re.match(r"# ([A-Z_]+)=", line))]
    assert len(examples) == len(set(examples))
    assert set(examples) == documented_variables()
    # Each variable's block starts with a line saying what it is for.
    for i, line in enumerate(lines):
        if re.match(r"# [A-Z_]+=", line):
            block = i
            while re.match(r"# [A-Z_]+=", lines[block - 1]):
                block -= 1
            assert lines[block - 1].startswith("# ") and "=" not in lines[block - 1][:20], line


# -- README ------------------------------------------------------------------------------


def test_readme_keeps_two_setup_commands_and_names_the_deploy_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fences = re.findall(r"^```(\w*)$", readme, re.M)
    # Opening fences only (every other one); the set-up commands are the only sh blocks.
    languages = fences[::2]
    assert languages.count("sh") == 2
    assert languages[:2] == ["sh", "sh"]
    _, _, deployment = readme.partition("\n## Deployment\n")
    assert deployment, "no Deployment section"
    deployment = deployment.split("\n## ", 1)[0]
    assert "```sh" not in deployment and "```console" in deployment
    for name in (
        "deploy/docker-compose.yml",
        "deploy/bot.env.example",
        "deploy/meta-ai-bot.service",
    ):
        assert name in deployment and (ROOT / name).is_file()
    assert "run --check-content" in deployment and "kill -s HUP" in deployment
    assert "docs/operations.md" in deployment
