"""The console chat as a user meets it: in a real terminal (a pty), or piped."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.tree import write_tree

from bot.platforms.console import locale_language

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "content"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("tree"))


def _env(**extra: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_", "LC_", "LANG"))
    }
    return {**clean, "BOT_LOG_LEVEL": "WARNING", **extra}


class Terminal:
    """``python -m bot ARGS`` on a pseudo-terminal, read until expected output or a timeout."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.fd, child = pty.openpty()
        # The pty becomes the child's controlling terminal, so Ctrl-C turns into SIGINT.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            stdin=child, stdout=child, stderr=child, cwd=REPO, env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )  # fmt: skip
        os.close(child)
        self.seen = b""

    def expect(self, needle: bytes, timeout: float = 30) -> None:
        while needle not in self.seen:
            ready = select.select([self.fd], [], [], timeout)[0]
            assert ready, f"{needle!r} not seen in {timeout} s: {self.seen!r}"
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # the process closed the terminal
                chunk = b""
            assert chunk, f"terminal closed before {needle!r}: {self.seen!r}"
            self.seen += chunk

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exit_code(self, timeout: float = 20) -> int:
        code = self.proc.wait(timeout=timeout)
        # Whatever it printed on the way out.
        while select.select([self.fd], [], [], 0.5)[0]:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.fd)


@pytest.fixture
def terminal(tree: Path) -> Iterator[type[Terminal]]:
    opened: list[Terminal] = []

    class Opened(Terminal):
        def __init__(self, *args: str, env: dict[str, str]) -> None:
            super().__init__(*args, env=env)
            opened.append(self)

    yield Opened
    for t in opened:
        t.close()


@pytest.mark.parametrize("command", ["chat", "run"])
def test_ctrl_c_at_the_prompt_ends_the_chat_without_a_traceback(
    tree: Path, terminal: type[Terminal], command: str
) -> None:
    term = terminal("--content", str(tree), command, env=_env(LANG="C.UTF-8"))
    term.expect(b"WILLKOMMEN-DE")
    term.expect(b"> ")
    term.type(b"\x03")  # what the terminal sends for Ctrl-C: SIGINT to the process
    assert term.exit_code() == 0, term.seen
    assert b"Traceback" not in term.seen
    assert b"KeyboardInterrupt" not in term.seen


def test_sigterm_while_waiting_for_input_ends_the_chat(
    tree: Path, terminal: type[Terminal]
) -> None:
    term = terminal("--content", str(tree), "chat", env=_env())
    term.expect(b"> ")
    term.proc.send_signal(signal.SIGTERM)
    assert term.exit_code() == 0, term.seen
    assert b"Traceback" not in term.seen


@pytest.mark.parametrize("word", [b"exit", b"quit"])
def test_an_exit_word_ends_the_chat(tree: Path, terminal: type[Terminal], word: bytes) -> None:
    term = terminal("--content", str(tree), "chat", env=_env())
    term.expect(b"> ")
    term.type(word + b"\n")
    assert term.exit_code() == 0


@pytest.mark.parametrize(
    ("env", "greeting"),
    [
        ({"LANG": "en_GB.UTF-8"}, b"Hi! I explain"),
        ({"LANG": "de_AT.UTF-8"}, b"Hallo! Ich erkl"),
        ({"LANG": "de_DE.UTF-8", "LC_ALL": "en_US.UTF-8"}, b"Hi! I explain"),
        ({"LANG": "fr_FR.UTF-8"}, b"Bonjour"),
        ({"LANG": "sv_SE.UTF-8"}, b"Hallo! Ich erkl"),  # not in the content: its default
    ],
)
def test_the_console_starts_in_the_language_of_the_locale(
    terminal: type[Terminal], env: dict[str, str], greeting: bytes
) -> None:
    term = terminal("--content", str(SHIPPED), "chat", env=_env(**env))
    term.expect(greeting)


def test_help_in_the_console_names_the_exit_words_and_no_buttons(
    terminal: type[Terminal],
) -> None:
    term = terminal("--content", str(SHIPPED), "chat", env=_env(LANG="en_US.UTF-8"))
    term.expect(b"> ")
    term.type(b"/help\n")
    term.expect(b"This is information, not legal advice.")
    assert b"To leave: exit, quit or Ctrl-D" in term.seen
    assert b"Type the number of an option" in term.seen
    assert b"tap" not in term.seen.lower()


def _piped(*questions: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--content", str(SHIPPED), "chat"],
        input="\n".join(questions) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=_env(**env),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_console_never_asks_to_tap_a_button() -> None:
    said = _piped(
        "/help", "/lang xx", "99", "danke", "/lang en", "/help", "/lang xx", "99", "thanks"
    )
    for phrase in ("tippe", "tap ", "knopf", "button"):
        assert phrase not in said.lower(), phrase
    assert "Wähle eine Zahl von 1 bis" in said and "Pick a number from 1 to" in said


@pytest.mark.parametrize(
    ("ttl", "german", "english"),
    [
        ("PT1H", "nach 1 Stunde ohne Nachricht", "after 1 hour without a message"),
        ("PT12H", "nach 12 Stunden ohne Nachricht", "after 12 hours without a message"),
        ("P1D", "nach 1 Tag ohne Nachricht", "after 1 day without a message"),
        ("3600", "nach 1 Stunde ohne Nachricht", "after 1 hour without a message"),
        ("P30D", "nach 30 Tagen ohne Nachricht", "after 30 days without a message"),
        ("PT30M", "nach 30 Minuten ohne Nachricht", "after 30 minutes without a message"),
    ],
)
def test_privacy_names_the_session_lifetime_correctly(ttl: str, german: str, english: str) -> None:
    said = _piped("/privacy", "/lang en", "/privacy", BOT_SESSION_TTL=ttl)
    assert german in said
    assert english in said


def test_privacy_in_the_console_says_nothing_is_kept_on_disk() -> None:
    said = _piped("/privacy", "/lang en", "/privacy")
    assert "Auf die Festplatte schreibe ich nichts" in said
    assert "Sobald du den Chat beendest, ist alles weg" in said
    assert "Nothing is written to disk" in said
    assert "everything is gone as soon as you end the chat" in said
    # The general wording promises automatic deletion after the session lifetime, as if
    # something stayed behind; the console keeps nothing once it ends.
    assert "lösche ich alles automatisch" not in said
    assert "I delete everything automatically" not in said


@pytest.mark.parametrize("command", ["chat", "run"])
def test_no_info_log_line_prints_into_the_chat(terminal: type[Terminal], command: str) -> None:
    env = {k: v for k, v in _env(LANG="en_US.UTF-8").items() if k != "BOT_LOG_LEVEL"}
    term = terminal("--content", str(SHIPPED), command, env=env)
    term.expect(b"> ")
    term.type(b"/help\n")
    term.expect(b"This is information, not legal advice.")
    term.expect(b"> ")
    term.type(b"exit\n")
    assert term.exit_code() == 0
    assert b"for content changes" not in term.seen
    assert b" INFO " not in term.seen


def test_bot_log_level_still_shows_info_lines_in_the_console(
    terminal: type[Terminal],
) -> None:
    term = terminal("--content", str(SHIPPED), "chat", env=_env(BOT_LOG_LEVEL="INFO"))
    term.expect(b"for content changes")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"LANG": "de_DE.UTF-8"}, "de-DE"),
        ({"LANG": "de_DE.UTF-8", "LC_MESSAGES": "en_GB"}, "en-GB"),
        ({"LC_ALL": "C", "LANG": "de_DE.UTF-8"}, None),
        ({"LANG": "POSIX"}, None),
        ({"LANG": "sr_RS@latin"}, "sr-RS"),
        ({"LANG": " "}, None),
    ],
)
def test_locale_language_ranks_the_variables_like_posix(
    environ: dict[str, str], expected: str | None
) -> None:
    assert locale_language(environ) == expected
