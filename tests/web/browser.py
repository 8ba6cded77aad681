"""Headless Chromium for the browser tests: Debian's ``chromium`` and ``chromium-driver``,
driven by Selenium with the system driver (Selenium Manager never downloads anything).

:func:`ensure_chromium` installs the two packages with apt-get when they are missing and the
tests run as root (as ``.ci/run`` does on a fresh machine); otherwise the browser tests are
skipped with the reason. The install runs once per machine at a time (a file lock), its
output goes to ``tests/web/apt-install.log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("WEB_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("WEB_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
HERE = Path(__file__).resolve().parent
INSTALL_LOG = HERE / "apt-install.log"
SCREENSHOTS = HERE / "screenshots"
"""Where the browser tests write their screenshots (git-ignored)."""
INSTALL_TIMEOUT = 900


def ensure_chromium() -> str | None:
    """``None`` when Chromium and its driver are there (installed now if need be), else why
    not."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return (
            f"{CHROMIUM} or {CHROMEDRIVER} missing, and apt-get is not available as root to "
            "install them: apt-get install chromium chromium-driver"
        )
    lock_path = Path(tempfile.gettempdir()) / "meta-ai-bot-chromium-install.lock"
    with lock_path.open("w") as lock, INSTALL_LOG.open("ab") as log:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if CHROMIUM.exists() and CHROMEDRIVER.exists():
                return None  # another run installed them while we waited
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for command in (
                [apt, "update"],
                [apt, "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
            ):
                try:
                    done = subprocess.run(
                        command, stdout=log, stderr=subprocess.STDOUT, env=env,
                        timeout=INSTALL_TIMEOUT, check=False,
                    )  # fmt: skip
                except subprocess.TimeoutExpired:
                    return f"{' '.join(command)} took longer than {INSTALL_TIMEOUT} s; see {INSTALL_LOG}"
                if done.returncode != 0:
                    return f"{' '.join(command)} failed ({done.returncode}); see {INSTALL_LOG}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    return f"apt-get installed chromium but {CHROMIUM} or {CHROMEDRIVER} is still missing"


def start_driver(*, javascript: bool = True, accept_language: str = "de-DE,de") -> Any:
    """A headless Chromium with a fresh profile, driven through the system chromedriver."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, if ever asked, must not download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    prefs: dict[str, Any] = {"intl.accept_languages": accept_language}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    driver._test_profile = profile  # removed by stop_driver
    return driver


def stop_driver(driver: Any) -> None:
    """Quit the browser and remove its profile."""
    profile = getattr(driver, "_test_profile", None)
    with contextlib.suppress(Exception):
        driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


def viewport(driver: Any, width: int, height: int, *, mobile: bool = False) -> None:
    """Make the page's viewport exactly ``width`` x ``height`` CSS pixels."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def color_scheme(driver: Any, scheme: str) -> None:
    """Emulate ``prefers-color-scheme: light|dark``."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


class ServerThread:
    """An asyncio loop in a thread, for servers the synchronous browser tests talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any, timeout: float = 60.0) -> Any:
        """Run ``coroutine`` on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def served_thread() -> Iterator[ServerThread]:
    thread = ServerThread()
    try:
        yield thread
    finally:
        thread.close()
