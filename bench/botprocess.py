"""``python -m bot run`` as a separate process against the fake Bot API, for the benchmarks.

The fake Bot API (``tests/telegram/fake_bot_api.py``) runs in the benchmark's own event loop;
the bot is a real child process, so its memory and CPU are its own. Shared by
``bench/reload.py`` and ``bench/soak.py``.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "telegram"))

import aiohttp  # noqa: E402
from fake_bot_api import FakeBotApi, Sent  # noqa: E402

WAIT = 60.0


class CountingApi(FakeBotApi):
    """The fake Bot API, keeping each chat's messages apart and waking whoever waits on them.

    The base class's ``wait_sent`` scans every message sent so far on every change, too slow
    for thousands of chats over minutes.
    """

    def __init__(self) -> None:
        super().__init__(validate_responses=False)
        self.per_chat: dict[int, list[Sent]] = defaultdict(list)
        self._arrived: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def _record(self, method: str, chat_id: int, message_id: int, p: dict[str, Any]) -> None:
        super()._record(method, chat_id, message_id, p)
        if method == "sendMessage":
            self.per_chat[chat_id].append(self.sent[-1])
            self._arrived[chat_id].set()

    async def wait_for_more(self, chat_id: int, seen: int, timeout: float) -> bool:
        """Whether chat ``chat_id`` has more than ``seen`` messages within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.per_chat[chat_id]) <= seen:
            event = self._arrived[chat_id]
            event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return len(self.per_chat[chat_id]) > seen
        return True


class Output:
    """The bot's combined stdout and stderr, collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()

    async def wait_for(self, pattern: str, start: int = 0, timeout: float = WAIT) -> re.Match[str]:
        """The first match of ``pattern`` in a line from index ``start`` on."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            for line in self.lines[start:]:
                if match := regex.search(line):
                    return match
            return None

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: found() is not None)
        except TimeoutError:
            tail = "\n".join(self.lines[-30:])
            raise RuntimeError(f"no {pattern!r} in the bot's output:\n{tail}") from None
        match = found()
        assert match is not None
        return match

    def errors(self) -> list[str]:
        """Lines logged at ERROR or CRITICAL, and tracebacks."""
        return [
            line
            for line in self.lines
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
        ]

    async def close(self) -> None:
        await self._reader


class Bot:
    """A running ``python -m bot run`` with its health listener's port."""

    def __init__(self, proc: asyncio.subprocess.Process, output: Output, port: int) -> None:
        self.proc = proc
        self.output = output
        self.port = port

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mib(self) -> float:
        """The bot process's resident memory now, from ``/proc``."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        assert found is not None
        return int(found.group(1)) / 1024

    async def metrics(self) -> dict[str, float]:
        """``/metrics`` as ``{'name{labels}': value}``, comments left out."""
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{self.port}/metrics") as resp,
        ):
            text = await resp.text()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out


@asynccontextmanager
async def bot_process(
    api: FakeBotApi,
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    root: Path = ROOT,
) -> AsyncIterator[Bot]:
    """Start the bot against ``api``; ready once Telegram is connected. Stopped with SIGTERM.

    ``root``: the checkout whose ``bot`` runs (another worktree, for before/after figures)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "MATRIX_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{api.port}",
        TELEGRAM_POLL_TIMEOUT="10",
        BOT_DATA_DIR=str(data_dir),
        BOT_HTTP_LISTEN="127.0.0.1:0",
        BOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=root, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = Output(proc)
    try:
        port = int((await output.wait_for(r"http://127\.0\.0\.1:(\d+)/healthz")).group(1))
        await output.wait_for(r"Telegram bot @\S+ running")
        yield Bot(proc, output, port)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(WAIT):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await output.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[index]
