"""The guided checklist answered by naming only another app ("nur Instagram" at "Nutzt du
Facebook?") or a "jap": the question is answered, the flow kept."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content import load_content
from bot.engine import Engine
from bot.events import Reply, Start, Text
from bot.matching import answers

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_content(), session_ttl=dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("lang", "text", "uses_facebook"),
    [
        ("de", "nur instagram", "false"),
        ("de", "nur whatsapp", "false"),
        ("en", "only instagram", "false"),
        ("en", "just whatsapp", "false"),
        ("de", "jap", "true"),
        ("fr", "seulement instagram", "false"),
        ("es", "solo whatsapp", "false"),
        ("it", "soltanto instagram", "false"),
        ("nl", "alleen insta", "false"),
        ("pl", "tylko instagram", "false"),
    ],
)
def test_the_first_question_is_answered(
    engine: Engine, lang: str, text: str, uses_facebook: str
) -> None:
    state, _ = engine.handle(None, Start(language=lang, node="objection"), NOW)
    state, actions = engine.handle(state, Text(text=text), NOW)
    reply = next(a for a in actions if isinstance(a, Reply))
    assert state is not None
    # "nur instagram" answers the question on Instagram too; "nur whatsapp" says no to both.
    app = answers.apps(text)
    asked = {"instagram": "objection-before", "whatsapp": "objection-whatsapp"}
    assert reply.node == (asked[app.pop()] if app else "objection-instagram")
    assert str(dict(state.variables)["uses_facebook"]).lower() == uses_facebook


def test_naming_another_app_answers_only_a_question_about_an_app() -> None:
    assert answers.other_apps_only("nur instagram", "de", {"facebook"}) == "no"
    assert answers.other_apps_only("instagram", "de", {"facebook"}) is None
    assert answers.other_apps_only("nur whatsapp", "de", set()) is None
    assert answers.other_apps_only("nur facebook", "de", {"facebook"}) is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Sprzeciw na Facebooku", {"facebook"}),
        ("Meta AI w czatach na WhatsAppie", {"whatsapp"}),
        ("jestem tylko na fejsie", {"facebook"}),
        ("mein Instagramkonto", {"instagram"}),
        ("fb und insta", {"facebook", "instagram"}),
        ("nur Fotos", set()),
    ],
)
def test_an_app_is_named_with_an_ending_or_in_a_compound(text: str, named: set[str]) -> None:
    # Polish declines the apps' names ("na Facebooku"); German makes compounds.
    assert answers.apps(text) == named


def test_polish_uses_facebook_answered_in_its_own_case(engine: Engine) -> None:
    state, _ = engine.handle(None, Start(language="pl", node="objection"), NOW)
    state, actions = engine.handle(state, Text(text="tylko na fejsie"), NOW)
    reply = next(a for a in actions if isinstance(a, Reply))
    assert state is not None
    # "only on Facebook": yes to Facebook, and no to the next question, on Instagram.
    assert reply.node == "objection-before"
    assert str(dict(state.variables)["uses_facebook"]).lower() == "true"
    assert str(dict(state.variables)["uses_instagram"]).lower() == "false"


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [
        ("it", "si ma non lo uso da anni", "yes"),
        ("it", "ce l ho ma non lo uso piu", "yes"),
        ("pl", "mam ale juz nie uzywam", "yes"),
        ("pl", "tak, ale nie używam", "yes"),
        ("de", "nutze ich nicht mehr", "yes"),
        ("es", "ya no lo uso", "yes"),
        ("en", "i have one but i don't use it", "yes"),
        ("nl", "heb ik maar gebruik het niet", "yes"),
        # Not using, without saying the account is there, is still a no; so is a denial.
        ("de", "nutze ich nicht", "no"),
        ("pl", "nie mam, ale nie używam", "no"),
        ("en", "no, but i don't use it", "no"),
        ("de", "ja, aber kein facebook", "no"),
        # Another app's or another person's use, or a no first: no account here.
        ("de", "Nein, nutze ich nicht, aber Instagram schon", "no"),
        ("es", "no, ya no lo uso, lo borré", "no"),
    ],
)
def test_an_account_not_used_is_an_account(lang: str, text: str, said: str) -> None:
    # At "Hast du ein Facebook-Konto? Auch eins, das du nicht mehr nutzt, zählt".
    assert answers.answer(text, lang, {"facebook"}) == said


def test_not_using_answers_a_question_about_no_app_as_before() -> None:
    # "Chattest du mit Meta AI?": "nutze ich nicht mehr" is a no there.
    assert answers.answer("nutze ich nicht mehr", "de", set()) == "no"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("es", "no lo se"), ("es", "pues no lo sé"), ("es", "quizá"), ("it", "mah"),
     ("nl", "denk het wel"), ("de", "weiß i nimmer"), ("de", "ka ahnung")],
)  # fmt: skip
def test_not_knowing_in_words_is_not_a_no(lang: str, text: str) -> None:
    # "no lo se" at "¿Tienes cuenta de Facebook?" was a no: the account left the list.
    assert answers.meaning(text, lang) == "unsure"


@pytest.mark.parametrize(
    ("lang", "text", "asking"),
    [("de", "facebook erledigt? was heißt das", True), ("en", "what does meta ai done mean", True),
     ("de", "wofür ist das?", True),
     # Answers with a conjunction that is also a question word.
     ("es", "creo que sí", False), ("it", "sì certo che ce l'ho", False),
     ("de", "ja, wie gesagt", False)],
)  # fmt: skip
def test_a_question_is_told_from_an_answer(lang: str, text: str, asking: bool) -> None:
    assert answers.asks(text, lang) is asking
