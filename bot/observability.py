"""Health and Prometheus metrics on an optional HTTP listener (``BOT_HTTP_LISTEN``).

``/healthz`` answers 200 ``ok`` only when content is loaded, every configured platform is
connected and the session store works, else 503 naming what is missing. ``/metrics`` is the Prometheus text format from
``prometheus-client``. Every metric is an aggregate labelled at most by platform, content
node or reload result: never by user, chat or anything a user typed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from bot.events import Reply
from bot.runtime import Runtime

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds; most events take a few milliseconds, a slow store shows in the upper buckets."""


class Metrics:
    """The bot's Prometheus metrics, in a registry of their own.

    Implements :class:`bot.health.Observer`: set it as ``runtime.observer``.
    """

    def __init__(self, platforms: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "bot_updates",
            "Events handled (messages, button presses, commands)",
            ["platform"],
            registry=r,
        )
        self.replies = Counter("bot_replies", "Replies produced", ["platform"], registry=r)
        self.fallbacks = Counter(
            "bot_fallbacks",
            "Typed text the bot could not match to a topic (fallback replies)",
            ["platform"],
            registry=r,
        )
        self.clarifications = Counter(
            "bot_clarifying_questions",
            "Typed questions answered with a question back (which of these topics?)",
            ["platform"],
            registry=r,
        )
        self.errors = Counter(
            "bot_errors", "Events whose handling or answer failed", ["platform"], registry=r
        )
        self.latency = Histogram(
            "bot_handling_seconds",
            "Time to handle one event: session load, engine, session save",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sessions = Gauge(
            "bot_active_sessions", "Sessions in the store (read at each scrape)", registry=r
        )
        self.store_errors = Counter(
            "bot_store_errors",
            "Session store operations that failed (loading, saving, erasing)",
            ["operation"],
            registry=r,
        )
        self.reloads = Counter(
            "bot_content_reloads", "Content reloads by result (ok, failed)", ["result"], registry=r
        )
        self.answers = Counter(
            "bot_node_answers", "Replies showing a content node, per node id", ["node"], registry=r
        )
        ProcessCollector(registry=r)
        # Zeros from the start, so rates and alerts work before the first event.
        for result in ("ok", "failed"):
            self.reloads.labels(result)
        for operation in ("loading", "saving", "erasing"):
            self.store_errors.labels(operation)
        for platform in platforms:
            for metric in (
                self.updates,
                self.replies,
                self.fallbacks,
                self.clarifications,
                self.errors,
            ):
                metric.labels(platform)
            self.latency.labels(platform)

    # -- Observer --------------------------------------------------------------------------

    def handled(self, platform: str, replies: Sequence[Reply], seconds: float) -> None:
        """Count one handled event and its replies."""
        self.updates.labels(platform).inc()
        self.latency.labels(platform).observe(seconds)
        for reply in replies:
            self.replies.labels(platform).inc()
            if reply.node is not None:
                self.answers.labels(reply.node).inc()
            elif reply.matched is False:
                # A clarifying question is an unmatched reply that offers the candidates.
                if getattr(reply, "clarify", None):
                    self.clarifications.labels(platform).inc()
                else:
                    self.fallbacks.labels(platform).inc()

    def error(self, platform: str) -> None:
        """Count a failure while handling an event of ``platform``."""
        self.errors.labels(platform).inc()

    def store_error(self, operation: str) -> None:
        """Count a failed session store operation."""
        self.store_errors.labels(operation).inc()

    def reloaded(self, ok: bool) -> None:
        """Count a content reload."""
        self.reloads.labels("ok" if ok else "failed").inc()

    # -- exposition ------------------------------------------------------------------------

    async def render(self, runtime: Runtime) -> bytes:
        """The metrics in the Prometheus text format, with the session count read now."""
        try:
            self.sessions.set(await runtime.store.count())
        except Exception as exc:
            # The scrape still shows everything else; the gauge keeps its last value.
            log.warning("could not count sessions for /metrics: %r", exc)
        return generate_latest(self.registry)


class HttpListener:
    """Serves ``/healthz`` and ``/metrics`` for ``runtime`` on ``host:port``."""

    def __init__(self, runtime: Runtime, metrics: Metrics, host: str, port: int) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.host = host
        self.port = port
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        """Start listening; with port 0, :attr:`port` is the one the system chose."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        bound = self._runner.addresses
        if bound:
            self.port = int(bound[0][1])
        where = f"[{self.host}]" if ":" in self.host else self.host
        log.info("health and metrics on http://%s:%d/healthz and /metrics", where, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        missing = self.runtime.readiness.missing() + await self.runtime.store_problems()
        if missing:
            return web.Response(status=503, text="not ready: " + "; ".join(missing) + "\n")
        return web.Response(text="ok\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self.metrics.render(self.runtime)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
