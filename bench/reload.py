"""Content reload: how long building the full content takes, and a reload in a running bot.

    .venv/bin/python bench/reload.py [--rounds 10] [--content DIR] [--root DIR] [--words-only]

``--root`` measures another checkout's ``bot`` (e.g. a worktree of an older commit), in this
process and as the running bot. ``--words-only`` runs the bot with ``BOT_EMBEDDINGS=off``: the
bot's fresh data dir has no embeddings yet, and embedding every text of seven languages
before it serves takes minutes on a small machine.

1. In this process, ``--rounds`` times: load and validate the content
   (``bot.content.load_content``) and build the engine with its matcher (``bot.engine.Engine``)
   — what ``bot.reload.build_engine`` does on every reload and ``run --check-content`` once.
   Median, best and worst of each part and of the whole. Load + validate parses every file
   (the loader's cache of parsed files is emptied first); beside it the same with no file
   changed (a reload parses only changed files) and from the content cache
   (``bot.content.cache``). Then ``load_content`` as the first call of a new process, so
   that every import and validator build it triggers counts.
   Targets: load + validate <= 200 ms (every file parsed and checked), in this process and
   as a new process's first call (which also pays for one-time set-up: the validation rules'
   import, pydantic building its validators and looking for plugins); a reload (SIGHUP, or
   the bot's own figure for a changed file) <= 500 ms.
2. ``python -m bot run`` with Telegram against the fake Bot API, its content a copy in a
   temporary directory:

   - SIGHUP: time from ``kill -HUP`` to the bot's ``content reloaded (SIGHUP)`` log line, the
     duration the bot reports in that line, and ``bot_content_reloads_total{result="ok"}``
     checked after each round;
   - a file change: time from writing a changed node file to ``content reloaded (file
     change)`` (includes the watcher's 300 ms of quiet);
   - a question sent right after SIGHUP, while the reload runs in its worker thread: its reply
     latency, next to the same question's latency with no reload running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from botprocess import ROOT, Bot, CountingApi, bot_process
from fake_bot_api import FakeUser

TTL = dt.timedelta(days=30)
QUESTION = "Wie widerspreche ich der KI-Nutzung meiner Daten bei Instagram?"
RELOADED = r"content reloaded \({reason}\): (\d+) nodes from .* in (\d+) ms"


def spread(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<44} median {statistics.median(ms):6.0f} ms, best {min(ms):6.0f} ms, "
        f"worst {max(ms):6.0f} ms  (n={len(ms)})"
    )


def verdict(seconds: list[float], target: float) -> str:
    """The median against ``target`` seconds."""
    median = statistics.median(seconds)
    return f"  target <= {target * 1000:.0f} ms: {'PASS' if median <= target else 'FAIL'}"


def _every_index(engine: Any) -> None:
    """Every language's index built, as a reload does before its swap (the matcher builds
    them on first use; ``Matcher.prepare`` builds them all)."""
    getattr(engine.matcher, "build_indexes", lambda: None)()


def _forget_parsed() -> None:
    """Empty the loader's cache of parsed files and the wording check's cache of texts read,
    so the next load parses and checks every file as if it had never seen it."""
    from bot.content import loader, validate

    getattr(loader, "_PARSED", {}).clear()
    with contextlib.suppress(AttributeError):
        validate._read_text.cache_clear()


FIRST_LOAD = """
import gc, sys, time
gc.disable()  # as python -m bot sets up (bot/__main__.py)
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
from bot.content import load_content
imported = time.perf_counter()
load_content(sys.argv[2])
print(imported - start, time.perf_counter() - imported)
"""


def first_loads(directory: Path, root: Path, rounds: int) -> None:
    """``load_content`` as the first thing a new process does: every import, validator build
    and file parse it triggers is counted (``ask`` and ``run`` without a content cache)."""
    imports: list[float] = []
    loads: list[float] = []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_LOAD, str(root), str(directory)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        imports.append(float(out[0]))
        loads.append(float(out[1]))
    print(spread("first load + validate in a new process", loads) + verdict(loads, 0.2))
    print(spread("  before it, importing bot.content", imports))


def build_times(directory: Path, rounds: int) -> None:
    from bot.content import Content, load_content
    from bot.engine import Engine

    loads: list[float] = []
    unchanged: list[float] = []
    cached: list[float] = []
    builds: list[float] = []
    totals: list[float] = []
    nodes = 0
    # Whether ContentCache exists lets the same script measure an older checkout.
    cache = None
    with contextlib.suppress(ImportError):
        from bot.content.cache import ContentCache

        cache = ContentCache(Path(tempfile.mkdtemp(prefix="reload-bench-")), b"bench")
        cache.load(directory)  # writes it
    for _ in range(rounds):
        if cache is not None:
            start = time.perf_counter()
            cache.load(directory)
            cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_content(directory)  # every file parsed before (the loader keeps them)
        unchanged.append(time.perf_counter() - start)
        _forget_parsed()
        start = time.perf_counter()
        content = load_content(directory)
        loaded = time.perf_counter()
        engine = Engine(content, session_ttl=TTL)
        _every_index(engine)
        built = time.perf_counter()
        load_s, build_s = loaded - start, built - loaded
        nodes = len(engine.content.nodes)
        loads.append(load_s)
        builds.append(build_s)
        totals.append(load_s + build_s)
    print(f"content: {directory} ({nodes} nodes)")
    print(spread("load + validate, every file parsed", loads) + verdict(loads, 0.2))
    print(spread("  the same, no file changed since the last load", unchanged))
    if cached:
        print(spread("  unchanged content, from the content cache", cached))
    print(spread("engine + matcher build", builds))
    print(spread("whole reload work (build_engine)", totals))
    # The same, one node's German text edited each round (a typical content fix): only that
    # language's matcher index has to be built again.
    edited: list[float] = []
    for i in range(rounds):
        _forget_parsed()
        start = time.perf_counter()
        content = load_content(directory)
        node = next(n for n in content.nodes.values() if "de" in n.text)
        text = {**node.text, "de": f"{node.text['de']} ({i})"}
        nodes = {**content.nodes, node.id: node.model_copy(update={"text": text})}
        _every_index(
            Engine(Content(content.meta, nodes, content.source_dir, content.rows), session_ttl=TTL)
        )
        edited.append(time.perf_counter() - start)
    print(spread("  the same, one German text changed", edited) + verdict(edited, 0.5))


async def reply_latency(api: CountingApi, user: FakeUser, text: str) -> float:
    seen = len(api.per_chat[user.id])
    started = time.monotonic()
    api.message(user, text)
    if not await api.wait_for_more(user.id, seen, 30):
        raise RuntimeError(f"no reply to {text!r}")
    return api.per_chat[user.id][seen].at - started


def ok_reloads(metrics: dict[str, float]) -> int:
    return int(metrics['bot_content_reloads_total{result="ok"}'])


async def running(directory: Path, rounds: int, root: Path, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        shutil.copytree(directory, content)
        api = CountingApi()
        await api.start()
        try:
            async with bot_process(
                api, Path(tmp) / "data", {"BOT_CONTENT_DIR": str(content), **env}, root
            ) as bot:
                await bot.output.wait_for(r"watching .* for content changes")
                await measure(bot, api, content, rounds)
        finally:
            await api.stop()


async def measure(bot: Bot, api: CountingApi, content: Path, rounds: int) -> None:
    user = FakeUser(id=777, language_code="de")
    await reply_latency(api, user, "/start")
    idle: list[float] = []
    hup: list[float] = []
    reported: list[float] = []
    during: list[float] = []
    before_swap = 0
    reloads = ok_reloads(await bot.metrics())
    for _ in range(rounds):
        idle.append(await reply_latency(api, user, QUESTION))

        mark = len(bot.output.lines)
        started = time.monotonic()
        bot.proc.send_signal(signal.SIGHUP)
        # Asked while the reload is running.
        answer = asyncio.create_task(reply_latency(api, user, QUESTION))
        found = await bot.output.wait_for(RELOADED.format(reason="SIGHUP"), mark)
        swapped = time.monotonic()
        hup.append(swapped - started)
        reported.append(int(found.group(2)) / 1000)
        latency = await answer
        during.append(latency)
        # Both on this process's monotonic clock: the reply reached the fake server before
        # the bench read the reload's log line.
        if api.per_chat[user.id][-1].at < swapped:
            before_swap += 1
        reloads += 1
        assert ok_reloads(await bot.metrics()) == reloads

    node_file = sorted((content / "nodes").glob("*.yaml"))[0]
    original = node_file.read_text(encoding="utf-8")
    changes: list[float] = []
    changed_reported: list[float] = []
    for i in range(rounds):
        mark = len(bot.output.lines)
        started = time.monotonic()
        node_file.write_text(f"{original}\n# edit {i}\n", encoding="utf-8")
        found = await bot.output.wait_for(RELOADED.format(reason="file change"), mark)
        changes.append(time.monotonic() - started)
        changed_reported.append(int(found.group(2)) / 1000)
        reloads += 1
        assert ok_reloads(await bot.metrics()) == reloads

    print(spread("SIGHUP -> 'content reloaded' log line", hup) + verdict(hup, 0.5))
    print(spread("  of which the bot reports for the reload", reported))
    print(spread("file written -> 'content reloaded' log line", changes))
    print(
        spread("  of which the bot reports for the reload", changed_reported)
        + verdict(changed_reported, 0.5)
    )
    print(spread("reply latency, no reload running", idle))
    print(spread("reply latency, asked right after SIGHUP", during))
    print(f"  of those, answered before the reload finished: {before_swap} of {rounds}")
    errors = bot.output.errors()
    print(f"errors logged by the bot: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--content", type=Path, default=None)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose bot to run")
    parser.add_argument("--words-only", action="store_true", help="BOT_EMBEDDINGS=off")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))  # its bot, not this checkout's
    for name in [m for m in sys.modules if m == "bot" or m.startswith("bot.")]:
        del sys.modules[name]
    from bot.content.loader import default_content_dir

    directory = args.content or default_content_dir()
    print(f"root: {root}")
    print("-- in this process")
    build_times(directory, args.rounds)
    first_loads(directory, root, args.rounds)
    env = {"BOT_EMBEDDINGS": "off"} if args.words_only else {}
    print(f"-- in a running bot (python -m bot run, Telegram, fake Bot API) {env or ''}")
    asyncio.run(running(directory, args.rounds, root, env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
