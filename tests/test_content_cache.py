"""The content cache: used for unchanged content, rebuilt when a file changes, never
unpickled unless signed with the bot's secret."""

from __future__ import annotations

import logging
import pickle
import shutil
from pathlib import Path

import pytest
from fixtures.tree import EXTRA, write_tree

from bot import matchercache
from bot.content import Content, ContentError, load_content
from bot.content import cache as cache_module
from bot.content.cache import ContentCache
from bot.matchercache import load_with_matcher
from bot.matching import Matcher, lexical

SECRET = b"s" * 32
SHIPPED = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "content")


def cached_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("content-*.pickle"))


def loads_from_disk(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each time the content is read from its YAML files."""
    calls: list[Path] = []

    def counting(directory: Path) -> object:
        calls.append(directory)
        return load_content(directory)

    monkeypatch.setattr(cache_module, "load_content", counting)
    return calls


def test_unchanged_content_comes_from_the_cache(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = loads_from_disk(monkeypatch)
    cache = ContentCache(tmp_path / "cache", SECRET)
    first = cache.load(tree)
    assert len(cached_files(tmp_path / "cache")) == 1
    again = ContentCache(tmp_path / "cache", SECRET).load(tree)
    assert calls == [tree]
    assert again.nodes == first.nodes and again.meta == first.meta
    assert again.source_dir == first.source_dir


def test_a_changed_file_rebuilds_the_cache(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = loads_from_disk(monkeypatch)
    cache = ContentCache(tmp_path / "cache", SECRET)
    old = cache.load(tree)
    (tree / "nodes" / "50-extra.yaml").write_text(EXTRA.replace("ÜBER-DE", "NEU-DE"))
    new = cache.load(tree)
    assert len(calls) == 2
    assert old.nodes["extra"].text["de"] == "ÜBER-DE"
    assert new.nodes["extra"].text["de"] == "NEU-DE"
    # Only the cache of the current files is kept.
    assert len(cached_files(tmp_path / "cache")) == 1
    assert cache.load(tree).nodes["extra"].text["de"] == "NEU-DE"
    assert len(calls) == 2


def test_a_changed_country_table_rebuilds_the_cache(tmp_path: Path) -> None:
    tree = tmp_path / "content"
    shutil.copytree(SHIPPED, tree, ignore=shutil.ignore_patterns("translations", "vectors"))
    cache = ContentCache(tmp_path / "cache", SECRET)
    assert "CNIL-NEU" not in cache.load(tree).nodes["country-fr"].text["de"]
    table = tree / "countries.yaml"
    old = table.read_text(encoding="utf-8")
    table.write_text(old.replace('de: "der **CNIL** (', 'de: "der **CNIL-NEU** ('), "utf-8")
    assert "CNIL-NEU" in cache.load(tree).nodes["country-fr"].text["de"]
    again = ContentCache(tmp_path / "cache", SECRET).load(tree)
    assert "CNIL-NEU" in again.nodes["country-fr"].text["de"]


def test_invalid_content_is_refused_and_not_cached(tree: Path, tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache", SECRET)
    (tree / "nodes" / "50-extra.yaml").write_text(EXTRA.replace("  checked: 2025-05-01\n", ""))
    with pytest.raises(ContentError):
        cache.load(tree)
    assert cached_files(tmp_path / "cache") == []


class _Planted:
    """A pickle that writes a file when it is unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "ran"))  # type: ignore[return-value]


@pytest.mark.parametrize("how", ["changed byte", "planted pickle", "other secret"])
def test_a_cache_not_signed_with_the_secret_is_refused_and_rebuilt(
    how: str,
    tree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "cache"
    ContentCache(directory, SECRET).load(tree)
    (path,) = cached_files(directory)
    marker = tmp_path / "marker"
    data = path.read_bytes()
    if how == "changed byte":
        path.write_bytes(data[:-20] + bytes([data[-20] ^ 1]) + data[-19:])
    elif how == "planted pickle":
        path.write_bytes(data[:32] + pickle.dumps(_Planted(marker)))
    else:
        ContentCache(directory, b"another secret").load(tree)  # refused, rewritten with it
    calls = loads_from_disk(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="bot.content.cache"):
        content = ContentCache(directory, SECRET).load(tree)
    assert calls == [tree]
    assert "not signed with this bot's secret" in caplog.text
    assert not marker.exists()
    assert content.nodes["extra"].text["de"] == "ÜBER-DE"
    # Rebuilt: the next start reads it again.
    ContentCache(directory, SECRET).load(tree)
    assert calls == [tree]


def test_an_unwritable_cache_directory_only_costs_speed(tree: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    content = ContentCache(blocked / "cache", SECRET).load(tree)
    assert "extra" in content.nodes


def built_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("built-*.pickle"))


def counting_matcher(monkeypatch: pytest.MonkeyPatch) -> list[Content]:
    """Record each time a matcher is built."""
    built: list[Content] = []

    def build(content: Content) -> Matcher:
        built.append(content)
        return Matcher(content)

    monkeypatch.setattr(matchercache, "Matcher", build)
    return built


QUESTIONS = [
    ("de", "Worum geht es hier?"),
    ("de", "Was ist das Extra?"),
    ("en", "what is this about"),
    ("en", "Tell me about the extra"),
    ("de", "Kochrezept für Pfannkuchen"),
]


def test_the_matcher_comes_from_the_cache_with_its_content(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = counting_matcher(monkeypatch)
    directory = tmp_path / "cache"
    fresh_content, fresh = load_with_matcher(tree, ContentCache(directory, SECRET))
    assert len(built) == 1 and len(built_files(directory)) == 1
    content, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    assert len(built) == 1, "the matcher was built again"
    assert matcher is not fresh and matcher.content is content  # one tree, shared
    for lang, question in QUESTIONS:
        assert matcher.match(question, lang) == fresh.match(question, lang), question
        assert matcher.suggest(question, lang) == fresh.suggest(question, lang), question
    assert content.nodes == fresh_content.nodes


def test_a_changed_file_or_other_code_builds_the_matcher_afresh(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = counting_matcher(monkeypatch)
    directory = tmp_path / "cache"
    load_with_matcher(tree, ContentCache(directory, SECRET))
    (tree / "nodes" / "50-extra.yaml").write_text(EXTRA.replace("ÜBER-DE", "NEU-DE"))
    content, _ = load_with_matcher(tree, ContentCache(directory, SECRET))
    assert len(built) == 2 and content.nodes["extra"].text["de"] == "NEU-DE"
    assert len(built_files(directory)) == 1  # the old one is removed
    cache = ContentCache(directory, SECRET)
    cache.load_with(tree, matchercache.Matcher, b"other matcher code")
    assert len(built) == 3


def test_the_content_alone_and_with_its_matcher_are_cached_apart(
    tree: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "cache"
    ContentCache(directory, SECRET).load(tree)
    load_with_matcher(tree, ContentCache(directory, SECRET))
    assert len(cached_files(directory)) == 1 and len(built_files(directory)) == 1


def test_a_new_matcher_reuses_the_index_of_each_language_whose_texts_did_not_change(
    tmp_path: Path,
) -> None:
    first = Matcher(load_content(write_tree(tmp_path / "a")), embedder=None)
    changed = EXTRA.replace('en: "ABOUT-EN"', 'en: "ABOUT THE BOT-EN"')
    tree = write_tree(tmp_path / "b", {"nodes/50-extra.yaml": changed})
    second = Matcher(load_content(tree), embedder=None)
    assert second.indexes["de"] is first.indexes["de"]
    assert second.indexes["en"] is not first.indexes["en"]
    assert second.match("about the bot", "en").node == "extra"


def test_a_matcher_from_the_cache_offers_its_indexes_for_the_next_reload(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ContentCache(tmp_path / "cache", SECRET).load_with(tree, Matcher, b"v")  # writes it
    monkeypatch.setattr(lexical, "_BUILT", {})  # as in a bot started afresh
    _, cached = ContentCache(tmp_path / "cache", SECRET).load_with(tree, Matcher, b"v")
    again = Matcher(load_content(tree), embedder=None)
    assert again.indexes["de"] is cached.indexes["de"]
    assert again.indexes["en"] is cached.indexes["en"]


def index_parts(directory: Path) -> dict[str, int]:
    """The files of the parts of cached matchers (here, languages' indexes), with their
    times."""
    return {p.name: p.stat().st_mtime_ns for p in directory.glob("part-*.pickle")}


def test_a_language_s_index_is_built_and_written_when_first_needed(
    tree: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "cache"
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    assert index_parts(directory) == {}  # nothing asked yet: no index built
    matcher.match("Worum geht es hier?", "de")
    assert len(index_parts(directory)) == 1
    _, cached = load_with_matcher(tree, ContentCache(directory, SECRET))
    cached.match("what is this about", "en")  # built by the cached matcher, written too
    assert len(index_parts(directory)) == 2


def test_a_changed_language_alone_is_written_again(tree: Path, tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    matcher.indexes["de"], matcher.indexes["en"]
    parts = index_parts(directory)
    assert len(parts) == 2  # one per language: de, en
    (tree / "nodes" / "50-extra.yaml").write_text(EXTRA.replace("ÜBER-DE", "NEU-DE"))
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    matcher.indexes["de"], matcher.indexes["en"]
    now = index_parts(directory)
    assert len(now) == 2 and len(set(now) & set(parts)) == 1  # en kept, de replaced
    assert all(now[name] == parts[name] for name in set(now) & set(parts))
    content, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    assert content.nodes["extra"].text["de"] == "NEU-DE"
    fresh = Matcher(load_content(tree))
    for lang, question in QUESTIONS:
        assert matcher.match(question, lang) == fresh.match(question, lang), question


def test_a_part_signed_with_another_secret_is_refused_and_written_again(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "cache"
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    matcher.indexes["de"]
    part = next(directory.glob("part-*.pickle"))
    part.write_bytes(b"\0" * 32 + pickle.dumps("not ours"))
    built = []
    monkeypatch.setattr(lexical, "_BUILT", {})  # as in a bot started afresh
    monkeypatch.setattr(lexical.LanguageIndex, "_memoize", lambda self: built.append(self))
    with caplog.at_level(logging.WARNING):
        _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
        assert isinstance(matcher.indexes["de"], lexical.LanguageIndex)
    assert len(built) == 1 and "not signed" in caplog.text
    monkeypatch.setattr(lexical, "_BUILT", {})
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
        matcher.indexes["de"]
    assert not caplog.text, "the part was not written again"


def test_a_reload_of_unchanged_content_hands_out_what_it_has(tree: Path, tmp_path: Path) -> None:
    # SIGHUP with nothing changed: the running bot's cache does not read its file again.
    cache = ContentCache(tmp_path / "cache", SECRET)
    content, matcher = load_with_matcher(tree, cache)
    for path in built_files(tmp_path / "cache"):
        path.unlink()
    again, same = load_with_matcher(tree, cache)
    assert again is content and same is matcher
    (tree / "nodes" / "50-extra.yaml").write_text(EXTRA.replace("ÜBER-DE", "NEU-DE"))
    changed, _ = load_with_matcher(tree, cache)
    assert changed.nodes["extra"].text["de"] == "NEU-DE"


def test_a_cached_matcher_reads_a_language_s_index_only_when_that_language_is_needed(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "cache"
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))  # writes it
    matcher.indexes["de"], matcher.indexes["en"]  # and the indexes' parts
    read: list[object] = []
    unpickle = cache_module._unpickle
    monkeypatch.setattr(cache_module, "_unpickle", lambda *a: read.append(a) or unpickle(*a))
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    assert len(read) == 1  # the matcher and content, no language yet
    assert matcher.detect_language("Wie widerspreche ich?") == "de"
    assert len(read) == 1  # detecting needs no index
    fresh = Matcher(load_content(tree))
    assert matcher.match("Wie widerspreche ich?", "de") == fresh.match(
        "Wie widerspreche ich?", "de"
    )
    assert len(read) == 2  # German's index alone


def test_a_cached_index_that_cannot_be_read_is_built_from_the_content(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "cache"
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))
    matcher.indexes["de"], matcher.indexes["en"]  # their parts are written
    _, matcher = load_with_matcher(tree, ContentCache(directory, SECRET))

    def broken(body: bytes, part: object) -> object:
        raise pickle.UnpicklingError("broken")

    monkeypatch.setattr(cache_module, "_unpickle", broken)
    fresh = Matcher(load_content(tree))
    for lang, question in QUESTIONS:
        assert matcher.match(question, lang) == fresh.match(question, lang), question
