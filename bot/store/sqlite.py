"""The default session store: one SQLite file in the data directory.

SQLite calls block, and a write blocks for as long as another process holds the database's
write lock (a backup, a manual ``sqlite3`` session), so nothing that may wait runs on the event
loop. What cannot wait is done at once on the loop, though: handing a call to a thread and
back costs more than the call itself (one read and one write per message).

- Reads are done on the loop with a connection that never waits: in WAL mode a reader does
  not wait for a writer. In the rare case where SQLite would wait (e.g. while another
  process recovers the WAL), the read goes to a thread with a connection of its own.
- Writes go to a queue that is committed in batches (one transaction for everything that
  arrived meanwhile). While the writer thread is idle and writes succeed, a batch is
  committed on the loop with the writer's connection, told not to wait for the lock;
  if the database is locked, full or failing, the writer thread commits it, waiting for
  the lock. That connection never checkpoints by itself (a checkpoint copies the WAL into
  the database and syncs both): the writer thread does, every ``_CHECKPOINT_EVERY`` rows.
  :meth:`SqliteStore.put` waits for its batch at most ``save_wait`` seconds, then raises
  :class:`StoreError`; the state stays queued (a newer state of the same session replaces
  it) and is committed as soon as the database takes writes again, so a locked or full
  disk delays saving without losing what users did. Until then :meth:`SqliteStore.get`
  answers from the queue.
- An erasure is committed at once and the WAL is checkpointed right after, so the erased
  rows are gone from the files on disk, not only from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from bot.state import SessionState
from bot.store.base import SessionKey, SessionStore, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session   TEXT PRIMARY KEY,
    user_key  TEXT NOT NULL,
    chat_key  TEXT NOT NULL,
    state     TEXT NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_key);
CREATE INDEX IF NOT EXISTS sessions_chat ON sessions (chat_key);
CREATE INDEX IF NOT EXISTS sessions_seen ON sessions (last_seen);
"""

_UPSERT = (
    "INSERT INTO sessions (session, user_key, chat_key, state, last_seen) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(session) DO UPDATE SET state = excluded.state, last_seen = excluded.last_seen"
)

Entry = tuple[SessionKey, SessionState]
Row = tuple[str, str, str, str, float]

_CHECKPOINT_EVERY = 200
"""Rows written between two checkpoints (SQLite's own would come every 1,000 pages of WAL,
and a session touches a page of the table and of each of its three indexes)."""


def _rows(entries: Iterable[Entry]) -> list[Row]:
    return [
        (k.session, k.user, k.chat, json.dumps(s.to_dict()), s.last_seen.timestamp())
        for k, s in entries
    ]


def _select(db: sqlite3.Connection, session: str) -> tuple[str] | None:
    # fetchall, not fetchone: the statement runs to its end, so this connection holds no
    # read snapshot afterwards (one would keep checkpoints from emptying the WAL).
    rows: list[tuple[str]] = db.execute(
        "SELECT state FROM sessions WHERE session = ?", (session,)
    ).fetchall()
    return rows[0] if rows else None


def describe(exc: BaseException) -> str:
    """A short reason for logs and ``/healthz`` (SQLite's messages hold no user data)."""
    return str(exc) or type(exc).__name__


class SqliteStore(SessionStore):
    """Sessions in a SQLite database that survives restarts.

    ``lock_wait``: how long one write waits for another process's write lock before the
    batch is retried later; ``save_wait``: how long :meth:`put` waits for its state to be
    committed; ``retry_after``: the pause before a failed batch is tried again.
    """

    def __init__(
        self,
        path: Path | str,
        ttl: dt.timedelta,
        *,
        lock_wait: float = 5.0,
        save_wait: float = 1.0,
        retry_after: float = 0.5,
    ) -> None:
        super().__init__(ttl)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.save_wait = save_wait
        self.retry_after = retry_after
        self._writer = self._connect(lock_wait)
        self._writer.executescript(_SCHEMA)
        self._writer.execute("PRAGMA wal_autocheckpoint=0")  # see _checkpoint_now
        self._lock_wait_ms = round(lock_wait * 1000)
        self._reader = self._connect(lock_wait)
        self._direct = self._connect(0)  # reads on the event loop: never waits for a lock
        self._writing = 0  # calls handed to the writer thread and not finished yet
        self._unchecked = 0  # rows written since the last checkpoint
        # One thread each: SQLite connections are not for concurrent use, and a writer
        # waiting for a lock must not hold up reads.
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="sqlite-read")
        self._pending: dict[str, Entry] = {}
        self._inflight: dict[str, Entry] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.failure: str | None = None
        """Why the last batch of writes failed; ``None`` once writes succeed again."""

    def _connect(self, lock_wait: float) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=lock_wait, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        # Erased rows must not linger in free pages of the file.
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    async def _run(self, pool: ThreadPoolExecutor, call: Callable[..., T], *args: object) -> T:
        if pool is not self._writes:
            return await asyncio.get_running_loop().run_in_executor(pool, call, *args)
        self._writing += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call, *args)
        finally:
            self._writing -= 1

    # -- reading ------------------------------------------------------------------------

    def _queued(self, session: str) -> Entry | None:
        return self._pending.get(session) or self._inflight.get(session)

    async def get(self, key: SessionKey, now: dt.datetime) -> SessionState | None:
        queued = self._queued(key.session)
        if queued is not None:
            return None if self.expired(queued[1], now) else queued[1]
        try:
            row = _select(self._direct, key.session)
        except sqlite3.OperationalError:  # SQLite would wait (busy or locked): in the thread
            row = await self._run(self._reads, _select, self._reader, key.session)
        if row is None:
            return None
        try:
            state = SessionState.from_dict(json.loads(row[0]))
        except (ValueError, KeyError, TypeError):
            # A row from an incompatible version: start that user afresh rather than fail.
            await self._delete("session", key.session)
            return None
        if self.expired(state, now):
            await self._delete("session", key.session)
            return None
        return state

    async def count(self) -> int:
        queued = list({**self._inflight, **self._pending})

        def count() -> int:
            stored = int(self._reader.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
            for start in range(0, len(queued), 500):
                chunk = queued[start : start + 500]
                marks = ",".join("?" * len(chunk))
                known = self._reader.execute(
                    f"SELECT COUNT(*) FROM sessions WHERE session IN ({marks})", chunk
                ).fetchone()[0]
                stored += len(chunk) - int(known)
            return stored

        return await self._run(self._reads, count)

    async def check(self) -> None:
        """Raise :class:`StoreError` while writes fail or the file cannot be read."""
        if self.failure is not None:
            raise StoreError(f"sessions not saved: {self.failure}")
        await self._run(self._reads, lambda: self._reader.execute("SELECT 1").fetchone())

    # -- writing ------------------------------------------------------------------------

    async def put(self, key: SessionKey, state: SessionState) -> None:
        self._pending[key.session] = (key, state)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Nobody may be waiting any more when the batch ends (put timed out).
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiters.append(done)
        loop = asyncio.get_running_loop()
        if self._flusher is None or self._flusher.done() or self._flusher.get_loop() is not loop:
            # (Again) in this event loop: an Event belongs to the loop that first waits on it.
            self._wake = asyncio.Event()
            self._waiters = [w for w in self._waiters if w.get_loop() is loop]
            self._flusher = asyncio.create_task(self._flush_forever(), name="sqlite-flush")
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(done), self.save_wait)
        except TimeoutError:
            reason = self.failure or "the database is busy"
            raise StoreError(
                f"not saved within {self.save_wait:g} s ({reason}); queued and retried"
            ) from None

    def _commit_here(self, rows: list[Row]) -> bool:
        """Commit ``rows`` on the loop if that cannot wait: ``True`` once they are saved."""
        if self._writing or self.failure:
            return False  # the writer thread is busy, or retrying
        # The writer thread is idle, so its connection is free; it must not wait here.
        self._writer.execute("PRAGMA busy_timeout=0")
        try:
            self._commit(rows)
        except (sqlite3.Error, OSError):
            return False  # locked, full or failing: the writer thread retries and reports
        finally:
            self._writer.execute(f"PRAGMA busy_timeout={self._lock_wait_ms}")
        self._unchecked += len(rows)
        if self._unchecked >= _CHECKPOINT_EVERY:
            # In the thread; writes go through the thread until it is done.
            self._unchecked = 0
            self._writing += 1
            loop = asyncio.get_running_loop()

            def checkpointed(_: object) -> None:
                with contextlib.suppress(RuntimeError):  # the loop is gone: so is the store
                    loop.call_soon_threadsafe(self._checkpointed)

            self._writes.submit(self._checkpoint_now).add_done_callback(checkpointed)
        return True

    def _checkpointed(self) -> None:
        self._writing -= 1

    def _checkpoint_now(self) -> None:
        """Copy the WAL into the database (in the writer thread), so that it is reused
        instead of growing; PASSIVE: nobody is waited for."""
        with contextlib.suppress(sqlite3.Error):
            self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            waiters, self._waiters = self._waiters, []
            if not self._pending:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                continue
            self._inflight, self._pending = self._pending, {}
            rows = _rows(self._inflight.values())
            try:
                if not self._commit_here(rows):
                    await self._run(self._writes, self._commit_batch, rows)
            except (sqlite3.Error, OSError) as exc:
                if self.failure is None:
                    log.error("saving sessions failed: %s; they are kept and retried", exc)
                self.failure = describe(exc)
                # A newer state of the same session, queued meanwhile, wins.
                self._pending = {**self._inflight, **self._pending}
                self._inflight = {}
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(StoreError(self.failure))
                await asyncio.sleep(self.retry_after)
                self._wake.set()
            else:
                self._inflight = {}
                if self.failure is not None:
                    log.warning("sessions are saved again")
                self.failure = None
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    def _commit(self, rows: list[Row]) -> None:
        """One transaction for a batch (in the writer thread, or one row on the loop)."""
        self._transaction(lambda db: db.executemany(_UPSERT, rows))

    def _commit_batch(self, rows: list[Row]) -> None:
        """Commit a batch and checkpoint when it is time (in the writer thread)."""
        self._commit(rows)
        self._unchecked += len(rows)
        if self._unchecked >= _CHECKPOINT_EVERY:
            self._unchecked = 0
            self._checkpoint_now()

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        db = self._writer
        # IMMEDIATE takes the write lock up front, so the busy timeout applies to it
        # instead of failing at once when a read transaction would have to be upgraded.
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    # -- erasing ------------------------------------------------------------------------

    def _unqueue(self, match: Callable[[SessionKey], bool]) -> set[str]:
        gone: set[str] = set()
        for queue in (self._pending, self._inflight):
            for session in [s for s, (k, _) in queue.items() if match(k)]:
                del queue[session]
                gone.add(session)
        return gone

    async def delete_user(self, user: str) -> int:
        return await self._delete("user_key", user, lambda k: k.user == user)

    async def delete_chat(self, chat: str) -> int:
        return await self._delete("chat_key", chat, lambda k: k.chat == chat)

    async def _delete(
        self, column: str, value: str, match: Callable[[SessionKey], bool] | None = None
    ) -> int:
        # Dropped from the queue first; a batch already being written goes to the same
        # thread before this erasure, so the erasure also removes what it wrote.
        queued = self._unqueue(match or (lambda k: k.session == value))
        stored = await self._run(self._writes, lambda: self._erase(column, value))
        return len(queued | stored)

    def _erase(self, column: str, value: str) -> set[str]:
        """Delete the rows and checkpoint the WAL (in the writer thread)."""
        # ``column`` is one of our own literals, never user input.
        sql = f"DELETE FROM sessions WHERE {column} = ? RETURNING session"
        gone = self._transaction(lambda db: {row[0] for row in db.execute(sql, (value,))})
        if gone:
            self._checkpoint()
        return gone

    def _checkpoint(self) -> None:
        # The deleted rows' old pages are still in the WAL until it is copied into the
        # (securely deleted) database file and emptied.
        busy, _, _ = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("the WAL could not be emptied after an erasure; SQLite retries later")

    async def purge_expired(self, now: dt.datetime) -> int:
        queued = self._unqueue_expired(now)
        cutoff = (now - self.ttl).timestamp()

        def purge() -> set[str]:
            sql = "DELETE FROM sessions WHERE last_seen < ? RETURNING session"
            gone = self._transaction(lambda db: {row[0] for row in db.execute(sql, (cutoff,))})
            if gone:
                self._checkpoint()
            return gone

        return len(queued | await self._run(self._writes, purge))

    def _unqueue_expired(self, now: dt.datetime) -> set[str]:
        gone: set[str] = set()
        for queue in (self._pending, self._inflight):
            for session in [s for s, (_, st) in queue.items() if self.expired(st, now)]:
                del queue[session]
                gone.add(session)
        return gone

    # -- closing ------------------------------------------------------------------------

    async def close(self) -> None:
        """Commit what is queued (one last try), then close the database."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        left = {**self._inflight, **self._pending}
        self._pending, self._inflight = {}, {}
        rows = _rows(left.values())
        if rows:
            try:
                await self._run(self._writes, self._commit_batch, rows)
            except (sqlite3.Error, OSError) as exc:
                log.error("%d session(s) could not be saved before closing: %s", len(rows), exc)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(StoreError("the store was closed"))
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        for db in (self._direct, self._reader, self._writer):
            db.close()
