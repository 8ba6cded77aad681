"""Questions readers typed in chats, in each language, that got another page or none: each
reaches the page that answers it (on the shipped content, with the shipped model)."""

from __future__ import annotations

import pytest

from bot.content import load_content
from bot.matching import Matcher


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_content())


@pytest.mark.parametrize(
    ("lang", "text", "node"),
    [
        # The timeline, the page on Meta AI in WhatsApp, or nothing.
        ("de", "Nutzt Meta meine Chats mit Meta AI für Werbung?", "meta-ai-ads"),
        ("fr", "est ce que meta ai sert pour la publicité", "meta-ai-ads"),
        ("nl", "gebruikt meta mijn gesprekken met meta ai voor advertenties", "meta-ai-ads"),
        ("pl", "czy meta ai bedzie uzywac moich czatow do reklam", "meta-ai-ads"),
        # "Not sure", or the page on notices in one's profile.
        ("fr", "ca change quoi si je m'oppose", "late-objection-effect"),
        ("es", "que cambia si me opongo", "late-objection-effect"),
        ("it", "cosa cambia se mi oppongo?", "late-objection-effect"),
        # Meta's notice e-mail: the page on when training started, which speaks of it.
        ("es", "me llego un correo de meta sobre la ia, q hago", "start-date"),
        ("en", "I'm 16, do they use my photos?", "children"),
        # A page's title typed as it stands: "not sure", with that very page as a button.
        ("nl", "tijdlijn", "timeline"),
        ("it", "cronologia", "timeline"),
        ("de", "zeitleiste", "timeline"),
        # Whether anyone took Meta to court: the legal-advice page, the background menu (no
        # answer), the complaint page, or nothing; now the page on the lawsuits themselves.
        ("en", "did anyone sue Meta?", "lawsuits"),
        ("de", "hat schon jemand Meta verklagt?", "lawsuits"),
        ("de", "gibt es Klagen gegen Meta?", "lawsuits"),
        ("es", "alguien ha demandado a Meta?", "lawsuits"),
        ("it", "qualcuno ha fatto causa a meta?", "lawsuits"),
        ("nl", "heeft iemand meta aangeklaagd?", "lawsuits"),
        ("pl", "czy ktoś pozwał Metę?", "lawsuits"),
    ],
)
def test_questions_readers_asked_reach_their_page(
    matcher: Matcher, lang: str, text: str, node: str
) -> None:
    result = matcher.match(text, lang)
    assert result.matched and result.node == node, result
