"""Speed of the dialogue engine, the matcher, the content loader and CLI start-up.

Prints, with the shipped content (or ``--content``):

- button navigation: ``Choice`` events walking real option paths (including ``@back``,
  ``@menu`` and language buttons) through ``Engine.handle``, events/s on one core and
  p50/p99 latency per event;
- free text: the question set (``tests/qa/*.tsv``, both languages) as ``Text`` events
  through ``Engine.handle`` for a user who has not chosen a language (detection on),
  questions/s and p50/p99 per question;
- content load+validate (``bot.content.load_content``): cold in a fresh interpreter and
  warm in-process;
- start-up: wall time of a fresh ``python -m bot ask`` answering one question from stdin,
  and of ``python -m bot chat`` with one line of input.

Each figure is measured over several rounds; best and median are printed next to the
target with PASS/FAIL (judged on the median).

    .venv/bin/python bench/engine.py [--rounds 5] [--content DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import ContentError, default_content_dir, load_content  # noqa: E402
from bot.engine import MAX_TEXT, Engine  # noqa: E402
from bot.events import BACK, LANG_PREFIX, MENU, Choice, Reply, Start, Text  # noqa: E402
from bot.state import SessionState  # noqa: E402
from tests.qa.qa_set import load_questions  # noqa: E402

NAV_TARGET = 20_000.0  # events/s
TEXT_TARGET = 1_000.0  # questions/s
LOAD_TARGET = 0.5  # s
ASK_TARGET = 1.0  # s

SESSION_TTL = dt.timedelta(days=30)
ASK_QUESTION = "Wie widerspreche ich der KI-Nutzung meiner Daten bei Instagram?"

# Run in a fresh interpreter: import the loader, then load once; prints both times as JSON.
_COLD_LOAD = """
import json, sys, time
t0 = time.perf_counter()
from bot.content import load_content
t1 = time.perf_counter()
load_content(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""


@dataclass(frozen=True)
class Rounds:
    """Rates of several rounds plus every per-event latency (seconds)."""

    rates: list[float]
    latencies: list[float]

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (``p`` in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


# -- navigation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """One user's session: the state after /start and the buttons they press."""

    start: SessionState
    choices: tuple[Choice, ...]


def make_walks(engine: Engine, now: dt.datetime, sessions: int, steps: int) -> list[Walk]:
    """Sessions pressing random offered buttons; replaying them takes the same paths."""
    rng = random.Random(20250527)
    walks = []
    languages = engine.content.languages
    for s in range(sessions):
        lang = languages[s % len(languages)]
        state, actions = engine.handle(None, Start(locale=lang), now)
        assert state is not None
        start = state
        choices = []
        for _ in range(steps):
            reply = next(a for a in actions if isinstance(a, Reply))
            option = rng.choice(reply.options).id
            choice = Choice(option=option)
            choices.append(choice)
            new_state, actions = engine.handle(state, choice, now)
            assert new_state is not None
            state = new_state
        walks.append(Walk(start, tuple(choices)))
    return walks


def bench_navigation(engine: Engine, walks: list[Walk], now: dt.datetime, rounds: int) -> Rounds:
    clock = time.perf_counter
    handle = engine.handle
    rates, latencies = [], []
    for _ in range(rounds):
        round_lat = []
        begin = clock()
        for walk in walks:
            state: SessionState | None = walk.start
            for choice in walk.choices:
                t = clock()
                state, _ = handle(state, choice, now)
                round_lat.append(clock() - t)
        rates.append(len(round_lat) / (clock() - begin))
        latencies += round_lat
    return Rounds(rates, latencies)


# -- free text ---------------------------------------------------------------------------


def bench_text(
    make_engine: Callable[[], Engine], texts: list[Text], now: dt.datetime, rounds: int
) -> tuple[Rounds, float]:
    """Warm rounds on one engine, plus the first pass on a fresh engine (cold caches)."""
    clock = time.perf_counter
    engine = make_engine()
    # A user who opened the bot and then types: language not chosen, so it is detected.
    state, _ = engine.handle(None, Start(), now)
    assert state is not None and not state.language_chosen
    handle = engine.handle

    def one_pass() -> tuple[float, list[float]]:
        lat = []
        begin = clock()
        for text in texts:
            t = clock()
            handle(state, text, now)
            lat.append(clock() - t)
        return len(lat) / (clock() - begin), lat

    first, _ = one_pass()
    rates, latencies = [], []
    for _ in range(rounds):
        rate, lat = one_pass()
        rates.append(rate)
        latencies += lat
    return Rounds(rates, latencies), first


def bench_long_input(engine: Engine, now: dt.datetime) -> list[tuple[str, float]]:
    """Seconds for the longest texts the engine reads (worst cases, not targets)."""
    rng = random.Random(2000)
    letters = "abcdefghijklmnopqrstuvwxyzäöüß"
    nonsense = " ".join(
        "".join(rng.choice(letters) for _ in range(160)) for _ in range(MAX_TEXT // 160)
    )
    cases = [
        (f"one {MAX_TEXT}-letter word", "x" * MAX_TEXT),
        (f"{len(nonsense)} chars of 160-letter nonsense words", nonsense),
        (f"{MAX_TEXT} chars of short words", ("Widerspruch Instagram Daten " * 80)[:MAX_TEXT]),
    ]
    state, _ = engine.handle(None, Start(), now)
    out = []
    for label, text in cases:
        t = time.perf_counter()
        engine.handle(state, Text(text=text), now)
        out.append((label, time.perf_counter() - t))
    return out


# -- loading and start-up ----------------------------------------------------------------


def bench_load_warm(directory: Path, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        load_content(directory)
        times.append(time.perf_counter() - t)
    return times


def bench_load_cold(directory: Path, rounds: int) -> list[dict[str, float]]:
    out = []
    for _ in range(rounds):
        proc = subprocess.run(
            [sys.executable, "-c", _COLD_LOAD, str(directory)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(proc.stdout))
    return out


def bench_cli(command: Sequence[str], stdin: str, expect: str, rounds: int) -> list[float]:
    """Wall time of a fresh ``python -m bot ...`` reading ``stdin`` until it exits."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bot", *command],
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - t)
        if proc.returncode != 0 or expect not in proc.stdout:
            raise SystemExit(
                f"`python -m bot {' '.join(command)}` failed ({proc.returncode}):\n"
                f"{proc.stdout[-500:]}{proc.stderr[-2000:]}"
            )
    return times


# -- report ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per figure (default 5)")
    parser.add_argument("--content", type=Path, default=None, help="content directory")
    parser.add_argument("--sessions", type=int, default=300, help="navigation sessions")
    parser.add_argument("--steps", type=int, default=30, help="buttons pressed per session")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    directory = args.content or default_content_dir()
    content_opt = ["--content", str(directory)] if args.content else []

    try:
        content = load_content(directory)
    except ContentError as exc:
        print(f"content in {directory} is invalid, nothing to measure:\n{exc}", file=sys.stderr)
        return 1
    now = dt.datetime.now(dt.UTC)

    def make_engine() -> Engine:
        engine = Engine(content, session_ttl=SESSION_TTL)
        # Every language's index, the model and the content's vectors, as a running bot
        # prepares them before it serves (the matcher builds each on first use): no
        # question here waits for one.
        engine.prepare()
        return engine

    try:
        shown = directory.resolve().relative_to(ROOT)
    except ValueError:
        shown = directory
    print(
        f"bench/engine.py: {len(content.nodes)} nodes from {shown}, "
        f"languages {', '.join(content.languages)}, Python {sys.version.split()[0]}"
    )
    print(
        f"Figures are from a shared machine ({os.cpu_count()} cores, other engineers run tests "
        f"on it): best and median of {rounds} rounds; PASS/FAIL judges the median."
    )
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")

    # Navigation.
    engine = make_engine()
    walks = make_walks(engine, now, args.sessions, args.steps)
    chosen = [c.option for w in walks for c in w.choices]
    share = {
        "@back": sum(o == BACK for o in chosen) / len(chosen),
        "@menu": sum(o == MENU for o in chosen) / len(chosen),
        "@lang": sum(o.startswith(LANG_PREFIX) for o in chosen) / len(chosen),
    }
    nav = bench_navigation(make_engine(), walks, now, rounds)
    print("button navigation: Choice events through Engine.handle, one core")
    print(
        f"  walk: {len(chosen):,} events in {len(walks)} sessions (de and en), "
        + ", ".join(f"{v:.0%} {k}" for k, v in share.items())
    )
    print(
        f"  events/s      best {nav.best:>9,.0f}  median {nav.median:>9,.0f}  "
        f"target >= {NAV_TARGET:,.0f}  {verdict(nav.median >= NAV_TARGET)}"
    )
    print(
        f"  per event     p50 {us(percentile(nav.latencies, 50))}  "
        f"p99 {us(percentile(nav.latencies, 99))}  (all rounds)\n"
    )

    # Free text.
    questions = load_questions()
    texts = [Text(text=q.text) for q in questions]
    langs = sorted({q.lang for q in questions})
    text, first = bench_text(make_engine, texts, now, rounds)
    print("free text: Text events through Engine.handle, language detection on, one core")
    print(
        f"  questions: {len(texts)} from tests/qa/*.tsv ({', '.join(langs)}), same set each round"
    )
    print(
        f"  questions/s   best {text.best:>9,.0f}  median {text.median:>9,.0f}  "
        f"target >= {TEXT_TARGET:,.0f}  {verdict(text.median >= TEXT_TARGET)}"
    )
    print(
        f"  per question  p50 {us(percentile(text.latencies, 50))}  "
        f"p99 {us(percentile(text.latencies, 99))}  (all rounds)"
    )
    print(f"  first pass on a fresh engine (index caches empty): {first:,.0f} questions/s")
    for label, seconds in bench_long_input(make_engine(), now):
        print(f"  longest input, {label}: {seconds * 1000:,.0f} ms")
    print()

    # Loading.
    warm = bench_load_warm(directory, max(rounds, 5))
    cold = bench_load_cold(directory, rounds)
    cold_total = [c["import"] + c["load"] for c in cold]
    cold_load = [c["load"] for c in cold]
    cold_import = [c["import"] for c in cold]
    print("content load+validate: bot.content.load_content")
    print(
        f"  cold, fresh interpreter: import {statistics.median(cold_import):.3f} s + "
        f"load {statistics.median(cold_load):.3f} s (medians)"
    )
    print(
        f"  cold import+load  best {min(cold_total):.3f} s  median "
        f"{statistics.median(cold_total):.3f} s  target < {LOAD_TARGET} s  "
        f"{verdict(statistics.median(cold_total) < LOAD_TARGET)}"
    )
    print(
        f"  warm in-process   best {min(warm):.3f} s  median {statistics.median(warm):.3f} s  "
        f"target < {LOAD_TARGET} s  {verdict(statistics.median(warm) < LOAD_TARGET)}\n"
    )

    # Start-up.
    ask = bench_cli([*content_opt, "ask"], ASK_QUESTION + "\n", "→", rounds)
    chat = bench_cli([*content_opt, "chat"], ASK_QUESTION + "\n", "1)", rounds)
    print("start-up: wall time of a fresh process answering one line from stdin")
    print(
        f"  python -m bot ask    best {min(ask):.3f} s  median {statistics.median(ask):.3f} s  "
        f"target < {ASK_TARGET} s  {verdict(statistics.median(ask) < ASK_TARGET)}"
    )
    print(f"  python -m bot chat   best {min(chat):.3f} s  median {statistics.median(chat):.3f} s")
    print("\nload average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
