"""The web chat's settings: WEB_LISTEN starts it, wrong values stop ``python -m bot run`` with
one line naming the variable, ``run --help`` lists them all; plus the page's pure helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli import configured_platforms
from bot.content.markup import to_web_html
from bot.platforms.web import WebSettings
from bot.platforms.web_page import pick_language

ROOT = Path(__file__).resolve().parents[2]


def run(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_", "WEB_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, stdin=subprocess.DEVNULL,
        env={**clean, "BOT_LOG_LEVEL": "WARNING", **env},
    )  # fmt: skip


def test_web_listen_starts_the_web_chat() -> None:
    assert configured_platforms({"WEB_LISTEN": "8080"}) == ["web"]
    assert configured_platforms({"WEB_LISTEN": " "}) == []
    assert configured_platforms({"WEB_LISTEN": "8080", "TELEGRAM_BOT_TOKEN": "1:a"}) == [
        "telegram",
        "web",
    ]


def test_settings_read_and_check_their_values() -> None:
    settings = WebSettings(listen="8080", allowed_origins="https://NGO.example/, http://a.test:81")
    assert settings.address() == ("127.0.0.1", 8080)
    assert settings.origins() == ("https://ngo.example", "http://a.test:81")
    assert WebSettings(listen="[::1]:9000").address() == ("::1", 9000)
    for field, value in (
        ("listen", "nope"),
        ("allowed_origins", "ngo.example"),
        ("allowed_origins", "https://ngo.example/chat"),
        ("max_message", "0"),
        ("address_rate", "lots"),
    ):
        with pytest.raises(ValidationError):
            WebSettings(**{field: value})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEB_LISTEN": "no-port"}, "WEB_LISTEN: 'no-port' is not valid: no host or port"),
        (
            {"WEB_LISTEN": "0", "WEB_ALLOWED_ORIGINS": "ngo.example"},
            "WEB_ALLOWED_ORIGINS: 'ngo.example' is not valid:",
        ),
        ({"WEB_LISTEN": "0", "WEB_ADDRESS_RATE": "often"}, "WEB_ADDRESS_RATE: 'often' is not"),
    ],
)
def test_a_wrong_setting_stops_run_with_one_line(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    done = run({**env, "BOT_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(expected), done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_in_use_stops_run_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(
            {
                "WEB_LISTEN": f"127.0.0.1:{port}",
                "BOT_STORE": "memory",
                "BOT_DATA_DIR": str(tmp_path),
            }
        )
    assert done.returncode == 2, done.stderr
    assert f"WEB_LISTEN: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_help_lists_the_web_variables() -> None:
    done = run({}, "--help")
    assert done.returncode == 0, done.stderr
    for name in (
        "WEB_LISTEN",
        "WEB_ALLOWED_ORIGINS",
        "WEB_MAX_MESSAGE",
        "WEB_ADDRESS_RATE",
        "WEB_TRUST_FORWARDED",
    ):
        assert f"\n  {name}" in done.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / "deploy" / "bot.env.example").read_text(encoding="utf-8")
    for name in ("WEB_LISTEN", "WEB_ALLOWED_ORIGINS"):
        assert f"| `{name}`" in readme and f"# {name}=" in example


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "de"),
        ("", "de"),
        ("en", "en"),
        ("en-GB,en;q=0.9,de;q=0.8", "en"),
        ("de;q=0.4, en;q=0.8", "en"),
        ("fr, en;q=0", "de"),
        ("*", "de"),
        ("en;q=nonsense", "en"),
    ],
)
def test_language_from_accept_language(header: str | None, expected: str) -> None:
    assert pick_language(header, ("de", "en"), "de") == expected


def test_web_html_escapes_everything_but_the_markup() -> None:
    rendered = to_web_html(
        'Hi **<b>** _x_ [a&b](https://e.org/?a=1&b="2")\nline2\n\n- one\n- two\n3. three\n<script>'
    )
    assert rendered == (
        "<p>Hi <strong>&lt;b&gt;</strong> <em>x</em> "
        '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;" target="_blank" '
        'rel="noopener noreferrer">a&amp;b</a><br>line2</p>'
        '<ul><li>one</li><li>two</li></ul><ol start="3"><li>three</li></ol>'
        "<p>&lt;script&gt;</p>"
    )
    assert to_web_html("[x](javascript:alert(1))") == "<p>x (javascript:alert(1))</p>"
    assert to_web_html('[x](https://e.org/"onmouseover="alert(1))') == (
        '<p><a href="https://e.org/&quot;onmouseover=&quot;alert(1" target="_blank" '
        'rel="noopener noreferrer">x</a>)</p>'
    )


def test_the_wheel_ships_the_page_script_style_and_widget(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("app.js", "chat.css", "widget.js"):
        assert f"bot/web_static/{name}" in names
    assert "bot/platforms/web.py" in names
    assert not [n for n in names if n.startswith("tests/")]
