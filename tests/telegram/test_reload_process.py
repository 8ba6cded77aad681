"""``python -m bot run`` with Telegram, as a process: content changes on disk are reloaded
while it runs (a broken file keeps the old tree, a fixed one and SIGHUP bring the new one),
and ``/healthz`` and ``/metrics`` tell the operator about it."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from fake_bot_api import FakeBotApi, FakeUser
from test_run_process import ROOT, bot_env, stop

WAIT = 30.0
NODE = "how-to-object"
MARKER = "NEUER STAND."


class Log:
    """The bot's log file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")

    async def wait_for(self, pattern: str, after: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` past character ``after``; fails after ``WAIT``."""
        try:
            async with asyncio.timeout(WAIT):
                while not (found := re.compile(pattern).search(self.text(), after)):
                    # A file has no change notification to await; re-read it soon.
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in the log:\n{self.text()}") from None
        return found


def node_file(directory: Path, node_id: str) -> Path:
    for path in sorted((directory / "nodes").glob("*.yaml")):
        nodes = yaml.safe_load(path.read_text(encoding="utf-8"))
        if any(isinstance(n, dict) and n.get("id") == node_id for n in nodes):
            return path
    raise AssertionError(f"no file holds {node_id}")


def with_marker(text: str, node_id: str) -> str:
    """The YAML ``text`` with ``MARKER`` put in front of the node's German text."""
    nodes: list[dict[str, Any]] = yaml.safe_load(text)
    for node in nodes:
        if node.get("id") == node_id:
            node["text"]["de"] = f"{MARKER}\n\n{node['text']['de']}"
    return yaml.safe_dump(nodes, allow_unicode=True, sort_keys=False, width=1000)


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        return resp.status, await resp.text()


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


async def test_running_bot_reloads_content_and_reports_it(api: FakeBotApi, tmp_path: Path) -> None:
    directory = tmp_path / "content"
    shutil.copytree(ROOT / "content", directory)
    env = bot_env(api, tmp_path / "data")
    env.update(BOT_CONTENT_DIR=str(directory), BOT_HTTP_LISTEN="127.0.0.1:0")
    log = Log(tmp_path / "bot.log")
    with log.path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        port = int((await log.wait_for(r"http://127\.0\.0\.1:(\d+)/healthz")).group(1))
        await log.wait_for(r"Telegram bot @\S+ running")
        await log.wait_for(r"watching .* for content changes")
        assert await get(port, "/healthz") == (200, "ok\n")

        user = FakeUser(id=5151, language_code="de")
        api.message(user, "/start")
        [menu] = await api.wait_sent(user.id, timeout=15)
        api.press(user, menu, NODE)
        sent = await api.wait_sent(user.id, 2, timeout=15)
        old = sent[1].visible.strip()
        assert old.startswith("Du widersprichst kostenlos mit Metas Online-Formularen")

        # A broken file: logged as file:line, the old tree keeps answering.
        path = node_file(directory, NODE)
        original = path.read_text(encoding="utf-8")
        mark = len(log.text())
        path.write_text(original + "\n- id: broken\n  title: [unclosed\n", encoding="utf-8")
        await log.wait_for(r"content reload \(file change\) failed", mark)
        assert re.search(rf"{re.escape(path.name)}:\d+: YAML syntax error", log.text()[mark:])
        api.press(user, menu, NODE)
        sent = await api.wait_sent(user.id, 3, timeout=15)
        assert sent[2].visible.strip() == old

        # Fixed, with a changed text: the next answer comes from the new tree.
        mark = len(log.text())
        path.write_text(with_marker(original, NODE), encoding="utf-8")
        await log.wait_for(r"content reloaded \(file change\)", mark)
        api.press(user, menu, NODE)
        sent = await api.wait_sent(user.id, 4, timeout=15)
        assert sent[3].visible.strip().startswith(MARKER)
        assert sent[3].visible.strip() != old

        # SIGHUP reloads too, without any change on disk.
        mark = len(log.text())
        proc.send_signal(signal.SIGHUP)
        await log.wait_for(r"content reloaded \(SIGHUP\)", mark)

        status, scraped = await get(port, "/metrics")
        assert status == 200
        assert metric(scraped, 'bot_content_reloads_total{result="failed"}') == 1
        assert metric(scraped, 'bot_content_reloads_total{result="ok"}') == 2
        assert metric(scraped, 'bot_updates_total{platform="telegram"}') == 4
        assert metric(scraped, f'bot_node_answers_total{{node="{NODE}"}}') == 3
        assert metric(scraped, "bot_active_sessions") == 1
        assert await stop(proc) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "Traceback" not in log.text(), log.text()
