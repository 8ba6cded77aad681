"""Storage faults: what users get while the session store fails, and after it recovers.

    .venv/bin/python bench/faults_store.py [--users 6] [--pause 0.5] [--only sqlite-locked,...]

The runtime runs in this process with ``/healthz`` on a loopback port; simulated users press
buttons in a loop (one message every ``--pause`` seconds each, each message waiting for its
answer) for a few seconds before, during and after each fault:

- ``sqlite-locked``: another process holds the SQLite database's write lock for 15 s
  (``BEGIN IMMEDIATE`` in a child ``python``), as a backup tool or a ``sqlite3`` shell would.
- ``disk-full``: for 15 s every commit fails the way SQLite reports a full disk
  (``SQLITE_FULL``, "database or disk is full"); simulated in the store, since filling a real
  file system needs root or a dedicated mount.
- ``redis-down``: the Redis (Valkey) server is killed (SIGKILL), stays down 12 s and is
  started again on the same port, empty (as a server without persistence comes back).

Per fault it prints the messages sent, answered (the right page), told to try again (the
"technical problem" note), lost (no reply, an error or no answer within 30 s) and answered
twice; the slowest answer; the longest ``/healthz`` answer, whether ``/healthz`` reported the
store while it failed and was ``ok`` again afterwards; and for SQLite whether every user's
last page was saved once the fault ended.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.redis_server import redis_server, server_binary  # noqa: E402
from fixtures.tree import write_tree  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.events import Choice, Start  # noqa: E402
from bot.observability import HttpListener, Metrics  # noqa: E402
from bot.ratelimit import PerKeyLimiter  # noqa: E402
from bot.runtime import UNAVAILABLE, Conversation, Runtime  # noqa: E402
from bot.store import SessionStore, SqliteStore  # noqa: E402

TTL = dt.timedelta(days=30)
BEFORE, AFTER = 3.0, 6.0
"""Seconds of normal traffic before a fault and after it ends."""
ANSWER_TIMEOUT = 30.0
PATH = ("objection", "objection-instagram", "@back")
"""Buttons each user presses in turn; '@back' leads to 'objection'."""


class Counting(logging.Handler):
    """Counts the log lines at ERROR and above (instead of printing them)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


ERRORS = Counting()


class FullDisk(SqliteStore):
    """SQLite on a full disk while ``full``: every commit fails with SQLITE_FULL."""

    full = False

    def _commit(self, rows: list[tuple[str, str, str, str, float]]) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super()._commit(rows)


@dataclass
class Tally:
    sent: int = 0
    answered: int = 0
    try_again: int = 0
    lost: int = 0
    twice: int = 0
    latencies: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_failed_during: bool = False
    health_ok_after: bool = False
    places_saved: str = "-"
    errors_logged: int = 0


async def user(
    runtime: Runtime,
    conv: Conversation,
    tally: Tally,
    stop: asyncio.Event,
    pause: float,
    last: dict[Conversation, str],
) -> None:
    await runtime.handle(conv, Start())
    step = 0
    notes = set(UNAVAILABLE.values())
    while not stop.is_set():
        option = PATH[step % len(PATH)]
        expected = option.replace("@back", "objection")
        tally.sent += 1
        started = time.monotonic()
        try:
            replies = await asyncio.wait_for(
                runtime.handle(conv, Choice(option=option)), ANSWER_TIMEOUT
            )
        except Exception:
            tally.lost += 1
            replies = []
        else:
            tally.latencies.append(time.monotonic() - started)
            if len(replies) > 1:
                tally.twice += 1
            if not replies:
                tally.lost += 1
            elif replies[0].node == expected:
                tally.answered += 1
                last[conv] = expected
                step += 1
            elif replies[0].text in notes:
                tally.try_again += 1
            else:
                tally.lost += 1
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


def watch_health(
    url: str, tally: Tally, failing: Callable[[], bool], stop: threading.Event
) -> None:
    """Asks ``/healthz`` every 0.2 s from a thread of its own, so that an event loop that
    stops answering shows as a slow ``/healthz`` instead of stopping the watcher too."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                ok = response.status == 200
        except urllib.error.HTTPError as exc:
            ok = exc.code == 200
        tally.health_ms.append((time.monotonic() - started) * 1000)
        if failing() and not ok:
            tally.health_failed_during = True
        tally.health_ok_after = ok
        stop.wait(0.2)


@asynccontextmanager
async def serving(store: SessionStore, content_dir: Path) -> AsyncIterator[tuple[Runtime, str]]:
    # The flood limit would slow these users down; it is not what is measured here.
    runtime = Runtime(
        load_content(content_dir), store, b"b" * 32, limiter=PerKeyLimiter("10000/minute")
    )
    listener = HttpListener(runtime, Metrics(["telegram"]), "127.0.0.1", 0)
    await listener.start()
    try:
        yield runtime, f"http://127.0.0.1:{listener.port}/healthz"
    finally:
        await listener.stop()
        await runtime.close()


async def drive(
    runtime: Runtime,
    url: str,
    users: int,
    pause: float,
    fault: Callable[[], AsyncIterator[None]],
) -> tuple[Tally, dict[Conversation, str]]:
    """Traffic before, during and after ``fault`` (an async generator: start, yield, end)."""
    tally = Tally()
    logged = ERRORS.count
    stop = asyncio.Event()
    during = False
    last: dict[Conversation, str] = {}
    convs = [Conversation("telegram", str(n), f"user{n}") for n in range(users)]
    tasks = [asyncio.create_task(user(runtime, c, tally, stop, pause, last)) for c in convs]
    halt = threading.Event()
    health = asyncio.create_task(asyncio.to_thread(watch_health, url, tally, lambda: during, halt))
    await asyncio.sleep(BEFORE)
    steps = fault()
    await anext(steps)
    during = True
    await anext(steps, None)
    during = False
    await asyncio.sleep(AFTER)
    stop.set()
    halt.set()
    await asyncio.gather(*tasks, health)
    tally.errors_logged = ERRORS.count - logged
    return tally, last


async def check_saved(runtime: Runtime, path: Path, last: dict[Conversation, str]) -> str:
    await runtime.store.close()
    again = SqliteStore(path, TTL)
    now = dt.datetime.now(dt.UTC)
    saved = 0
    for conv, node in last.items():
        state = await again.get(runtime.key(conv), now)
        saved += state is not None and state.node == node
    await again.close()
    return f"{saved}/{len(last)}"


async def sqlite_locked(content: Path, tmp: Path, users: int, pause: float) -> Tally:
    path = tmp / "locked.sqlite3"
    store = SqliteStore(path, TTL)

    async def fault() -> AsyncIterator[None]:
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None);"
                " db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(15);"
                " db.execute('ROLLBACK')",
                str(path),
            ],
            stdout=subprocess.PIPE,
        )
        assert holder.stdout is not None
        await asyncio.to_thread(holder.stdout.readline)
        yield
        await asyncio.to_thread(holder.wait)

    async with serving(store, content) as (runtime, url):
        tally, last = await drive(runtime, url, users, pause, fault)
        tally.places_saved = await check_saved(runtime, path, last)
    return tally


async def disk_full(content: Path, tmp: Path, users: int, pause: float) -> Tally:
    path = tmp / "full.sqlite3"
    store = FullDisk(path, TTL)

    async def fault() -> AsyncIterator[None]:
        store.full = True
        yield
        await asyncio.sleep(15)
        store.full = False

    async with serving(store, content) as (runtime, url):
        tally, last = await drive(runtime, url, users, pause, fault)
        tally.places_saved = await check_saved(runtime, path, last)
    return tally


async def redis_down(content: Path, tmp: Path, users: int, pause: float) -> Tally:
    from bot.store.redis import RedisStore

    binary = server_binary()
    if binary is None:
        raise SystemExit("no redis-server found (pip install '.[test]')")
    servers = [redis_server(binary)]
    first = servers[0].__enter__()

    async def fault() -> AsyncIterator[None]:
        first.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.process.wait)
        servers[0].__exit__(None, None, None)
        yield
        await asyncio.sleep(12)
        servers[0] = redis_server(binary, port=first.port)
        await asyncio.to_thread(servers[0].__enter__)

    try:
        async with serving(RedisStore(first.url, TTL), content) as (runtime, url):
            tally, _ = await drive(runtime, url, users, pause, fault)
    finally:
        servers[0].__exit__(None, None, None)
    return tally


FAULTS = {
    "sqlite-locked": ("SQLite write lock held 15 s", sqlite_locked),
    "disk-full": ("disk full 15 s (SQLITE_FULL)", disk_full),
    "redis-down": ("Redis killed, down 12 s, restarted", redis_down),
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--pause", type=float, default=0.5)
    parser.add_argument("--only", default=",".join(FAULTS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, handlers=[ERRORS])
    print(
        f"{args.users} users, one button each every {args.pause:g} s; "
        f"{BEFORE:g} s before each fault, {AFTER:g} s after it"
    )
    header = (
        f"{'fault':36} {'sent':>5} {'answered':>8} {'try again':>9} {'lost':>5} {'twice':>5}"
        f" {'p50 ms':>7} {'max ms':>7} {'healthz max ms':>14} {'503 during':>10}"
        f" {'ok after':>8} {'places saved':>12} {'errors logged':>13}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        content = write_tree(Path(tmp) / "content")
        for name in args.only.split(","):
            title, run = FAULTS[name]
            t = await run(content, Path(tmp), args.users, args.pause)
            p50 = statistics.median(t.latencies) * 1000 if t.latencies else 0.0
            worst = max(t.latencies, default=0.0) * 1000
            print(
                f"{title:36} {t.sent:5} {t.answered:8} {t.try_again:9} {t.lost:5} {t.twice:5}"
                f" {p50:7.0f} {worst:7.0f} {max(t.health_ms, default=0):14.0f}"
                f" {'yes' if t.health_failed_during else 'no':>10}"
                f" {'yes' if t.health_ok_after else 'no':>8} {t.places_saved:>12}"
                f" {t.errors_logged:13}",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
