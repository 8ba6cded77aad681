"""Content hot reload: on SIGHUP or a file change, load the new tree and swap it in if valid.

Loading, validating and building the engine with its matcher take a noticeable fraction of a
second of CPU, so they run in a worker thread (``asyncio.to_thread``): the event loop keeps
answering from the old tree meanwhile. A valid tree replaces the old one with one reference
swap (:meth:`bot.runtime.Runtime.swap`); an invalid one is logged problem by problem as
``file:line: message`` and the old tree stays in service. Platforms know nothing of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bot.content import ContentError
from bot.content.cache import ContentCache
from bot.content.loader import default_content_dir
from bot.engine import Engine
from bot.matchercache import load_with_matcher
from bot.runtime import Runtime

log = logging.getLogger(__name__)

QUIET_MS = 300
"""A file change is acted on once the directory has been quiet this long, so that copying a
whole new content set (``git pull``, ``rsync``) is one reload rather than one per file."""


def build_engine(
    directory: Path, session_ttl: dt.timedelta, cache: ContentCache | None = None
) -> Engine:
    """Load and validate ``directory`` (through ``cache`` if given) and build its engine and
    matcher (blocking).

    Raises :class:`ContentError` when the content is invalid.
    """
    content, matcher = load_with_matcher(directory, cache)
    matcher.prepare()  # what changed is embedded before the swap, not on a question
    return Engine(content, matcher, session_ttl=session_ttl)


class ContentReloader:
    """Reloads ``runtime``'s content from ``directory`` (default: the shipped content)."""

    def __init__(
        self, runtime: Runtime, directory: Path | None = None, cache: ContentCache | None = None
    ) -> None:
        self.runtime = runtime
        self.directory = Path(directory) if directory else default_content_dir()
        self.cache = cache
        self.listeners: list[Callable[[bool], None]] = []
        """Called with ``True`` or ``False`` after each reload attempt (for tests and tools)."""
        self.watching = asyncio.Event()
        """Set once file changes under the directory are being watched."""
        self._lock = asyncio.Lock()
        self._wanted = asyncio.Event()
        self._reasons: list[str] = []

    def request(self, reason: str) -> None:
        """Ask for a reload soon; requests arriving while one runs are merged into the next."""
        self._reasons.append(reason)
        self._wanted.set()

    async def reload(self, reason: str = "request") -> bool:
        """Reload now; returns whether the new content is in service."""
        async with self._lock:
            started = time.perf_counter()
            try:
                engine = await asyncio.to_thread(
                    build_engine, self.directory, self.runtime.store.ttl, self.cache
                )
            except ContentError as exc:
                for problem in exc.problems:
                    log.error("%s", problem)
                log.error(
                    "content reload (%s) failed: %d problem(s) in %s; the old content stays in service",
                    reason,
                    len(exc.problems),
                    self.directory,
                )
                self._report(False)
                return False
            except Exception:
                # Anything else (a file vanishing mid-read, a matcher bug) must not end the bot.
                log.exception(
                    "content reload (%s) failed; the old content stays in service", reason
                )
                self._report(False)
                return False
            self.runtime.swap(engine)
            log.info(
                "content reloaded (%s): %d nodes from %s in %.0f ms",
                reason,
                len(engine.content.nodes),
                self.directory,
                (time.perf_counter() - started) * 1000,
            )
            self._report(True)
            return True

    def _report(self, ok: bool) -> None:
        if self.runtime.observer is not None:
            self.runtime.observer.reloaded(ok)
        for listener in self.listeners:
            listener(ok)

    async def run(self, stop: asyncio.Event, *, watch: bool = True, sighup: bool = True) -> None:
        """Reload on SIGHUP and (with ``watch``) on changes under the directory until ``stop``."""
        loop = asyncio.get_running_loop()
        if sighup:
            loop.add_signal_handler(signal.SIGHUP, self.request, "SIGHUP")
        # The watcher gets its own stop event: watchfiles sets the one it is given when it is
        # cancelled, which must not be the bot's.
        halt = asyncio.Event()
        watcher = asyncio.create_task(self._watch(halt)) if watch else None
        try:
            while not stop.is_set():
                waiter = asyncio.create_task(self._wanted.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                if stop.is_set():
                    break
                self._wanted.clear()
                reasons, self._reasons = self._reasons, []
                await self.reload(", ".join(dict.fromkeys(reasons)) or "request")
        finally:
            if sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            halt.set()
            if watcher is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(watcher), 5)
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _watch(self, halt: asyncio.Event) -> None:
        from watchfiles import awatch  # only a serving bot watches; the other commands start fast

        changes = awatch(self.directory, stop_event=halt, step=QUIET_MS)
        try:
            pending = asyncio.ensure_future(anext(changes))
            # One step of the generator registers the directory with the OS watcher; only
            # then is it true that a change from now on is seen.
            await asyncio.sleep(0)
            if not pending.done() or pending.exception() is None:
                log.info("watching %s for content changes", self.directory)
                self.watching.set()
            while True:
                try:
                    await pending
                except StopAsyncIteration:
                    return
                self.request("file change")
                pending = asyncio.ensure_future(anext(changes))
        except (OSError, RuntimeError) as exc:
            # No watcher for this file system (e.g. out of inotify watches): SIGHUP still works.
            log.warning(
                "not watching %s for changes (%s); send SIGHUP to reload", self.directory, exc
            )
        finally:
            pending.cancel()
