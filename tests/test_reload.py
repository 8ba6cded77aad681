"""Content hot reload on a running console chat: a broken file leaves the old tree in service,
a fixed one replaces it, and a user whose page vanished lands on the menu with a note."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fixtures.tree import EXTRA, META, ROOT, TTL, write_tree

from bot.content import load_content
from bot.platforms.console import chat
from bot.reload import ContentReloader
from bot.runtime import Runtime
from bot.store import MemoryStore

WAIT = 20.0
"""Seconds to wait for a reload or an answer before failing (a loaded CI machine is slow)."""

NOTE_META = META.replace(
    "  rate_limited:", '  node_gone: {de: "WEG-DE", en: "GONE-EN"}\n  rate_limited:'
)
BROKEN_EXTRA = EXTRA.replace('text: {de: "ÜBER-DE", en: "ABOUT-EN"}', 'text: {de: "ÜBER-NEU-DE"}')
FIXED_EXTRA = EXTRA.replace('"ÜBER-DE", en: "ABOUT-EN"', '"ÜBER-NEU-DE", en: "ABOUT-NEW-EN"')
ROOT_WITHOUT_EXTRA = ROOT.replace("    - to: extra\n", "")


class Transcript(io.StringIO):
    """What the console printed; lets a test wait until something appears."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.changed.set()
        return super().write(text)

    async def wait_for(self, needle: str, start: int) -> str:
        """The output after ``start`` once it contains ``needle``."""
        async with asyncio.timeout(WAIT):
            while True:
                self.changed.clear()
                seen = self.getvalue()[start:]
                if needle in seen:
                    return seen
                await self.changed.wait()


class Console:
    """The console platform on a pipe, with a reloader watching its content directory."""

    def __init__(self, runtime: Runtime, reloader: ContentReloader) -> None:
        self.runtime = runtime
        self.reloader = reloader
        self.out = Transcript()
        self.results: asyncio.Queue[bool] = asyncio.Queue()
        reloader.listeners.append(self.results.put_nowait)
        read_end, write_end = os.pipe()
        self.stdin = os.fdopen(read_end, "r", encoding="utf-8")
        self.pipe = os.fdopen(write_end, "w", encoding="utf-8")

    async def say(self, text: str, expect: str) -> str:
        """Type ``text``; returns the reply once it shows ``expect``."""
        start = len(self.out.getvalue())
        self.pipe.write(text + "\n")
        self.pipe.flush()
        echo = f"> {text}\n"
        seen = await self.out.wait_for(echo, start)
        return await self.out.wait_for(expect, start + seen.index(echo) + len(echo))

    async def reload_result(self) -> bool:
        async with asyncio.timeout(WAIT):
            return await self.results.get()


@asynccontextmanager
async def console(directory: Path, *, watch: bool) -> AsyncIterator[Console]:
    runtime = Runtime(load_content(directory), MemoryStore(TTL), b"test-secret")
    reloader = ContentReloader(runtime, directory)
    stop = asyncio.Event()
    reloading = asyncio.create_task(reloader.run(stop, watch=watch))
    c = Console(runtime, reloader)
    chatting = asyncio.create_task(chat(runtime, language="de", stdin=c.stdin, stdout=c.out))
    try:
        await c.out.wait_for("WILLKOMMEN-DE", 0)
        if watch:
            async with asyncio.timeout(WAIT):
                await reloader.watching.wait()
        yield c
    finally:
        c.pipe.close()
        async with asyncio.timeout(WAIT):
            assert await chatting == 0
        stop.set()
        async with asyncio.timeout(WAIT):
            await reloading
        c.stdin.close()
        await runtime.close()


async def test_a_broken_file_keeps_the_old_tree_and_a_fixed_one_replaces_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = write_tree(tmp_path / "content")
    caplog.set_level(logging.INFO, logger="bot.reload")
    async with console(directory, watch=True) as c:
        assert "ÜBER-DE" in await c.say("4", "ÜBER-DE")

        (directory / "nodes/50-extra.yaml").write_text(BROKEN_EXTRA, encoding="utf-8")
        assert await c.reload_result() is False
        # Every problem is logged as file:line: message; the English text is the one missing.
        problems = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any(re.match(r".*nodes/50-extra\.yaml:\d+: .*\ben\b", p) for p in problems), problems
        assert any("old content stays in service" in p for p in problems), problems
        await c.say("/menu", "WILLKOMMEN-DE")
        answer = await c.say("4", "ÜBER")
        assert "ÜBER-DE" in answer and "ÜBER-NEU-DE" not in answer

        (directory / "nodes/50-extra.yaml").write_text(FIXED_EXTRA, encoding="utf-8")
        assert await c.reload_result() is True
        await c.say("/menu", "WILLKOMMEN-DE")
        assert "ÜBER-NEU-DE" in await c.say("4", "ÜBER-NEU-DE")
        # The language switch uses the new tree too.
        assert "ABOUT-NEW-EN" in await c.say("/lang en", "ABOUT-NEW-EN")
    assert c.results.empty(), "one reload per change"


async def test_sighup_reloads_and_a_user_on_a_removed_page_gets_the_menu_with_a_note(
    tmp_path: Path,
) -> None:
    directory = write_tree(tmp_path / "content", {"bot.yaml": NOTE_META})
    async with console(directory, watch=False) as c:
        await c.say("4", "ÜBER-DE")
        (directory / "nodes/00-root.yaml").write_text(ROOT_WITHOUT_EXTRA, encoding="utf-8")
        (directory / "nodes/50-extra.yaml").unlink()
        os.kill(os.getpid(), signal.SIGHUP)
        assert await c.reload_result() is True
        assert "extra" not in c.runtime.content.nodes
        # "1" would have been the old page's first option; now it is the menu with the note.
        reply = await c.say("1", "WILLKOMMEN-DE")
        assert reply.split("\n")[0] == "WEG-DE"
        assert "Über den Bot" not in reply


NEW_TOPIC = """\
- id: cookies
  title: {de: Cookies im Browser, en: Browser cookies}
  text: {de: "KEKSE-DE", en: "COOKIES-EN"}
  questions:
    de: ["Was speichern Cookies in meinem Browser?"]
    en: ["What do cookies store in my browser?"]
  keywords:
    de: [cookies, browser]
    en: [cookies, browser]
  sources:
    - {title: Bot, url: "https://example.org/cookies"}
  checked: 2025-05-01
"""


async def test_after_a_reload_typed_questions_are_matched_against_the_new_tree(
    tmp_path: Path,
) -> None:
    """A question only the new tree can answer gets the new node, so the matcher was
    rebuilt with the tree (not only the texts and buttons swapped)."""
    directory = write_tree(tmp_path / "content")
    question = "Was speichern Cookies in meinem Browser?"
    async with console(directory, watch=False) as c:
        before = await c.say(question, "FALLBACK-DE")
        assert "KEKSE-DE" not in before

        (directory / "nodes/60-cookies.yaml").write_text(NEW_TOPIC, encoding="utf-8")
        (directory / "nodes/00-root.yaml").write_text(
            ROOT.replace("    - to: extra\n", "    - to: extra\n    - to: cookies\n"),
            encoding="utf-8",
        )
        assert await c.reloader.reload("test") is True
        assert await c.reload_result() is True
        assert "KEKSE-DE" in await c.say(question, "KEKSE-DE")
