"""Soak test: ``python -m bot run`` with Telegram under a steady mixed load for a while.

    .venv/bin/python bench/soak.py [--minutes 10] [--users 40] [--think 3] [--sample 30]

The bot runs as its own process (SQLite store in a temporary data directory, health
listener on loopback) and polls the spec-checked fake Bot API, which runs here together with
the simulated users. Each user talks like a person: ``/start``, a button of the menu, a
typed question from the QA set in their language, a button of the answer, another question,
then ``/menu``, ``/privacy`` or ``/forget``; after each message they wait for the answer and
pause 1 s plus a random time averaging ``--think`` seconds. Every user cycles through their
own set of 100 Telegram accounts, so the number of sessions grows during the run.

Every ``--sample`` seconds a row shows, for that interval: messages sent, messages answered
(at least one reply within 15 s), unanswered ones, errors (the bot's ERROR lines and
``bot_errors_total``), reply latency p50/p99 (update queued -> first reply at the server),
the bot's resident memory (``/proc/<pid>/status``) and its sessions (``/metrics``). At the
end: totals, memory growth after the first minute, and whether the bot stopped cleanly.

``--runtime`` leaves Telegram out to tell where memory goes: the same conversations, without
pauses, go straight through ``bot.runtime.Runtime`` with a SQLite store in this process, and
the rows show this process's memory.

``--distinct N`` (with ``--runtime``) asks whether memory stays flat while ever new people
arrive: N users who were never seen before (200,000 by default) each have one short
conversation (``/start``, a button, every tenth a typed question, a button), with sessions
that expire after ``--ttl`` seconds and are purged every ``--ttl``/2 seconds (the bot's
hourly sweep, sped up). Then it waits until the last users' sessions and flood-limiter
windows have expired and compares memory with memory after warm-up (once the first TTL and
limiter window have passed, when as many users are active as ever will be):

    .venv/bin/python bench/soak.py --runtime --distinct 200000 --ttl 30 --sample 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from botprocess import Bot, CountingApi, bot_process, percentile
from fake_bot_api import FakeUser, Sent

from tests.qa.qa_set import load_questions

ANSWER_TIMEOUT = 15.0
"""A message without any reply after this long counts as unanswered."""
ACCOUNTS_PER_USER = 100
FIRST_ACCOUNT = 50_000_000


@dataclass
class Window:
    """What happened between two samples."""

    sent: int = 0
    answered: int = 0
    unanswered: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Load:
    windows: list[Window] = field(default_factory=lambda: [Window()])
    all_latencies: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def now(self) -> Window:
        return self.windows[-1]


class Person:
    """One simulated user, cycling through their own Telegram accounts."""

    def __init__(
        self,
        index: int,
        api: CountingApi,
        load: Load,
        questions: dict[str, list[str]],
        think: float,
    ) -> None:
        self.api = api
        self.load = load
        self.questions = questions
        self.think = think
        self.rng = random.Random(index)
        self.accounts = [FIRST_ACCOUNT + index * 1000 + k for k in range(ACCOUNTS_PER_USER)]

    async def run(self) -> None:
        # Spread the starts over one think time, as real users do not arrive at once.
        await self.pause(self.rng.uniform(0, self.think))
        turn = 0
        while not self.load.stop.is_set():
            account = self.accounts[turn % len(self.accounts)]
            turn += 1
            lang = self.rng.choice(("de", "en"))
            await self.conversation(FakeUser(id=account, language_code=lang), lang)

    async def pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.load.stop.wait(), seconds)

    async def conversation(self, user: FakeUser, lang: str) -> None:
        reply = await self.say(user, "/start")
        for step in ("button", "question", "button", "question", "end"):
            if self.load.stop.is_set():
                return
            await self.pause(1.0 + self.rng.expovariate(1 / self.think))
            if step == "button":
                # A long answer comes in several messages; its buttons are on the last one.
                messages = self.api.per_chat[user.id][reply:] if reply is not None else []
                with_buttons = [m for m in messages if m.callback_data]
                if with_buttons:
                    message = with_buttons[-1]
                    reply = await self.press(user, message, self.rng.choice(message.callback_data))
                else:
                    reply = await self.say(user, "/back")
            elif step == "question":
                reply = await self.say(user, self.rng.choice(self.questions[lang]))
            else:
                ending = self.rng.choices(("/menu", "/privacy", "/forget"), (7, 2, 1))[0]
                await self.say(user, ending)

    async def say(self, user: FakeUser, text: str) -> int | None:
        seen = len(self.api.per_chat[user.id])
        self.api.message(user, text)
        return await self.answered(user.id, seen)

    async def press(self, user: FakeUser, message: Sent, data: str) -> int | None:
        seen = len(self.api.per_chat[user.id])
        self.api.press(user, message, data)
        return await self.answered(user.id, seen)

    async def answered(self, chat_id: int, seen: int) -> int | None:
        """Wait for the reply; where its messages start in the chat, or None if none came."""
        started = time.monotonic()
        self.load.now.sent += 1
        if not await self.api.wait_for_more(chat_id, seen, ANSWER_TIMEOUT):
            self.load.now.unanswered += 1
            return None
        latency = self.api.per_chat[chat_id][seen].at - started
        self.load.now.answered += 1
        self.load.now.latencies.append(latency)
        self.load.all_latencies.append(latency)
        return seen


def row(label: str, window: Window, errors: int, rss: float, sessions: float) -> str:
    ms = [x * 1000 for x in window.latencies]
    p50 = f"{percentile(ms, 50):7.0f}" if ms else "      –"
    p99 = f"{percentile(ms, 99):7.0f}" if ms else "      –"
    return (
        f"{label:>6} {window.sent:7d} {window.answered:9d} {window.unanswered:11d} "
        f"{errors:7d} {p50} {p99} {rss:8.1f} {sessions:9.0f}"
    )


HEADER = (
    "  time    sent  answered  unanswered  errors  p50 ms  p99 ms  RSS MiB  sessions\n"
    "------ ------- --------- ----------- ------- ------- ------- -------- ---------"
)


async def sample(bot: Bot) -> tuple[int, float, float]:
    """Errors so far (log lines and ``bot_errors_total``), RSS in MiB, sessions."""
    metrics = await bot.metrics()
    counted = sum(v for k, v in metrics.items() if k.startswith("bot_errors_total"))
    return len(bot.output.errors()) + int(counted), bot.rss_mib(), metrics["bot_active_sessions"]


def read_questions() -> dict[str, list[str]]:
    """The QA set's questions by language."""
    questions: dict[str, list[str]] = {"de": [], "en": []}
    for q in load_questions():
        if q.lang in questions:
            questions[q.lang].append(q.text)
    return questions


async def run(args: argparse.Namespace) -> int:
    questions = read_questions()
    load = Load()
    with tempfile.TemporaryDirectory() as tmp:
        api = CountingApi()
        await api.start()
        try:
            async with bot_process(api, Path(tmp) / "data") as bot:
                errors0, rss0, _ = await sample(bot)
                print(f"bot pid {bot.pid}, RSS at start {rss0:.1f} MiB, {args.users} users, "
                      f"pause 1 s + {args.think:g} s on average, {args.minutes:g} min, "
                      f"sample every {args.sample:g} s")  # fmt: skip
                print(HEADER, flush=True)
                people = [Person(i, api, load, questions, args.think) for i in range(args.users)]
                tasks = [asyncio.create_task(p.run()) for p in people]
                started = time.monotonic()
                end = started + args.minutes * 60
                rss_samples: list[tuple[float, float]] = []
                previous_errors = errors0
                while (now := time.monotonic()) < end:
                    await asyncio.sleep(min(args.sample, end - now))
                    if time.monotonic() >= end:
                        load.stop.set()
                        # The last messages get their time to be answered.
                        await asyncio.gather(*tasks)
                    errors, rss, sessions = await sample(bot)
                    elapsed = time.monotonic() - started
                    label = f"{int(elapsed // 60)}:{int(elapsed % 60):02d}"
                    print(row(label, load.now, errors - previous_errors, rss, sessions), flush=True)
                    previous_errors = errors
                    rss_samples.append((elapsed, rss))
                    load.windows.append(Window())
                load.stop.set()
                await asyncio.gather(*tasks)
                total_errors = len(bot.output.errors())
                metrics = await bot.metrics()
                counted = int(
                    sum(v for k, v in metrics.items() if k.startswith("bot_errors_total"))
                )
                updates = metrics.get('bot_updates_total{platform="telegram"}', 0)
                bot.proc.terminate()
                code = await asyncio.wait_for(bot.proc.wait(), 60)
        finally:
            await api.stop()

    sent = sum(w.sent for w in load.windows)
    answered = sum(w.answered for w in load.windows)
    unanswered = sum(w.unanswered for w in load.windows)
    wall = args.minutes * 60
    ms = [x * 1000 for x in load.all_latencies]
    after_warmup = [rss for t, rss in rss_samples if t >= 60] or [rss_samples[-1][1]]
    print()
    print(
        f"messages sent           {sent} ({sent / wall:.1f}/s), updates counted by the bot {updates:.0f}"
    )
    print(f"answered / unanswered   {answered} / {unanswered}")
    if ms:
        print(
            f"latency                 p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
            f"p99 {percentile(ms, 99):.0f} ms, max {max(ms):.0f} ms, mean {statistics.fmean(ms):.0f} ms"
        )
    print(
        f"errors                  {total_errors} ERROR lines in the bot's log, bot_errors_total {counted}"
    )
    if bot.output.errors():
        print(f"                        first: {bot.output.errors()[0]}")
    print(f"spec violations         {len(api.violations)} {api.violations[:3]}")
    print(
        f"RSS                     start {rss0:.1f} MiB, after 1 min {after_warmup[0]:.1f} MiB, "
        f"end {rss_samples[-1][1]:.1f} MiB, max {max(r for _, r in rss_samples):.1f} MiB"
    )
    print(f"exit status after SIGTERM {code}")
    ok = unanswered == 0 and total_errors == 0 and counted == 0 and not api.violations and code == 0
    print("RESULT", "ok" if ok else "FAILED")
    return 0 if ok else 1


async def run_runtime(args: argparse.Namespace, questions: dict[str, list[str]]) -> int:
    """The same conversations through the runtime in this process, as fast as it goes."""
    import datetime as dt

    from bot.content import load_content
    from bot.events import Choice, Command, Event, Start, Text
    from bot.runtime import Conversation, Runtime
    from bot.store import SqliteStore

    def own_rss() -> float:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "sessions.sqlite3", dt.timedelta(days=30))
        runtime = Runtime(load_content(), store, b"soak")
        print(f"runtime in this process, SQLite store, {args.minutes:g} min without pauses")
        print("  time  events  events/s  RSS MiB  sessions")
        print("------ ------- --------- -------- ---------")
        started = time.monotonic()
        end = started + args.minutes * 60
        next_row = started + args.sample
        events = window = turn = 0
        accounts = [FIRST_ACCOUNT + k for k in range(args.users * ACCOUNTS_PER_USER)]
        while time.monotonic() < end:
            account = str(accounts[turn % len(accounts)])
            turn += 1
            lang = rng.choice(("de", "en"))
            conv = Conversation("telegram", account, account)
            script: list[Event | str] = [Start(locale=lang), "button", "question", "button"]
            ending = rng.choices(("menu", "privacy", "forget"), (7, 2, 1))[0]
            script += ["question", Command(name=ending, locale=lang)]
            replies = []
            for step in script:
                event: Event
                if step == "button":
                    options = [o.id for r in replies for o in r.options]
                    event = (
                        Choice(option=rng.choice(options), locale=lang)
                        if options
                        else Command(name="back", locale=lang)
                    )
                elif step == "question":
                    event = Text(text=rng.choice(questions[lang]), locale=lang)
                else:
                    assert not isinstance(step, str)
                    event = step
                replies = await runtime.handle(conv, event)
                events += 1
                window += 1
            if (now := time.monotonic()) >= next_row:
                elapsed = now - started
                label = f"{int(elapsed // 60)}:{int(elapsed % 60):02d}"
                sessions = await store.count()
                print(
                    f"{label:>6} {events:7d} {window / args.sample:9.0f} {own_rss():8.1f} {sessions:9d}",
                    flush=True,
                )
                window = 0
                next_row += args.sample
        await runtime.close()
    return 0


async def run_distinct(args: argparse.Namespace, questions: dict[str, list[str]]) -> int:
    """``--distinct``: ever new users through the runtime, short session TTL; is memory flat?"""
    import datetime as dt
    import gc

    from bot.content import load_content
    from bot.events import Choice, Command, Event, Start, Text
    from bot.runtime import Conversation, Runtime
    from bot.store import SqliteStore

    def own_rss() -> float:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    rng = random.Random(0)
    ttl = dt.timedelta(seconds=args.ttl)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "sessions.sqlite3", ttl)
        runtime = Runtime(load_content(), store, b"soak")
        limiter = runtime.limiter
        window = float(limiter.item.get_expiry())

        def limiter_keys() -> int:
            tracked = getattr(limiter, "tracked", None)
            if tracked is not None:
                return int(tracked())
            return len(getattr(getattr(limiter, "storage", None), "events", {}))

        warm_after = max(args.ttl, window) + args.sample
        print(
            f"runtime in this process, SQLite store, {args.distinct:,} users never seen before, "
            f"session TTL {args.ttl:g} s, flood window {window:g} s, purge every {args.ttl / 2:g} s"
        )
        print("  time    users  users/s  RSS MiB  sessions  limiter keys")
        print("------ -------- -------- -------- --------- -------------")
        started = time.monotonic()
        next_row = started + args.sample
        next_purge = started + args.ttl / 2
        rows: list[tuple[float, float]] = []
        users = last_users = 0

        async def show(now: float) -> None:
            nonlocal last_users
            elapsed = now - started
            label = f"{int(elapsed // 60)}:{int(elapsed % 60):02d}"
            rss = own_rss()
            rows.append((elapsed, rss))
            print(
                f"{label:>6} {users:8d} {(users - last_users) / args.sample:8.0f} {rss:8.1f} "
                f"{await store.count():9d} {limiter_keys():13d}",
                flush=True,
            )
            last_users = users

        while users < args.distinct:
            account = str(FIRST_ACCOUNT + users)
            users += 1
            lang = "de" if users % 2 else "en"
            conv = Conversation("telegram", account, account)
            script: list[Event | str] = [Start(locale=lang), "button"]
            if users % 10 == 0:
                script.append("question")
            script.append("button")
            replies = []
            for step in script:
                event: Event
                if step == "button":
                    options = [o.id for r in replies for o in r.options]
                    event = (
                        Choice(option=rng.choice(options), locale=lang)
                        if options
                        else Command(name="back", locale=lang)
                    )
                elif step == "question":
                    event = Text(text=rng.choice(questions[lang]), locale=lang)
                else:
                    assert not isinstance(step, str)
                    event = step
                replies = await runtime.handle(conv, event)
            now = time.monotonic()
            if now >= next_purge:
                await runtime.purge_expired()
                next_purge = now + args.ttl / 2
            if now >= next_row:
                await show(now)
                next_row = now + args.sample
        arrived = time.monotonic()
        # The last users' sessions and limiter windows expire; then one more user arrives
        # (the limiter drops expired windows when it is used) and the sweep runs.
        await asyncio.sleep(max(args.ttl, window) + 1)
        conv = Conversation("telegram", "1", "1")
        await runtime.handle(conv, Start(locale="de"))
        await runtime.handle(conv, Command(name="help", locale="de"))
        await runtime.purge_expired()
        gc.collect()
        await show(time.monotonic())
        await runtime.close()
    warm = next(((t, rss) for t, rss in rows if t >= warm_after), rows[-1])
    end = rows[-1][1]
    ratio = end / warm[1]
    print()
    print(
        f"{users:,} users in {arrived - started:.0f} s; RSS after warm-up ({warm[0]:.0f} s) "
        f"{warm[1]:.1f} MiB, after the last TTL {end:.1f} MiB, max "
        f"{max(r for _, r in rows):.1f} MiB"
    )
    print(f"RSS after the TTL / after warm-up: {ratio:.3f} (target <= 1.10: "
          f"{'PASS' if ratio <= 1.10 else 'FAIL'})")  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to load the bot")
    parser.add_argument("--users", type=int, default=40, help="simulated users at once")
    parser.add_argument(
        "--think", type=float, default=3.0, help="mean pause after an answer, plus 1 s (seconds)"
    )
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between rows")
    parser.add_argument(
        "--runtime", action="store_true", help="the runtime in this process, without Telegram"
    )
    parser.add_argument(
        "--distinct", type=int, default=0, help="with --runtime: this many never-seen users"
    )
    parser.add_argument("--ttl", type=float, default=30.0, help="with --distinct: session TTL (s)")
    args = parser.parse_args()
    if args.runtime and args.distinct:
        return asyncio.run(run_distinct(args, read_questions()))
    if args.runtime:
        return asyncio.run(run_runtime(args, read_questions()))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
