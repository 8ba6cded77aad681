"""Batches answered while the next sync runs, without a homeserver: each room in order,
rooms concurrently, and the sync token saved only up to what is answered."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import aiohttp
import pytest

from bot.platforms.matrix import RoomPipeline

Log = list[tuple[str, str]]


def step(
    log: Log, room: str, name: str, gate: asyncio.Event | None = None
) -> Coroutine[Any, Any, None]:
    async def work() -> None:
        log.append((room, f"{name} start"))
        if gate is not None:
            await asyncio.wait_for(gate.wait(), 10)
        await asyncio.sleep(0)
        log.append((room, f"{name} end"))

    return work()


async def test_a_room_is_answered_in_order_across_batches_and_rooms_concurrently() -> None:
    pipeline = RoomPipeline()
    log: Log = []
    slow = asyncio.Event()
    first = [pipeline.add("a", step(log, "a", "1", slow)), pipeline.add("b", step(log, "b", "1"))]
    pipeline.add_batch("t1", first)
    second = [pipeline.add("a", step(log, "a", "2")), pipeline.add("b", step(log, "b", "2"))]
    pipeline.add_batch("t2", second)
    await asyncio.wait_for(asyncio.gather(*first[1:], *second[1:]), 10)
    # Room b went on through both batches while room a's first event is still being answered.
    assert [e for r, e in log if r == "b"] == ["1 start", "1 end", "2 start", "2 end"]
    assert [e for r, e in log if r == "a"] == ["1 start"]
    assert pipeline.answered() is None  # nothing saved past an unanswered event
    slow.set()
    await asyncio.wait_for(asyncio.gather(*first, *second), 10)
    assert [e for r, e in log if r == "a"] == ["1 start", "1 end", "2 start", "2 end"]
    assert pipeline.answered() == "t2"
    assert pipeline.running() == []


async def test_many_batches_keep_each_rooms_order() -> None:
    pipeline = RoomPipeline()
    log: Log = []
    tasks = []
    for batch in range(20):
        work = [pipeline.add(room, step(log, room, str(batch))) for room in "abcde"]
        pipeline.add_batch(f"t{batch}", work)
        tasks += work
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    for room in "abcde":
        events = [e for r, e in log if r == room]
        assert events == [f"{b} {what}" for b in range(20) for what in ("start", "end")]
    assert pipeline.answered() == "t19"


async def test_a_lost_homeserver_stops_the_room_and_the_saved_token() -> None:
    pipeline = RoomPipeline()
    log: Log = []

    async def lost() -> None:
        log.append(("a", "1 start"))
        raise aiohttp.ServerDisconnectedError()

    first = [pipeline.add("a", lost()), pipeline.add("b", step(log, "b", "1"))]
    pipeline.add_batch("t1", first)
    second = [pipeline.add("a", step(log, "a", "2")), pipeline.add("b", step(log, "b", "2"))]
    pipeline.add_batch("t2", second)
    await asyncio.wait_for(asyncio.wait(first + second), 10)
    assert pipeline.lost.is_set()
    assert isinstance(pipeline.failure, aiohttp.ServerDisconnectedError)
    # Room a's second event waits to be read again after its first; the token stays before t1.
    assert [e for r, e in log if r == "a"] == ["1 start"]
    assert pipeline.answered() is None


async def test_other_errors_are_logged_and_the_batch_counts_as_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = RoomPipeline()

    async def broken() -> None:
        raise ValueError("a bug")

    task = pipeline.add("a", broken())
    pipeline.add_batch("t1", [task])
    await asyncio.wait_for(task, 10)
    assert "error while handling a room" in caplog.text
    assert pipeline.answered() == "t1"
    assert not pipeline.lost.is_set()
