"""Faults and attacks against a real ``python -m bot run`` through the fake Bot API.

Each scenario starts a fresh bot process (shipped content, SQLite in a temporary data dir)
and prints how many messages were sent, answered, lost and answered twice:

- ``429``: Telegram answers chat A ``429 retry_after=20``; 20 other chats write meanwhile.
  Also prints how long the other chats waited, and chat A.
- ``group-flood``: one user sends 200 × ``/start`` in a group, 5 others ask in between.
  (``TELEGRAM_RATE_LIMIT=false`` here: the group's 20 messages a minute would otherwise
  stretch the run over minutes; the inbound limit is what is measured.)
- ``poisoned``: 9 malformed updates (no ``date``; ``message`` a string) among 60 messages;
  also the ``getUpdates`` calls per second once all is answered and ``bot_errors_total``.
- ``kill-9``: 60 questions in 4 groups (each answer takes Telegram 0.1 s), ``kill -9``
  after about 12 answers, 20 more while it is down, restart.
- ``webhook``: forged POSTs without the secret, 4 × 95 MB bodies with a wrong secret,
  oversized and invalid bodies with the right one, then 20 real updates; also the bot's
  memory before and after.

    python bench/faults_telegram.py                 # all scenarios
    python bench/faults_telegram.py 429 kill-9      # some
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from botprocess import ROOT, WAIT, bot_process  # noqa: F401 (sets sys.path)
from fake_bot_api import FakeBotApi, FakeChat, FakeUser

Scenario = Callable[[Path], Coroutine[Any, Any, dict[str, Any]]]


def answered_questions(api: FakeBotApi, chats: list[int]) -> Counter[tuple[int, int]]:
    """How often each question was answered (group answers reply to their question)."""
    return Counter(
        (s.chat_id, s.params["reply_parameters"]["message_id"])
        for chat in chats
        for s in api.sent_to(chat)
        if s.params.get("reply_parameters")
    )


def report(
    name: str, sent: int, answered: int, lost: int, twice: int, **more: Any
) -> dict[str, Any]:
    return {
        "scenario": name,
        "sent": sent,
        "answered": answered,
        "lost": lost,
        "twice": twice,
        **more,
    }


# -- one chat's 429 ------------------------------------------------------------------------------


async def one_chats_429(tmp: Path) -> dict[str, Any]:
    async with FakeBotApi(validate_responses=False) as api, bot_process(api, tmp / "data"):
        a = FakeUser(id=10_001)
        others = [FakeUser(id=10_100 + n) for n in range(20)]
        api.fail("sendMessage", "429", retry_after=20, chat_id=a.id)
        asked_a = time.monotonic()
        api.message(a, "/start")
        await api.wait_until(lambda: any(c.status == 429 for c in api.calls), WAIT)
        delays = []
        for user in others:
            asked = time.monotonic()
            api.message(user, "/start")
            [answer] = await api.wait_sent(user.id, timeout=WAIT)
            delays.append(answer.at - asked)
        [answer_a] = await api.wait_sent(a.id, timeout=WAIT)
        everyone = [a, *others]
        counts = [len(api.sent_to(u.id)) for u in everyone]
    return report(
        "429 for chat A (retry_after=20)",
        len(everyone),
        sum(1 for c in counts if c),
        sum(1 for c in counts if c == 0),
        sum(1 for c in counts if c > 1),
        other_chats_delay_s=f"median {statistics.median(delays):.2f}, max {max(delays):.2f}",
        chat_a_delay_s=round(answer_a.at - asked_a, 1),
        violations=len(api.violations),
    )


# -- a flooder in a group -----------------------------------------------------------------------


async def group_flood(tmp: Path) -> dict[str, Any]:
    env = {"TELEGRAM_RATE_LIMIT": "false"}
    async with FakeBotApi(validate_responses=False) as api, bot_process(api, tmp / "data", env):
        group = FakeChat(id=-20_000, type="group", title="Nachbarschaft")
        flooder = FakeUser(id=20_001)
        others = [FakeUser(id=20_100 + n) for n in range(5)]
        questions = []
        for n in range(200):
            api.message(flooder, "/start", chat=group)
            if n % 40 == 20:
                questions.append(api.message(others[len(questions)], "/hilfe", chat=group))
        questions.append(api.message(others[-1], "/start", chat=group))
        for update in questions:
            await api.wait_until_answered(group.id, update, timeout=WAIT)
        asked = {q["message"]["message_id"] for q in questions}
        replies = api.sent_to(group.id)
        to_others = [
            s for s in replies if s.params.get("reply_parameters", {}).get("message_id") in asked
        ]
        notes = sum(1 for s in replies if "sehr schnell" in s.visible)
    return report(
        "flooder in a group (200 × /start) + 6 others",
        206,
        len(replies),
        len(questions) - len({s.params["reply_parameters"]["message_id"] for s in to_others}),
        len(to_others) - len(questions),
        flooder_replies=len(replies) - len(to_others),
        slow_down_notes=notes,
        others_answered=f"{len(to_others)}/{len(questions)}",
    )


# -- poisoned updates ----------------------------------------------------------------------------


async def poisoned(tmp: Path) -> dict[str, Any]:
    async with FakeBotApi(validate_responses=False) as api, bot_process(api, tmp / "data") as bot:
        users = [FakeUser(id=30_000 + n) for n in range(60)]
        for n, user in enumerate(users):
            if n % 10 == 5:
                api.push_raw({"message": {"message_id": 1, "chat": {"id": 1, "type": "private"}}})
            if n % 20 == 7:
                api.push_raw({"message": "poisoned"})
            api.message(user, "/start")
        for user in users:
            await api.wait_sent(user.id, timeout=WAIT)
        polls = len(api.calls_of("getUpdates"))
        await asyncio.sleep(3.0)
        per_second = (len(api.calls_of("getUpdates")) - polls) / 3.0
        metrics = await bot.metrics()
        counts = [len(api.sent_to(u.id)) for u in users]
        errors = metrics.get('bot_errors_total{platform="telegram"}', 0.0)
    return report(
        "poisoned updates in polling (9 malformed among 60)",
        len(users),
        sum(1 for c in counts if c),
        sum(1 for c in counts if c == 0),
        sum(1 for c in counts if c > 1),
        getupdates_per_s_idle=round(per_second, 2),
        bot_errors_total=errors,
        confirmed_all=api.confirmed == api._next_update_id - 1,
    )


# -- kill -9 in polling --------------------------------------------------------------------------


async def kill_9(tmp: Path) -> dict[str, Any]:
    env = {"TELEGRAM_RATE_LIMIT": "false"}
    groups = [FakeChat(id=-40_000 - n, type="group", title=f"Gruppe {n}") for n in range(4)]
    chats = [g.id for g in groups]
    asked: list[tuple[int, int]] = []
    async with FakeBotApi(validate_responses=False) as api:
        api.fail("sendMessage", "slow", delay=0.1, count=10_000)

        def ask(n: int) -> None:
            user = FakeUser(id=40_100 + n)
            update = api.message(user, "/hilfe@TestBot", chat=groups[n % 4])
            asked.append((update["message"]["chat"]["id"], update["message"]["message_id"]))

        async with bot_process(api, tmp / "data", env) as bot:
            for n in range(60):
                ask(n)
            await api.wait_until(lambda: sum(answered_questions(api, chats).values()) >= 12, WAIT)
            bot.proc.kill()
            await bot.proc.wait()
        at_kill = sum(answered_questions(api, chats).values())
        for n in range(60, 80):
            ask(n)
        async with bot_process(api, tmp / "data", env):
            # Whatever is still missing after the wait counts as lost.
            with contextlib.suppress(TimeoutError):
                await api.wait_until(
                    lambda: all(answered_questions(api, chats)[q] for q in asked), WAIT
                )
        counts = answered_questions(api, chats)
    return report(
        "kill -9 in polling mid-burst, restart",
        len(asked),
        sum(1 for q in asked if counts[q]),
        sum(1 for q in asked if not counts[q]),
        sum(1 for q in asked if counts[q] > 1),
        answered_before_kill=at_kill,
    )


# -- forged webhook POSTs ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _stream(size: int) -> AsyncIterator[bytes]:
    block = b" " * (1024 * 1024)
    for _ in range(size // len(block)):
        yield block


def _update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "A"},
            "from": {"id": user_id, "is_bot": False, "first_name": "A", "language_code": "de"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def webhook(tmp: Path) -> dict[str, Any]:
    port = free_port()
    env = {
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram",
        "TELEGRAM_WEBHOOK_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}/telegram"
    statuses: Counter[str] = Counter()
    async with (
        FakeBotApi(validate_responses=False) as api,
        bot_process(api, tmp / "data", env) as bot,
    ):
        secret = (api.webhook or {}).get("secret_token", "")
        good = {"X-Telegram-Bot-Api-Secret-Token": secret}
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guessed"}
        victims = [FakeUser(id=50_000 + n) for n in range(20)]
        users = [FakeUser(id=50_100 + n) for n in range(20)]
        for user in [*victims, *users]:
            api.add_chat(FakeChat(id=user.id))
        rss_before = bot.rss_mib()
        async with httpx.AsyncClient(timeout=60) as client:
            for n, victim in enumerate(victims):
                r = await client.post(url, json=_update(n + 1, victim.id, "/start"))
                statuses[f"forged, no secret: {r.status_code}"] += 1
            for _ in range(4):
                try:
                    r = await client.post(url, content=_stream(95 * 1024 * 1024), headers=wrong)
                    statuses[f"95 MB, wrong secret: {r.status_code}"] += 1
                except httpx.HTTPError:
                    statuses["95 MB, wrong secret: connection closed"] += 1
            for _ in range(2):
                try:
                    r = await client.post(url, content=_stream(20 * 1024 * 1024), headers=good)
                    statuses[f"20 MB streamed, right secret: {r.status_code}"] += 1
                except httpx.HTTPError:
                    statuses["20 MB streamed, right secret: connection closed"] += 1
            r = await client.post(url, content=b'{"update_id": 1, "message": ', headers=good)
            statuses[f"invalid JSON: {r.status_code}"] += 1
            r = await client.post(url, json={"update_id": 99, "message": "x"}, headers=good)
            statuses[f"unreadable update: {r.status_code}"] += 1
            for n, user in enumerate(users):
                r = await client.post(url, json=_update(1000 + n, user.id, "/start"), headers=good)
                statuses[f"real: {r.status_code}"] += 1
        for user in users:
            await api.wait_sent(user.id, timeout=WAIT)
        rss_after = bot.rss_mib()
        forged_answered = sum(len(api.sent_to(v.id)) for v in victims)
        counts = [len(api.sent_to(u.id)) for u in users]
    return report(
        "webhook: 20 forged + 4 × 95 MB + bad bodies, then 20 real",
        len(users),
        sum(1 for c in counts if c),
        sum(1 for c in counts if c == 0),
        sum(1 for c in counts if c > 1),
        forged_answered=forged_answered,
        responses=dict(statuses),
        rss_mib=f"{rss_before:.0f} -> {rss_after:.0f}",
    )


SCENARIOS: dict[str, Scenario] = {
    "429": one_chats_429,
    "group-flood": group_flood,
    "poisoned": poisoned,
    "kill-9": kill_9,
    "webhook": webhook,
}


async def run(names: list[str]) -> int:
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            result = await SCENARIOS[name](Path(tmp))
        print(f"{result.pop('scenario')}  ({time.monotonic() - started:.0f} s)")
        for key, value in result.items():
            print(f"  {key}: {value}")
        sys.stdout.flush()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    return asyncio.run(run(args.scenarios or list(SCENARIOS)))


if __name__ == "__main__":
    sys.exit(main())
