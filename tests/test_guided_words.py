"""Typed answers in the guided checklist, follow-ups read in context, and clarifying
questions that only ever offer two real topics (on the shipped content, with the shipped
model)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content import Content, load_content
from bot.engine import Engine
from bot.events import MENU, Choice, Reply, Start, Text
from bot.matching import Matcher
from bot.matching.context import neighbourhood
from bot.matching.matcher import ALONE_SURE
from bot.state import SessionState

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="module")
def matcher(content: Content) -> Matcher:
    return Matcher(content)


def _chat(engine: Engine, lang: str, *texts: str) -> tuple[SessionState, Reply]:
    state, _ = engine.handle(None, Start(language=lang, node="objection"), NOW)
    assert state is not None
    reply: Reply | None = None
    for text in texts:
        new, actions = engine.handle(state, Text(text=text), NOW)
        assert new is not None
        state = new
        reply = next(a for a in actions if isinstance(a, Reply))
    assert reply is not None
    return state, reply


@pytest.mark.parametrize(
    ("lang", "answer", "facebook"),
    [
        ("de", "ja", True),
        ("de", "jo", True),
        ("de", "ja nutz ich", True),
        ("de", "facebook", True),
        ("de", "fb", True),
        ("de", "nö", False),
        ("de", "nein", False),
        ("de", "kein facebook", False),
        ("en", "yes", True),
        ("en", "yeah i do", True),
        ("en", "facebook", True),
        ("en", "nope", False),
        ("en", "no i don't", False),
        # How often, both apps, or no longer: still a yes or a no.
        ("de", "ab und zu", True),
        ("de", "beides", True),
        ("de", "hab ich gelöscht", False),
        ("en", "sometimes", True),
        ("en", "both", True),
        ("en", "not anymore", False),
    ],
)
def test_a_yes_or_no_in_words_answers_the_question(
    content: Content, matcher: Matcher, lang: str, answer: str, facebook: bool
) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, reply = _chat(engine, lang, answer)
    assert reply.node == "objection-instagram"
    assert str(dict(state.variables)["uses_facebook"]).lower() == str(facebook).lower()


def test_the_options_own_meaning_decides(content: Content, matcher: Matcher) -> None:
    # Content that marks its buttons (``means``) is followed, whatever the labels say.
    node = content.nodes["objection"]
    swapped = tuple(
        o.model_copy(update={"means": {0: "no", 1: "yes"}.get(i, o.means)})
        for i, o in enumerate(node.options)
    )
    nodes = dict(content.nodes) | {"objection": node.model_copy(update={"options": swapped})}
    marked = Content(content.meta, nodes, content.source_dir)
    engine = Engine(marked, matcher, session_ttl=dt.timedelta(hours=1))
    state, _ = _chat(engine, "de", "ja")
    assert str(dict(state.variables)["uses_facebook"]).lower() == "false"


@pytest.mark.parametrize(("lang", "text"), [("de", "Rezept für Lasagne"), ("en", "hmm")])
def test_anything_else_asks_the_question_again_with_a_hint(
    content: Content, matcher: Matcher, lang: str, text: str
) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, reply = _chat(engine, lang, text)
    assert reply.node == "objection" and state.node == "objection"
    assert reply.matched is False
    # The hint names the answers the question has: "not sure" only where it has that button.
    unsure = any(o.means == "unsure" for o in content.nodes["objection"].options)
    hint = "guided_hint" if unsure else "guided_hint_yes_no"
    assert reply.text.startswith(content.string(hint, lang))
    assert [o.id for o in reply.options][:2] == ["@set:objection-0", "@set:objection-1"]


@pytest.mark.parametrize(("lang", "text"), [("de", "weiß nicht"), ("en", "not sure")])
def test_not_knowing_picks_the_unsure_answer_or_asks_again(
    content: Content, matcher: Matcher, lang: str, text: str
) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    unsure = [i for i, o in enumerate(content.nodes["objection"].options) if o.means == "unsure"]
    _state, reply = _chat(engine, lang, text)
    if unsure:
        assert reply.node == "objection-instagram"
    else:
        assert reply.node == "objection" and reply.matched is False


@pytest.mark.parametrize(
    ("lang", "answers", "country"),
    [
        ("de", ("nein", "nein", "ja", "ich wohne in österreich"), "at"),
        ("de", ("nein", "nein", "ja", "aus der Schweiz"), "ch"),
        ("en", ("no", "no", "yes", "in Spain"), "es"),
        # The country in another form than its button's label ("Polska", "Italia").
        ("pl", ("nie", "nie", "tak", "w polsce"), "pl"),
        ("pl", ("nie", "nie", "tak", "mieszkam w Polsce"), "pl"),
        ("it", ("no", "no", "sì", "in italia"), "it"),
        ("de", ("nein", "nein", "ja", "bin aus wien"), "at"),
    ],
)
def test_a_country_named_in_a_sentence_picks_its_button(
    content: Content, matcher: Matcher, lang: str, answers: tuple[str, ...], country: str
) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, reply = _chat(engine, lang, *answers)
    assert reply.node == "objection-checklist"
    assert dict(state.variables)["country"] == country


def test_back_after_a_typed_answer_lands_on_the_previous_question(
    content: Content, matcher: Matcher
) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    _state, reply = _chat(engine, "de", "ja", "blablub", "/back")
    assert reply.node == "objection"


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        ("de", "object-facebook", "und bei instagram?", "object-instagram"),
        ("de", "object-facebook", "und bei insta?", "object-instagram"),
        ("en", "object-facebook", "and on instagram?", "object-instagram"),
        ("en", "object-instagram", "and for facebook?", "object-facebook"),
        ("de", "olg-koeln", "wie haben die das begründet?", "olg-koeln-reasons"),
        # Alone it reads as the overview (its keyword "AI training"): the page decides.
        ("en", "right-to-erasure", "and from the trained ai?", "trained-data-removal"),
    ],
)
def test_a_follow_up_is_read_with_the_page_the_user_is_at(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == expected


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        # An option of the page, the page that offers it, another option of that page.
        ("en", "no-objection", "ok how do i object then", "how-to-object"),
        ("de", "irish-dpc", "und die in hamburg?", "hamburg-dpa"),
        ("de", "noyb", "und die verbraucherschützer?", "verbraucherzentrale"),
        ("de", "object-email", "und der grund?", "object-reason"),
    ],
)
def test_a_short_message_unsure_alone_leans_on_the_page_just_read(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    # Alone it is unsure (or, naming one topic's keyword, not sure enough to overrule the
    # page): what the page offers decides.
    assert matcher.match(text, lang).score < ALONE_SURE
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == expected


def test_a_checklist_question_has_no_neighbourhood(content: Content) -> None:
    # Typed text there answers the question or repeats it; the pages around it are no answer.
    assert any(o.assign for o in content.nodes["objection"].options)
    assert neighbourhood(content, "objection") == {}
    assert neighbourhood(content, "object-facebook")


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("en", "how-to-object", "who is the german champion"),
        ("en", "why-meta", "best german beer?"),
    ],
)
def test_noise_is_not_read_as_a_follow_up(matcher: Matcher, lang: str, at: str, text: str) -> None:
    result = matcher.match(text, lang, context=at)
    assert not result.matched and result.node is None


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        ("de", "olg-koeln", "warum?", "olg-koeln-reasons"),
        ("en", "olg-koeln", "why?", "olg-koeln-reasons"),
        ("de", "what-meta-does", "und wieso?", "why-meta"),
        ("en", "what-meta-does", "why though?", "why-meta"),
    ],
)
def test_the_content_names_the_answer_to_why(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    assert matcher.content.nodes[at].why == expected
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == expected


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("de", "und bei insta?", "object-instagram"),
        ("en", "and instagram?", "object-instagram"),
    ],
)
def test_after_a_fallback_a_follow_up_refers_to_the_closest_topic_suggested(
    content: Content, matcher: Matcher, lang: str, text: str, expected: str
) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, _ = engine.handle(None, Start(language=lang), NOW)
    assert state is not None
    # What a fallback leaves: the user at the menu, the closest topics and the menu offered.
    state = state.with_(offered=("object-facebook", "what-meta-does", MENU))
    _new, actions = engine.handle(state, Text(text=text), NOW)
    reply = next(a for a in actions if isinstance(a, Reply))
    assert reply.node == expected and reply.matched
    # At the menu itself (its own topics offered, no menu button) nothing is followed up.
    state = state.with_(offered=tuple(o.to for o in content.nodes[content.meta.root].options))
    _new, actions = engine.handle(state, Text(text=text), NOW)
    reply = next(a for a in actions if isinstance(a, Reply))
    alone = matcher.match(text, lang)
    assert (reply.node, reply.matched) == (alone.node if alone.matched else None, alone.matched)


def test_why_goes_where_the_content_says(content: Content) -> None:
    node = content.nodes["late-objection-effect"]
    nodes = dict(content.nodes) | {node.id: node.model_copy(update={"why": "trained-data-removal"})}
    matcher = Matcher(Content(content.meta, nodes, content.source_dir))
    assert matcher.match("warum?", "de", context="late-objection-effect").node == (
        "trained-data-removal"
    )
    assert matcher.match("why?", "en", context="late-objection-effect").node == (
        "trained-data-removal"
    )


def test_why_stays_with_the_page_not_the_generic_why(matcher: Matcher) -> None:
    result = matcher.match("warum?", "de", context="late-objection-effect")
    assert result.node in ("late-objection-effect", "trained-data-removal")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Rezept für Lasagne", "de"),
        ("what if i dont have an account", "en"),
        ("wie wird das wetter", "de"),
        ("checkliste instagram frage", "de"),
    ],
)
def test_no_clarifying_question_on_noise_or_with_a_checklist_step(
    matcher: Matcher, text: str, lang: str
) -> None:
    result = matcher.match(text, lang)
    for node in result.clarify:
        assert node not in matcher.not_topics
    if text in ("Rezept für Lasagne", "wie wird das wetter"):
        assert not result.clarify and not result.matched


def test_no_clarifying_question_on_the_question_sets_offers_a_step_or_a_menu(
    matcher: Matcher,
) -> None:
    from tests.qa.qa_set import INDEPENDENT_DIR, load_questions, warm

    questions = load_questions() + load_questions(INDEPENDENT_DIR)
    warm(matcher, [q.text for q in questions])
    offered = {
        q.text: result.clarify
        for q in questions
        if set((result := matcher.match(q.text, q.lang)).clarify) & matcher.not_topics
    }
    assert not offered


@pytest.mark.parametrize(
    ("text", "lang"),
    [("Frage 2: Instagram", "de"), ("Question: accounts linked?", "en"), ("Checkliste", "de")],
)
def test_a_typed_question_never_lands_inside_the_checklist(
    content: Content, matcher: Matcher, text: str, lang: str
) -> None:
    # A step is reached by a button that sets an answer; typed, it would drop the user into
    # the middle of the list without the answers before it.
    steps = {o.to for n in content.nodes.values() for o in n.options if o.assign}
    result = matcher.match(text, lang)
    assert result.node not in steps
    assert not set(result.candidates) & steps


def test_both_picks_the_yes_that_names_both(content: Content, matcher: Matcher) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, _ = _chat(engine, "de", "ja", "ja", "nein", "beides")
    assert dict(state.variables)["objected"] == "both"


@pytest.mark.parametrize(
    ("lang", "answer", "objected"),
    [
        ("de", "beides", "both"),
        ("de", "nur insta", "instagram"),
        ("pl", "na insta", "instagram"),
        ("pl", "na obu", "both"),
        ("pl", "oba", "both"),
        ("it", "instagram", "instagram"),
        ("nl", "allebei", "both"),
        ("fr", "les deux", "both"),
        ("en", "facebook and instagram", "both"),
    ],
)
def test_which_platform_is_picked_by_what_the_answer_names(
    content: Content, matcher: Matcher, lang: str, answer: str, objected: str
) -> None:
    yes = {"de": "ja", "pl": "tak", "it": "sì", "nl": "ja", "fr": "oui", "en": "yes"}[lang]
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, _ = _chat(engine, lang, yes, yes, yes, answer)
    assert dict(state.variables)["objected"] == objected


@pytest.mark.parametrize(("lang", "yes"), [("de", "ja"), ("it", "si"), ("pl", "tak")])
def test_a_bare_yes_ticks_no_platform_the_reader_did_not_name(
    content: Content, matcher: Matcher, lang: str, yes: str
) -> None:
    # At "Schon widersprochen? Wenn ja, für welche Plattform?" a bare "ja" picked the first
    # button, "Ja, für Facebook": the list then showed Facebook as done.
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state, reply = _chat(engine, lang, yes, yes, yes, yes)
    assert state.node == "objection-before"
    assert dict(state.variables).get("objected") not in {"facebook", "instagram", "both"}
    assert reply.text.startswith(content.string("guided_hint_which", lang))
    state, _ = _chat(engine, lang, yes, yes, yes, yes, "instagram")
    assert dict(state.variables)["objected"] == "instagram"


def test_a_typed_request_for_a_reason_text_opens_the_reason_builder() -> None:
    # The builder is reached by buttons that set answers, but its example questions make it
    # a way in: asked for in words, it is the answer (not "Do I need a reason?").
    matcher = Matcher(load_content())
    for lang, text in [
        ("en", "can you write a reason for me to paste in the form"),
        ("en", "write my reason for me pls"),
    ]:
        result = matcher.match(text, lang)
        assert result.matched and result.node == "objection-reason"


def _at_country_question(engine: Engine, lang: str) -> SessionState:
    state, _ = engine.handle(None, Start(language=lang), NOW)
    state, _ = engine.handle(state, Choice(option="objection"), NOW)
    while state.node != "objection-country":
        shown = [o for o in state.offered if o.startswith("@set:")]
        state, _ = engine.handle(state, Choice(option=shown[-1]), NOW)
    return state


@pytest.mark.parametrize(("lang", "text"), [("de", "ja"), ("en", "yes"), ("pl", "nie")])
def test_yes_or_no_picks_no_country_where_the_reader_lives(
    content: Content, matcher: Matcher, lang: str, text: str
) -> None:
    # Before, "ja" at "Wo wohnst du?" picked the first country (Germany): the country
    # buttons mean yes only by default. Now the question is asked again, with a hint that
    # names no yes or no.
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state = _at_country_question(engine, lang)
    state, actions = engine.handle(state, Text(text=text), NOW)
    [reply] = [a for a in actions if isinstance(a, Reply)]
    assert state.node == "objection-country" and "country" not in dict(state.variables)
    assert reply.text.startswith(content.string("guided_hint_choice", lang))
    # The country's name still answers.
    state, _ = engine.handle(
        state, Text(text={"de": "Österreich", "en": "Austria", "pl": "Austria"}[lang]), NOW
    )
    assert dict(state.variables)["country"] == "at"


def test_the_hint_on_telegram_names_the_buttons(content: Content, matcher: Matcher) -> None:
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state = _at_country_question(engine, "de")
    _, actions = engine.handle(state, Text(text="blabla", platform="telegram"), NOW)
    [reply] = [a for a in actions if isinstance(a, Reply)]
    assert reply.text.startswith(content.string("guided_hint_choice", "de", platform="telegram"))
    assert "Knopf" in reply.text


def test_naming_an_app_at_the_checklist_still_marks_it_done(
    content: Content, matcher: Matcher
) -> None:
    # The checklist's buttons mean yes only by default too; naming the app picks its button.
    engine = Engine(content, matcher, session_ttl=dt.timedelta(hours=1))
    state = _at_country_question(engine, "de")
    state, _ = engine.handle(state, Text(text="Deutschland"), NOW)
    assert state.node == "objection-checklist"
    facebook = next(o for o in state.offered if o.startswith("@set:"))
    state, _ = engine.handle(state, Text(text="facebook"), NOW)
    assert facebook not in state.offered
