"""Check that every URL in the content still answers: HTTP status, redirects, errors.

Meta moves its forms and help pages often, so ``python -m bot links`` is meant to run
regularly on a machine with internet access. Each URL is tried with ``HEAD`` first
(cheap) and with ``GET`` when a server refuses or mishandles ``HEAD``, as many do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.content.markup import links
from bot.content.models import Content

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36 meta-ai-widerspruch-bot-linkcheck/0.1"
)
"""Browser-like, because some sites answer bots with 403; the suffix says who is asking."""

# Statuses after which a GET is worth trying: HEAD not allowed or not implemented, or
# servers (and some CDNs) that answer HEAD with an error but serve GET fine.
_RETRY_WITH_GET = frozenset({400, 403, 404, 405, 406, 429, 500, 501, 502, 503})
_MAX_REDIRECTS = 10


@dataclass(frozen=True)
class LinkResult:
    """What one URL answered."""

    url: str
    status: int | None = None
    """Final HTTP status after redirects; ``None`` when there was no HTTP answer."""
    final_url: str | None = None
    redirects: tuple[str, ...] = ()
    """Every URL the request was redirected through, in order, ending with the final one."""
    error: str | None = None
    method: str = "HEAD"

    @property
    def ok(self) -> bool:
        """Whether the URL works: a 2xx answer, possibly after redirects."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def redirected(self) -> bool:
        """Whether the URL ended up somewhere else."""
        return bool(self.redirects) and self.final_url != self.url


@dataclass
class _Found:
    url: str
    where: list[str] = field(default_factory=list)


def content_urls(content: Content) -> dict[str, list[str]]:
    """Every distinct URL in ``content`` with where it occurs (``"node-id: sources"`` etc.).

    Covers node sources and ``[label](url)`` links in node texts, date variants and
    option labels, and in the tree's UI strings; order is first occurrence.
    """
    found: dict[str, _Found] = {}

    def add(url: str, where: str) -> None:
        found.setdefault(url, _Found(url)).where.append(where)

    def scan(texts: dict[str, str] | None, where: str) -> None:
        for lang, value in (texts or {}).items():
            for _label, url in links(value):
                add(url, f"{where} ({lang})")

    for key, texts in content.meta.strings.items():
        scan(texts, f"strings.{key}")
    for node in content.nodes.values():
        scan(node.title, f"{node.id}: title")
        scan(node.text, f"{node.id}: text")
        for i, variant in enumerate(node.variants):
            scan(variant.text, f"{node.id}: variants[{i}]")
        for option in node.options:
            scan(option.label, f"{node.id}: option {option.to}")
        for source in node.sources:
            add(source.url, f"{node.id}: sources")
    return {url: f.where for url, f in found.items()}


async def _request(
    session: aiohttp.ClientSession, method: str, url: str, timeout: float
) -> LinkResult:
    async with session.request(
        method,
        url,
        allow_redirects=True,
        max_redirects=_MAX_REDIRECTS,
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        final = str(response.url)
        # history[0] is the request itself; what follows are the hops it was sent through.
        hops = tuple(str(r.url) for r in response.history[1:])
        chain = (*hops, final) if response.history else ()
        return LinkResult(url, response.status, final, chain, None, method)


async def _check_one(session: aiohttp.ClientSession, url: str, timeout: float) -> LinkResult:
    try:
        result = await _request(session, "HEAD", url, timeout)
        if result.status in _RETRY_WITH_GET:
            result = await _request(session, "GET", url, timeout)
        return result
    except aiohttp.TooManyRedirects as exc:
        chain = tuple(str(r.url) for r in exc.history)
        return LinkResult(url, None, None, chain, f"too many redirects (> {_MAX_REDIRECTS})")
    except TimeoutError:
        return LinkResult(url, None, None, (), f"timeout after {timeout:g} s")
    except aiohttp.ClientConnectorError as exc:
        return LinkResult(url, None, None, (), f"connection failed: {exc.os_error or exc}")
    except (aiohttp.ClientError, ValueError) as exc:
        return LinkResult(url, None, None, (), f"{type(exc).__name__}: {exc}".rstrip(": "))


async def check_links(
    urls: Iterable[str], *, timeout: float = 15.0, concurrency: int = 8
) -> list[LinkResult]:
    """Check ``urls`` (at most ``concurrency`` at a time); results keep the input order.

    Each URL gets ``timeout`` seconds per request. ``HEAD`` is tried first and ``GET``
    when the server refuses ``HEAD``; redirects are followed and recorded.
    """
    todo = list(dict.fromkeys(urls))
    limit = asyncio.Semaphore(max(1, concurrency))
    connector = aiohttp.TCPConnector(limit=max(1, concurrency))
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.8"}

    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def bounded(url: str) -> LinkResult:
            async with limit:
                return await _check_one(session, url, timeout)

        return list(await asyncio.gather(*(bounded(u) for u in todo)))


def format_result(result: LinkResult) -> str:
    """One line per URL: status (or error) and the final URL when redirected."""
    if result.error is not None:
        return f"ERR {result.url}  ({result.error})"
    line = f"{'OK ' if result.ok else 'BAD'} {result.status} {result.url}"
    if result.redirected:
        line += f"  -> {result.final_url}"
    return line


def report(results: Sequence[LinkResult], where: dict[str, list[str]] | None = None) -> int:
    """Print one line per result (plus where broken URLs occur); return the exit code."""
    broken = 0
    for result in results:
        print(format_result(result))
        if not result.ok:
            broken += 1
            for place in (where or {}).get(result.url, []):
                print(f"      in {place}")
    print(f"{len(results)} URLs checked, {broken} broken")
    return 1 if broken else 0


def run_links(
    content_dir: Path | str | None = None, *, timeout: float = 15.0, concurrency: int = 8
) -> int:
    """Check every URL in the content tree; 0 when all answer 2xx, 1 when any is broken."""
    from bot.content import load_content

    content = load_content(content_dir)
    where = content_urls(content)
    results = asyncio.run(check_links(where, timeout=timeout, concurrency=concurrency))
    return report(results, where)
