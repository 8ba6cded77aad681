"""``python -m bot run`` stops on SIGTERM/SIGINT within MATRIX_SHUTDOWN_GRACE whatever the
homeserver does: refuses connections, accepts them and never answers the login, or never
answers the first sync. The log says what happened."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from .clients import BotProcess, bot_env
from .homeserver import Synapse, free_port
from .proxy import CuttableProxy

GRACE = 5.0
MakeProcess = Callable[[str, str, str], BotProcess]


@pytest.fixture
async def make_process(tmp_path: Path) -> AsyncIterator[MakeProcess]:
    """Bot processes for ``(homeserver, user id, token)``; killed after the test if alive."""
    made: list[BotProcess] = []

    def make(homeserver: str, user_id: str, token: str) -> BotProcess:
        env = bot_env(homeserver, user_id, token, tmp_path / "data")
        env.update(MATRIX_SHUTDOWN_GRACE=str(GRACE), MATRIX_RETRY_MAX_WAIT="30")
        process = BotProcess(env, tmp_path)
        made.append(process)
        return process

    yield make
    for process in made:
        await process.kill()


@pytest.fixture
async def proxy(synapse: Synapse) -> AsyncIterator[CuttableProxy]:
    """A proxy in front of the test Synapse."""
    proxy = CuttableProxy(synapse.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def stop_within_grace(process: BotProcess, sig: signal.Signals) -> None:
    """Send ``sig``; the process must exit with status 0 before the grace period is over."""
    began = time.monotonic()
    code = await process.signal_and_wait(sig, timeout=GRACE + 15)
    took = time.monotonic() - began
    log = process.log()
    assert code == 0, log
    assert took < GRACE, f"took {took:.1f}s to stop:\n{log}"
    assert "Traceback" not in log
    assert "Timed out, sleeping" not in log  # nio's own retry loop is not used


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_refused_connection_is_named_and_back_off_stops_at_once(
    make_process: MakeProcess, sig: signal.Signals
) -> None:
    # Nothing listens on the port: every connection is refused.
    process = make_process(f"http://127.0.0.1:{free_port()}", "@nobody:localhost", "t0ken")
    await process.start()
    await process.wait_log("connection refused; retrying in 1.0s")  # now in the back-off
    await stop_within_grace(process, sig)
    assert "cannot log in to http://127.0.0.1:" in process.log()


async def test_unanswered_login_times_out_and_stops_while_waiting(
    synapse: Synapse, proxy: CuttableProxy, make_process: MakeProcess
) -> None:
    account = synapse.register("silentlogin")
    whoami = proxy.add(b"/account/whoami", "stall", times=None)
    process = make_process(proxy.url, account.user_id, account.access_token)
    process.env["MATRIX_REQUEST_TIMEOUT"] = "1"
    await process.start()
    await process.wait_log("no answer within 1s; retrying in 1.0s")
    await proxy.wait_hit(whoami, 2)  # the second attempt is waiting for its answer
    await stop_within_grace(process, signal.SIGINT)


async def test_unanswered_first_sync_stops_at_once(
    synapse: Synapse, proxy: CuttableProxy, make_process: MakeProcess
) -> None:
    account = synapse.register("silentsync")
    sync = proxy.add(b"/sync", "stall", times=None)
    process = make_process(proxy.url, account.user_id, account.access_token)
    await process.start()
    await proxy.wait_hit(sync)  # logged in; the first sync hangs (default 60 s timeout)
    await stop_within_grace(process, signal.SIGTERM)
    assert "stopped" in process.log()
