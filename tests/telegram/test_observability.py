"""``/healthz`` and ``/metrics`` next to the real Telegram adapter, on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from conftest import BotFactory
from fake_bot_api import FakeBotApi, FakeUser
from prometheus_client.parser import text_string_to_metric_families

from bot.content import Content
from bot.observability import HttpListener, Metrics
from bot.runtime import Conversation, Runtime
from bot.store import MemoryStore

TTL = dt.timedelta(days=30)


@asynccontextmanager
async def listening(runtime: Runtime, metrics: Metrics | None = None) -> AsyncIterator[str]:
    metrics = metrics or Metrics()
    listener = HttpListener(runtime, metrics, "127.0.0.1", 0)
    await listener.start()
    try:
        yield f"http://127.0.0.1:{listener.port}"
    finally:
        await listener.stop()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


async def test_healthz_is_ok_only_while_every_configured_platform_is_connected(
    api: FakeBotApi, run_bot: BotFactory, content: Content
) -> None:
    idle = Runtime(content, MemoryStore(TTL), b"secret")
    idle.readiness.expect(["telegram"])
    async with listening(idle) as url:
        assert await get(f"{url}/healthz") == (503, "not ready: telegram not connected\n")
    await idle.close()

    async with run_bot() as bot:
        runtime = bot.runtime
        runtime.readiness.expect(["telegram"])
        async with listening(runtime) as url:
            assert await get(f"{url}/healthz") == (200, "ok\n")
            # A second platform that never connects keeps the bot unready.
            runtime.readiness.expect(["matrix"])
            assert await get(f"{url}/healthz") == (503, "not ready: matrix not connected\n")
            runtime.readiness.connected("matrix")
            assert (await get(f"{url}/healthz"))[0] == 200
            await bot.stop()
            # The adapter stopped: Telegram is no longer connected.
            assert await get(f"{url}/healthz") == (503, "not ready: telegram not connected\n")


async def test_metrics_after_a_conversation_hold_counts_but_no_ids_or_text(
    api: FakeBotApi, run_bot: BotFactory, content: Content
) -> None:
    alice = FakeUser(id=730_061_942, first_name="Quirina", username="quirina_q")
    bob = FakeUser(id=730_061_957, first_name="Balthasar", username="balthasar_b")
    typed = [
        "Wie widerspreche ich der KI-Nutzung?",
        "Mein Nachbar Zacharias fragt wegen xyzzyplugh",
    ]
    metrics = Metrics(["telegram"])
    async with run_bot() as bot:
        bot.runtime.observer = metrics
        async with listening(bot.runtime, metrics) as url:
            api.message(alice, "/start")
            [menu] = await api.wait_sent(alice.id)
            api.press(alice, menu, "how-to-object")
            await api.wait_sent(alice.id, 2)
            for text in typed:
                api.message(bob, text)
            await api.wait_sent(bob.id, 2)
            status, scraped = await get(f"{url}/metrics")
    assert status == 200

    keys = [bot.runtime.key(Conversation("telegram", str(u.id), str(u.id))) for u in (alice, bob)]
    secret = {str(alice.id), str(bob.id), "Quirina", "quirina_q", "Balthasar", "balthasar_b"}
    secret |= {part for key in keys for part in (key.session, key.user, key.chat)}
    secret |= {word for text in typed for word in text.split() if len(word) > 4}
    leaked = sorted(s for s in secret if s.lower() in scraped.lower())
    assert leaked == [], f"/metrics shows {leaked}"

    # Every label value is a platform, a reload result, a content node id or a store operation.
    allowed = {
        "platform": {"telegram"},
        "result": {"ok", "failed"},
        "node": set(content.nodes),
        "operation": {"loading", "saving", "erasing"},
    }
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label != "le":  # histogram bucket bounds
                    assert value in allowed.get(label, set()), (sample.name, label, value)
            values[sample.name + str(sorted(sample.labels.items()))] = sample.value

    def value(name: str, **labels: str) -> float:
        return values[name + str(sorted(labels.items()))]

    assert value("bot_updates_total", platform="telegram") == 4
    assert value("bot_replies_total", platform="telegram") == 4
    assert value("bot_fallbacks_total", platform="telegram") == 1
    assert value("bot_handling_seconds_count", platform="telegram") == 4
    assert value("bot_node_answers_total", node="how-to-object") == 2
    assert value("bot_node_answers_total", node=content.meta.root) == 1
    assert value("bot_errors_total", platform="telegram") == 0
    assert value("bot_content_reloads_total", result="failed") == 0
    assert value("bot_active_sessions") == 2
