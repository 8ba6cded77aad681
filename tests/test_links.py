"""The link checker against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterable

import pytest
from aiohttp import web

from bot import links
from bot.content import load_content
from bot.links import LinkResult, check_links, content_urls, run_links


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """Base URL of a small server with fine, moved, missing, HEAD-less and hanging pages."""
    never = asyncio.Event()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="fine")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/hop")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def get_only(request: web.Request) -> web.Response:
        if request.method == "HEAD":
            raise web.HTTPMethodNotAllowed("HEAD", ["GET"])
        return web.Response(text="only GET")

    async def hang(request: web.Request) -> web.Response:
        await never.wait()  # never answers; the client's timeout must end it
        return web.Response()

    app = web.Application()
    for path, handler in [
        ("/ok", ok),
        ("/moved", moved),
        ("/hop", hop),
        ("/loop", loop),
        ("/get-only", get_only),
        ("/hang", hang),
    ]:
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        never.set()
        await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _check(urls: Iterable[str]) -> dict[str, LinkResult]:
    results = await check_links(list(urls), timeout=1.0, concurrency=4)
    return {r.url: r for r in results}


async def test_fine_page(server: str) -> None:
    result = (await _check([f"{server}/ok"]))[f"{server}/ok"]
    assert result.ok
    assert result.status == 200
    assert result.method == "HEAD"
    assert not result.redirected


async def test_redirect_chain_is_followed_and_recorded(server: str) -> None:
    result = (await _check([f"{server}/moved"]))[f"{server}/moved"]
    assert result.ok
    assert result.final_url == f"{server}/ok"
    assert result.redirects == (f"{server}/hop", f"{server}/ok")
    assert result.redirected
    assert "-> " + f"{server}/ok" in links.format_result(result)


async def test_missing_page_is_broken(server: str) -> None:
    result = (await _check([f"{server}/nope"]))[f"{server}/nope"]
    assert not result.ok
    assert result.status == 404
    assert result.error is None
    assert links.format_result(result).startswith("BAD 404")


async def test_head_refused_falls_back_to_get(server: str) -> None:
    result = (await _check([f"{server}/get-only"]))[f"{server}/get-only"]
    assert result.ok
    assert result.method == "GET"


async def test_timeout_is_reported(server: str) -> None:
    result = (await _check([f"{server}/hang"]))[f"{server}/hang"]
    assert not result.ok
    assert result.status is None
    assert result.error is not None and "timeout" in result.error


async def test_connection_refused_is_reported() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    result = (await _check([url]))[url]
    assert not result.ok
    assert result.error is not None and "connection" in result.error


async def test_redirect_loop_is_reported(server: str) -> None:
    result = (await _check([f"{server}/loop"]))[f"{server}/loop"]
    assert not result.ok
    assert result.error is not None and "redirect" in result.error


async def test_results_keep_order_and_drop_duplicates(server: str) -> None:
    urls = [f"{server}/nope", f"{server}/ok", f"{server}/nope", f"{server}/moved"]
    results = await check_links(urls, timeout=1.0, concurrency=1)
    assert [r.url for r in results] == [f"{server}/nope", f"{server}/ok", f"{server}/moved"]


def test_content_urls_cover_sources_and_inline_links() -> None:
    content = load_content()
    found = content_urls(content)
    for node in content.nodes.values():
        for source in node.sources:
            assert source.url in found
    # Inline [label](url) links in texts and UI strings count too.
    fallback_links = links.links(content.meta.strings["fallback"]["de"])
    for _label, url in fallback_links:
        assert any(place.startswith("strings.fallback") for place in found[url])


def test_run_links_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def all_fine(urls: Iterable[str], **_: object) -> list[LinkResult]:
        return [LinkResult(u, 200, u) for u in urls]

    async def one_broken(urls: Iterable[str], **_: object) -> list[LinkResult]:
        todo = list(urls)
        return [LinkResult(todo[0], 404, todo[0])] + [LinkResult(u, 200, u) for u in todo[1:]]

    total = len(content_urls(load_content()))
    monkeypatch.setattr(links, "check_links", all_fine)
    assert run_links() == 0
    out = capsys.readouterr().out
    assert out.count("OK  200") == total
    assert f"{total} URLs checked, 0 broken" in out

    monkeypatch.setattr(links, "check_links", one_broken)
    assert run_links() == 1
    out = capsys.readouterr().out
    assert out.count("BAD 404") == 1 and out.count("OK  200") == total - 1
    assert "      in " in out
    assert f"{total} URLs checked, 1 broken" in out
