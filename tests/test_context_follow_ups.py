"""Follow-ups read in context on the shipped content: asking for reasons, cases of the page
just read ("und wenn ...?"), and follow-ups that name nothing but question words."""

from __future__ import annotations

import pytest

from bot.content import Content, load_content
from bot.matching import Matcher
from bot.matching.context import OPTION_SURE, is_conditional, is_why


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="module")
def matcher(content: Content) -> Matcher:
    return Matcher(content)


def _lands(matcher: Matcher, lang: str, at: str, text: str, expected: str) -> None:
    """``text`` typed at the page ``at`` is answered with ``expected``."""
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == expected, (text, result)


@pytest.mark.parametrize(
    ("lang", "text", "why"),
    [
        ("en", "what was the reasoning?", True),
        ("en", "on what grounds?", True),
        ("de", "mit welcher begründung?", True),
        ("de", "aus welchem grund?", True),
        ("en", "why not?", True),
        # What for: why in other words.
        ("en", "what for?", True),
        ("es", "¿y para qué?", True),
        ("fr", "et dans quel but ?", True),
        ("it", "a che scopo?", True),
        ("pl", "a po co?", True),
        ("es", "para que no usen mis fotos", False),
        # A reason to give, not a question why.
        ("en", "do I have to give a reason?", False),
        ("de", "muss ich einen grund angeben?", False),
    ],
)
def test_a_reason_asks_why_only_with_a_question_word(lang: str, text: str, why: bool) -> None:
    assert is_why(text, lang) is why


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        ("de", "olg-koeln", "mit welcher begründung?", "olg-koeln-reasons"),
        ("en", "olg-koeln", "what was the reasoning?", "olg-koeln-reasons"),
        ("en", "object-facebook", "do I have to give a reason?", "object-reason"),
        # Why in two words, not a greeting for its "qué" ("¿qué tal?").
        ("es", "olg-koeln", "¿por qué?", "olg-koeln-reasons"),
        # "What for?" after what Meta does asks why it does it.
        ("es", "what-meta-does", "¿y para qué?", "why-meta"),
    ],
)
def test_asking_for_reasons_after_a_page(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)


def test_a_case_of_the_page_just_read_stays_with_it(matcher: Matcher) -> None:
    assert is_conditional("und wenn sie schon 16 sind?", "de")
    result = matcher.match("und wenn sie schon 16 sind?", "de", context="children")
    assert result.matched and result.node == "children"


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        # "what if I don't?" is no question for the page's neighbours (the page on children
        # names no answer for it).
        ("en", "children", "what if I don't?"),
    ],
)
def test_a_case_the_page_cannot_place_is_not_answered_by_a_neighbour(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    result = matcher.match(text, lang, context=at)
    assert not result.matched or result.node == at


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("en", "object-facebook", "what if I don't?"),
        ("en", "too-late", "what if I don't?"),
        ("de", "object-facebook", "und wenn ich das nicht mache?"),
        ("de", "how-to-object", "und wenn ich nicht widerspreche?"),
    ],
)
def test_what_if_not_is_answered_by_the_page_the_content_names(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == "no-objection"


def test_a_case_that_names_something_else_is_no_what_if_not(matcher: Matcher) -> None:
    result = matcher.match("und wenn das formular nicht lädt?", "de", context="object-facebook")
    assert result.node != "no-objection"


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("de", "make-private", "und bei instagram?"),
        ("en", "make-private", "and on insta?"),
        ("de", "meta-ai-off", "und wie ist es bei instagram?"),
    ],
)
def test_another_app_after_a_page_about_all_apps_stays_with_it(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == at


@pytest.mark.parametrize(
    ("at", "text", "expected"),
    [
        ("object-instagram", "und bei facebook?", "object-facebook"),
        # The page on private accounts offers the way to limit old Facebook posts.
        ("make-private", "und bei facebook?", "limit-past-posts"),
    ],
)
def test_another_app_moves_on_to_its_own_page(
    matcher: Matcher, at: str, text: str, expected: str
) -> None:
    result = matcher.match(text, "de", context=at)
    assert result.matched and result.node == expected


def test_an_app_the_page_does_not_speak_of_moves_on(matcher: Matcher) -> None:
    result = matcher.match("what about WhatsApp?", "en", context="make-private")
    assert result.node != "make-private"


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("de", "right-to-object", "und artikel 17?"),
        ("de", "your-rights", "und artikel 17?"),
        ("en", "right-to-object", "and article 17?"),
    ],
)
def test_a_follow_up_naming_a_keyword_of_several_words_goes_to_its_topic(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    # "Artikel 17" is the right to erasure's keyword; after the right to object the page's
    # title ("Art. 21") must not win because both say "Artikel".
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == "right-to-erasure"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("de", "Was speichert eigentlich dieser Bot über mich?"),
        ("en", "what does this bot store about me?"),
    ],
)
def test_a_new_question_that_points_at_something_else_leaves_the_page(
    matcher: Matcher, lang: str, text: str
) -> None:
    # "dieser" reads as pointing back to the page on damages, but the question is sure of
    # its own topic.
    result = matcher.match(text, lang, context="damages")
    assert result.matched and result.node == "bot-privacy"


def test_question_words_alone_are_no_keyword(matcher: Matcher) -> None:
    # "us" is a small word: "what about the US?" names only "what", which was the keyword
    # "what are you" of the page about the bot.
    result = matcher.match("what about the US?", "en", context="outside-eu")
    assert result.node != "about-bot"
    assert matcher.match("what about the US?", "en").node != "about-bot"


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("de", "noyb", "kann ich denen spenden?"),
        ("en", "noyb", "can I donate to them?"),
    ],
)
def test_a_follow_up_naming_what_the_content_never_mentions_is_not_the_page_again(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    # Read with the page's title, it would be the page itself once more.
    assert matcher.match(text, lang, context=at).node != at


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        # A page the one just read does not offer itself, but the page that offers it does.
        ("de", "outside-eu", "und in der schweiz?", "country-ch"),
        # A case of the page with more words than a bare "und wenn ...?".
        ("de", "object-confirmation", "und wenn keine mail kommt?", "object-confirmation"),
        # Not a follow-up by its form, half sure alone about another page; read with the
        # page just read, surer about it.
        ("de", "business-pages", "muss ich für die seite extra widersprechen?", "business-pages"),
        # Points back at the page ("den"): the page, not the neighbour of the page that
        # offers it whose words are alike (switching Meta AI off).
        ("de", "advanced-chat-privacy", "wie schalte ich den ein?", "advanced-chat-privacy"),
        # "Stories" in German is the content's "Storys": a word it knows, not an unknown one.
        ("de", "which-data", "auch stories?", "which-data"),
    ],
)
def test_follow_ups_land_around_the_page_just_read(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)


def test_after_a_fallback_the_suggested_page_is_not_answered_on_its_title(
    matcher: Matcher,
) -> None:
    # The fallback suggested the page on when the training started; "wie mache ich das?"
    # then says nothing about it, and the user has not read it: the page's title does not
    # make it the answer. (Read, the page or the objection it offers answers it.)
    text, at = "wie mache ich das?", "start-date"
    assert matcher.match(text, "de", context=at).node in (at, "how-to-object")
    assert matcher.match(text, "de", context=at, suggested=True).node != at
    # Its neighbours still answer a follow-up that names them.
    moved = matcher.match("und bei insta?", "de", context="object-facebook", suggested=True)
    assert moved.matched and moved.node == "object-instagram"


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("en", "object-instagram", "how much does that cost?"),
        ("de", "object-facebook", "was kostet das?"),
    ],
)
def test_an_off_topic_question_is_not_answered_with_the_page(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    assert not matcher.match(text, lang, context=at).matched


def test_a_follow_up_naming_what_a_suggested_page_speaks_of_is_answered_by_it(
    matcher: Matcher,
) -> None:
    result = matcher.match("und jugendliche?", "de", context="children", suggested=True)
    assert result.matched and result.node == "children"
    # "wie mache ich das?" names nothing: not the suggested page on its title alone.
    result = matcher.match("wie mache ich das?", "de", context="children", suggested=True)
    assert result.node != "children"


def test_may_they_after_the_page_on_what_meta_does_asks_if_it_is_legal(matcher: Matcher) -> None:
    result = matcher.match("dürfen die das?", "de", context="what-meta-does")
    assert result.matched and result.node == "legal-basis"


def test_a_follow_up_naming_a_topic_the_page_offers_goes_there(matcher: Matcher) -> None:
    result = matcher.match("the right to object, what's that", "en", context="your-rights")
    assert result.matched and result.node == "right-to-object"


def test_what_about_a_thing_the_page_title_names_stays_with_the_page(matcher: Matcher) -> None:
    result = matcher.match("what about my whole account?", "en", context="delete-posts")
    assert result.matched and result.node == "delete-posts"


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        ("de", "right-to-object", "wo mache ich das?", "how-to-object"),
        ("en", "too-late", "how do I do that?", "how-to-object"),
        ("en", "whatsapp-meta-ai", "how do I stop that?", "advanced-chat-privacy"),
        # Only "how": "ok how" got "didn't understand", "wie?" the page's details.
        ("en", "too-late", "how?", "how-to-object"),
        ("en", "too-late", "ok how", "how-to-object"),
        ("de", "too-late", "und wie?", "how-to-object"),
        ("de", "right-to-object", "ok, wie?", "how-to-object"),
        ("es", "too-late", "¿y cómo?", "how-to-object"),
    ],
)
def test_how_do_i_do_that_is_answered_by_the_page_the_content_names(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)


def test_how_much_is_no_question_of_how_to_do_it(matcher: Matcher) -> None:
    assert matcher.match("how much?", "en", context="too-late").node != "how-to-object"


def test_how_that_names_more_is_read_as_usual(matcher: Matcher) -> None:
    # The page on objecting names no page for "how"; "wie schalte ich den ein?" stays there.
    result = matcher.match("wie schalte ich den ein?", "de", context="advanced-chat-privacy")
    assert result.matched and result.node == "advanced-chat-privacy"


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("de", "deidentification", "bist du sicher?"),
        ("de", "private-messages", "echt nicht?"),
        ("de", "representation", "welche denn?"),
        ("en", "noyb-survey", "who did it?"),
        ("en", "deidentification", "is that enough?"),
        ("en", "private-messages", "really not?"),
        ("en", "representation", "which ones?"),
        ("de", "edpb-opinion", "und was heißt das für mich?"),
    ],
)
def test_a_follow_up_that_names_nothing_stays_on_the_page(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    result = matcher.match(text, lang, context=at)
    assert result.matched and result.node == at


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("de", "private-messages", "und das wetter?"),
        ("de", "olg-koeln", "wie spät ist es?"),
        ("de", "object-facebook", "erzähl mal nen witz"),
        ("en", "private-messages", "and the weather?"),
        ("en", "olg-koeln", "what's the time?"),
        ("en", "object-facebook", "tell me a joke"),
    ],
)
def test_a_short_off_topic_follow_up_still_falls_back(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    assert not matcher.match(text, lang, context=at).matched


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        # A yes or no answers; a command's name asks for the command; a number or a word the
        # content never uses names something: none of them is about the page.
        ("de", "deidentification", "nein"),
        ("de", "deidentification", "hilfe"),
        ("en", "private-messages", "help"),
        ("de", "right-to-object", "und 17?"),
        ("en", "which-data", "what about reels?"),
    ],
)
def test_what_names_or_answers_something_is_not_the_page_again(
    matcher: Matcher, lang: str, at: str, text: str
) -> None:
    assert not matcher.match(text, lang, context=at).again


def test_a_follow_up_that_names_nothing_needs_a_page_that_was_read(matcher: Matcher) -> None:
    # After a fallback the suggested page was not read; at the menu there is no page.
    assert not matcher.match(
        "bist du sicher?", "de", context="deidentification", suggested=True
    ).matched
    assert not matcher.match("bist du sicher?", "de", context="start").matched
    assert not matcher.match("bist du sicher?", "de").matched


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        # The page names its answer to "instead" (`instead` in the content).
        ("en", "meta-ai-off", "what can I do instead?", "avoid-meta-ai"),
        ("de", "meta-ai-off", "und was kann ich stattdessen tun?", "avoid-meta-ai"),
        ("en", "make-private", "is there anything i can do instead?", "alternatives"),
        ("de", "object-login", "was kann ich stattdessen machen?", "object-in-app"),
        ("it", "meta-ai-off", "cosa posso fare invece?", "avoid-meta-ai"),
        # Phrases ask it too.
        ("en", "object-login", "any other way?", "object-in-app"),
        ("de", "object-login", "gibts noch nen anderen weg?", "object-in-app"),
    ],
)
def test_asking_for_another_way_gets_the_way_the_page_names(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)


def test_asking_for_another_way_without_one_named_is_never_the_page_again(
    content: Content, matcher: Matcher
) -> None:
    # No `instead` on the page on erasure: one of the pages it offers, not itself.
    assert content.nodes["right-to-erasure"].instead is None
    result = matcher.match("what can I do instead?", "en", context="right-to-erasure")
    offered = {o.to for o in content.nodes["right-to-erasure"].options}
    assert result.node != "right-to-erasure"
    assert not result.matched or result.node in offered


def test_another_way_that_is_named_is_read_by_its_words(matcher: Matcher) -> None:
    # "instead" points back, but the message says which way: not the page's `instead`.
    result = matcher.match("so should i delete my account instead?", "en", context="make-private")
    assert result.matched and result.node == "delete-posts"
    result = matcher.match("can i object instead?", "en", context="make-private")
    assert result.matched and result.node == "how-to-object"


def test_a_word_the_whole_content_uses_does_not_pull_a_follow_up_away(
    matcher: Matcher,
) -> None:
    # "KI" lifts the overview ahead of everything; after the right to erasure, the page
    # around it on removing trained data comes close behind and is what is asked.
    result = matcher.match("auch aus der ki?", "de", context="right-to-erasure")
    assert result.matched and result.node == "trained-data-removal"


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        # "the same on Instagram?": the Instagram case of the page just read.
        ("de", "object-facebook", "selbe bei instagram?", "object-instagram"),
        ("en", "object-facebook", "same on insta?", "object-instagram"),
        # WhatsApp after the objection steps: that there is no form for it.
        ("de", "how-to-object", "und bei whatsapp?", "whatsapp-no-form"),
        ("en", "object-facebook", "and on whatsapp?", "whatsapp-no-form"),
        # Polish declines the app's name in the page's title ("Sprzeciw na Facebooku").
        ("pl", "how-to-object", "a na fb?", "object-facebook"),
        # How to do it properly, after a page saying what does not work (its `how`).
        ("de", "profile-notice", "wie gehts dann richtig", "how-to-object"),
        ("en", "profile-notice", "then how do i do it properly", "how-to-object"),
        # The page for the app the message names, which the page on Pages is not.
        ("en", "business-pages", "ok so how do we object on fb", "object-facebook"),
        # A word few titles name, in the title of one topic the page offers.
        ("en", "photos-of-me", "is there a form for that?", "third-party-form"),
        ("en", "no-account", "is there a form for that?", "third-party-form"),
        # Colloquial "nich" means "nicht".
        ("de", "object-instagram", "link geht nich", "object-login"),
        # After the start date, whether it can still be stopped.
        ("en", "start-date", "can i still stop it", "too-late"),
    ],
)
def test_short_follow_ups_as_people_type_them(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)


@pytest.mark.parametrize(
    ("lang", "text", "greets"),
    [
        ("es", "¿qué tal?", True),
        ("es", "hola", True),
        ("es", "¿por qué?", False),
        ("de", "was?", False),
        ("en", "what?", False),
        ("es", "buenas tardes", True),
        ("es", "hola q tal", True),
        ("de", "hallo", True),
        ("de", "moin", True),
        # "do I have to do anything?": every word is in the menu's examples ("Hola, tengo una
        # pregunta", "quería hacer una consulta"), none is one they open with.
        ("es", "tengo q hacer algo", False),
    ],
)
def test_a_question_word_alone_is_no_greeting(
    matcher: Matcher, lang: str, text: str, greets: bool
) -> None:
    assert matcher.indexes[lang].is_greeting(text) is greets


@pytest.mark.parametrize(
    ("lang", "text"), [("fr", "et ensuite ?"), ("es", "¿y después?"), ("it", "e dopo?")]
)
def test_the_title_of_a_checklist_page_put_together_from_answers_is_no_verdict(
    matcher: Matcher, lang: str, text: str
) -> None:
    # "Et ensuite ?" is the title of the checklist's last page ("What comes next for you"),
    # assembled from one's own answers: after the timeline it asks what happened next.
    assert matcher.decided(text, lang) is None
    _lands(matcher, lang, "timeline", text, "timeline-after")


@pytest.mark.parametrize(
    ("lang", "text", "conditional"),
    [
        ("fr", "et s'ils refusent ?", True),
        ("fr", "et si je ne fais rien ?", True),
        ("fr", "comment s'opposer ?", False),
        ("es", "¿y si no tengo cuenta?", True),
        ("it", "e se non lo faccio?", True),
        ("nl", "en als ik niks doe?", True),
        ("pl", "a jeśli nie odpiszą?", True),
        ("pl", "a jak to zrobić?", False),
    ],
)
def test_a_case_of_the_page_in_every_language(lang: str, text: str, conditional: bool) -> None:
    assert is_conditional(text, lang) is conditional


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        # The complaint route of the country just read: its follow_ups say so.
        ("de", "country-at", "geht das online?", "country-at"),
        ("en", "country-pl", "do i need to object to meta first", "country-pl"),
        ("it", "country-it", "si fa online?", "country-it"),
        ("pl", "country-pl", "moge to wyslac zwykla poczta?", "country-pl"),
        ("nl", "country-nl", "kan dat ook in het engels", "country-nl"),
        # Pages whose text answers what is asked after them.
        ("fr", "class-action", "c'est payant ?", "class-action"),
        ("de", "objection-2024", "auch mit neuer mailadresse?", "objection-2024"),
        # One word more than the follow-ups use, unless it names another page.
        ("en", "objection-2024", "my email changed since then tho", "objection-2024"),
        ("de", "country-de", "und in österreich online?", "country-at"),
        # What the follow-ups do not ask moves on as before.
        ("de", "country-de", "und in österreich?", "country-at"),
        ("de", "country-de", "brauch ich dafür nen anwalt?", "legal-advice"),
        # A topic the page offers, named with the one word a follow-up shares ("do I have to
        # object to Meta first?"), is that topic.
        ("en", "country-fr", "how do I object?", "how-to-object"),
        ("fr", "country-fr", "comment je m'oppose ?", "how-to-object"),
        # The page on how to object answers what is asked after it.
        ("en", "how-to-object", "can I do it online?", "how-to-object"),
        ("it", "how-to-object", "costa qualcosa?", "how-to-object"),
    ],
)
def test_a_follow_up_the_page_names_keeps_the_reader_there(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)


def test_a_pages_follow_ups_are_no_question_on_their_own(matcher: Matcher) -> None:
    assert matcher.match("geht das online?", "de").node != "country-at"
    # Nor at the menu, where the page was only suggested, never read.
    result = matcher.match("geht das online?", "de", context="country-at", suggested=True)
    assert result.node != "country-at"


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        ("es", "delete-posts", "y si les pido q lo borren ellos?", "right-to-erasure"),
        (
            "es",
            "photos-of-me",
            "y si sale mi nombre en una respuesta de la ia?",
            "third-party-form",
        ),
        ("pl", "too-late", "to co mi to w ogole da teraz", "late-objection-effect"),
    ],
)
def test_a_topic_the_page_offers_needs_less_confidence(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    # Each is below the bar on its own; the page just read offers the topic.
    assert not matcher.match(text, lang).matched
    _lands(matcher, lang, at, text, expected)


def test_the_main_menu_lowers_no_bar(matcher: Matcher) -> None:
    # The menu offers every main topic: it says nothing about which one is meant.
    text = "und jetzt meta?"
    alone = matcher.match(text, "de")
    assert not alone.matched
    # Close enough to a topic the menu offers that any other page offering it would decide.
    menu = matcher.content.nodes["start"]
    assert alone.candidates[0] in {o.to for o in menu.options}
    assert alone.score >= OPTION_SURE
    assert matcher.match(text, "de", context="start").matched == alone.matched


@pytest.mark.parametrize(
    ("lang", "at", "text", "expected"),
    [
        # No follow-up by its words and unsure at the page, but sure read alone with the
        # node classifier, of a page around the one just read: answered.
        ("de", "timeline", "und was kam nach dem august", "timeline-after"),
        ("en", "linked-accounts", "i have 2 insta accounts tho", "linked-accounts"),
        ("nl", "object-reason", "kun je een tekstje voor me maken om te plakken", "objection-reason"),
        ("fr", "legal-basis", "mais pourquoi ils veulent nos donnees en fait", "why-meta"),
    ],
)  # fmt: skip
def test_a_message_sure_alone_of_a_page_around_the_one_read_is_answered(
    matcher: Matcher, lang: str, at: str, text: str, expected: str
) -> None:
    _lands(matcher, lang, at, text, expected)
