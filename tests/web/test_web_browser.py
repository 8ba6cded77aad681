"""The web chat in a real browser (headless Chromium from Debian, driven by Selenium), on the
shipped content: journeys in German and English, keyboard only, without JavaScript, embedded
on another site, and an axe-core accessibility check.

Screenshots at 360x740 and 1280x800 go to ``tests/web/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from bot.content import load_content
from bot.platforms.web import WebChat
from bot.ratelimit import PerKeyLimiter
from bot.runtime import Conversation, Runtime
from bot.store import MemoryStore

from .browser import (
    SCREENSHOTS,
    ServerThread,
    color_scheme,
    ensure_chromium,
    served_thread,
    start_driver,
    stop_driver,
    viewport,
)
from .conftest import start_chat

AXE = Path(__file__).resolve().parent / "axe" / "axe.min.js"
WAIT = 20.0
SIZES = ((360, 740), (1280, 800))

WORDS = {
    "de": {
        "question": "Wie widerspreche ich?",
        "answer": "Formular",
        "checklist": "Meine Widerspruchs-Checkliste",
        "done": "Deine Checkliste",
        "tick": "Instagram erledigt",
        "forget": "Vergessen",
        "start": "Los geht's",
    },
    "en": {
        "question": "How do I object?",
        "answer": "form",
        "checklist": "My objection checklist",
        "done": "Your checklist",
        "tick": "Instagram done",
        "forget": "Forget",
        "start": "Let's start",
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    thread: ServerThread
    runtime: Runtime
    chat: WebChat
    host_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.chat.port}/"

    def session_exists(self, session: str) -> bool:
        key = self.runtime.key(Conversation("web", session, session))
        now = dt.datetime.now(dt.UTC)
        return self.thread.run(self.runtime.store.get(key, now)) is not None


async def _host(port: int, chat_port: int) -> web.AppRunner:
    """Another site that embeds the chat: with widget.js, and with a bare iframe."""
    chat = f"http://127.0.0.1:{chat_port}"
    pages = {
        "/widget.html": (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>NGO</title>'
            f'</head><body><main><h1>An NGO page</h1></main><script src="{chat}/widget.js" '
            'data-lang="en" async></script></body></html>'
        ),
        "/iframe.html": (
            '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>NGO</title>'
            f'</head><body><iframe src="{chat}/?lang=de" title="Chat" width="400" '
            'height="600"></iframe></body></html>'
        ),
    }

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.path], content_type="text/html")

    app = web.Application()
    for path in pages:
        app.router.add_get(path, page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture(scope="session")
def chromium() -> None:
    """Chromium and chromedriver from Debian, installed first when missing (root, apt-get)."""
    reason = ensure_chromium()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def site(chromium: None) -> Iterator[Site]:
    with served_thread() as thread:
        host_port = free_port()

        async def up() -> tuple[Runtime, WebChat, web.AppRunner]:
            runtime = Runtime(
                load_content(None),
                MemoryStore(dt.timedelta(days=1)),
                b"browser-test-secret",
                limiter=PerKeyLimiter("1000/minute"),
            )
            chat = await start_chat(
                runtime,
                allowed_origins=f"http://localhost:{host_port}",
                address_rate="5000/minute",
            )
            return runtime, chat, await _host(host_port, chat.port)

        runtime, chat, host = thread.run(up())
        yield Site(thread, runtime, chat, host_port)

        async def down() -> None:
            await chat.stop()
            await host.cleanup()
            await runtime.close()

        thread.run(down())


@pytest.fixture(scope="module")
def driver(chromium: None) -> Iterator[Any]:
    browser = start_driver()
    yield browser
    stop_driver(browser)


@pytest.fixture(scope="module")
def nojs(chromium: None) -> Iterator[Any]:
    browser = start_driver(javascript=False)
    yield browser
    stop_driver(browser)


# -- helpers -------------------------------------------------------------------------------


class _Waiting(WebDriverWait):
    """A wait that retries when the page was replaced under an element it read.

    A language switch or a no-JS answer loads a new page; an element found on the old one
    raises until the condition reads the new page. Chromium says so as a stale element, or,
    when the old document goes in the middle of a read, as an inspector error about a node
    that "does not belong to the document"."""

    def until(self, method: Any, message: str = "") -> Any:
        def reading(driver: Any) -> Any:
            try:
                return method(driver)
            except WebDriverException as exc:
                if "does not belong to the document" in (exc.msg or ""):
                    return False
                raise

        return super().until(reading, message)


def waiting(driver: Any) -> WebDriverWait:
    """A wait that retries when the page was replaced under an element it read."""
    return _Waiting(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))


def fresh(driver: Any, url: str, *, size: tuple[int, int] = (1280, 800)) -> None:
    """A new tab's state: no conversation in sessionStorage, light scheme, ``size``."""
    viewport(driver, *size)
    color_scheme(driver, "light")
    driver.get(url)
    driver.execute_script("window.sessionStorage.clear()")
    driver.get(url)
    driver.get_log("browser")  # start with an empty console


def bots(driver: Any) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, "#log li.msg.bot"))


def wait_bots(driver: Any, count: int) -> Any:
    """Until ``count`` bot messages are shown; returns the last."""
    waiting(driver).until(lambda d: len(bots(d)) >= count)
    return bots(driver)[-1]


def option(driver: Any, label: str | None = None) -> Any:
    buttons = driver.find_elements(By.CSS_SELECTOR, "#log form.options button")
    for button in buttons:
        if label is None or label in button.text:
            return button
    raise AssertionError(f"no option {label!r} in {[b.text for b in buttons]}")


def pick(driver: Any, label: str | None = None) -> Any:
    """Click an option and wait for the answer; returns it."""
    count = len(bots(driver))
    option(driver, label).click()
    return wait_bots(driver, count + 1)


def ask(driver: Any, text: str) -> Any:
    count = len(bots(driver))
    field = driver.find_element(By.ID, "text")
    field.clear()
    field.send_keys(text + Keys.ENTER)
    return wait_bots(driver, count + 1)


def session_of(driver: Any) -> str:
    state = driver.execute_script("return JSON.parse(sessionStorage.getItem('meta-ai-bot-chat'))")
    return str(state["session"])


def shoot(driver: Any, name: str) -> None:
    """Screenshots of the page at the phone and the desktop size."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, height in SIZES:
        viewport(driver, width, height)
        driver.save_screenshot(str(SCREENSHOTS / f"{name}-{width}x{height}.png"))
    viewport(driver, 1280, 800)


def no_console_errors(driver: Any) -> None:
    """Nothing the CSP blocked, no script error."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def no_horizontal_scroll(driver: Any) -> None:
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


# -- journeys ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "en"])
def test_ask_pick_options_reload_and_continue(site: Site, driver: Any, lang: str) -> None:
    words = WORDS[lang]
    fresh(driver, f"{site.url}?lang={lang}")
    greeting = wait_bots(driver, 1)
    assert greeting.get_attribute("lang") == lang
    assert len(greeting.find_elements(By.CSS_SELECTOR, "form.options button")) >= 5
    answer = ask(driver, words["question"])
    assert words["answer"] in answer.text
    links = answer.find_elements(By.TAG_NAME, "a")
    assert links
    for link in links:
        assert link.get_attribute("target") == "_blank"
        assert link.get_attribute("rel") == "noopener noreferrer"
    label = option(driver).text
    picked = pick(driver)
    mine = driver.find_elements(By.CSS_SELECTOR, "#log li.msg.me p")
    assert [m.text for m in mine] == [words["question"], label]
    assert picked.text
    shoot(driver, f"chat-{lang}")
    # Only the last answer offers buttons.
    assert len(driver.find_elements(By.CSS_SELECTOR, "#log form.options")) == 1

    shown = len(driver.find_elements(By.CSS_SELECTOR, "#log li"))
    session = session_of(driver)
    driver.refresh()
    waiting(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#log li")) == shown)
    assert session_of(driver) == session
    pick(driver)
    assert site.session_exists(session)
    no_console_errors(driver)
    # Nothing kept in cookies, nothing loaded from anywhere else.
    assert driver.get_cookies() == [] and driver.execute_script("return document.cookie") == ""
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(url.startswith(site.url) for url in loaded), loaded


@pytest.mark.parametrize("lang", ["de", "en"])
def test_guided_checklist(site: Site, driver: Any, lang: str) -> None:
    words = WORDS[lang]
    fresh(driver, f"{site.url}?lang={lang}", size=(360, 740))
    wait_bots(driver, 1)
    pick(driver, words["checklist"])
    for _ in range(8):  # each question answered with its first option, up to the checklist
        last = pick(driver)
        if words["done"] in last.text:
            break
    assert words["done"] in last.text
    ticked = pick(driver, words["tick"])
    assert "✔" in ticked.text
    # The conversation scrolls between the bars; the page itself never does, so the title,
    # the language and Forget buttons stay in sight.
    extent = driver.execute_script(
        "const e = document.documentElement; return [e.scrollHeight - e.clientHeight, scrollY];"
    )
    assert extent == [0, 0]
    shoot(driver, f"checklist-{lang}")
    no_horizontal_scroll(driver)
    no_console_errors(driver)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_forget_button_erases_and_starts_anew(site: Site, driver: Any, lang: str) -> None:
    fresh(driver, f"{site.url}?lang={lang}")
    wait_bots(driver, 1)
    session = session_of(driver)
    assert site.session_exists(session)
    count = len(bots(driver))
    button = driver.find_element(By.CSS_SELECTOR, "button.forget")
    assert button.text == WORDS[lang]["forget"]
    button.click()
    gone = wait_bots(driver, count + 1)
    assert site.runtime.content.string("forgotten", lang)[:20] in gone.text
    assert not site.session_exists(session)
    assert session_of(driver) != session
    # The conversation goes on under the new id only.
    ask(driver, WORDS[lang]["question"])
    assert site.session_exists(session_of(driver))
    assert not site.session_exists(session)
    # Typed, Forget works the same.
    ask(driver, "/forget")
    assert not site.session_exists(session_of(driver))
    no_console_errors(driver)


def test_keyboard_only(site: Site, driver: Any) -> None:
    fresh(driver, f"{site.url}?lang=de")
    wait_bots(driver, 1)
    # From the top of the page, as after loading it (reloaded: the conversation stays).
    driver.refresh()
    wait_bots(driver, 1)
    ActionChains(driver).send_keys(Keys.TAB).perform()
    active = driver.switch_to.active_element
    assert active.get_attribute("class") == "skip"
    active.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "text"
    count = len(bots(driver))
    driver.switch_to.active_element.send_keys(WORDS["de"]["question"] + Keys.ENTER)
    wait_bots(driver, count + 1)
    assert driver.switch_to.active_element.get_attribute("id") == "text"
    # Back from the field to the last answer's options, and choose one with Enter.
    driver.switch_to.active_element.send_keys(Keys.SHIFT + Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.get_attribute("name") == "option"
    outline = driver.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return [s.outlineStyle, parseFloat(s.outlineWidth)];"
    )
    assert outline[0] != "none" and outline[1] >= 2
    count = len(bots(driver))
    focused.send_keys(Keys.ENTER)
    wait_bots(driver, count + 1)
    # The focus goes to the new answer's first option, so the next choice is one key away.
    focused = driver.switch_to.active_element
    assert focused.get_attribute("name") == "option"
    assert focused == option(driver)
    count = len(bots(driver))
    focused.send_keys(Keys.SPACE)
    wait_bots(driver, count + 1)
    no_console_errors(driver)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_without_javascript_the_form_works(site: Site, nojs: Any, lang: str) -> None:
    words = WORDS[lang]
    viewport(nojs, 360, 740)
    nojs.get(f"{site.url}?lang={lang}")
    start = option(nojs, words["start"])
    start.click()
    waiting(nojs).until(staleness_of(start))  # the answer is a new page
    greeting = wait_bots(nojs, 1)
    assert greeting.find_elements(By.CSS_SELECTOR, "form.options button")
    field = nojs.find_element(By.ID, "text")
    field.send_keys(words["question"] + Keys.ENTER)
    waiting(nojs).until(lambda d: words["question"] in d.find_element(By.ID, "log").text)
    assert words["answer"] in bots(nojs)[-1].text
    shoot(nojs, f"nojs-{lang}")
    button = option(nojs)
    button.click()
    waiting(nojs).until(staleness_of(button))  # a new page came
    assert bots(nojs)[-1].text
    nojs.find_element(By.CSS_SELECTOR, "button.forget").click()
    forgotten = site.runtime.content.string("forgotten", lang)[:20]
    # A form post loads a new page: the log found may go stale while it is read.
    waiting(nojs).until(lambda d: forgotten in d.find_element(By.ID, "log").text)


def test_language_from_the_browser_and_switching(site: Site, chromium: None) -> None:
    english = start_driver(accept_language="en-GB,en")
    try:
        fresh(english, site.url)
        assert english.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        greeting = wait_bots(english, 1)
        assert greeting.get_attribute("lang") == "en"
        count = len(bots(english))
        # With more than three languages the others sit behind a disclosure.
        for summary in english.find_elements(By.CSS_SELECTOR, ".langs summary"):
            summary.click()
        english.find_element(By.CSS_SELECTOR, 'button.lang[value="de"]').click()
        waiting(english).until(
            lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
        )
        switched = wait_bots(english, count + 1)
        assert switched.get_attribute("lang") == "de"
        assert english.find_element(By.CSS_SELECTOR, "button.forget").text == "Vergessen"
        no_console_errors(english)
    finally:
        stop_driver(english)


def test_reconnects_after_a_restart_and_sends_what_was_waiting(site: Site, driver: Any) -> None:
    port = free_port()

    async def up() -> WebChat:
        return await start_chat(site.runtime, listen=f"127.0.0.1:{port}")

    chat = site.thread.run(up())
    try:
        fresh(driver, f"http://127.0.0.1:{port}/?lang=de")
        wait_bots(driver, 1)
        site.thread.run(chat.stop())  # the page is told to reconnect, and cannot yet
        waiting(driver).until(
            lambda d: "Verbindung unterbrochen" in d.find_element(By.ID, "status").text
        )
        field = driver.find_element(By.ID, "text")
        field.send_keys(WORDS["de"]["question"] + Keys.ENTER)  # kept until it is back
        chat = site.thread.run(up())
        answer = wait_bots(driver, 2)
        assert WORDS["de"]["answer"] in answer.text
        assert driver.find_element(By.ID, "status").text == ""
    finally:
        site.thread.run(chat.stop())
    driver.get_log("browser")  # the refused reconnects are logged there, as expected


# -- embedding ---------------------------------------------------------------------------


def test_widget_and_iframe_on_an_allowed_site_and_refused_elsewhere(
    site: Site, driver: Any
) -> None:
    viewport(driver, 1280, 800)
    driver.get(f"http://localhost:{site.host_port}/widget.html")
    launcher = waiting(driver).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "button[aria-controls]")
    )
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    frame = driver.find_element(By.TAG_NAME, "iframe")
    SCREENSHOTS.mkdir(exist_ok=True)
    driver.switch_to.frame(frame)
    try:
        wait_bots(driver, 1)
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        ask(driver, WORDS["en"]["question"])
    finally:
        driver.switch_to.default_content()
    driver.save_screenshot(str(SCREENSHOTS / "widget-1280x800.png"))
    # Escape in the chat closes it and gives the focus back to the button.
    driver.switch_to.frame(frame)
    try:
        driver.find_element(By.ID, "text").send_keys(Keys.ESCAPE)
    finally:
        driver.switch_to.default_content()
    waiting(driver).until(lambda d: not frame.is_displayed())
    assert launcher.get_attribute("aria-expanded") == "false"
    assert driver.switch_to.active_element == launcher

    driver.get(f"http://localhost:{site.host_port}/iframe.html")
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    try:
        wait_bots(driver, 1)
    finally:
        driver.switch_to.default_content()

    # The same page on a site WEB_ALLOWED_ORIGINS does not name: the browser refuses the frame.
    driver.get(f"http://127.0.0.1:{site.host_port}/iframe.html")
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    try:
        with pytest.raises(NoSuchElementException):
            driver.find_element(By.ID, "log")
    finally:
        driver.switch_to.default_content()
    driver.get_log("browser")


# -- accessibility ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violation(site: Site, driver: Any, scheme: str) -> None:
    fresh(driver, f"{site.url}?lang=de")
    wait_bots(driver, 1)
    ask(driver, WORDS["de"]["question"])
    color_scheme(driver, scheme)
    script = AXE.read_text(encoding="utf-8")
    for width, height in SIZES:
        viewport(driver, width, height)
        driver.execute_script(script)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
            ".then(r => done(r.violations), e => done(String(e)));"
        )
        assert isinstance(result, list), result
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], (scheme, width)
        no_horizontal_scroll(driver)
        driver.save_screenshot(str(SCREENSHOTS / f"axe-{scheme}-{width}x{height}.png"))


def test_narrow_and_zoomed_to_200_percent(site: Site, driver: Any) -> None:
    fresh(driver, f"{site.url}?lang=de", size=(360, 740))
    wait_bots(driver, 1)
    ask(driver, WORDS["de"]["question"])
    # 1280x800 at 200 % is a 640x400 CSS viewport.
    for width, height in ((360, 740), (640, 400), (320, 568)):
        viewport(driver, width, height)
        no_horizontal_scroll(driver)
        field = driver.find_element(By.ID, "text")
        send = driver.find_element(By.CSS_SELECTOR, "button.send")
        assert field.is_displayed() and send.is_displayed()
        assert field.size["width"] >= 100
        driver.save_screenshot(str(SCREENSHOTS / f"narrow-{width}x{height}.png"))
