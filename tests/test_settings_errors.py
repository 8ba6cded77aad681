"""Every bad setting gets one clear line naming the variable and the fix, exit status 2, and
no traceback; the values the README calls valid work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

TOKEN = {"TELEGRAM_BOT_TOKEN": "123456:TEST-token", "TELEGRAM_BASE_URL": "http://127.0.0.1:9"}
MATRIX = {"MATRIX_HOMESERVER": "http://127.0.0.1:9"}
SECRET = {"BOT_SECRET": "k" * 32}

# (environment, command, the variable the message must start with, a word of what is wrong)
BAD: list[tuple[dict[str, str], tuple[str, ...], str, str]] = [
    ({"BOT_SESSION_TTL": "garbage"}, ("run",), "BOT_SESSION_TTL", "ISO 8601"),
    ({"BOT_SESSION_TTL": "0"}, ("run",), "BOT_SESSION_TTL", "longer than 0"),
    ({"BOT_SESSION_TTL": ""}, ("run",), "BOT_SESSION_TTL", "empty"),
    ({"BOT_SESSION_TTL": "-5"}, ("run",), "BOT_SESSION_TTL", "3600"),
    ({"BOT_SESSION_TTL": "garbage"}, ("ask",), "BOT_SESSION_TTL", "ISO 8601"),
    ({"BOT_LOG_LEVEL": "loud"}, ("run",), "BOT_LOG_LEVEL", "DEBUG"),
    ({}, ("graph", "--lang", "xx"), "--lang", "de, en"),
    ({"BOT_DATA_DIR": "/etc/hostname", **TOKEN}, ("run",), "BOT_DATA_DIR", "is a file"),
    ({"TELEGRAM_BOT_TOKEN": "garbage"}, ("run",), "TELEGRAM_BOT_TOKEN", "@BotFather"),
    ({"TELEGRAM_BOT_TOKEN": "   "}, ("run",), "TELEGRAM_BOT_TOKEN", "empty"),
    ({"TELEGRAM_BOT_TOKEN_FILE": "/nonexistent"}, ("run",), "TELEGRAM_BOT_TOKEN_FILE", "path"),
    ({**TOKEN, "TELEGRAM_MODE": "webhok"}, ("run",), "TELEGRAM_MODE", "'webhook'"),
    ({**TOKEN, "TELEGRAM_MODE": "webhook"}, ("run",), "TELEGRAM_WEBHOOK_URL", "HTTPS"),
    ({**TOKEN, "TELEGRAM_WEBHOOK_URL": "http://x"}, ("run",), "TELEGRAM_WEBHOOK_URL", "https"),
    ({**TOKEN, "TELEGRAM_WEBHOOK_PORT": "high"}, ("run",), "TELEGRAM_WEBHOOK_PORT", "number"),
    ({**TOKEN, "TELEGRAM_POLL_TIMEOUT": "1.5s"}, ("run",), "TELEGRAM_POLL_TIMEOUT", "number"),
    ({**TOKEN, "TELEGRAM_RATE_LIMIT": "maybe"}, ("run",), "TELEGRAM_RATE_LIMIT", "true or false"),
    ({**TOKEN, "TELEGRAM_BASE_URL": "ftp://x"}, ("run",), "TELEGRAM_BASE_URL", "http"),
    # A well-formed token, a Bot API address where nothing listens: found only once started,
    # after the start-up log lines (which WARNING leaves out).
    (
        {
            "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
            "TELEGRAM_BASE_URL": "http://127.0.0.1:9",
            "BOT_LOG_LEVEL": "WARNING",
        },
        ("run",),
        "TELEGRAM_BASE_URL",
        "cannot reach the Bot API at http://127.0.0.1:9",
    ),
    ({"TELEGRAM_MODE": "webhook"}, ("run",), "TELEGRAM_BOT_TOKEN", "not set"),
    (MATRIX, ("run",), "MATRIX_USER_ID", "not set"),
    ({**MATRIX, "MATRIX_USER_ID": "@b:x"}, ("run",), "MATRIX_PASSWORD", "not set"),
    ({}, ("run",), "TELEGRAM_BOT_TOKEN", "no terminal"),
    ({"BOT_STORE": "postgres://db/bot", **TOKEN}, ("run",), "BOT_STORE", "redis://"),
    ({"BOT_STORE": "redis://", **TOKEN}, ("run",), "BOT_STORE", "no host"),
    ({"BOT_STORE": "redis://h:port", **TOKEN}, ("run",), "BOT_STORE", "port"),
    ({"BOT_STORE": "unix://", **TOKEN}, ("run",), "BOT_STORE", "socket"),
    ({"BOT_STORE": "redis://127.0.0.1:9/0", **TOKEN}, ("run",), "BOT_SECRET", "same BOT_SECRET"),
    (
        {"BOT_STORE": "redis://127.0.0.1:9/0", **TOKEN, **SECRET},
        ("run",),
        "BOT_STORE",
        "cannot reach",
    ),
    (
        {"BOT_STORE": "unix:///no/redis.sock", **TOKEN, **SECRET},
        ("run",),
        "BOT_STORE",
        "cannot reach",
    ),
    ({"BOT_STORE_PREFIX": "my bot", **TOKEN}, ("run",), "BOT_STORE_PREFIX", "without spaces"),
]


def run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, "BOT_DATA_DIR": str(cwd / "data"), **env},
    )


@pytest.mark.parametrize(
    ("env", "args", "variable", "why"),
    BAD,
    ids=[f"{a[0]}-{'-'.join(f'{k}={v}' for k, v in e.items())}"[:60] for e, a, _, _ in BAD],
)
def test_bad_setting_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], variable: str, why: str
) -> None:
    done = run(env, *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(variable), lines[0]
    assert why in lines[0], lines[0]


@pytest.mark.parametrize("url", ["redis://:hunter2-pw@127.0.0.1:9/0", "ftp://me:hunter2-pw@host/"])
def test_store_password_is_never_shown(tmp_path: Path, url: str) -> None:
    done = run({"BOT_STORE": url, **TOKEN, **SECRET}, "run", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("BOT_STORE: "), done.stderr
    assert ":***@" in done.stderr, done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_data_dir_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    # Below a file no directory can be made, whoever runs the test (root included).
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run({"BOT_DATA_DIR": str(blocker / "data"), **TOKEN}, "run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("BOT_DATA_DIR") and "not writable" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("ttl", ["3600", "PT1H", "P30D"])
def test_session_ttl_in_seconds_or_iso_8601_is_valid(tmp_path: Path, ttl: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json"],
        input="Wie widerspreche ich?\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "BOT_SESSION_TTL": ttl},
    )
    assert done.returncode == 0, done.stderr
    assert '"question": "Wie widerspreche ich?"' in done.stdout


def _documented_variables() -> set[str]:
    """Every variable named in a settings table of the README or the platform docs."""
    names: set[str] = set()
    for doc in ("README.md", "docs/telegram.md", "docs/matrix.md", "docs/web.md"):
        for line in (REPO / doc).read_text(encoding="utf-8").splitlines():
            if line.startswith("| `"):
                first_cell = line.split("|")[1]
                names |= set(re.findall(r"`((?:BOT|TELEGRAM|MATRIX|WEB)_[A-Z_]+)`", first_cell))
    return names


def test_run_help_lists_every_documented_variable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--help"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^  ((?:BOT|TELEGRAM|MATRIX|WEB)_[A-Z_]+)", done.stdout, re.MULTILINE))
    documented = _documented_variables()
    assert len(documented) >= 20
    assert documented - listed == set()
    assert "--check-content" in done.stdout
