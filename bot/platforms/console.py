"""The terminal chat: the embedded default platform, no account or token needed.

Options are printed numbered and chosen by typing the number (the engine maps a bare
number to the option). When stdin is not a terminal it answers one input per line and
stops at the end of input, so it can be scripted.
"""

from __future__ import annotations

import asyncio
import sys
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


async def chat(
    runtime: Runtime,
    *,
    language: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Chat on the terminal until end of input, ``exit`` or ``stop``; returns an exit code."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()

    def show(replies: list[Reply]) -> None:
        for reply in replies:
            stdout.write(render(reply) + "\n\n")
        stdout.flush()

    show(await runtime.handle(CONVERSATION, Start(language=language, locale=language)))
    while stop is None or not stop.is_set():
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
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
    return 0


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Platform entry point for ``python -m bot run`` without any credentials."""
    await chat(runtime, stop=stop)
