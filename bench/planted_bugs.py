"""Planted bugs: how many realistic, hand-written bugs the test suite catches.

Each bug is a small change a developer could plausibly make (a slice taken from the wrong
end, a check dropped in a refactor, a library call confused with its neighbour), chosen so
that a user or an operator would notice it. For each one the script takes a fresh copy of
the checkout's committed files (``git archive HEAD``), plants the bug there, runs the tests
that could plausibly catch it and records:

- ``caught``: a test failed, failed again when re-run alone on the planted copy, and passes
  on an unplanted copy (so neither chance nor an already failing test is counted);
- ``missed``: every test passed;
- ``n/a``: the code the bug changes does not exist in that checkout (none of the bug's
  variants has its old text exactly once);
- ``error``: anything else (a timeout, a collection error, a flaky failure).

Before the bugs, the union of their tests runs once on an unplanted copy; tests that fail
there already are deselected from every planted run and listed in the output.

    nice -n 10 .venv/bin/python bench/planted_bugs.py [--root DIR] [--only ID,...] [--dry-run]

``--root`` is the checkout to plant into (default: this one); its files are never changed,
every bug gets its own copy under ``/tmp/planted-<id>``, removed afterwards. ``--dry-run``
only reports which bugs apply to that checkout. ``--list`` prints the bugs. For a before /
after comparison run it once on this checkout and once on an older worktree, e.g.
``git worktree add --detach /tmp/before <commit>`` and ``--root /tmp/before``.

Tests run as ``python -m pytest -x -q -p no:cacheprovider -p no:randomly PATHS`` from the
copy, with ``PYTHONPATH`` set to it (the virtualenv's editable install would otherwise import
this checkout's ``bot``), this checkout's interpreter and a timeout. ``tests/test_lint.py``
is never run: ruff or mypy objecting to a planted line says nothing about behaviour.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PYTHON = HERE / ".venv" / "bin" / "python"
RUN_TIMEOUT = 1500
"""Seconds one pytest run may take (a bug that makes tests hang ends as ``error``)."""

CORE = "@core"
"""Every test under tests/ except the Matrix and Telegram suites and the linters."""
MATRIX = "tests/matrix"
TELEGRAM = ("tests/telegram", "tests/test_runtime.py")
_NOT_CORE = frozenset({"matrix", "telegram", "fixtures", "__pycache__", "test_lint.py"})


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``file``."""

    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Bug:
    """One planted bug: what it breaks, its edits, the tests that could catch it.

    ``variants`` are alternative edit sets for other versions of the same code; the first
    whose every old text occurs exactly once is planted.
    """

    id: str
    breaks: str
    variants: tuple[tuple[Edit, ...], ...]
    tests: tuple[str, ...]


def bug(
    id: str,
    breaks: str,
    file: str,
    old: str,
    new: str,
    tests: str | Sequence[str],
    *,
    also: Sequence[Edit] = (),
    alt: Sequence[Sequence[Edit]] = (),
) -> Bug:
    """A bug of one edit (plus ``also`` edits), with ``alt`` variants for older code."""
    first = (Edit(file, old, new), *also)
    paths = (tests,) if isinstance(tests, str) else tuple(tests)
    return Bug(id, breaks, (first, *(tuple(v) for v in alt)), paths)


ENGINE = "bot/engine.py"
RUNTIME = "bot/runtime.py"
SQLITE = "bot/store/sqlite.py"
TG = "bot/platforms/telegram.py"
MX = "bot/platforms/matrix.py"
TG_UPDATES = "bot/platforms/telegram_updates.py"
TG_LIMITS = "bot/platforms/telegram_ratelimit.py"
VALIDATE = "bot/content/validate.py"
RUN_TESTS = (CORE, *TELEGRAM, "tests/matrix/test_cli.py")

BUGS: tuple[Bug, ...] = (
    # -- engine ---------------------------------------------------------------------------
    bug(
        "back-keeps-oldest",
        "after more than MAX_BACK steps, 'back' leads to the first pages instead of the last",
        ENGINE,
        "back = (*state.back, state.node)[-MAX_BACK:]",
        "back = (*state.back, state.node)[:MAX_BACK]",
        CORE,
    ),
    bug(
        "number-off-by-one",
        "a typed number picks the option after the one shown with that number",
        ENGINE,
        "            if 1 <= number <= len(state.offered):\n"
        "                return self._choose(state, state.offered[number - 1], event, now)",
        "            if 0 <= number < len(state.offered):\n"
        "                return self._choose(state, state.offered[number], event, now)",
        CORE,
    ),
    bug(
        "personal-in-groups",
        "personal nodes are shown in groups when reached by a button or deep link",
        ENGINE,
        "        if event.group and node.personal:",
        "        if event.group and node.personal and matched:",
        CORE,
    ),
    bug(
        "date-local-not-utc",
        "date variants switch on the server's local date instead of the UTC date",
        ENGINE,
        "self.content.answer_for(node, lang, now.date(), dict(state.variables))",
        "self.content.answer_for(node, lang, now.astimezone().date(), dict(state.variables))",
        CORE,
        alt=[
            [
                Edit(
                    ENGINE,
                    "self.content.answer(node, lang, now.date())",
                    "self.content.answer(node, lang, now.astimezone().date())",
                )
            ]
        ],
    ),
    bug(
        "clarify-never",
        "the clarifying question 'A or B?' is never asked; the first topic is answered",
        ENGINE,
        'if result.clarify and "clarify" in self.content.meta.strings:',
        'if result.clarify and "clarify" in self.content.meta.strings.get(state.language, {}):',
        CORE,
    ),
    bug(
        "privacy-duration",
        "/privacy names a 30-day session lifetime as '1 minute' (timedelta.seconds)",
        "bot/content/models.py",
        "        seconds = length.total_seconds()\n"
        '        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):',
        "        seconds = length.seconds\n"
        '        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):',
        CORE,
    ),
    # -- matcher --------------------------------------------------------------------------
    bug(
        "matcher-below-threshold",
        "the matcher answers its best guess even below its confidence threshold",
        "bot/matching/matcher.py",
        "        matched = score >= bar\n",
        "        matched = bool(candidates)\n",
        CORE,
    ),
    # -- content checks -------------------------------------------------------------------
    bug(
        "check-yes-no-opener",
        "check lets answers open with a bare 'Ja'/'Nein' (reported as a warning only)",
        VALIDATE,
        '                                " opposite to someone who asked the question the other way",\n'
        "                            )",
        '                                " opposite to someone who asked the question the other way",\n'
        '                                level="warning",\n'
        "                            )",
        CORE,
    ),
    bug(
        "check-status-date",
        "check accepts an undated status sentence when any other sentence has a date",
        VALIDATE,
        "if (m := status_pattern.search(sentence)) and not _DATE.search(sentence):",
        "if (m := status_pattern.search(sentence)) and not _DATE.search(plain):",
        CORE,
    ),
    bug(
        "check-url-source",
        "check accepts any link to a site that has one checked source, not only that page",
        VALIDATE,
        'if url.startswith("https://") and _normal_url(url) not in vetted:',
        'if url.startswith("https://") and urlsplit(url).hostname not in {\n'
        "                        urlsplit(v).hostname for v in vetted\n"
        "                    }:",
        CORE,
    ),
    bug(
        "reload-invalid-tree",
        "a tree with errors loads (errors treated as warnings), so a reload swaps it in",
        "bot/content/loader.py",
        '        if not any(p.level == "error" for p in problems):\n'
        "            content = Content(meta, {n.id: n for n in nodes}, str(directory))",
        "        content = Content(meta, {n.id: n for n in nodes}, str(directory))",
        (CORE, "tests/telegram/test_reload_process.py"),
        also=[
            Edit(
                "bot/content/loader.py",
                "    if content is None or errors:\n        raise ContentError(",
                "    if content is None:\n        raise ContentError(",
            )
        ],
    ),
    # -- runtime, stores, CLI -------------------------------------------------------------
    bug(
        "forget-wrong-key",
        "/forget confirms but erases nothing (deletes by the session key, not the user key)",
        RUNTIME,
        "        count = await self.store.delete_user(key.user)",
        "        count = await self.store.delete_user(key.session)",
        CORE,
    ),
    bug(
        "ratelimit-never",
        "rate limiting never limits (limits' test() instead of hit(): nothing is counted)",
        "bot/ratelimit.py",
        "        return self._limiter.hit(self.item, key)",
        "        return self._limiter.test(self.item, key)",
        CORE,
    ),
    bug(
        "sqlite-no-secure-delete",
        "SQLite leaves erased sessions readable in free pages (secure_delete not set)",
        SQLITE,
        '        self._db.execute("PRAGMA secure_delete=ON")\n',
        "",
        CORE,
    ),
    bug(
        "sqlite-expiry-ignored",
        "the SQLite store returns sessions idle longer than BOT_SESSION_TTL",
        SQLITE,
        "        if self.expired(state, now):\n"
        '            await self._delete("session", key.session)\n'
        "            return None\n"
        "        return state",
        "        return state",
        CORE,
    ),
    bug(
        "sqlite-chat-erase-wrong-column",
        "leaving or being removed from a group erases nothing in SQLite (wrong column)",
        SQLITE,
        '        return await self._delete("chat_key", chat)',
        '        return await self._delete("user_key", chat)',
        CORE,
    ),
    bug(
        "redis-no-ttl",
        "Redis keeps sessions forever: the session key is written without its TTL",
        "bot/store/redis.py",
        "json.dumps(state.to_dict()), px=self._ttl_ms)",
        "json.dumps(state.to_dict()))",
        CORE,
    ),
    bug(
        "run-purge-never",
        "run never erases expired sessions (the hourly purge loop's condition is inverted)",
        "bot/cli.py",
        "    while not stop.is_set():\n        removed = await runtime.purge_expired()",
        "    while stop.is_set():\n        removed = await runtime.purge_expired()",
        RUN_TESTS,
    ),
    bug(
        "redact-not-installed",
        "the log redaction filter is not installed: the bot token shows up in httpx log lines",
        "bot/cli.py",
        "    redact.install()\n",
        "",
        RUN_TESTS,
    ),
    # -- Telegram -------------------------------------------------------------------------
    bug(
        "tg-callback-over-64",
        "buttons whose data is over 64 bytes are sent, so Telegram refuses the whole message",
        TG,
        "        if not 0 < len(o.id.encode()) <= MAX_CALLBACK_DATA:\n            continue\n",
        "",
        TELEGRAM,
    ),
    bug(
        "tg-chat-out-of-order",
        "updates of one chat are handled concurrently, so answers can come out of order",
        TG,
        ".concurrent_updates(ChatOrderedProcessor(s.max_concurrent))",
        ".concurrent_updates(s.max_concurrent)",
        TELEGRAM,
        alt=[[Edit(TG, ".concurrent_updates(processor)", ".concurrent_updates(s.max_concurrent)")]],
    ),
    bug(
        "tg-webhook-secret-unchecked",
        "in webhook mode anyone who knows the URL can post updates (secret token not set)",
        TG,
        "secret_token=s.webhook_secret.get_secret_value() if s.webhook_secret else None,",
        "secret_token=None,",
        TELEGRAM,
        alt=[
            [
                Edit(
                    TG_UPDATES,
                    "        if not hmac.compare_digest(given, self._secret):",
                    "        if False:",
                )
            ]
        ],
    ),
    bug(
        "tg-429-pauses-all",
        "one chat's 429 pauses every chat (every pause taken as Telegram's flood control)",
        TG_LIMITS,
        "            if len(self._recent) < CHATS_FOR_GLOBAL:\n                key = chat\n",
        "",
        TELEGRAM,
    ),
    bug(
        "tg-start-not-throttled",
        "/start is not counted by the inbound flood limit: 200 × /start get 200 answers",
        RUNTIME,
        "        if not self.limiter.allow(key.user):",
        '        if type(event).__name__ != "Start" and not self.limiter.allow(key.user):',
        TELEGRAM,
    ),
    bug(
        "flood-limit-per-chat",
        "the flood limit counts per chat: one flooder in a group silences everyone in it",
        RUNTIME,
        "        if not self.limiter.allow(key.user):",
        "        if not self.limiter.allow(key.chat):",
        TELEGRAM,
    ),
    bug(
        "tg-confirm-on-fetch",
        "polling confirms updates when fetched: kill -9 loses those not yet answered",
        TG_UPDATES,
        "        if self._pending:\n            return min(self._pending)\n",
        "",
        TELEGRAM,
    ),
    bug(
        "tg-poisoned-update",
        "one unreadable update stops polling for good: nobody is answered any more",
        TG_UPDATES,
        "            update = read_update(data, self._bot)\n",
        "            update = Update.de_json(data, self._bot)\n",
        TELEGRAM,
    ),
    bug(
        "tg-reply-to-any-bot",
        "in groups a reply to any bot's message is taken as a question to this bot",
        TG,
        "        return bool(replied and replied.from_user and replied.from_user.id == self._bot_id)",
        "        return bool(replied and replied.from_user and replied.from_user.is_bot)",
        TELEGRAM,
    ),
    bug(
        "tg-debug-logs-updates",
        "at BOT_LOG_LEVEL=DEBUG python-telegram-bot logs raw updates: user ids, names, texts",
        TG,
        "        library.setLevel(logging.INFO)\n",
        "        pass\n",
        TELEGRAM,
    ),
    bug(
        "redact-bearer-case",
        "a lower-case 'authorization: bearer' header is logged with its token",
        "bot/redact.py",
        "(?i:authorization)[",
        "Authorization[",
        TELEGRAM,
        also=[Edit("bot/redact.py", "(?i:bearer)", "Bearer")],
    ),
    bug(
        "tg-supergroup-is-private",
        "in supergroups the bot answers every message and shows personal nodes",
        TG,
        "        group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)\n"
        "        locale = user.language_code",
        "        group = chat.type == ChatType.GROUP\n        locale = user.language_code",
        TELEGRAM,
    ),
    bug(
        "tg-left-keeps-sessions",
        "a group that removes the bot (status 'left') keeps its sessions; only bans erase",
        TG,
        "        if new in _GONE:\n",
        "        if new == ChatMemberStatus.BANNED:\n",
        TELEGRAM,
    ),
    bug(
        "tg-length-code-points",
        "message length counted in code points, so emoji-rich answers over 4096 are refused",
        TG,
        '    return len(text.encode("utf-16-le")) // 2',
        "    return len(text)",
        TELEGRAM,
    ),
    # -- Matrix ---------------------------------------------------------------------------
    bug(
        "mx-sync-token-not-saved",
        "the sync token is not persisted: after a restart, messages sent meanwhile go unanswered",
        MX,
        '            self.state.put("next_batch", token)\n',
        "",
        MATRIX,
    ),
    bug(
        "mx-leave-keeps-sessions",
        "leaving or being removed from a room keeps that room's sessions",
        MX,
        "            self.state.drop_offer(room_id)\n"
        "            await self.runtime.forget_chat(PLATFORM, room_id)\n"
        "        jobs = []",
        "            self.state.drop_offer(room_id)\n        jobs = []",
        MATRIX,
    ),
    bug(
        "mx-handled-not-marked",
        "an answered event is not recorded as handled, so a re-read batch is answered again",
        MX,
        '                log.exception("failed to handle %s in %s", event_id, room.room_id)\n'
        "            self.state.mark_handled(event_id)\n",
        '                log.exception("failed to handle %s in %s", event_id, room.room_id)\n',
        MATRIX,
    ),
    bug(
        "mx-answered-twice",
        "an event seen in two syncs (or after a restart) is answered twice",
        MX,
        "            if self.state.is_handled(event_id):\n"
        "                continue  # answered before: in an earlier sync, or before a restart\n",
        "",
        MATRIX,
        alt=[
            [
                Edit(
                    MX,
                    "            if self.state.is_handled(event_id):\n                continue\n",
                    "",
                )
            ]
        ],
    ),
    bug(
        "mx-blacklisted-trusted",
        "messages from a device blacklisted in the crypto store are answered",
        MX,
        "        if device.blacklisted or self._listed(device, self.blocked):\n"
        "            return False",
        "        if self._listed(device, self.blocked):\n            return False",
        MATRIX,
        alt=[[Edit(MX, "        return not device.blacklisted\n", "        return True\n")]],
    ),
)


# -- copies and planting ------------------------------------------------------------------


def export(root: Path, target: Path) -> None:
    """The committed files of ``root``'s HEAD, unpacked into a fresh ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", "HEAD"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)


def applicable(bug: Bug, tree: Path) -> tuple[Edit, ...] | None:
    """The first variant of ``bug`` whose every old text occurs exactly once in ``tree``."""
    for variant in bug.variants:
        if all(_count(tree / e.file, e.old) == 1 for e in variant):
            return variant
    return None


def _count(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").count(text) if path.is_file() else 0


def plant(tree: Path, edits: Sequence[Edit]) -> None:
    """Apply ``edits`` to the copy ``tree``."""
    for edit in edits:
        path = tree / edit.file
        path.write_text(path.read_text(encoding="utf-8").replace(edit.old, edit.new, 1), "utf-8")


def expand(tests: Sequence[str], tree: Path) -> list[str]:
    """Test paths that exist in ``tree``, with :data:`CORE` spelled out."""
    paths: list[str] = []
    for item in tests:
        if item == CORE:
            for entry in sorted((tree / "tests").iterdir()):
                is_suite = entry.is_dir() and (entry / "__init__.py").exists()
                is_file = entry.name.startswith("test_") and entry.suffix == ".py"
                if entry.name not in _NOT_CORE and (is_suite or is_file):
                    paths.append(f"tests/{entry.name}")
        elif (tree / item).exists():
            paths.append(item)
    return list(dict.fromkeys(paths))


# -- running tests ------------------------------------------------------------------------

# A line of pytest's short test summary; captured log lines ("ERROR    bot...") also start
# with ERROR, so only lines after the summary's header that name a test file count.
_SUMMARY = re.compile(r"^(?:FAILED|ERROR) (tests/\S.*?)(?: - .*)?$")
_SUMMARY_HEADER = "short test summary info"


@dataclass(frozen=True)
class Run:
    """One pytest run: exit status, failing test ids, seconds taken, last output lines."""

    code: int
    failed: tuple[str, ...]
    seconds: float
    tail: str


def pytest(tree: Path, args: Sequence[str], *, stop_first: bool, tmp: Path) -> Run:
    """Run pytest on ``args`` from ``tree`` with ``tree`` first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [
        "timeout",
        "--kill-after=30",
        str(RUN_TIMEOUT),
        str(PYTHON),
        "-m",
        "pytest",
        *(["-x"] if stop_first else []),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        f"--basetemp={tmp}",
        *args,
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    shutil.rmtree(tmp, ignore_errors=True)
    _, _, summary = done.stdout.rpartition(_SUMMARY_HEADER)
    failed = tuple(
        m.group(1) for line in summary.splitlines() if (m := _SUMMARY.match(line.rstrip()))
    )
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
    return Run(done.returncode, failed, seconds, tail)


def deselected(ids: Sequence[str]) -> list[str]:
    """``--deselect`` options for ``ids``."""
    return [f"--deselect={i}" for i in ids]


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    # A SIGTERM (e.g. ``timeout``) unwinds like Ctrl-C, so the copies under /tmp are removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout to plant into")
    parser.add_argument("--only", default="", help="comma-separated bug ids")
    parser.add_argument("--dry-run", action="store_true", help="only report which bugs apply")
    parser.add_argument("--list", action="store_true", help="print the bugs and exit")
    args = parser.parse_args()
    if args.list:
        for b in BUGS:
            print(f"{b.id:<30} {b.breaks}")
        return 0
    root = args.root.resolve()
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(wanted) - {b.id for b in BUGS})
    if unknown:
        parser.error(f"--only: no bug named {', '.join(unknown)}")
    bugs = [b for b in BUGS if not wanted or b.id in wanted]
    commit = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"root {root} at {commit[:90]}", flush=True)

    clean = Path(f"/tmp/planted-clean-{os.getpid()}")
    export(root, clean)
    try:
        return _measure(bugs, clean, dry_run=args.dry_run)
    finally:
        shutil.rmtree(clean, ignore_errors=True)


def _measure(bugs: Sequence[Bug], clean: Path, *, dry_run: bool) -> int:
    plan: list[tuple[Bug, tuple[Edit, ...] | None]] = []
    for b in bugs:
        for variant in b.variants:
            for edit in variant:
                if _count(clean / edit.file, edit.old) > 1:
                    print(f"{b.id}: old text occurs more than once in {edit.file}")
                    return 2
        plan.append((b, applicable(b, clean)))
    if dry_run:
        for b, edits in plan:
            print(f"{b.id:<30} {'applies' if edits else 'n/a'}")
        return 0

    union = expand([t for b, edits in plan if edits for t in b.tests], clean)
    tmp = Path(f"/tmp/planted-basetemp-{os.getpid()}")
    print(f"baseline: {len(union)} test paths on the unplanted copy ...", flush=True)
    base = pytest(clean, union, stop_first=False, tmp=tmp)
    if base.code not in (0, 1):
        print(f"baseline run failed (exit {base.code}):\n{base.tail}")
        return 2
    print(
        f"baseline: exit {base.code} in {base.seconds:.0f} s; "
        f"{len(base.failed)} test(s) fail without any planted bug and are deselected",
        flush=True,
    )
    for test in base.failed:
        print(f"  baseline failure: {test}")
    skip = deselected(base.failed)

    results: dict[str, str] = {}
    for b, edits in plan:
        if edits is None:
            results[b.id] = "n/a"
            print(f"{b.id:<30} n/a      {b.breaks}", flush=True)
            continue
        copy = Path(f"/tmp/planted-{b.id}")
        try:
            shutil.copytree(clean, copy, ignore=shutil.ignore_patterns("__pycache__"))
            plant(copy, edits)
            paths = expand(b.tests, copy)
            run = pytest(copy, [*paths, *skip], stop_first=True, tmp=tmp)
            outcome, note = _judge(run, copy, clean, tmp)
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        results[b.id] = outcome
        print(f"{b.id:<30} {outcome:<8} {b.breaks} [{run.seconds:.0f} s]{note}", flush=True)

    caught = sum(1 for r in results.values() if r == "caught")
    missed = sum(1 for r in results.values() if r == "missed")
    errors = sum(1 for r in results.values() if r == "error")
    na = sum(1 for r in results.values() if r == "n/a")
    print(
        f"total: caught {caught} / applicable {caught + missed + errors} "
        f"(missed {missed}, error {errors}, n/a {na})"
    )
    return 0


def _judge(run: Run, copy: Path, clean: Path, tmp: Path) -> tuple[str, str]:
    """Caught, missed or error, and a note naming the test or the reason."""
    if run.code == 0:
        return "missed", ""
    if run.code != 1 or not run.failed:
        reason = "timeout" if run.code in (124, 137) else f"pytest exit {run.code}"
        return "error", f"\n    {reason}: {run.tail.splitlines()[-1] if run.tail else ''}"
    test = run.failed[0]
    again = pytest(copy, [test], stop_first=True, tmp=tmp)
    if again.code == 0:
        return "error", f"\n    flaky: {test} passed when re-run on the planted copy"
    unplanted = pytest(clean, [test], stop_first=True, tmp=tmp)
    if unplanted.code != 0:
        return "error", f"\n    {test} fails on the unplanted copy too"
    return "caught", f"\n    by {test}"


if __name__ == "__main__":
    sys.exit(main())
