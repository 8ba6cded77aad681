"""Session store speed and memory: SQLite and Redis.

    .venv/bin/python bench/store.py [--sessions 100000] [--ops 20000]

Operations/s: one operation is a ``put`` followed by a ``get`` of one session (what the
runtime does per message), run one at a time and with 64 at once, on sessions with a
realistic state (a node, a back stack, offered options, a few checklist variables) under
runtime-shaped keys (32 hex digits).

Memory per 100,000 sessions: for SQLite the size of the database file (with its WAL) and
the growth of this process's resident memory; for Redis the growth of ``used_memory``
(``INFO memory``) on a fresh server started as the tests do (no persistence).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bot.state import SessionState  # noqa: E402
from bot.store import SessionKey, SessionStore, SqliteStore  # noqa: E402
from bot.store.redis import RedisStore  # noqa: E402

TTL = dt.timedelta(days=30)


def key(i: int) -> SessionKey:
    """Runtime-shaped keys: 32 hex digits each; 3 sessions per user, 1 user per chat on average."""

    def h(*parts: object) -> str:
        return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]

    return SessionKey(session=h("s", i), user=h("u", i // 3), chat=h("c", i))


def state(i: int) -> SessionState:
    return SessionState(
        node="how-to-object",
        language="de",
        last_seen=dt.datetime.now(dt.UTC),
        language_chosen=True,
        back=("start", "right-to-object"),
        offered=("@back", "@menu", "instagram-objection"),
        variables=(("services", "fb,ig"), ("objected", "no"), ("country", "de")),
    )


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def ops_per_second(store: SessionStore, ops: int, concurrency: int) -> float:
    now = dt.datetime.now(dt.UTC)
    made = state(0)

    async def one(i: int) -> None:
        k = key(i % 5000)
        await store.put(k, made)
        assert await store.get(k, now) is not None

    started = time.perf_counter()
    if concurrency == 1:
        for i in range(ops):
            await one(i)
    else:
        for base in range(0, ops, concurrency):
            await asyncio.gather(*(one(i) for i in range(base, min(ops, base + concurrency))))
    return ops / (time.perf_counter() - started)


async def fill(store: SessionStore, sessions: int) -> None:
    for base in range(0, sessions, 500):
        await asyncio.gather(
            *(store.put(key(i), state(i)) for i in range(base, min(sessions, base + 500)))
        )


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--ops", type=int, default=20_000)
    args = parser.parse_args()
    from fixtures.redis_server import redis_server, server_binary

    binary = server_binary()
    if binary is None:
        raise SystemExit("no redis-server found (pip install '.[test]')")
    per = 100_000 / args.sessions
    print(f"put+get operations/s ({args.ops} each); memory scaled to 100,000 sessions")

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "speed" / "sessions.sqlite3", TTL)
        for c in (1, 64):
            print(
                f"  sqlite  concurrency {c:2}: {await ops_per_second(sqlite, args.ops, c):9.0f} ops/s"
            )
        await sqlite.close()
        where = Path(tmp) / "size"
        sized = SqliteStore(where / "sessions.sqlite3", TTL)
        before = rss_kib()
        await fill(sized, args.sessions)
        grown = rss_kib() - before
        on_disk = size_of(where)
        await sized.close()
        print(
            f"  sqlite  {args.sessions} sessions: file {on_disk * per / 2**20:.1f} MiB, "
            f"process RSS +{grown * per / 1024:.1f} MiB (per 100,000)"
        )

    with redis_server(binary) as server:
        speed = RedisStore(server.url, TTL, prefix="speed:")
        for c in (1, 64):
            print(
                f"  redis   concurrency {c:2}: {await ops_per_second(speed, args.ops, c):9.0f} ops/s"
            )
        await speed.close()
        client = server.client()
        client.flushall()
        base = int(client.info("memory")["used_memory"])
        sized_redis = RedisStore(server.url, TTL, prefix="bot:")
        await fill(sized_redis, args.sessions)
        assert await sized_redis.count() == args.sessions
        used = int(client.info("memory")["used_memory"]) - base
        version = client.info("server")
        await sized_redis.close()
        client.close()
        name = f"valkey {version['valkey_version']}" if "valkey_version" in version else "redis"
        print(
            f"  redis   {args.sessions} sessions: used_memory +{used * per / 2**20:.1f} MiB "
            f"(per 100,000; server {name}, protocol {version['redis_version']})"
        )


if __name__ == "__main__":
    asyncio.run(main())
