"""A menu that asks which app, answered by a question that names it (bot.matching.named_pages)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import pytest

from bot.content import load_content
from bot.engine import Engine
from bot.matching import Matcher
from bot.matching.named_pages import AppMenus, CountryPages

TTL = dt.timedelta(hours=1)


@cache
def _matcher() -> Matcher:
    return Engine(load_content(), session_ttl=TTL).matcher


def test_the_menu_that_asks_which_app_is_read_from_the_content() -> None:
    menus = AppMenus.of(load_content())
    assert menus.pages == {
        "how-to-object": {
            "facebook": "object-facebook",
            "instagram": "object-instagram",
            "whatsapp": "whatsapp-no-form",
        }
    }
    assert menus.menu_of["object-instagram"] == "how-to-object"


@pytest.mark.parametrize(
    ("text", "lang", "page"),
    [
        ("hab nur insta, wo leg ich da den wiederspruch ein", "de", "object-instagram"),
        ("I only have Instagram, no Facebook. how do I refuse the AI training there", "en", "object-instagram"),
        ("ik heb alleen facebook, geen insta. hoe stop ik dat ze mijn berichten voor AI pakken", "nl", "object-facebook"),
        ("ho solo fb, niente instagram. cosa devo compilare per non far usare le mie cose all'ia?", "it", "object-facebook"),
        ("mam tylko fb, insta nie mam. jak tam sie sprzeciwic", "pl", "object-facebook"),
        # The app denied by its name with an ending.
        ("używam tylko instagrama, facebooka nie mam wcale. gdzie złożyć sprzeciw?", "pl", "object-instagram"),
        ("mam tylko facebooka, instagrama nie mam. gdzie się sprzeciwić?", "pl", "object-facebook"),
        ("solo tengo feisbuk, como me opongo ahi", "es", "object-facebook"),
    ],
)  # fmt: skip
def test_saying_which_app_one_uses_gets_that_apps_page(text: str, lang: str, page: str) -> None:
    result = _matcher().match(text, lang)
    assert result.matched and result.node == page


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("instagram keeps saying action blocked when i like stuff", "en"),
        ("je veux m'opposer a la pub ciblee sur facebook, y a un formulaire pour ca ?", "fr"),
    ],
)
def test_naming_an_app_picks_no_page_for_a_question_the_ranking_barely_reads(
    text: str, lang: str
) -> None:
    result = _matcher().match(text, lang)
    assert not result.matched


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("FB + insta ai opt out, quickest way?", "en"),
        # The ranking's first is one app's steps; two apps named ask for both.
        ("gdzie sie wypisuje z tego trenowania ai na fb i insta??", "pl"),
        # "veux pas" refuses Meta's use; it denies neither app.
        (
            "je veux pas que fb et insta se servent de mes photos pour leur IA, je fais comment",
            "fr",
        ),
    ],
)
def test_naming_several_apps_gets_the_menu(text: str, lang: str) -> None:
    result = _matcher().match(text, lang)
    assert result.matched and result.node == "how-to-object"


def test_an_only_word_away_from_the_app_names_no_app() -> None:
    # "just" is about the link, not the app the writer uses: no Facebook steps.
    text = "the objection link just opens the facebook start page, nothing else happens"
    assert _matcher().match(text, "en").node != "object-facebook"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # Facebook names Meta here; the writer asks how to object, on every app.
        ("wie kann ich verhindern dass facebook meine fotos für die ki nimmt", "de"),
    ],
)
def test_naming_meta_by_its_app_keeps_the_menu(text: str, lang: str) -> None:
    assert _matcher().match(text, lang).node == "how-to-object"


def test_the_app_page_of_another_question_about_the_app_is_not_forced() -> None:
    # The words of the Instagram page come first, but nobody asked how to object.
    assert not _matcher().match("come metto instagram in italiano", "it").matched


def test_a_question_about_one_app_among_several_keeps_its_page() -> None:
    # WhatsApp has a page of its own; Facebook and Instagram are done.
    text = "tengo que hacer algo en whatsapp o solo en fb e insta"
    assert _matcher().match(text, "es").node == "whatsapp-no-form"


# -- countries -----------------------------------------------------------------------------


def test_the_places_and_the_pages_that_offer_them_are_read_from_the_content() -> None:
    pages = CountryPages.of(load_content())
    assert {"country-de", "country-ie", "complaint-abroad", "outside-eu"} <= pages.places
    assert {"complaint", "which-authority", "countries"} <= pages.offering
    assert pages.named("ik woon sinds kort in wenen", "nl") == {"country-at"}
    # Two places: neither is picked by name alone ...
    assert pages.named("ik ben nederlander maar woon in wenen", "nl") == {
        "country-nl",
        "country-at",
    }
    # ... but the writer says where they live.
    assert pages.lived_in("ik ben nederlander maar woon in wenen", "nl") == {"country-at"}


@pytest.mark.parametrize(
    ("text", "lang", "lived"),
    [
        ("Soy de Burgos pero llevo cinco años viviendo en Rotterdam", "es", {"country-nl"}),
        ("Mieszkam od lat w Niemczech (jestem Polką)", "pl", {"country-de"}),
        ("I'm from Sweden but live in Munich now", "en", {"country-de"}),
        # A nationality after the word of living says nothing of where.
        ("ik woon als nederlander in de dordogne", "nl", set()),
        # Where the writer comes from, not where they live.
        ("je suis belge, je me plains où ?", "fr", set()),
    ],
)  # fmt: skip
def test_where_the_writer_lives_is_read_after_a_word_of_living(
    text: str, lang: str, lived: set[str]
) -> None:
    assert CountryPages.of(load_content()).lived_in(text, lang) == lived


@pytest.mark.parametrize(
    ("text", "lang", "page"),
    [
        ("servus, bin aus wien. wo kann ich mich da beschweren", "de", "country-at"),
        ("je suis installée a dublin, je porte plainte aupres de qui ?", "fr", "country-ie"),
        ("ik woon sinds kort in wenen, waar kan ik daar een klacht indienen over meta", "nl", "country-at"),
        ("come faccio reclamo al garante privacy", "it", "country-it"),
        # From one country, living in another.
        ("I'm Polish but I live in Dublin now, where do I complain about Meta?", "en", "country-ie"),
        ("je suis belge mais je vis à Lyon, je porte plainte où pour meta ?", "fr", "country-fr"),
    ],
)  # fmt: skip
def test_a_complaint_from_a_named_place_gets_that_countrys_page(
    text: str, lang: str, page: str
) -> None:
    result = _matcher().match(text, lang)
    assert result.matched and result.node == page


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("skarga do uodo na pracodawce za kamery", "pl"),  # about an employer
        ("voglio fare reclamo al garante contro la tim che mi chiama 5 volte al giorno", "it"),
        ("bester Urlaubsort in Spanien", "de"),  # no complaint at all
        ("qual è la capitale dell'australia", "it"),
    ],
)
def test_naming_a_place_answers_no_other_question(text: str, lang: str) -> None:
    assert not _matcher().match(text, lang).matched


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("does this apply in Portugal?", "en"),
        ("does this apply in Iceland?", "en"),  # not Ireland, one letter away
        ("does this apply in Norway?", "en"),
        ("czy to dotyczy też Czech?", "pl"),
        ("ça s'applique aussi en Suède ?", "fr"),
    ],
)
def test_asking_whether_it_applies_in_another_eu_country_gets_the_page_for_it(
    text: str, lang: str
) -> None:
    """The ranking is unsure between the pages about places; the place named decides, as a
    complaint from it would ("where do I complain in Portugal?")."""
    result = _matcher().match(text, lang)
    assert result.matched and result.node == "complaint-abroad"


def test_asking_whether_something_else_applies_somewhere_is_no_question_about_places() -> None:
    assert not _matcher().match("does the speed limit apply in Portugal?", "en").matched
    assert not _matcher().match("is my driving licence valid in norway?", "en").matched


def test_a_named_place_settles_a_tie_the_bot_would_ask_about() -> None:
    pages = CountryPages.of(load_content())
    text = "je suis de Bruxelles, je veux porter plainte contre Meta, c'est auprès de qui ?"
    ranked = ["complaint", "country-be", "country-fr"]
    assert pages.page_for(text, "fr", ranked, sure=True, tied=True) == "country-be"
    # Sure of one page and not tied: the ranking's answer stands.
    assert pages.page_for(text, "fr", ranked, sure=True, tied=False) is None


def test_a_place_first_in_the_ranking_answers_where_the_question_names_it() -> None:
    pages = CountryPages.of(load_content())
    # Unsure, and the next page (noyb's) is about no place: the place named agrees.
    ranked = ["country-at", "noyb", "complaint-abroad"]
    text = "servus, i wohn in linz – bei wem beschwer i mi wegen meta?"
    assert pages.page_for(text, "de", ranked, sure=False) == "country-at"
    # The same ranking for a question that names no place, or another one: no answer forced.
    assert pages.page_for("bei wem beschwer i mi wegen meta?", "de", ranked, sure=False) is None
    text = "servus, bin grad in münchen – bei wem beschwer i mi wegen meta?"
    assert pages.page_for(text, "de", ranked, sure=False) is None
    # Living there says which: the writer's country, whatever the ranking's first.
    text = "servus, i wohn in münchen – bei wem beschwer i mi wegen meta?"
    assert pages.page_for(text, "de", ranked, sure=False) == "country-de"


def test_where_the_writer_lives_decides_between_two_places_named() -> None:
    pages = CountryPages.of(load_content())
    text = "Soy de Sevilla pero vivo en Ámsterdam, ¿dónde me quejo de Meta?"
    ranked = ["complaint", "country-es", "country-nl"]
    assert pages.page_for(text, "es", ranked, sure=False) == "country-nl"
    # Sure of the country the writer comes from: the one they live in answers.
    text = "je suis belge mais je vis à Lyon, je porte plainte où pour meta ?"
    assert pages.page_for(text, "fr", ["country-be", "country-fr"], sure=True) == "country-fr"
    assert (
        pages.page_for("je suis belge, je me plains où ?", "fr", ["country-be"], sure=True) is None
    )
    # "Another EU country" names no country: the sure page on complaints abroad stays.
    text = "je vis dans un autre pays de l'UE, je porte plainte où, chez moi ou là où j'habite ?"
    assert pages.page_for(text, "fr", ["complaint-abroad", "outside-eu"], sure=True) is None


def test_a_place_that_may_mean_something_else_settles_no_tie() -> None:
    pages = CountryPages.of(load_content())
    # Dublin is also where Meta's lead authority sits: "Ireland or here?" asks which
    # authority, not about living in Ireland.
    assert "country-ie" in pages.shared
    assert "country-be" not in pages.shared
    text = "tengo que reclamar en irlanda que es donde esta meta o aqui?"
    ranked = ["country-ie", "which-authority", "complaint"]
    assert pages.page_for(text, "es", ranked, sure=True, tied=True) is None


@pytest.mark.parametrize(
    ("text", "lang", "ranked", "page"),
    [
        # Going to Ireland because Meta sits there, or Ireland against one's own country:
        # which authority is responsible.
        ("tengo que reclamar en irlanda porque meta tiene alli la sede?", "es", ["country-ie", "which-authority"], "which-authority"),
        ("devo fare reclamo in irlanda visto che meta ha sede li?", "it", ["country-ie", "complaint"], "which-authority"),
        ("musze pisac skarge do irlandii skoro meta ma tam siedzibe?", "pl", ["country-ie"], "which-authority"),
        ("ktory urzad jest od tego, irlandzki czy polski?", "pl", ["country-ie", "irish-dpc"], "which-authority"),
        # The bot would ask "which authority or Ireland?": the seat settles it.
        ("Muss ich mich in Irland beschweren, weil Meta dort sitzt?", "de", ["which-authority", "country-ie"], "which-authority"),
        # Living in Ireland: its own complaint route, seat or not.
        ("Mieszkam w Dublinie. Gdzie złożyć skargę, skoro Meta ma tu siedzibę?", "pl", ["country-ie"], None),
        ("I live in Cork and Meta is based here, where do I complain?", "en", ["country-ie"], None),
        # Ireland alone, without its being Meta's seat: the ranking's page stays.
        ("Ich studiere in Dublin. An welche Behörde wende ich mich in Irland?", "de", ["country-ie"], None),
        ("tengo que escribir a irlanda para reclamar?", "es", ["country-ie"], None),
        # Another page first: not about the seat.
        ("was hat die irische DPC zum Sitz von Meta gesagt?", "de", ["irish-dpc", "country-ie"], None),
    ],
)  # fmt: skip
def test_asking_about_going_to_metas_seat_gets_which_authority(
    text: str, lang: str, ranked: list[str], page: str | None
) -> None:
    pages = CountryPages.of(load_content())
    assert pages.seat == ("country-ie", "which-authority")
    assert pages.about_seat(text, lang, ranked) == page


def test_a_question_about_metas_seat_is_answered_with_which_authority() -> None:
    result = _matcher().match("devo fare reclamo in irlanda visto che meta ha sede li?", "it")
    assert result.matched and result.node == "which-authority"


@pytest.mark.parametrize(
    ("text", "lang", "places"),
    [
        # A small word that is also a place's stem names no place ("para" and París, "mon"
        # and Mons, "us"); the place's own name does, and "US" in capitals.
        ("tengo que escribir a irlanda para reclamar?", "es", {"country-ie"}),
        ("vivo en París desde hace años", "es", {"country-fr"}),
        ("mon ami habite à Mons", "fr", {"country-be"}),
        ("does this apply to us?", "en", set()),
        ("I live in the US", "en", {"outside-eu"}),
    ],
)  # fmt: skip
def test_a_small_word_names_no_place(text: str, lang: str, places: set[str]) -> None:
    assert CountryPages.of(load_content()).named(text, lang) == places


@pytest.mark.parametrize(
    ("text", "lang", "page"),
    [
        # Living in one country and working in another: either authority takes the complaint.
        ("Ich wohne in Österreich, arbeite aber in Italien. In welchem Land darf ich mich beschweren?", "de", "complaint-abroad"),
        ("I live in Belgium but work in the Netherlands, where can I complain about Meta?", "en", "complaint-abroad"),
        ("j'habite en Belgique et je travaille en France, je porte plainte où ?", "fr", "complaint-abroad"),
        ("pracuję w Holandii, a mieszkam w Belgii. Gdzie złożyć skargę na Metę?", "pl", "complaint-abroad"),
        # One place: living and working there, or living there for work.
        ("i live and work in vienna, who do i complain to about meta?", "en", "country-at"),
        ("vivo ad Amsterdam per lavoro. In Olanda a chi faccio reclamo?", "it", "country-nl"),
    ],
)  # fmt: skip
def test_living_in_one_country_and_working_in_another_gets_the_cross_border_page(
    text: str, lang: str, page: str
) -> None:
    result = _matcher().match(text, lang)
    assert result.matched and result.node == page
