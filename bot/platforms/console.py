"""The terminal chat: the embedded default platform, no account or token needed.

Options are printed numbered and chosen by typing the number (the engine maps a bare
number to the option). When stdin is not a terminal it answers one input per line and
stops at the end of input, so it can be scripted. It starts in the language of the
terminal's locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``) when the content has it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Mapping
from typing import TextIO

from bot.content.markup import to_plain
from bot.events import Reply, Start, Text
from bot.runtime import Conversation, Runtime

CONVERSATION = Conversation(platform="console", chat_id="console", user_id="console")
QUIT_WORDS = frozenset({"exit", "quit", ":q"})


def render(reply: Reply) -> str:
    """A reply as the terminal shows it: plain text, then the numbered options."""
    lines = [to_plain(reply.text)]
    if reply.options:
        lines.append("")
        lines += [f"  {i}) {option.label}" for i, option in enumerate(reply.options, 1)]
    return "\n".join(lines)


def locale_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The language of the terminal's locale ("de_DE.UTF-8" → "de"), the way POSIX ranks
    the variables; ``None`` for the C/POSIX locale or none set."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            code = value.split(".")[0].split("@")[0]
            return None if code in ("C", "POSIX") else code.replace("_", "-")
    return None


def _lines(stdin: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
    """Lines of ``stdin`` as they come ("" at the end of input), read by a daemon thread:
    a blocked read must never keep the process from ending on Ctrl-C or SIGTERM."""
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                line = stdin.readline()
            except (OSError, ValueError):  # closed under us while stopping
                line = ""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the loop is gone: the chat is over
                return
            if not line:
                return

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return queue


async def chat(
    runtime: Runtime,
    *,
    language: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stop: asyncio.Event | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Chat on the terminal until end of input, an exit word or ``stop``; returns an exit code."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stop = stop or asyncio.Event()
    interactive = stdin.isatty()

    def show(replies: list[Reply]) -> None:
        for reply in replies:
            stdout.write(render(reply) + "\n\n")
        stdout.flush()

    start = Start(language=language, locale=locale_language(environ))
    show(await runtime.handle(CONVERSATION, start))
    lines = _lines(stdin, asyncio.get_running_loop())
    stopped = asyncio.create_task(stop.wait())
    try:
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line_task = asyncio.create_task(lines.get())
            await asyncio.wait({line_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not line_task.done():
                line_task.cancel()
                if interactive:
                    stdout.write("\n")  # leave the prompt line clean for the shell
                    stdout.flush()
                break
            line = line_task.result()
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if interactive and text.lower() in QUIT_WORDS:
                break
            if not interactive:
                # Echo the question so a transcript of a piped run reads like a chat.
                stdout.write(f"> {text}\n")
            show(await runtime.handle(CONVERSATION, Text(text=text)))
    finally:
        stopped.cancel()
    return 0


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Platform entry point for ``python -m bot run`` without any credentials."""
    await chat(runtime, stop=stop)
