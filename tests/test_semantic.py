"""The dense signal: its on-disk cache, and the words-only mode where no model loads."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fixtures.tree import write_tree

from bot.content import load_content
from bot.matching import Matcher, semantic
from bot.matching.semantic import CACHE_FILE, E5Embedder, EmbeddingCache
from bot.matching.shipped import shipped_path, write_shipped

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Counting(E5Embedder):
    """The shipped model, counting the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += texts
        return super()._embed(texts)


def _counting(model: E5Embedder) -> _Counting:
    counting = _Counting.__new__(_Counting)
    counting._model = model._model
    counting._clipped = functools.lru_cache(maxsize=None)(counting._clip)
    counting.embedded = []
    return counting


def test_a_warm_cache_embeds_nothing_and_a_change_only_what_changed(
    tmp_path: Path, model: E5Embedder
) -> None:
    tree = write_tree(tmp_path / "tree")
    cold = _counting(model)
    lazy = Matcher(load_content(tree), embedder=cold, cache=EmbeddingCache(tmp_path / "cache"))
    assert cold.embedded == [], "nothing is embedded before a question needs its meaning"
    lazy.prepare()
    assert cold.embedded, "a cold cache embeds the content's titles and examples"

    warm = _counting(model)
    Matcher(load_content(tree), embedder=warm, cache=EmbeddingCache(tmp_path / "cache")).prepare()
    assert warm.embedded == []

    changed = next(
        p for p in sorted((tree / "nodes").glob("*.yaml")) if "Bis wann" in p.read_text()
    )
    text = changed.read_text(encoding="utf-8")
    changed.write_text(
        text.replace("Bis wann kann ich widersprechen?", "Gibt es eine Frist?"), encoding="utf-8"
    )
    reload = _counting(model)
    Matcher(load_content(tree), embedder=reload, cache=EmbeddingCache(tmp_path / "cache")).prepare()
    assert reload.embedded == ["Gibt es eine Frist?"]


def test_the_cache_is_plain_data(tmp_path: Path, model: E5Embedder) -> None:
    cache = EmbeddingCache(tmp_path)
    first = cache.vectors(model, ["Wie widerspreche ich?", "How do I object?"])
    with np.load(tmp_path / CACHE_FILE, allow_pickle=False) as stored:
        keys, vectors = stored["keys"], stored["vectors"]
    assert len(keys) == len(vectors) == 2
    # One file replaced as a whole: processes sharing the folder cannot pair one write's
    # keys with another write's rows.
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_FILE]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    again = EmbeddingCache(tmp_path).vectors(model, ["How do I object?"])
    assert np.allclose(again[0], first[1])


def test_a_broken_cache_is_only_slower(tmp_path: Path, model: E5Embedder) -> None:
    (tmp_path / CACHE_FILE).write_bytes(b"garbage")
    vectors = EmbeddingCache(tmp_path).vectors(model, ["hallo"])
    assert vectors.shape == (1, 384)


def test_without_the_model_the_matcher_matches_by_words_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unavailable(self: E5Embedder) -> None:
        raise OSError("no wheel for this platform")

    monkeypatch.setattr(E5Embedder, "__init__", unavailable)
    semantic.default_embedder.cache_clear()
    try:
        content = load_content(write_tree(tmp_path))
        with caplog.at_level(logging.WARNING, logger="bot.matching.semantic"):
            first, second = Matcher(content), Matcher(content)
        assert first.embedder is None and second.embedder is None
        warnings = [r for r in caplog.records if "matching by words only" in r.getMessage()]
        assert len(warnings) == 1
        assert (
            first.match("Wie widerspreche ich bei Instagram?", "de").node == "objection-instagram"
        )
    finally:
        semantic.default_embedder.cache_clear()


def test_shipped_vectors_spare_embedding_and_stay_close_to_the_model(
    tmp_path: Path, model: E5Embedder
) -> None:
    texts = ["Wie widerspreche ich?", "How do I object?", "Gilt das auch in Polen?"]
    target = shipped_path(tmp_path / "content", model.name)
    assert write_shipped(target, model.name, texts, model.embed(texts)) == 3
    with np.load(target, allow_pickle=False) as data:
        assert data["codes"].dtype == np.int8, "a quarter of float32's size"

    counting = _counting(model)
    cache = EmbeddingCache(tmp_path / "cache", shipped=target)
    assert cache.missing(model.name, [*texts, "neu"]) == ["neu"]
    vectors = cache.vectors(counting, [texts[2], "neu", texts[0]])
    assert counting.embedded == ["neu"], "only the text the shipped file lacks is embedded"
    exact = model.embed([texts[2], texts[0]])
    assert np.allclose(np.sum(vectors[[0, 2]] * exact, axis=1), 1.0, atol=2e-3)
    with np.load(tmp_path / "cache" / CACHE_FILE, allow_pickle=False) as stored:
        saved = stored["keys"]
    assert len(saved) == 1, "the local cache keeps what was embedded here, not the shipped rows"


def test_a_broken_shipped_file_is_only_slower(tmp_path: Path, model: E5Embedder) -> None:
    target = tmp_path / "vectors.npz"
    target.write_bytes(b"not a numpy file")
    counting = _counting(model)
    assert EmbeddingCache(None, shipped=target).vectors(counting, ["hallo"]).shape == (1, 384)
    assert counting.embedded == ["hallo"]


def test_the_shipped_content_comes_with_vectors_for_its_texts(model: E5Embedder) -> None:
    """After a content change, `python -m bot embed` writes them: else every new deployment
    embeds the missing texts when it starts (in the background, matching by words until then),
    and so does every test run."""
    content = load_content()
    matcher = Matcher(content, embedder=None)
    texts = [t for i in matcher.indexes.values() for ts in i.position_texts for t in ts]
    cache = EmbeddingCache(None, shipped=shipped_path(content.source_dir, model.name))
    missing = cache.missing(model.name, [t for t in texts if t.strip()])
    assert len(missing) <= 50, f"{len(missing)} texts lack vectors: run `python -m bot embed`"


def test_the_test_tree_comes_with_vectors_for_its_texts(tmp_path: Path, model: E5Embedder) -> None:
    """After changing tests/fixtures/tree.py's texts: `python -m bot embed DIR` on a written
    tree, then copy DIR/vectors into tests/fixtures/vectors."""
    tree = write_tree(tmp_path)
    matcher = Matcher(load_content(tree), embedder=None)
    texts = [t for i in matcher.indexes.values() for ts in i.position_texts for t in ts]
    cache = EmbeddingCache(None, shipped=shipped_path(tree, model.name))
    assert cache.missing(model.name, [t for t in texts if t.strip()]) == []


def test_with_many_texts_to_embed_the_bot_serves_by_words_meanwhile(
    tmp_path: Path, model: E5Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = __import__("threading").Event()

    class Slow(_Counting):
        def _embed(self, texts: Sequence[str]) -> np.ndarray:
            assert release.wait(30), "the test never let the embedding finish"
            return super()._embed(texts)

    slow = Slow.__new__(Slow)
    slow._model = model._model
    slow.embedded = []
    monkeypatch.setattr("bot.matching.matcher.BACKGROUND_OVER", 5)
    matcher = Matcher(
        load_content(write_tree(tmp_path / "tree")), embedder=slow, cache=EmbeddingCache(None)
    )
    matcher.prepare(background=True)
    # While the thread waits, a question is answered at once, by words.
    found = matcher.match("Wie widerspreche ich bei Instagram?", "de")
    assert found.node == "objection-instagram"
    assert matcher.semantic == {}
    release.set()
    thread = matcher._preparing
    assert thread is not None
    thread.join(30)
    assert not thread.is_alive()
    assert set(matcher.semantic) == set(matcher.indexes)


def test_a_cached_matcher_carries_no_model(tmp_path: Path, model: E5Embedder) -> None:
    import pickle

    matcher = Matcher(load_content(write_tree(tmp_path / "tree")))
    matcher.prepare()
    assert matcher.embedder is not None and matcher.semantic
    again = pickle.loads(pickle.dumps(matcher))
    assert again.semantic == {} and again._embedder is None
    assert again.embedder is not None, "the model is loaded again where it is wanted"
    assert again.match("Wie widerspreche ich bei Instagram?", "de").node == (
        matcher.match("Wie widerspreche ich bei Instagram?", "de").node
    )


def test_another_models_vectors_in_the_local_cache_are_left_alone(
    tmp_path: Path, model: E5Embedder
) -> None:
    """A cache written by a wider model (512 numbers a row) next to the shipped vectors
    (384) made every match fail with a broadcast error."""
    texts = ["Wie widerspreche ich?", "neu"]
    target = shipped_path(tmp_path / "content", model.name)
    write_shipped(target, model.name, texts[:1], model.embed(texts[:1]))
    local = tmp_path / "cache"
    local.mkdir()
    np.savez(
        local / CACHE_FILE,
        keys=np.array(["another model's text"]),
        vectors=np.ones((1, 512), np.float32),
    )
    cache = EmbeddingCache(local, shipped=target)
    assert cache.vectors(model, texts[:1]).shape == (1, 384)
    assert cache.vectors(model, texts).shape == (2, 384)
    assert semantic.default_cache_dir(model.name).name == model.name, "one folder per model"


def _shipped_matcher(model: E5Embedder) -> tuple[Matcher, _Counting]:
    """The shipped content's matcher with the counting model (its vectors from the shipped
    file, nothing written anywhere)."""
    content = load_content()
    counting = _counting(model)
    shipped = shipped_path(content.source_dir, model.name)
    return Matcher(
        content, embedder=counting, cache=EmbeddingCache(None, shipped=shipped)
    ), counting


def test_match_by_words_answers_only_what_the_words_decide(model: E5Embedder) -> None:
    matcher, counting = _shipped_matcher(model)
    sure = "Wie widerspreche ich bei Instagram?"
    assert matcher.match_by_words(sure, "de") == matcher.match(sure, "de")
    by_meaning = "Geht ein Widerspruch überhaupt noch?"
    assert matcher.match_by_words(by_meaning, "de") is None
    assert counting.embedded == [], "asking the words embeds nothing"
    matcher.match(by_meaning, "de")
    assert counting.embedded, "the same question matched in full reads its meaning"


def test_a_question_in_another_language_than_the_chosen_one_is_read_by_its_own_words_first(
    model: E5Embedder,
) -> None:
    """Someone who chose German and asks in English: the English words decide, so the slow
    model is not asked to compare the English question with the German examples (which
    also found the Irish authority's page instead of how to complain)."""
    import datetime as dt

    from bot.engine import Engine
    from bot.events import Reply, Start, Text

    matcher, counting = _shipped_matcher(model)
    engine = Engine(matcher.content, matcher, session_ttl=dt.timedelta(hours=1))
    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    state = engine.new_state(Start(language="de"), now)
    question = "how do I file a complaint with a data protection authority"
    _, actions = engine.handle(state, Text(text=question), now)
    reply = next(a for a in actions if isinstance(a, Reply))
    assert (reply.node, reply.matched, reply.language) == ("complaint", True, "de")
    assert counting.embedded == []


def test_meaning_is_not_computed_where_it_cannot_make_an_answer(model: E5Embedder) -> None:
    """A message without words, or whose words are far from every topic, gets no embedding
    (tens of milliseconds): the dense signal would leave it unanswered anyway."""
    matcher, counting = _shipped_matcher(model)
    for text in ("🍕🍕🍕", "Rezept für Lasagne"):
        assert not matcher.match(text, "de").matched
    assert counting.embedded == []
    matcher.match("Geht ein Widerspruch überhaupt noch?", "de")
    assert counting.embedded == ["Geht ein Widerspruch überhaupt noch?"], "unsure words: meaning"


def test_words_unsure_between_two_topics_leave_it_to_the_meaning(model: E5Embedder) -> None:
    """ "Widerspruch wegen Meta KI": the words tie the objection with Meta AI (its "Meta
    KI"), so they are far from sure; the meaning decides instead of a fallback. (Not
    "widerspruch meta ki": said word for word by a reader's asked question, it needs no
    ranking.)"""
    matcher, counting = _shipped_matcher(model)
    result = matcher.match("widerspruch wegen meta ki", "de")
    assert counting.embedded == ["widerspruch wegen meta ki"]
    assert result.matched and result.node == "how-to-object"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "what data does meta use for ai training"),
        ("de", "Welche Daten nutzt Meta für die KI?"),
    ],
)
def test_asking_which_data_is_not_the_overview(model: E5Embedder, lang: str, text: str) -> None:
    """ "welche Daten" reads as one word (a synonym group) that only the page on which data
    uses: without it, the overview's "Meta ... KI" outweighed it."""
    matcher, _ = _shipped_matcher(model)
    result = matcher.match(text, lang)
    assert result.matched and result.node == "which-data"


def test_the_model_reads_the_opening_of_a_long_question(model: E5Embedder) -> None:
    """Each token costs milliseconds: a long question is read up to QUERY_TOKENS, in whole
    words; a short one whole."""
    short = "Wie widerspreche ich bei Instagram?"
    assert model.clip(short) == short
    long = (
        "Ich bin Lehrerin und will das mit meiner 9. Klasse besprechen: Werden Daten von "
        "Schülern unter 18 Jahren auch für die KI von Meta verwendet?"
    )
    clipped = model.clip(long)
    assert long.startswith(clipped) and len(clipped) < len(long)
    assert model._model.token_count(clipped, True) <= semantic.QUERY_TOKENS
    longer = long[: len(clipped) + long[len(clipped) + 1 :].find(" ") + len(clipped) + 1]
    assert model._model.token_count(longer, True) > semantic.QUERY_TOKENS, "no word more fits"
    matcher, _ = _shipped_matcher(model)
    assert matcher.meaning_text(long, "de") == model.clip(matcher.meaning_text(long, "de"))


@pytest.mark.parametrize(
    ("lang", "text", "story"),
    [
        ("nl", "Mijn oma van 80 wil niet dat haar foto's gebruikt worden. Ze zit op fb en insta maar is niet zo handig met de telefoon. Waar begin ik?", ["fb", "insta"]),
        ("fr", "Bonjour, ma fille m'a dit qu'il fallait faire une démarche pour que Facebook n'utilise pas nos photos pour son intelligence artificielle. C'est quoi exactement la marche à suivre ?", ["facebook"]),
    ],
)  # fmt: skip
def test_a_question_that_names_nothing_is_read_with_its_story(
    model: E5Embedder, lang: str, text: str, story: list[str]
) -> None:
    """ "Waar begin ik?" alone reads like any question: the model reads it with the words of
    the story before it that the content uses, Meta's and the apps' first."""
    matcher, _ = _shipped_matcher(model)
    read = matcher.meaning_text(text, lang)
    question = text[text.rindex(". ") + 2 :]
    assert (
        read.startswith(question) and read.split()[len(question.split()) :][: len(story)] == story
    )
    assert model._model.token_count(read, True) <= semantic.QUERY_TOKENS
    # A question that names the topic is read alone, whatever story comes before it.
    text = (
        "Ich habe letzte Woche schon alle meine alten Beiträge gelöscht, das war viel Arbeit "
        "und meine Tochter hat mir dabei geholfen. Wie widerspreche ich jetzt noch bei Instagram?"
    )
    assert (
        matcher.meaning_text(text, "de").strip() == "Wie widerspreche ich jetzt noch bei Instagram?"
    )


def test_closest_averages_a_positions_nearest_texts(tmp_path: Path, model: E5Embedder) -> None:
    """The ``dense_top3`` feature: the mean cosine of a node's few closest texts, at most the
    closest one's (``scores``), and -1 for a position without texts."""
    texts = [
        ["Wie widerspreche ich?", "Widerspruch einlegen", "Wo ist das Formular?", "Frist"],
        ["Was ist Meta AI?"],
        [],
    ]
    index = semantic.SemanticIndex(model, EmbeddingCache(tmp_path), texts)
    question = "wie kann ich widersprechen"
    best = index.scores(question)
    assert index.closest(question, 0) <= best[0] + 1e-6
    assert index.closest(question, 0, k=1) == pytest.approx(best[0], abs=1e-6)
    assert index.closest(question, 1) == pytest.approx(best[1], abs=1e-6)
    assert index.closest(question, 2) == -1.0


def test_questions_embedded_together_get_the_answers_they_get_alone(model: E5Embedder) -> None:
    """``ask`` asks each question up to the first text whose meaning it needs, embeds those
    texts in batches and asks again: the same verdicts as asking one by one, and each text
    embedded once."""
    questions = [
        "Wie widerspreche ich bei Instagram?",
        "Geht ein Widerspruch überhaupt noch?",
        "Rezept für Lasagne",
        "Brauche ich ein Konto um zu widersprechen?",
        "mein profil ist eh privat, betrifft mich das überhaupt",
    ]
    alone, _ = _shipped_matcher(model)
    expected = [alone.match(q, "de") for q in questions]
    matcher, counting = _shipped_matcher(model)
    outcomes = [matcher.words_or_wanted(lambda q=q: matcher.match(q, "de")) for q in questions]
    wanted = [w for _, w in outcomes if w is not None]
    assert wanted and len(wanted) < len(questions), "some by words, some by meaning"
    assert counting.embedded == []
    matcher.embed_ahead(wanted)
    assert sorted(counting.embedded) == sorted(set(wanted))
    found = [
        r if w is None else matcher.match(q, "de")
        for q, (r, w) in zip(questions, outcomes, strict=True)
    ]
    assert found == expected
    assert sorted(counting.embedded) == sorted(set(wanted)), "nothing embedded twice"
    batch = model.embed(wanted)
    for text, row in zip(wanted, batch, strict=True):
        assert np.array_equal(row, model.embed([text])[0]), "a batch gives each its own vector"
