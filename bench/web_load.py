"""Load on the web chat: many concurrent sessions on loopback, each sending messages over its own
WebSocket one after the other, against a real ``python -m bot run`` process.

Prints how many messages were lost (no answer) and answered twice, the reply latency (p50,
p99, max, from sending a message to its answer), the server's CPU time per message and its
memory per session (its RSS with every session connected and answered, minus its RSS before,
divided by the sessions). All sessions send at once and each waits for its answer, so the
latency is mostly waiting in line: about sessions / throughput.
The server's own ``/metrics`` count of handled web messages is printed as a cross-check.

    PYTHONPATH=. python bench/web_load.py [--sessions 500] [--messages 10] [--store memory]

Linux only (reads the server's RSS from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "Wie widerspreche ich?",
    "Ist es zu spät?",
    "Was macht Meta mit meinen Daten?",
    "How do I object on Instagram?",
    "Und WhatsApp?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else 0


async def wait_ready(http: aiohttp.ClientSession, port: int, timeout: float = 180.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.lost = 0
        self.twice = 0
        self.errors: list[str] = []


async def session(
    http: aiohttp.ClientSession,
    url: str,
    messages: int,
    tally: Tally,
    connected: asyncio.Barrier,
    finish: asyncio.Event,
    index: int,
) -> None:
    """One page: hello, then ``messages`` messages, each after the previous answer."""
    sid = secrets.token_hex(16)
    ws = await http.ws_connect(url, heartbeat=None, timeout=aiohttp.ClientWSTimeout(ws_close=10))
    try:
        await ws.send_str(json.dumps({"kind": "hello", "session": sid, "lang": "de"}))
        ready = json.loads((await ws.receive(timeout=60)).data)
        assert ready == {"type": "ready"}, ready
        await connected.wait()
        options: list[dict[str, Any]] = []
        for seq in range(1, messages + 1):
            if seq == 1:
                message: dict[str, Any] = {"kind": "start", "lang": "de"}
            elif seq % 2 == 0 or not options:
                message = {"kind": "text", "text": QUESTIONS[(index + seq) % len(QUESTIONS)]}
            else:
                message = {"kind": "choice", "option": options[0]["id"]}
            message["seq"] = seq
            sent = time.perf_counter()
            await ws.send_str(json.dumps(message))
            try:
                answer = json.loads((await ws.receive(timeout=60)).data)
            except (TimeoutError, TypeError, ValueError):
                tally.lost += messages - seq + 1
                return
            tally.latencies.append(time.perf_counter() - sent)
            if answer.get("type") != "answer" or answer.get("seq") != seq:
                tally.errors.append(str(answer)[:200])
                continue
            if answer.get("again"):
                tally.twice += 1
            if answer["replies"]:
                options = answer["replies"][-1]["options"]
        await finish.wait()  # stay connected until memory is measured
    finally:
        await ws.close()


async def handled_on_server(http: aiohttp.ClientSession, port: int) -> float:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    match = re.search(r'^bot_updates_total\{platform="web"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else -1.0


async def main(args: argparse.Namespace) -> int:
    web_port, http_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="web-load-")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "WEB_", "TELEGRAM_", "MATRIX_"))
    }
    env.update(
        WEB_LISTEN=f"127.0.0.1:{web_port}",
        WEB_ADDRESS_RATE="1000000/minute",  # every session comes from 127.0.0.1 here
        BOT_HTTP_LISTEN=str(http_port),
        BOT_STORE=args.store,
        BOT_DATA_DIR=data,
        BOT_SECRET=secrets.token_hex(32),  # required with a Redis store
        BOT_LOG_LEVEL="WARNING",
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            await wait_ready(http, http_port)
            # One page load first, so the baseline has the page code paths warmed up.
            async with http.get(f"http://127.0.0.1:{web_port}/") as response:
                await response.read()
            before = rss_kib(server.pid)
            cpu_before = cpu_seconds(server.pid)
            tally = Tally()
            connected = asyncio.Barrier(args.sessions + 1)
            finish = asyncio.Event()
            url = f"ws://127.0.0.1:{web_port}/ws"
            started = time.perf_counter()
            tasks = [
                asyncio.create_task(session(http, url, args.messages, tally, connected, finish, i))
                for i in range(args.sessions)
            ]
            await connected.wait()
            connect_time = time.perf_counter() - started
            started = time.perf_counter()
            while not all(t.done() for t in tasks) and len(tally.latencies) + tally.lost < (
                args.sessions * args.messages
            ):
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            during = rss_kib(server.pid)
            cpu = cpu_seconds(server.pid) - cpu_before
            finish.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            counted = await handled_on_server(http, http_port)
    finally:
        server.send_signal(signal.SIGTERM)
        code = await server.wait()

    total = args.sessions * args.messages
    answered = len(tally.latencies)
    lat = sorted(tally.latencies)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0.0] * 99
    print(f"sessions: {args.sessions}, messages each: {args.messages}, store: {args.store}")
    print(f"connected all sessions in {connect_time:.1f} s")
    print(f"messages: {total}, answered: {answered}, lost: {total - answered}, "
          f"answered twice: {tally.twice}, wrong answers: {len(tally.errors)}, "
          f"session failures: {len(failures)}")  # fmt: skip
    print(f"handled by the server (its /metrics): {counted:.0f}")
    print(f"throughput: {answered / elapsed:.0f} messages/s over {elapsed:.1f} s")
    print(
        f"server CPU: {cpu:.1f} s, {cpu / max(answered, 1) * 1000:.2f} ms per message "
        f"(on {os.cpu_count()} cores; load average then {os.getloadavg()[0]:.1f})"
    )
    print(
        f"reply latency: p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
        f"max {lat[-1] * 1000 if lat else 0:.1f} ms"
    )
    print(
        f"server RSS: {before / 1024:.1f} MiB before, {during / 1024:.1f} MiB with every session "
        f"open, {(during - before) / args.sessions:.1f} KiB per session"
    )
    print(f"server exit status after SIGTERM: {code}")
    for error in tally.errors[:5]:
        print("  wrong answer:", error)
    for failure in failures[:5]:
        print("  failure:", repr(failure))
    ok = total == answered and not tally.twice and not tally.errors and not failures
    return 0 if ok and code == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument(
        "--store", default="memory", help="BOT_STORE: memory, sqlite or a redis:// URL"
    )
    raise SystemExit(asyncio.run(main(parser.parse_args())))
