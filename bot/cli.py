"""Command line: ``python -m bot {run,chat,check,ask,graph,links}``.

Only ``run`` may import the Telegram and Matrix libraries, and only when their
credentials are set: the other commands must start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import gc
import json
import logging
import os
import queue
import re
import signal
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from bot import redact
from bot.configbase import ConfigError, url_password
from bot.content import Content, ContentError, load_content, read_content, stale_nodes
from bot.content.loader import default_content_dir

if TYPE_CHECKING:
    import asyncio

    from bot.config import Settings
    from bot.content.cache import ContentCache
    from bot.events import Reply
    from bot.observability import HttpListener
    from bot.runtime import Runtime

# asyncio and bot.config (pydantic-settings, which pulls in asyncio) are imported where
# they are used: check, graph and (mostly) ask need neither, and every command must start
# fast. bot.configbase has what every command needs of the settings.

log = logging.getLogger("bot")

PURGE_INTERVAL = 3600.0
"""Seconds between sweeps that erase expired sessions."""


def _content_or_exit(directory: Path | None) -> Content:
    try:
        return load_content(directory)
    except ContentError as exc:
        _invalid(exc)


def _invalid(exc: ContentError) -> NoReturn:
    print(exc, file=sys.stderr)
    print(
        f"content is invalid: {len(exc.problems)} problem(s); run `python -m bot check`",
        file=sys.stderr,
    )
    raise SystemExit(1) from None


# -- check -------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    """Validate content and report every problem as ``file:line: message``."""
    directory = Path(args.dir) if args.dir else default_content_dir()
    content, problems, _ = read_content(directory)
    if content is not None:
        problems += stale_nodes(content, dt.datetime.now(dt.UTC).date(), args.max_age_days)
        from bot.content.phone import first_screen_problems  # only check measures screens

        problems += first_screen_problems(content)
        from bot.matching import generic_example_problems  # numpy: only when checking

        problems += generic_example_problems(content)
        from bot.content.translations import review_problems

        problems += review_problems(directory)
    for problem in sorted(problems):
        print(problem)
    errors = [p for p in problems if p.level == "error"]
    if errors or content is None:
        print(f"{len(errors)} error(s) in {directory}", file=sys.stderr)
        return 1
    warnings = len(problems) - len(errors)
    note = f", {warnings} warning(s)" if warnings else ""
    print(f"OK: {len(content.nodes)} nodes, languages: {', '.join(content.languages)}{note}")
    return 0


# -- embed -------------------------------------------------------------------------------


def cmd_embed(args: argparse.Namespace) -> int:
    """Write the content's shipped vectors (``vectors/<model>.npz`` in the content) and the
    node classifiers fitted on them (``vectors/classifiers/``)."""
    directory = Path(args.dir) if args.dir else default_content_dir()
    content = _content_or_exit(directory)
    from bot.matching import Matcher
    from bot.matching.classifier import CLASSIFIERS_DIR, NodeClassifier, classifier_key
    from bot.matching.classifier import ship as ship_classifiers
    from bot.matching.semantic import (
        EmbeddingCache,
        SemanticIndex,
        default_cache_dir,
        default_embedder,
    )
    from bot.matching.shipped import shipped_path, write_shipped

    embedder = default_embedder()
    if embedder is None:
        print("no model to embed with (see the log above)", file=sys.stderr)
        return 1
    matcher = Matcher(content, embedder=None)
    texts = sorted(
        {t for index in matcher.indexes.values() for ts in index.position_texts for t in ts} - {""}
    )
    target = shipped_path(directory, embedder.name)
    cache = EmbeddingCache(default_cache_dir(embedder.name), shipped=target)
    fresh = len(cache.missing(embedder.name, texts))
    written = write_shipped(target, embedder.name, texts, cache.vectors(embedder, texts))
    print(f"wrote {written} vectors to {target} ({fresh} embedded now)")
    # Each language's classifier, fitted on the vectors just written as a bot reads them.
    shipped = EmbeddingCache(None, shipped=target)
    folder = target.parent / CLASSIFIERS_DIR

    def fit_on(positions: list[list[str]]) -> Callable[[], NodeClassifier]:
        return lambda: SemanticIndex(embedder, shipped, positions).fit_classifier()

    every = [matcher.indexes[lang].position_texts for lang in content.languages]
    wanted = {classifier_key(embedder.name, positions): fit_on(positions) for positions in every}
    fitted = ship_classifiers(folder, wanted)
    print(f"node classifiers of {len(wanted)} languages in {folder} ({fitted} fitted now)")
    return 0


# -- translate ---------------------------------------------------------------------------


def cmd_translate(args: argparse.Namespace) -> int:
    """Export the content's texts to a PO file for translators, or import one back."""
    from bot.content import translations

    directory = args.content or default_content_dir()
    if args.lang is not None and not re.fullmatch(r"[a-z]{2}", args.lang):
        print(f"--lang: {args.lang!r} is not a two-letter language code", file=sys.stderr)
        return 2
    if args.action == "export":
        out = (
            Path(args.out)
            if args.out
            else directory / translations.TRANSLATION_DIR / f"{args.lang}.po"
        )
        po = translations.export(
            directory, args.lang, out, source=args.source, from_yaml=args.from_yaml
        )
        todo = sum(1 for e in po if not e.msgstr or "fuzzy" in e.flags)
        print(f"{out}: {len(po)} texts, {todo} to translate or review")
        return 0
    path = Path(args.file) if args.file else None
    if path is None:
        if args.lang is None:
            print("translate import: name the PO file or --lang", file=sys.stderr)
            return 2
        path = directory / translations.TRANSLATION_DIR / f"{args.lang}.po"
    if not path.is_file():
        print(f"{path}: no such PO file", file=sys.stderr)
        return 2
    result = translations.import_po(directory, path, lang=args.lang)
    for context in result.unknown:
        print(f"{path}: warning: '{context}' is not in the content (left out)")
    print(
        f"{path}: {result.written} texts written into {directory}, "
        f"{result.skipped_fuzzy} fuzzy left for review"
        + (
            f", {result.skipped_changed} left out because their source text changed since "
            f"(export again to see them as fuzzy)"
            if result.skipped_changed
            else ""
        )
    )
    return 0


# -- ask ---------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions from stdin, one per line, as a fresh user would get them."""
    from bot.content.markup import to_plain
    from bot.engine import Engine
    from bot.events import Reply, Start, Text
    from bot.matchercache import load_with_matcher

    session_ttl, cache = _ask_settings()
    try:
        content, matcher = load_with_matcher(args.content, cache)
    except ContentError as exc:
        _invalid(exc)
    language = None if args.lang == "auto" else _declared(content, args.lang)
    engine = Engine(content, matcher, session_ttl=session_ttl)
    _started()
    now = dt.datetime.now(dt.UTC)

    def answer(question: str) -> str:
        state = engine.new_state(Start(language=language), now)
        _, actions = engine.handle(state, Text(text=question), now)
        reply = next(a for a in actions if isinstance(a, Reply))
        return _ask_record(question, reply, to_plain(reply.text), as_json=args.json)

    def answer_group(questions: Sequence[str], futures: Sequence[Future[str]]) -> None:
        # Each question is asked up to the first text whose meaning it needs; those texts are
        # embedded in one batch (cheaper per text, and the same vectors as one by one), then
        # those questions are asked again.
        try:
            again = []
            for question, future in zip(questions, futures, strict=True):
                printed, wanted = matcher.words_or_wanted(functools.partial(answer, question))
                if wanted is None:
                    assert printed is not None
                    future.set_result(printed)
                else:
                    again.append((question, future, wanted))
            matcher.embed_ahead([wanted for _, _, wanted in again])
            for question, future, _ in again:
                future.set_result(answer(question))
        except BaseException as exc:
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            raise

    def submit(
        run: Callable[[Callable[[], None]], object],
    ) -> Callable[[Sequence[str]], list[Future[str]]]:
        def group(questions: Sequence[str]) -> list[Future[str]]:
            futures: list[Future[str]] = [Future() for _ in questions]
            run(functools.partial(answer_group, questions, futures))
            return futures

        return group

    threads = min(ASK_THREADS, len(_usable_cpus()))
    if threads < 2:
        for printed in _answer_lines(submit(lambda job: job()), ASK_AHEAD, ASK_GROUP):
            print(printed.result(), flush=True)
        return 0
    with ThreadPoolExecutor(threads, thread_name_prefix="ask") as pool:
        for printed in _answer_lines(submit(pool.submit), ASK_AHEAD, ASK_GROUP):
            print(printed.result(), flush=True)
    return 0


ASK_REMEMBERED = 1024
"""How many different questions ``ask`` keeps its answers to (in memory only)."""
ASK_THREADS = 2
"""Groups of questions ``ask`` answers at once (at most one per usable core): while one waits
for the model, which runs outside Python's interpreter lock, another is read by its words or
embedded on the other core."""
ASK_GROUP = 16
"""At most this many questions that are already there are answered together: the texts
whose meaning they need are embedded together (:data:`bot.matching.semantic._BATCH`; about
16 questions need 7 embeddings on the German and English question sets)."""
ASK_AHEAD = 3 * ASK_GROUP
"""How many lines ``ask`` reads ahead of the answer it prints next: a group for each thread
and the one being printed."""


def _usable_cpus() -> set[int]:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return os.sched_getaffinity(0)
    return set(range(os.cpu_count() or 1))


def _answer_lines(
    submit: Callable[[Sequence[str]], Sequence[Future[str]]], ahead: int = 0, group: int = 1
) -> Iterator[Future[str]]:
    """For each non-empty line of stdin, in order, the future of its answer (``submit``
    takes a group of different new questions and gives one future per question).

    Every question is asked by a fresh user at the same moment, so the same question gets
    the same answer: a repeated line is answered by the future of its first time. With
    ``ahead``, lines that are already there are read (and answered, up to ``group`` of them
    together) before the answer to an earlier one is given out, up to ``ahead`` of them; a
    line typed by hand is answered at once, as without."""
    answered: OrderedDict[str, Future[str]] = OrderedDict()
    lines: queue.Queue[str | None] = queue.Queue(maxsize=max(ahead, 1))

    def read() -> None:
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    if ahead:
        threading.Thread(target=read, name="ask-stdin", daemon=True).start()
        source: Iterator[str | None] = iter(lines.get, object())
    else:
        source = iter(sys.stdin)
        group = 1  # without a reader ahead, a second line may not be there yet
    pending: deque[Future[str]] = deque()
    ended = False
    while not ended:
        if pending and (len(pending) > ahead - group or lines.empty()):
            yield pending.popleft()
            continue
        read_now: list[str] = []
        while len(read_now) < group and not (read_now and lines.empty()):
            line = next(source, None)
            if line is None:
                ended = True
                break
            if line.strip():
                read_now.append(line.strip())
        new = [q for q in dict.fromkeys(read_now) if q not in answered]
        if new:
            answered.update(zip(new, submit(new), strict=True))
        for question in read_now:
            answered.move_to_end(question)
            pending.append(answered[question])
        while len(answered) > ASK_REMEMBERED:
            answered.popitem(last=False)
    yield from pending


def _ask_record(question: str, reply: Reply, text: str, *, as_json: bool) -> str:
    """What ``ask`` prints for one question: a JSON object, or the question, the verdict
    and the answer as text."""
    matched = bool(reply.matched)
    if as_json:
        record = {
            "question": question,
            "lang": reply.language,
            "node": reply.node if matched else None,
            "matched": matched,
            "text": text,
            "suggestions": list(reply.suggestions),
            "clarify": list(reply.clarify),
        }
        return json.dumps(record, ensure_ascii=False)
    verdict = f"→ {reply.node}" if matched else "→ (fallback)"
    if reply.clarify:
        verdict = "→ (asks: " + " or ".join(reply.clarify) + ")"
    return f"? {question}\n{verdict} [{reply.language}]\n{text}\n"


def _ask_settings() -> tuple[dt.timedelta, ContentCache | None]:
    """The session TTL (the privacy answer names it) and the content cache for ``ask``.

    ``BOT_SESSION_TTL`` is read through the validated settings, but only when it is set:
    pydantic-settings takes longer to import than ``ask`` takes to answer from the cache.
    The cache lives in ``<BOT_DATA_DIR>/cache``, signed with the bot's secret; without a
    writable data dir ``ask`` just loads the content.
    """
    from bot.configbase import DEFAULT_SESSION_TTL, default_data_dir, load_secret
    from bot.content.cache import ContentCache

    set_here = {name.upper() for name in os.environ}
    ttl = DEFAULT_SESSION_TTL
    if "BOT_SESSION_TTL" in set_here:
        from bot.config import Settings

        ttl = Settings.load().session_ttl
    data_dir = Path(os.environ.get("BOT_DATA_DIR") or default_data_dir())
    try:
        secret = load_secret(os.environ.get("BOT_SECRET"), data_dir)
    except OSError:
        return ttl, None
    return ttl, ContentCache(data_dir / "cache", secret)


def _declared(content: Content, lang: str | None) -> str | None:
    """``--lang`` as one of the content's declared languages (any it declares, not a fixed
    list); ``ConfigError`` naming them when it is none of them."""
    if lang is None:
        return None
    code = lang.strip().lower()
    if code not in content.languages:
        raise ConfigError(
            f"--lang: the content has no language {lang!r}; use one of {', '.join(content.languages)}"
        )
    return code


# -- graph -------------------------------------------------------------------------------


def cmd_graph(args: argparse.Namespace) -> int:
    """Print the dialogue tree as a Mermaid or Graphviz diagram."""
    content = _content_or_exit(args.content)
    lang = _declared(content, args.lang) or content.meta.default_language

    def label(node_id: str) -> str:
        return content.nodes[node_id].title[lang].replace('"', "'")

    if args.format == "dot":
        print("digraph content {\n  rankdir=LR;\n  node [shape=box];")
        for node in content.nodes.values():
            shape = ', style="rounded,bold"' if node.kind == "menu" else ""
            print(f'  "{node.id}" [label="{label(node.id)}"{shape}];')
            for option in node.options:
                print(f'  "{node.id}" -> "{option.to}";')
        print("}")
    else:
        print("flowchart LR")
        for node in content.nodes.values():
            ident = node.id.replace("-", "_")
            box = f'(["{label(node.id)}"])' if node.kind == "menu" else f'["{label(node.id)}"]'
            print(f"  {ident}{box}")
            for option in node.options:
                print(f"  {ident} --> {option.to.replace('-', '_')}")
    return 0


# -- links -------------------------------------------------------------------------------


def cmd_links(args: argparse.Namespace) -> int:
    """Check every URL in the content (needs internet)."""
    from bot.links import run_links

    _started()
    directory = Path(args.dir) if args.dir else default_content_dir()
    return run_links(directory)


# -- chat and run ------------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat in the terminal."""
    import asyncio

    if not os.environ.get("BOT_LOG_LEVEL", "").strip():
        # Log lines share the terminal with the chat: only what needs attention, unless the
        # operator asks for more (BOT_LOG_LEVEL keeps its meaning everywhere).
        logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(_console(args.content, args.lang))


async def _console(content_dir: Path | None, language: str | None) -> int:
    import asyncio

    from bot.config import Settings
    from bot.engine import Engine
    from bot.platforms.console import chat, locale_language
    from bot.runtime import Runtime
    from bot.store import MemoryStore

    content = _content_or_exit(content_dir)
    language = _declared(content, language)
    settings = Settings.load()
    engine = Engine(content, session_ttl=settings.session_ttl)
    # One user, who starts in one language (as the engine reads --lang or the locale): the
    # others' matching is made ready if they switch (a second of start-up saved of two).
    first = engine.language_of(language or locale_language()) or content.meta.default_language
    # The console keeps nothing on disk: one local user, gone when the chat ends.
    store = MemoryStore(settings.session_ttl)
    runtime = Runtime(content, store, os.urandom(32), engine=engine, languages=[first])
    _started()
    # Authors chatting while they edit see each saved change (or its problems) at once.
    stop, reloading = _start_reloading(runtime, content_dir)
    # Ctrl-C or SIGTERM ends the chat like "exit" does: no traceback, exit status 0.
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ended.set)
    try:
        return await chat(runtime, language=language, stop=ended)
    finally:
        stop.set()
        await reloading
        await runtime.close()


def _start_reloading(
    runtime: Runtime, content_dir: Path | None, cache: ContentCache | None = None
) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Reload ``runtime``'s content on SIGHUP and file changes until the returned event is set."""
    import asyncio

    from bot.reload import ContentReloader

    stop = asyncio.Event()
    reloader = ContentReloader(runtime, content_dir, cache)
    return stop, asyncio.create_task(reloader.run(stop), name="reload")


def configured_platforms(env: dict[str, str] | None = None) -> list[str]:
    """The chat platforms whose credentials are set in the environment."""
    env = dict(os.environ) if env is None else env
    found = []
    if env.get("TELEGRAM_BOT_TOKEN") or env.get("TELEGRAM_BOT_TOKEN_FILE"):
        found.append("telegram")
    elif any(env.get(name) for name in ("TELEGRAM_MODE", "TELEGRAM_WEBHOOK_URL")):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN: not set, but other TELEGRAM_* settings are; "
            "set TELEGRAM_BOT_TOKEN or TELEGRAM_BOT_TOKEN_FILE, or unset the others"
        )
    matrix = {name: env.get(name) for name in _MATRIX_NEEDED}
    if any(matrix.values()):
        missing = [name for name, value in matrix.items() if not value]
        if not (env.get("MATRIX_PASSWORD") or env.get("MATRIX_ACCESS_TOKEN")):
            missing.append("MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")
        if missing:
            raise ConfigError(
                f"{missing[0].split()[0]}: not set, but other MATRIX_* credentials are; "
                f"set {', '.join(missing)} (see docs/matrix.md)"
            )
        found.append("matrix")
    if env.get("WEB_LISTEN", "").strip():
        found.append("web")
    return found


_MATRIX_NEEDED = ("MATRIX_HOMESERVER", "MATRIX_USER_ID")


def cmd_run(args: argparse.Namespace) -> int:
    """Start every configured platform; without any, the console chat."""
    from bot.config import Settings

    settings = Settings.load()  # a wrong BOT_* value stops here, whatever runs next
    if getattr(args, "check_content", False):
        return _check_content(args.content or settings.content_dir)
    platforms = configured_platforms()
    if not platforms:
        if not sys.stdin.isatty():
            # A container or service without credentials: a console chat there would read
            # nothing and exit 0, which looks like success to the operator.
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN, MATRIX_HOMESERVER: none set (nor WEB_LISTEN), and there is "
                "no terminal for the console chat; set the credentials of a platform (see README), or use "
                "'python -m bot chat' to read questions from a pipe"
            )
        print(
            "No TELEGRAM_* or MATRIX_* credentials set: starting the console chat.\n",
            file=sys.stderr,
        )
        return cmd_chat(argparse.Namespace(content=args.content, lang=None))
    _check_platform_settings(platforms)
    import asyncio

    return asyncio.run(_serve(platforms, args.content))


def _check_content(content_dir: Path | None) -> int:
    """``run --check-content``: load the content the way ``run`` and a reload do, start nothing.

    Exit status 0 when a running bot would take this content, 2 when it would refuse it (and
    keep serving its old content).
    """
    from bot.config import Settings
    from bot.engine import Engine

    directory = content_dir or default_content_dir()
    content, problems, _ = read_content(directory)
    for problem in sorted(problems):
        print(problem)
    errors = [p for p in problems if p.level == "error"]
    if errors or content is None:
        print(
            f"content in {directory} is invalid: {len(errors) or 1} error(s); "
            "the bot would not start with it, and a running bot keeps its current content",
            file=sys.stderr,
        )
        return 2
    # The engine and its matcher too, as run and a reload build them.
    engine = Engine(content, session_ttl=Settings.load().session_ttl)
    print(
        f"OK: content in {directory} loads: {len(engine.content.nodes)} nodes, "
        f"languages: {', '.join(engine.content.languages)}"
    )
    return 0


def _check_platform_settings(platforms: Sequence[str]) -> None:
    """Read every setting before anything starts, so a wrong one stops the bot at once."""
    from pydantic import ValidationError

    from bot.config import Settings, describe

    Settings.load().check_data_dir()
    for name in platforms:
        if name == "telegram":
            from bot.platforms.telegram import TelegramSettings

            try:
                TelegramSettings().check()
            except ValidationError as exc:
                raise ConfigError(describe(exc, "TELEGRAM_")) from None
        elif name == "matrix":
            from bot.platforms.matrix import MatrixSettings

            try:
                MatrixSettings()
            except ValidationError as exc:
                raise ConfigError(describe(exc, "MATRIX_")) from None
        elif name == "web":
            from bot.platforms.web import WebSettings

            try:
                WebSettings()
            except ValidationError as exc:
                raise ConfigError(describe(exc, "WEB_")) from None


async def _serve(
    platforms: Sequence[str],
    content_dir: Path | None,
    *,
    purge_interval: float = PURGE_INTERVAL,
) -> int:
    """Serve ``platforms`` until SIGTERM or SIGINT; returns the exit status.

    ``purge_interval`` is the time between sweeps of expired sessions (tests shorten it).
    """
    import asyncio
    import importlib

    from bot.config import Settings
    from bot.runtime import Runtime, content_cache

    # A reload request (systemd ExecReload, kill -HUP) while the content is still loading must
    # not end the process, which is SIGHUP's default; the reloader takes it over once running.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = Settings.load()
    if content_dir:
        settings.content_dir = content_dir
    try:
        runtime = await Runtime.from_settings(settings)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    modules: list[ModuleType] = [
        importlib.import_module(f"bot.platforms.{name}") for name in platforms
    ]
    serving: list[Callable[..., Coroutine[Any, Any, None]]] = [m.serve for m in modules]
    runtime.readiness.expect(platforms)
    listener = await _start_http(runtime, settings, platforms)
    _started()
    log.info("starting: %s", ", ".join(platforms))
    purger = asyncio.create_task(_purge(runtime, stop, purge_interval))
    reload_stop, reloading = _start_reloading(
        runtime, settings.content_dir, content_cache(settings)
    )
    tasks = [
        asyncio.create_task(serve(runtime, stop), name=name)
        for serve, name in zip(serving, platforms, strict=True)
    ]
    code = 0
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            failure = task.exception()
            if failure is None:
                continue
            if isinstance(failure, ConfigError):
                # A setting that only shows when used, e.g. a web port already taken.
                print(failure, file=sys.stderr)
                code = 2
            elif _is_refused_token(failure):
                print(
                    "TELEGRAM_BOT_TOKEN: Telegram refused the token (401 Unauthorized); "
                    "copy it again from @BotFather",
                    file=sys.stderr,
                )
                code = 2
            elif (unreachable := _unreachable_bot_api(task.get_name(), failure)) is not None:
                print(unreachable, file=sys.stderr)
                code = 2
            else:
                log.error("platform %s failed", task.get_name(), exc_info=failure)
                code = 1
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purger
        reload_stop.set()
        await reloading
        if listener is not None:
            await listener.stop()
        await runtime.close()
    return code


async def _start_http(
    runtime: Runtime, settings: Settings, platforms: Sequence[str]
) -> HttpListener | None:
    """The ``/healthz`` and ``/metrics`` listener when ``BOT_HTTP_LISTEN`` is set, else None."""
    address = settings.http_address()
    if address is None:
        return None
    from bot.observability import HttpListener, Metrics

    metrics = Metrics(platforms)
    runtime.observer = metrics
    listener = HttpListener(runtime, metrics, *address)
    try:
        await listener.start()
    except OSError as exc:
        await runtime.close()
        raise ConfigError(
            f"BOT_HTTP_LISTEN: cannot listen on {settings.http_listen} ({exc.strerror}); "
            "choose a free port, or unset it to run without health and metrics"
        ) from None
    return listener


async def _purge(runtime: object, stop: asyncio.Event, interval: float = PURGE_INTERVAL) -> None:
    import asyncio

    from bot.runtime import Runtime

    assert isinstance(runtime, Runtime)
    while not stop.is_set():
        removed = await runtime.purge_expired()
        if removed:
            log.info("erased %d expired session(s)", removed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


# -- entry -------------------------------------------------------------------------------


class _RunHelp(argparse.Action):
    """``run --help``: the options and every environment variable ``run`` reads. Built only
    when asked, so other commands never import the platform modules."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from bot.config import Settings, settings_help
        from bot.platforms.matrix import MatrixSettings
        from bot.platforms.telegram import TelegramSettings
        from bot.platforms.web import WebSettings

        parser.epilog = settings_help(Settings, TelegramSettings, MatrixSettings, WebSettings)
        parser.print_help()
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Meta AI objection helper bot."
    )
    parser.add_argument(
        "--content",
        type=Path,
        default=None,
        help="content directory (default: BOT_CONTENT_DIR or shipped)",
    )
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser(
        "run",
        help="start every configured platform (console if none)",
        add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-h", "--help", action=_RunHelp, help="show this help and every variable")
    p.add_argument(
        "--check-content",
        action="store_true",
        help="only load the content as run would (BOT_CONTENT_DIR); exit 0 if valid, 2 if not",
    )
    p.set_defaults(func=cmd_run, check_content=False)

    p = sub.add_parser("chat", help="chat in the terminal")
    p.add_argument(
        "--lang",
        default=None,
        metavar="CODE",
        help="start in this language of the content (de, en, …)",
    )
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("check", help="validate content")
    p.add_argument("dir", nargs="?", default=None)
    p.add_argument(
        "--max-age-days", type=int, default=None, help="warn about nodes checked longer ago"
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "embed",
        help="write the content's vectors for matching by meaning (after content changes)",
        description="Embed every title, example question and keyword of the content and write "
        "them to vectors/<model>.npz in the content directory, so that a bot starting on this "
        "content embeds nothing. Texts not in that file are embedded when the bot starts.",
    )
    p.add_argument("dir", nargs="?", default=None)
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("ask", help="answer questions from stdin (one per line)")
    p.add_argument(
        "--lang",
        default="auto",
        metavar="CODE",
        help="answer in this language of the content (de, en, …), or detect it: auto (default)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "translate", help="export the texts to a gettext PO file for translators, or import one"
    )
    actions = p.add_subparsers(dest="action", required=True)
    t = actions.add_parser(
        "export",
        help="write every text with its source text and context to a PO file",
        description="Write content/translations/LANG.po (or --out) with every text of the "
        "content: its source text, its translation if there is one, and where it lives. "
        "Texts whose source changed since they were translated are marked fuzzy.",
    )
    t.add_argument("--lang", required=True, help="the language to translate into, e.g. fr")
    t.add_argument("--source", default="en", help="the language translators work from (en)")
    t.add_argument("--out", default=None, help="the PO file (default: in the content)")
    t.add_argument(
        "--from-yaml",
        action="store_true",
        help="take the translations from the YAML where they differ from the PO file's (after "
        "changing a text in every language there); unchanged ones still need review",
    )
    t = actions.add_parser(
        "import",
        help="write a PO file's translations back into the YAML",
        description="Write every translated, non-fuzzy entry of the PO file back into the "
        "content's YAML files, keeping comments, order and quoting.",
    )
    t.add_argument("file", nargs="?", default=None, help="the PO file (default: --lang's)")
    t.add_argument("--lang", default=None, help="the language (default: the PO file's)")
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("graph", help="print the dialogue tree as a diagram")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument("--lang", default=None)
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("links", help="check every URL in the content (needs internet)")
    p.add_argument("dir", nargs="?", default=None)
    p.set_defaults(func=cmd_links)
    return parser


def _is_refused_token(exc: BaseException) -> bool:
    """Whether a platform failed because Telegram rejected the bot token."""
    telegram_error = sys.modules.get("telegram.error")
    invalid = getattr(telegram_error, "InvalidToken", None)
    return invalid is not None and isinstance(exc, invalid)


def _unreachable_bot_api(platform: str, exc: BaseException) -> str | None:
    """One line for a Telegram adapter that could not reach the Bot API while starting
    (wrong ``TELEGRAM_BASE_URL``, no network), else None. PTB gives up on ``getMe`` there;
    the supervisor (systemd, Docker) restarts the bot, so exit instead of a traceback."""
    telegram_error = sys.modules.get("telegram.error")
    network = getattr(telegram_error, "NetworkError", None)
    if platform != "telegram" or network is None or not isinstance(exc, network):
        return None
    base = os.environ.get("TELEGRAM_BASE_URL", "").strip()
    where = (
        f"TELEGRAM_BASE_URL: cannot reach the Bot API at {base}"
        if base
        else ("Telegram: cannot reach the Bot API at https://api.telegram.org")
    )
    reason = str(exc).removeprefix("httpx.")
    return f"{where} ({reason}); check the address and the network, then start again"


def _started() -> None:
    """A command has set up: collect cyclic garbage again (see :func:`main`)."""
    gc.enable()


SECRET_VARIABLES = ("TELEGRAM_BOT_TOKEN", "MATRIX_ACCESS_TOKEN", "MATRIX_PASSWORD", "BOT_SECRET")
"""Environment variables whose values must never be logged."""

SHORT_LIVED = frozenset({"ask", "chat", "check", "graph"})
"""Commands that hold nothing to flush or close once they return."""


def main(argv: Sequence[str] | None = None, *, fast_exit: bool = False) -> int:
    """Run the command line; returns the exit code.

    With ``fast_exit`` (``python -m bot``), a short-lived command ends the process itself
    without the interpreter's teardown, which frees every module, the content tree and the
    matcher's index one by one: a tenth of a second, a sixth of ``ask``'s start-up.
    """
    # Setting up builds hundreds of thousands of objects that live as long as the process
    # (the content tree, the matcher's index); cyclic garbage collection passes over them
    # are wasted work. Commands call _started() when they are ready.
    gc.disable()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = os.environ.get("BOT_LOG_LEVEL", "INFO").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        print(
            f"BOT_LOG_LEVEL: {level!r} is not valid; use DEBUG, INFO, WARNING, ERROR or CRITICAL",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Before anything can log: the configured secrets never appear in a log line.
    redact.protect(*(os.environ.get(name) for name in SECRET_VARIABLES))
    redact.protect(url_password(os.environ.get("BOT_STORE")))
    redact.install()
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or [])])
    try:
        try:
            result: int = args.func(args)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        if fast_exit and args.command in SHORT_LIVED:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(result)
    except BrokenPipeError:
        # The reader went away (`python -m bot graph | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        gc.enable()
    return result
