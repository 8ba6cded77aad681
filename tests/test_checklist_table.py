"""The objection checklist over every combination of answers, on the shipped content.

Each journey drives the real engine with ``Choice`` events, picking the button by what it sets
(never by its label), so the table covers both languages: services used x accounts linked or
not x objected before and for which platform x Meta AI x country, "not sure" included. The
countries are every row of ``content/countries.yaml`` plus "another EU/EEA country" and
"outside". "Not sure" whether there is a Facebook or Instagram account counts as a possible
account: its form is shown, with the note that it works only when logged in. The assertions
are the promises a careful consumer-advice service keeps: forms only for the services used,
ticks only for what the reader said an objection covered, the complaint authority and route of
the reader's own country (and no other country's), and a complaint only once Meta refuses or
doesn't answer, never "nothing to object to", no confirmation mail without a submission.

The ``test_h*`` tests guard the harmful answers of issue 16, one each.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.content import Content, load_content
from bot.content.markup import to_plain
from bot.engine import Engine
from bot.events import Choice, Reply, Text
from bot.matching import answers as typed
from bot.state import SessionState

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
TTL = dt.timedelta(days=30)
FB_FORM = "712876720715583"
IG_FORM = "767264225370182"
FIRST_SCREEN = 500
"""Visible characters of a first screen (links count by their label)."""
LINK = re.compile(r"\[(?P<label>[^\]]*)\]\((?P<url>https://[^)\s]+)\)")


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content, session_ttl=TTL)


@dataclass(frozen=True)
class Answers:
    """One user's answers; ``None`` where the checklist does not ask."""

    facebook: bool  # yes or not sure: the account may exist
    instagram: bool
    linked: str | None  # yes / no / unsure, asked only with both platforms
    objected: str | None  # none / facebook / instagram / both / unsure, asked with either
    meta_ai: str  # yes / no / unsure
    country: str  # a row of the country table, eu or other
    facebook_unsure: bool = False  # "not sure" at "Do you have a Facebook account?"
    instagram_unsure: bool = False

    def wanted(self) -> dict[str, str]:
        """What the buttons should set, as the session stores it."""
        want = {
            "uses_facebook": str(self.facebook).lower(),
            "uses_instagram": str(self.instagram).lower(),
            "unsure_facebook": str(self.facebook_unsure).lower(),
            "unsure_instagram": str(self.instagram_unsure).lower(),
            "meta_ai": self.meta_ai,
            "country": self.country,
        }
        if self.linked is not None:
            want["linked"] = self.linked
        if self.objected is not None:
            want["objected"] = self.objected
        # The content before issue 16 asked other questions; these let the harmful-path
        # tests walk it too and fail on what it said, not on a missing button.
        want["uses_meta_ai"] = str(self.meta_ai != "no").lower()
        want["objected_before"] = str(self.objected not in (None, "none", "unsure")).lower()
        return want

    def covered_before(self, platform: str) -> bool:
        """Whether the reader said an earlier objection covered ``platform``."""
        return self.objected in (platform, "both")

    def uses(self, platform: str) -> bool:
        return self.facebook if platform == "facebook" else self.instagram

    def unsure(self, platform: str) -> bool:
        return self.facebook_unsure if platform == "facebook" else self.instagram_unsure

    def open_before(self, platform: str) -> bool:
        """Whether ``platform``'s step is open before anything is ticked."""
        return self.uses(platform) and not self.covered_before(platform)

    def doubt(self, ticked: tuple[str, ...] = ()) -> bool:
        """Whether an account the reader is not sure of is still open (not once they say the
        accounts are linked: then there is one)."""
        return self.linked != "yes" and any(
            self.unsure(p) and self.open_before(p) and f"done_{p}" not in ticked
            for p in ("facebook", "instagram")
        )


ROWS = ("de", "at", "ch", "fr", "be", "lu", "es", "it", "nl", "pl", "ie")
"""The countries of ``content/countries.yaml`` (see test_the_table_covers_every_country)."""


ACCOUNT = {"yes": (True, False), "no": (False, False), "unsure": (True, True)}
"""An answer to "Do you have a … account?" as (may have one, not sure)."""


def every_combination() -> Iterator[Answers]:
    for fb_said, ig_said in itertools.product(ACCOUNT, repeat=2):
        (facebook, facebook_unsure), (instagram, instagram_unsure) = (
            ACCOUNT[fb_said],
            ACCOUNT[ig_said],
        )
        linked_values: tuple[str | None, ...] = (
            ("yes", "no", "unsure") if facebook and instagram else (None,)
        )
        objected_values: tuple[str | None, ...]
        if facebook and instagram:
            objected_values = ("none", "facebook", "instagram", "both", "unsure")
        elif facebook:
            objected_values = ("none", "facebook", "unsure")
        elif instagram:
            objected_values = ("none", "instagram", "unsure")
        else:
            objected_values = (None,)
        for linked, objected, meta_ai, country in itertools.product(
            linked_values,
            objected_values,
            ("yes", "no", "unsure"),
            (*ROWS, "eu", "other"),
        ):
            yield Answers(
                facebook,
                instagram,
                linked,
                objected,
                meta_ai,
                country,
                facebook_unsure,
                instagram_unsure,
            )


COMBINATIONS = list(every_combination())


LEGACY = {("linked", "true"): "yes", ("linked", "false"): "no"}
"""Before issue 16 "linked" was a flag; mapped so the harmful-path tests can walk old content."""


class Journey:
    """One user going through the checklist by pressing buttons."""

    def __init__(self, engine: Engine, content: Content, lang: str) -> None:
        self.engine = engine
        self.content = content
        self.state: SessionState | None = None
        self.reply = self._send(Text(text=f"/lang {lang}"))
        self.reply = self._send(Text(text="/start objection"))

    def _send(self, event: Text | Choice) -> Reply:
        self.state, actions = self.engine.handle(self.state, event, NOW)
        return [a for a in actions if isinstance(a, Reply)][-1]

    def sets(self, option_id: str) -> dict[str, str]:
        """What the button ``option_id`` sets (``@set:<node>-<index>``), or nothing."""
        if not option_id.startswith("@set:"):
            return {}
        node_id, _, index = option_id.removeprefix("@set:").rpartition("-")
        return self.content.nodes[node_id].options[int(index)].assignments()

    def answer(self, wanted: dict[str, str]) -> Reply:
        """Press the button of this question that matches the answers.

        Only what tells this question's buttons apart counts: the first question also resets
        the checklist, and that reset is the same on both of its buttons.
        """
        node = self.content.nodes[self.reply.node or ""]
        # Every button of the question, whichever page of it is on screen.
        every = [self.sets(f"@set:{node.id}-{i}") for i, o in enumerate(node.options) if o.assign]
        keys = {k for sets in every for k in sets}
        telling = {k for k in keys if len({sets.get(k) for sets in every}) > 1}
        for _ in range(4):  # a long question pages on with "More topics"
            for option in self.reply.options:
                sets = self.sets(option.id)
                asked = {
                    k: LEGACY.get((k, v), v)
                    for k, v in sets.items()
                    if k in telling and k in wanted
                }
                if asked and all(wanted[k] == v for k, v in asked.items()):
                    self.reply = self._send(Choice(option=option.id))
                    return self.reply
            pages = [o.id for o in self.reply.options if o.id.startswith("@page:")]
            if not pages:
                break
            self.reply = self._send(Choice(option=pages[-1]))
        raise AssertionError(f"no button for {wanted} on {self.reply.node}: {self.reply.options}")

    def go(self, node_id: str) -> Reply:
        ids = [o.id for o in self.reply.options if o.id == node_id]
        assert ids, f"no button to {node_id} on {self.reply.node}"
        self.reply = self._send(Choice(option=ids[0]))
        return self.reply

    def tick(self, variable: str) -> bool:
        """Press the button that ticks ``variable`` off, if the checklist shows one."""
        for option in self.reply.options:
            if self.sets(option.id).get(variable) == "true":
                self.reply = self._send(Choice(option=option.id))
                return True
        return False

    def snapshot(self) -> tuple[SessionState | None, Reply]:
        return self.state, self.reply

    def restore(self, snapshot: tuple[SessionState | None, Reply]) -> None:
        self.state, self.reply = snapshot

    def full_text(self) -> str:
        """The reply as a reader sees it after also pressing "Mehr" for its details."""
        text = self.reply.text
        more = [o.id for o in self.reply.options if o.id.startswith("@more:")]
        if more:
            # The engine is pure: look at the details, then carry on from the first screen.
            state, reply = self.state, self.reply
            text += "\n\n" + self._send(Choice(option=more[0])).text
            self.state, self.reply = state, reply
        return text

    def first_screen(self) -> str:
        """The node's text and the blocks that are not marked ``more``, as a reader sees it."""
        assert self.state is not None
        node = self.content.nodes[self.reply.node or ""]
        values = dict(self.state.variables)
        screen = self.content.first_screen(node, self.state.language, NOW.date(), values)
        return to_plain(LINK.sub(r"\g<label>", screen))


def walk_to_checklist(
    engine: Engine, content: Content, lang: str, answers: Answers, to: str = "objection-checklist"
) -> Journey:
    """A journey answered with ``answers`` by buttons until it shows the page ``to``."""
    journey = Journey(engine, content, lang)
    wanted = answers.wanted()
    for _ in range(8):
        if journey.reply.node == to:
            return journey
        journey.answer(wanted)
    raise AssertionError(f"never reached {to}: {journey.reply.node}")


WORDS = {
    "de": {
        "nothing": ("nichts zu widersprechen", "nichts zu tun"),
        "mail": "Bestätigungsmail",
        "fb_tip": "Vergangene Beiträge einschränken",
        "no_form": "nur im Vereinigten Königreich und wenigen anderen Regionen",
        "art77": "wohnst, arbeitest oder in dem der Verstoß stattfand",
        "state_dpa": "Bundeslandes",
        "ch": "EDÖB",
        "no_form_for_you": "kein Formular für dich",
        "not_back": "nicht zurück",
        "both": "Widersprich bei beiden",
        "object_now": "widersprich jetzt",
        "meta_unsure": "Nicht sicher, ob du Meta AI nutzt",
        "earlier": "früherer Widerspruch",
        "eu_only": "nur offen, wenn du in der EU wohnst",
        "probably": "wohl schon erfasst",
        "refuses": "falls Meta ablehnt oder nicht antwortet",
        "unconditional": ("(Art. 77 DSGVO): bei", "(Art. 77 DSGVO): "),
        "login_only": "nur mit Anmeldung (auch ein altes Konto zählt)",
        "doubt_more": "Konto unsicher:",
        "swiss": "Ob Meta dich einbezieht, ist unklar",
        "meta_covered": "deine Chats mit Meta AI deckt laut Meta der Widerspruch ab",
        "meta_tick": ("Abhaken nach dem Widerspruch", "Abhaken, wenn du es nicht mehr nutzt"),
        "meta_old": ("ob der Widerspruch auch deine Chats mit Meta AI erfasst",),
        "what_applies": "Art. 21, 17, 15",
    },
    "en": {
        "nothing": ("nothing to object to", "nothing to do"),
        "mail": "confirmation e-mail",
        "fb_tip": "Limit past posts",
        "no_form": "only the UK and perhaps a few other regions",
        "art77": "live, work or where the infringement happened",
        "state_dpa": "federal state",
        "ch": "FDPIC",
        "no_form_for_you": "no form for you",
        "not_back": "not take back",
        "both": "Then object on both",
        "object_now": "object now",
        "meta_unsure": "Not sure whether you use Meta AI",
        "earlier": "earlier objection",
        "eu_only": "only if you live in the EU",
        "probably": "probably covered",
        "refuses": "if Meta refuses or doesn't answer",
        "unconditional": ("(Art. 77 GDPR): to", "(Art. 77 GDPR): "),
        "login_only": "only if you can log in (an old account counts too)",
        "doubt_more": "Not sure about an account:",
        "swiss": "whether Meta includes you is unclear",
        "meta_covered": "your chats with Meta AI are covered by the objection, Meta says",
        "meta_tick": ("Tick it after objecting", "Tick it once you no longer use it"),
        "meta_old": ("whether the objection also covers your chats with Meta AI",),
        "what_applies": "Art. 21, 17, 15",
    },
}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_combination_of_answers(engine: Engine, content: Content, lang: str) -> None:
    w = WORDS[lang]
    failures: list[str] = []
    longest = (0, "")
    for answers in COMBINATIONS:
        journey = walk_to_checklist(engine, content, lang, answers)
        checklist = journey.full_text()
        longest = max(longest, (len(journey.first_screen()), f"checklist {answers}"))
        problems = check_checklist(answers, checklist, journey.first_screen(), w)
        problems += check_buttons(answers, journey.reply)
        # "What next" before sending anything.
        before = journey.snapshot()
        journey.go("objection-next")
        problems += check_next(answers, journey.full_text(), w, submitted=False)
        problems += check_deadline(answers, journey.reply, submitted=False)
        problems += check_own_country(answers, journey.full_text(), content, lang)
        journey.restore(before)
        # Ticks after sending one form only: the other platform stays open, linked or not.
        for platform in ("facebook", "instagram"):
            before = journey.snapshot()
            if journey.tick(f"done_{platform}"):
                problems += check_one_ticked(answers, journey.full_text(), platform, w)
            journey.restore(before)
        # Ticks after sending every form the checklist offers.
        ticked_now = [v for v in ("done_facebook", "done_instagram") if journey.tick(v)]
        while journey.tick("done_facebook") or journey.tick("done_instagram"):
            pass
        problems += check_ticked(answers, journey.full_text(), ticked_now, w)
        journey.go("objection-next")
        nxt = journey.full_text()
        longest = max(longest, (len(journey.first_screen()), f"next {answers}"))
        problems += check_next(answers, nxt, w, submitted=bool(ticked_now))
        problems += check_deadline(answers, journey.reply, submitted=bool(ticked_now))
        problems += check_own_country(answers, nxt, content, lang)
        failures += [f"{answers}: {p}" for p in problems]
    print(f"{lang}: {len(COMBINATIONS)} combinations; longest first screen {longest}")
    assert not failures, "\n".join(failures[:30])
    assert longest[0] <= FIRST_SCREEN, longest


def check_checklist(a: Answers, text: str, first: str, w: dict[str, object]) -> list[str]:
    problems = []
    forms_here = a.country != "other"
    any_open = a.open_before("facebook") or a.open_before("instagram")
    for platform, used, form in (
        ("Facebook", a.facebook, FB_FORM),
        ("Instagram", a.instagram, IG_FORM),
    ):
        covered = a.covered_before(platform.lower())
        if not used and (form in text or f"{platform} ☐" in text or f"{platform} ✔" in text):
            problems.append(f"{platform} shown though not used")
        if used and covered and f"{platform} ✔" not in text:
            problems.append(f"{platform} not ticked though an earlier objection covered it")
        if used and not covered and f"{platform} ✔" in text:
            problems.append(f"{platform} ticked though no earlier objection covered it")
        if used and not covered and forms_here and form not in text:
            problems.append(f"{platform} form missing")
        if form in text and not forms_here:
            problems.append(f"{platform} form shown next to 'no comparable form'")
    # Not sure whether there is an account: the form, if the reader can log in.
    login_only = first.count(str(w["login_only"]))
    expected = sum(
        a.unsure(p) and a.open_before(p) and forms_here and a.linked != "yes"
        for p in ("facebook", "instagram")
    )
    if login_only != expected:
        problems.append(f"'only if you can log in' shown {login_only} times, expected {expected}")
    if (str(w["doubt_more"]) in text) != (forms_here and a.doubt()):
        problems.append(f"what an unsure account means shown: {str(w['doubt_more']) in text}")
    if not forms_here and any_open and str(w["no_form"]) not in text:
        problems.append("outside the EU/EEA without 'no comparable form'")
    if str(w["no_form"]) in text and not (not forms_here and any_open):
        problems.append("'no comparable form' inside the EU/EEA or with nothing open")
    if any(phrase in text for phrase in w["nothing"]):  # type: ignore[attr-defined]
        problems.append("says there is nothing to do")
    if not (a.facebook or a.instagram):
        needed = [str(w["no_form_for_you"])]
        needed += [str(w["ch"])] if a.country == "ch" else ["Art. 77", "Art. 21"]
        if not all(m in text for m in needed):
            problems.append("no account, but not told what they can do")
    if a.country == "ch" and ("Art. 21" in text or "Art. 77" in text):
        problems.append("GDPR articles for a reader in Switzerland")
    # Switzerland: whether Meta includes users there is unclear, first thing on the screen.
    if (str(w["swiss"]) in first) != (a.country == "ch" and any_open):
        problems.append(f"the Swiss caveat on the first screen: {str(w['swiss']) in first}")
    # Meta AI: a step only for readers who chat with it, saying what ticking it means.
    meta_box = "Meta AI ☐" in first
    if (a.meta_ai == "yes") != meta_box:
        problems.append("Meta AI step shown for the wrong answer")
    if meta_box and not any(t in first for t in w["meta_tick"]):  # type: ignore[attr-defined]
        problems.append("Meta AI step without what ticking it means")
    has_account = a.facebook or a.instagram
    if meta_box and (str(w["meta_covered"]) in first) != (has_account and forms_here):
        problems.append("Meta AI step: what the objection covers, for the wrong readers")
    if a.meta_ai != "no" and has_account and forms_here and "WhatsApp" not in text:
        problems.append("Meta AI without what is unsettled (WhatsApp)")
    if any(old in text for old in w["meta_old"]):  # type: ignore[attr-defined]
        problems.append("the old, inaccurate Meta AI wording")
    if a.meta_ai == "unsure" and str(w["meta_unsure"]) not in text:
        problems.append("'not sure' about Meta AI without what follows")
    both_covered = a.covered_before("facebook") and a.covered_before("instagram")
    wants_both = a.linked == "unsure" and forms_here and not both_covered and not a.doubt()
    if wants_both and str(w["both"]) not in text:
        problems.append("'not sure' about linked accounts without 'object on both'")
    if str(w["both"]) in text and not wants_both:
        problems.append("'object on both' though both are ticked or the accounts are not in doubt")
    # Linked, one covered by an earlier objection: the other open, and probably covered too.
    one_covered = a.covered_before("facebook") != a.covered_before("instagram")
    probably = a.linked == "yes" and forms_here and a.country != "ch" and one_covered
    if (str(w["probably"]) in text) != probably:
        problems.append(f"'probably covered' shown: {str(w['probably']) in text}")
    if (
        a.objected == "unsure"
        and forms_here
        and a.country != "ch"
        and (a.facebook or a.instagram)
        and not a.doubt()
        and str(w["object_now"]) not in text
    ):
        problems.append("'not sure' about an earlier objection without 'object now'")
    return problems


def check_buttons(a: Answers, reply: Reply) -> list[str]:
    """The checklist's ticks: Meta AI only for readers who chat with it."""
    ticks = {o.label for o in reply.options if "Meta AI" in o.label}
    if bool(ticks) != (a.meta_ai == "yes"):
        return [f"Meta AI tick offered: {ticks}"]
    return []


def check_one_ticked(a: Answers, text: str, ticked: str, w: dict[str, object]) -> list[str]:
    """After sending only the ``ticked`` platform's form: the other is ticked only if an earlier
    objection covered it, never through "linked"; linked, it is open with "probably covered"."""
    problems = []
    other = "instagram" if ticked == "facebook" else "facebook"
    name = other.capitalize()
    open_other = a.open_before(other)
    if open_other and f"{name} ✔" in text:
        problems.append(f"{name} ticked after sending only the {ticked} form")
    if open_other and f"{name} ☐" not in text:
        problems.append(f"{name} not open after sending only the {ticked} form")
    probably = a.linked == "yes" and open_other and a.country != "ch"
    if (str(w["probably"]) in text) != probably:
        problems.append(f"'probably covered' after the {ticked} form: {str(w['probably']) in text}")
    if str(w["both"]) in text and not (a.linked == "unsure" and open_other):
        problems.append(f"'object on both' after the {ticked} form though nothing is in doubt")
    if (str(w["doubt_more"]) in text) != a.doubt((f"done_{ticked}",)):
        problems.append(f"what an unsure account means, after the {ticked} form")
    return problems


def check_ticked(a: Answers, text: str, ticked_now: list[str], w: dict[str, object]) -> list[str]:
    problems = []
    for platform, used in (("Facebook", a.facebook), ("Instagram", a.instagram)):
        done = f"done_{platform.lower()}" in ticked_now
        expected = used and (a.covered_before(platform.lower()) or done)
        if used and a.country != "other" and f"{platform} ✔" not in text:
            problems.append(f"{platform} still open after ticking everything")
        if (f"{platform} ✔" in text) != expected:
            problems.append(f"{platform} ✔ is {f'{platform} ✔' in text}, expected {expected}")
    if str(w["both"]) in text or str(w["probably"]) in text:
        problems.append("'object on both' or 'probably covered' after ticking everything")
    if a.country != "other" and (str(w["login_only"]) in text or str(w["doubt_more"]) in text):
        problems.append("'not sure about an account' after ticking everything")
    if str(w["swiss"]) in text:
        problems.append("the Swiss caveat after ticking everything")
    return problems


def check_next(a: Answers, text: str, w: dict[str, object], *, submitted: bool) -> list[str]:
    problems = []
    if (str(w["mail"]) in text) != submitted:
        problems.append(
            f"confirmation mail mentioned: {str(w['mail']) in text}, submitted {submitted}"
        )
    if (str(w["fb_tip"]) in text) != a.facebook:
        problems.append("Facebook tip for the wrong people")
    if str(w["eu_only"]) in text:
        problems.append("says a GDPR complaint needs living in the EU")
    authority = {
        "de": ("HmbBfDI", str(w["state_dpa"])),
        "at": ("dsb.gv.at",),
        "ch": (str(w["ch"]),),
        "eu": (str(w["art77"]), "Art. 77"),
        "other": (str(w["art77"]), "Art. 77"),
    }
    for country, marks in authority.items():
        for mark in marks:
            if country == a.country and mark not in text:
                problems.append(f"complaint for {country} lacks {mark!r}")
    if a.country != "de" and "HmbBfDI" in text:
        problems.append("German authority for a reader outside Germany")
    if a.country != "at" and "dsb.gv.at" in text:
        problems.append("Austrian authority for a reader outside Austria")
    if a.country != "ch" and str(w["ch"]) in text:
        problems.append("Swiss authority for a reader outside Switzerland")
    # A complaint only once Meta refuses or doesn't answer, for everyone (facts §12.0, §12.8).
    if str(w["refuses"]) not in text:
        problems.append("the complaint is not under 'if Meta refuses or doesn't answer'")
    if any(u in text for u in w["unconditional"]):  # type: ignore[attr-defined]
        problems.append("a complaint with no condition")
    # Without an account: what applies instead (facts §2.6, §7).
    told = str(w["what_applies"]) in text
    if told != (not (a.facebook or a.instagram) and a.country != "ch"):
        problems.append(f"what a reader without an account can do: {told}")
    if not (a.facebook or a.instagram) and str(w["no_form_for_you"]) not in text:
        problems.append("no account, but 'what next' does not say there is no form for them")
    earlier = a.objected in ("facebook", "instagram", "both")
    if earlier and str(w["earlier"]) not in text:
        problems.append("an earlier objection is not mentioned")
    everything_covered = (not a.facebook or a.covered_before("facebook")) and (
        not a.instagram or a.covered_before("instagram")
    )
    if earlier and everything_covered and str(w["not_back"]) in text:
        problems.append("a late objection's effect contradicts the earlier objection")
    return problems


def check_deadline(a: Answers, reply: Reply, *, submitted: bool) -> list[str]:
    """How long Meta has to answer is one tap away for a reader who objected somewhere."""
    objected = submitted or a.objected in ("facebook", "instagram", "both")
    offered = any(o.id == "response-deadline" for o in reply.options)
    if offered != objected:
        return [f"response-deadline offered: {offered}, objected somewhere: {objected}"]
    return []


def plain(markup: str) -> str:
    return to_plain(LINK.sub(r"\g<label>", markup))


def check_own_country(a: Answers, text: str, content: Content, lang: str) -> list[str]:
    """The reader's own country: its authority, its complaint route and the button to its
    answer; no other country's authority."""
    problems = []
    text = plain(text)
    for code, row in content.rows.items():
        authority = plain(row["authority"][lang]).strip()
        route = plain(row["complaint"][lang]).strip()
        if code == a.country and code != "ch":
            if authority not in text:
                problems.append(f"{code}: authority {authority[:30]!r}… not named")
            if route and route not in text:
                problems.append(f"{code}: complaint route {route[:30]!r}… not given")
        elif code != a.country and authority in text:
            problems.append(f"{code}'s authority shown for a reader in {a.country}")
    return problems


def test_the_table_covers_every_country(content: Content) -> None:
    assert tuple(content.rows) == ROWS
    assert content.meta.variables["country"].values == (*ROWS, "eu", "other")


def test_every_country_button_leads_to_its_own_answer(engine: Engine, content: Content) -> None:
    for lang in ("de", "en"):
        for code in ROWS:
            answers = Answers(True, False, None, "none", "no", code)
            journey = walk_to_checklist(engine, content, lang, answers)
            journey.go("objection-next")
            reply = journey.go(f"country-{code}")
            assert content.rows[code]["name"][lang] in reply.text


def test_the_table_covers_every_answer() -> None:
    # Accounts: both may exist (4 ways) x linked (3) x objected (5), one only (2 x 2 ways) x
    # objected (3), none (1); then Meta AI (3) x the 13 countries.
    assert len(COMBINATIONS) == (4 * 3 * 5 + 4 * 3 + 1) * 3 * 13
    assert {(a.facebook, a.facebook_unsure) for a in COMBINATIONS} == set(ACCOUNT.values())
    assert {(a.instagram, a.instagram_unsure) for a in COMBINATIONS} == set(ACCOUNT.values())
    assert {a.objected for a in COMBINATIONS} == {
        None,
        "none",
        "facebook",
        "instagram",
        "both",
        "unsure",
    }
    assert {a.linked for a in COMBINATIONS} == {None, "yes", "no", "unsure"}


# -- the harmful answers of issue 16, one test each -----------------------------------------


def ask(engine: Engine, question: str, lang: str = "de") -> Reply:
    state, _ = engine.handle(None, Text(text=f"/lang {lang}"), NOW)
    _, actions = engine.handle(state, Text(text=question), NOW)
    return [a for a in actions if isinstance(a, Reply)][-1]


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Sammelklage", "de"),
        ("kann ich mich einer Sammelklage anschließen", "de"),
        ("Gibt es eine Sammelklage gegen Meta?", "de"),
        ("class action against meta", "en"),
    ],
)
def test_h0_a_class_action_people_can_join_is_named(
    engine: Engine, question: str, lang: str
) -> None:
    text = ask(engine, question, lang).text
    assert "SOMI" in text
    assert (
        ("Bundesamt für Justiz" in text) if lang == "de" else ("Federal Office of Justice" in text)
    )
    assert ("kostenlos" in text) if lang == "de" else ("for free" in text)
    assert "keine Sammelklage" not in text and "no class action against Meta" not in text


@pytest.mark.parametrize("node_id", ["representation", "damages", "current-status", "class-action"])
def test_h0_no_answer_denies_the_class_action(content: Content, node_id: str) -> None:
    for lang in ("de", "en"):
        text = content.answer(content.nodes[node_id], lang, NOW.date())
        assert "SOMI" in text
        assert "Verbandsklageregister" in text or "Federal Office of Justice" in text
        assert "keine Sammelklage" not in text
        assert "no class action against Meta over the AI training is known" not in text
        # A deadline or case number is not verified: the register shows it.
        assert not re.search(r"Az\.|case number [A-Z0-9]", text)


def test_h1_an_objection_on_facebook_does_not_tick_instagram(
    engine: Engine, content: Content
) -> None:
    answers = Answers(True, True, "no", "facebook", "no", "de")
    checklist = walk_to_checklist(engine, content, "de", answers).full_text()
    assert "Facebook ✔" in checklist
    assert "Instagram ✔" not in checklist
    assert "Instagram ☐" in checklist and IG_FORM in checklist
    assert "keinen weiteren Antrag" not in checklist


def test_h2_without_facebook_and_instagram_there_is_still_something_to_do(
    engine: Engine, content: Content
) -> None:
    answers = Answers(False, False, None, None, "no", "de")
    checklist = walk_to_checklist(engine, content, "de", answers).full_text()
    assert "nichts zu widersprechen" not in checklist
    assert "Fotos anderer von dir" in checklist
    assert "Art. 21, 17, 15" in checklist and "Art. 77" in checklist


def test_h3_a_complaint_is_open_where_you_live_work_or_the_infringement_happened(
    engine: Engine, content: Content
) -> None:
    answers = Answers(True, False, None, "none", "no", "other")
    journey = walk_to_checklist(engine, content, "de", answers)
    journey.go("objection-next")
    after = journey.full_text()
    assert "nur offen, wenn du in der EU wohnst" not in after
    assert "wohnst, arbeitest oder in dem der Verstoß stattfand" in after
    country = content.nodes["objection-country"]
    labels = [o.label["de"] for o in country.options if o.label]
    assert any("EWR" in label for label in labels), labels


# -- linked accounts, in every language ------------------------------------------------------

LANGS = ("de", "en", "fr", "es", "it", "nl", "pl")


def checklist_block(content: Content, lang: str, condition_start: str, *, has: str = "") -> str:
    """The plain text of the checklist's block whose condition starts with ``condition_start``
    (and whose German text contains ``has``), as a reader of ``lang`` sees it."""
    found = [
        b
        for b in content.nodes["objection-checklist"].blocks
        if b.when.startswith(condition_start) and has in b.text["de"]
    ]
    assert len(found) == 1, [b.when for b in found]
    return plain(found[0].text[lang]).strip()


@pytest.mark.parametrize("lang", LANGS)
def test_not_sure_whether_linked_says_nothing_once_both_are_ticked(
    engine: Engine, content: Content, lang: str
) -> None:
    both = checklist_block(content, lang, "linked == unsure")
    # it: checklist | si | si ce l'ho | boh non so | su tutti e due | no mai usata | italia
    answers = Answers(True, True, "unsure", "both", "no", "it")
    checklist = plain(walk_to_checklist(engine, content, lang, answers).full_text())
    assert "Facebook ✔" in checklist and "Instagram ✔" in checklist
    assert both not in checklist
    # One of them open: still "object on both".
    answers = Answers(True, True, "unsure", "facebook", "no", "it")
    checklist = plain(walk_to_checklist(engine, content, lang, answers).full_text())
    assert both in checklist


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("objected", "send"), [("none", "done_facebook"), ("facebook", None)])
def test_linked_accounts_tick_only_what_was_objected(
    engine: Engine, content: Content, lang: str, objected: str, send: str | None
) -> None:
    # de: 3 / 1 / 1 / 1 / 4 / 2 / 1 / 1 (linked, never objected, sends the Facebook form), and
    # linked with an earlier objection for Facebook only.
    journey = walk_to_checklist(
        engine, content, lang, Answers(True, True, "yes", objected, "no", "de")
    )
    if send is not None:
        assert journey.tick(send)
    checklist = journey.full_text()
    note = checklist_block(content, lang, "uses_instagram and not", has="Verbraucherzentrale")
    assert "Facebook ✔" in checklist
    assert "Instagram ✔" not in checklist and "Instagram ☐" in checklist
    assert IG_FORM in checklist
    assert note in plain(checklist)
    assert ("UODO" in note) == (lang == "pl")
    # The Instagram button is still there, and ticking it ticks Instagram.
    assert journey.tick("done_instagram")
    assert "Instagram ✔" in journey.full_text()
    assert note not in plain(journey.full_text())


# -- what comes next, in every language ------------------------------------------------------

REFUSES = {
    "de": "falls Meta ablehnt oder nicht antwortet",
    "en": "if Meta refuses or doesn't answer",
    "fr": "si Meta refuse ou ne répond pas",
    "es": "si Meta se niega o no responde",
    "it": "se Meta rifiuta o non risponde",
    "nl": "als Meta weigert of niet antwoordt",
    "pl": "jeśli Meta odmówi lub nie odpowie",
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("answers", "tick"),
    [
        # de: 3 / 2 / 2 / 1 / 1 / 1 / 1 (no account, Meta AI done); fr: ma liste / 2 / 2 / 2 / 2
        (Answers(False, False, None, None, "yes", "de"), "done_meta_ai"),
        (Answers(False, False, None, None, "no", "be"), None),
        # pl: lista / nie / nie / nie / Polska: no account, no complaint without a refusal
        (Answers(False, False, None, None, "no", "pl"), None),
        (Answers(False, False, None, None, "no", "ch"), None),
        (Answers(False, False, None, None, "no", "other"), None),
        (Answers(True, False, None, "none", "no", "pl"), None),
        (Answers(True, True, "no", "unsure", "yes", "eu"), None),
        (Answers(True, False, None, "none", "no", "it"), "done_facebook"),
        (Answers(True, True, "yes", "instagram", "no", "eu"), None),
        (Answers(True, False, None, "none", "no", "ch"), None),
        (Answers(True, False, None, "none", "no", "other"), None),
    ],
)
def test_what_next_puts_a_complaint_only_after_a_refusal_and_the_deadline_after_an_objection(
    engine: Engine, content: Content, lang: str, answers: Answers, tick: str | None
) -> None:
    journey = walk_to_checklist(engine, content, lang, answers)
    if tick is not None:
        assert journey.tick(tick)
    journey.go("objection-next")
    text = journey.full_text()
    # Every reader: a complaint only if Meta refuses or doesn't answer (facts §12.0, §12.8).
    assert REFUSES[lang] in text
    row = content.rows.get(answers.country)
    if row is not None and answers.country != "ch":
        authority = plain(row["authority"][lang]).strip()
        named = [line for line in plain(text).split("\n") if authority in line]
        assert named and all(REFUSES[lang] in line for line in named), named
    # Without an account: what applies instead (facts §2.6, §7), not only a complaint.
    no_account = not (answers.facebook or answers.instagram)
    assert ("21, 17, 15" in text) == (no_account and answers.country != "ch")
    assert "Skarga (art. 77 RODO). Przyjmuje" not in text
    assert check_deadline(answers, journey.reply, submitted=tick == "done_facebook") == []
    assert check_own_country(answers, text, content, lang) == []
    if answers.country in ("eu", "other"):
        assert "77" in text


# -- answers typed in words ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "facebook", "instagram", "objected"),
    [
        ("al gedaan", True, False, "facebook"),
        ("heb ik al gedaan", False, True, "instagram"),
        ("al gedaan, voor allebei", True, True, "both"),
        ("nooit", True, False, "none"),
    ],
)
def test_dutch_already_done_answers_objected_before(
    engine: Engine, content: Content, text: str, facebook: bool, instagram: bool, objected: str
) -> None:
    journey = Journey(engine, content, "nl")
    wanted = Answers(
        facebook, instagram, "no" if facebook and instagram else None, None, "no", "nl"
    )
    while journey.reply.node != "objection-before":
        journey.answer(wanted.wanted())
    journey.reply = journey._send(Text(text=text))
    assert journey.reply.node == "objection-whatsapp"
    assert journey.state is not None
    assert dict(journey.state.variables)["objected"] == objected


@pytest.mark.parametrize(
    ("lang", "text", "facebook"),
    [
        ("it", "non ho facebook", False),
        ("it", "non ho fb", False),
        ("it", "sì ce l'ho", True),
        ("fr", "je n'ai pas facebook", False),
        ("fr", "j'ai pas fb", False),
        ("fr", "oui j'ai facebook", True),
        # An account that is not used is an account: its old public posts count too.
        ("it", "si ma non lo uso da anni", True),
        ("it", "non lo uso piu ma c e", True),
        ("fr", "oui mais je ne m'en sers plus", True),
    ],
)
def test_a_denial_that_names_the_app_is_a_no(
    engine: Engine, content: Content, lang: str, text: str, facebook: bool
) -> None:
    journey = Journey(engine, content, lang)
    journey.reply = journey._send(Text(text=text))
    assert journey.reply.node == "objection-instagram"
    assert journey.state is not None
    assert dict(journey.state.variables)["uses_facebook"] == str(facebook).lower()
    # Not sure, in words, is not a no.
    unsure = {"it": "non saprei", "fr": "je ne sais pas"}[lang]
    assert typed.meaning(unsure, lang) == "unsure"


@pytest.mark.parametrize(
    ("lang", "text", "facebook", "instagram", "asked_next"),
    [
        # One message answers both account questions where it says so.
        ("de", "nur insta", False, True, "objection-before"),
        ("de", "nur facebook", True, False, "objection-before"),
        ("de", "facebook und insta", True, True, "objection-accounts"),
        ("de", "nur whatsapp", False, False, "objection-whatsapp"),
        ("en", "only insta", False, True, "objection-before"),
        ("es", "solo insta", False, True, "objection-before"),
        ("pl", "tylko insta", False, True, "objection-before"),
        # Instagram is asked where the message does not say it, or denies anything.
        ("de", "ja", True, None, "objection-instagram"),
        ("de", "facebook", True, None, "objection-instagram"),
        ("de", "kein facebook aber insta", False, None, "objection-instagram"),
        ("en", "no facebook, only insta", False, None, "objection-instagram"),
    ],
)
def test_one_message_answers_both_account_questions_only_where_it_says_both(
    engine: Engine,
    content: Content,
    lang: str,
    text: str,
    facebook: bool,
    instagram: bool | None,
    asked_next: str,
) -> None:
    journey = Journey(engine, content, lang)
    journey.reply = journey._send(Text(text=text))
    assert journey.reply.node == asked_next
    assert journey.state is not None
    said = dict(journey.state.variables)
    assert said["uses_facebook"] == str(facebook).lower()
    if instagram is not None:
        assert said["uses_instagram"] == str(instagram).lower()
    # The answer carried over is a step of its own: Back returns to the question it answered.
    journey.reply = journey._send(Text(text="/back"))
    assert journey.reply.node == ("objection-instagram" if instagram is not None else "objection")


@pytest.mark.parametrize(
    ("lang", "no_facebook", "no_instagram", "no_meta_ai"),
    [
        ("pl", "Nie mam Facebooka", "Nie mam Instagrama", "Nie używam Meta AI"),
        ("it", "Non ho Facebook", "Non ho Instagram", "Non uso Meta AI"),
    ],
)
def test_the_no_buttons_read_as_people_say_it(
    engine: Engine,
    content: Content,
    lang: str,
    no_facebook: str,
    no_instagram: str,
    no_meta_ai: str,
) -> None:
    journey = Journey(engine, content, lang)
    labels = [o.label for o in journey.reply.options]
    assert no_facebook in labels
    journey.answer({"uses_facebook": "true"})
    assert no_instagram in [o.label for o in journey.reply.options]
    journey.answer({"uses_instagram": "false"})
    if lang == "pl":
        assert "Czy składałeś/-aś już sprzeciw" in journey.reply.text
        assert "masz już za sobą" not in journey.reply.text
    journey.answer({"objected": "none"})
    assert no_meta_ai in [o.label for o in journey.reply.options]


def test_the_polish_reason_text_says_training(content: Content) -> None:
    node = content.nodes["objection-reason-text"]
    assert "do trenowania SI w Meta" in node.text["pl"]
    assert "przez SI" not in node.text["pl"]
    never = next(b for b in node.blocks if b.when == "reason_never_agreed")
    assert never.text["pl"] == "Nigdy nie wyraziłem/-am na to zgody."
    labels = [o.label["pl"] for o in content.nodes["objection-reason"].options if o.label]
    assert "Nigdy nie wyraziłem/-am zgody" in labels
    assert not any("nie było mojej zgody" in label for label in labels)


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "facebook erledigt? was heißt das"), ("en", "what does facebook done mean")],
)
def test_a_question_about_a_button_ticks_nothing(
    engine: Engine, content: Content, lang: str, text: str
) -> None:
    journey = walk_to_checklist(
        engine, content, lang, Answers(True, False, None, "none", "no", "de")
    )
    journey.reply = journey._send(Text(text=text))
    assert journey.state is not None
    assert dict(journey.state.variables).get("done_facebook") in (False, "false", None)
    assert "Facebook ✔" not in journey.reply.text


@pytest.mark.parametrize(
    ("lang", "text", "country"),
    [
        # Countries without a row of their own, and the answers for readers outside.
        ("en", "portugal", "eu"),
        ("en", "i live in malta", "eu"),
        ("de", "tschechien", "eu"),
        ("en", "usa", "other"),
        ("en", "uk", "other"),
        ("en", "outside the eu", "other"),
        ("de", "außerhalb der eu", "other"),
        ("en", "another eu country", "eu"),
        ("de", "anderes land in der eu", "eu"),
        ("fr", "autre pays de l'UE", "eu"),
    ],
)
def test_where_the_reader_lives_in_words_without_a_row(
    engine: Engine, content: Content, lang: str, text: str, country: str
) -> None:
    journey = walk_to_checklist(
        engine, content, lang, Answers(True, False, None, "none", "no", "de"), "objection-country"
    )
    journey.reply = journey._send(Text(text=text))
    assert journey.reply.node == "objection-checklist"
    assert journey.state is not None
    assert dict(journey.state.variables)["country"] == country


# -- not sure whether there is an account, in every language ----------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_not_sure_about_a_facebook_account_shows_its_form_for_when_one_can_log_in(
    engine: Engine, content: Content, lang: str
) -> None:
    # it: checklist / non lo so / no / mai / no / Italia
    answers = Answers(True, False, None, "none", "no", "it", facebook_unsure=True)
    journey = walk_to_checklist(engine, content, lang, answers)
    first = journey.first_screen()
    box = checklist_block(content, lang, "uses_facebook and unsure_facebook")
    assert box in first and FB_FORM in journey.reply.text
    assert "Instagram" not in first
    # Behind "More": an old account counts, and without one there is no form.
    doubt = checklist_block(content, lang, "country != other and linked != yes")
    assert doubt in plain(journey.full_text())
    # Sending it ticks Facebook, and the doubt is gone.
    assert journey.tick("done_facebook")
    done = plain(journey.full_text())
    assert "Facebook ✔" in done and box not in done and doubt not in done


@pytest.mark.parametrize("lang", LANGS)
def test_not_sure_about_both_accounts_asks_whether_they_are_linked(
    engine: Engine, content: Content, lang: str
) -> None:
    journey = Journey(engine, content, lang)
    wanted = Answers(
        True, True, "unsure", "none", "no", "pl", facebook_unsure=True, instagram_unsure=True
    ).wanted()
    asked = []
    while journey.reply.node != "objection-checklist":
        asked.append(journey.reply.node)
        journey.answer(wanted)
    assert asked[:4] == [
        "objection",
        "objection-instagram",
        "objection-accounts",
        "objection-before",
    ]
    first = journey.first_screen()
    assert FB_FORM in journey.reply.text and IG_FORM in journey.reply.text
    assert checklist_block(content, lang, "uses_instagram and unsure_instagram") in first
    # "Linked" says there is an account: the forms without the doubt.
    linked = Answers(
        True, True, "yes", "none", "no", "pl", facebook_unsure=True, instagram_unsure=True
    )
    first = walk_to_checklist(engine, content, lang, linked).first_screen()
    assert checklist_block(content, lang, "uses_facebook and unsure_facebook") not in first


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("pl", "nie wiem"),
        ("pl", "chyba tak"),
        ("it", "non lo so"),
        ("it", "boh forse"),
        ("de", "weiß nicht"),
        ("en", "not sure"),
        ("fr", "je ne sais pas"),
        ("nl", "weet ik niet"),
        ("es", "No lo sé"),
    ],
)
def test_not_knowing_typed_at_the_account_questions_is_not_a_no(
    engine: Engine, content: Content, lang: str, said: str
) -> None:
    journey = Journey(engine, content, lang)
    journey.reply = journey._send(Text(text=said))
    assert journey.reply.node == "objection-instagram"
    journey.reply = journey._send(Text(text=said))
    # Both may exist: whether they are linked is asked next.
    assert journey.reply.node == "objection-accounts"
    assert journey.state is not None
    kept = dict(journey.state.variables)
    assert kept["uses_facebook"] == kept["unsure_facebook"] == "true"
    assert kept["uses_instagram"] == kept["unsure_instagram"] == "true"


# -- the Meta AI step, in every language -------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_meta_ai_step_says_what_the_objection_covers_and_what_ticking_means(
    engine: Engine, content: Content, lang: str
) -> None:
    # it: checklist / sì / no / mai / chatto con Meta AI / Italia
    journey = walk_to_checklist(
        engine, content, lang, Answers(True, False, None, "none", "yes", "it")
    )
    box = checklist_block(content, lang, "meta_ai == yes and not done_meta_ai and (uses")
    assert box in journey.first_screen() and "WhatsApp" in box
    details = checklist_block(content, lang, "meta_ai != no and (uses")
    assert details in plain(journey.full_text()) and "WhatsApp" in details
    assert journey.tick("done_meta_ai")
    assert "Meta AI ✔" in journey.full_text()
    # Not sure whether they chat with Meta AI: what counts, and no step to tick.
    unsure = walk_to_checklist(
        engine, content, lang, Answers(True, False, None, "none", "unsure", "it")
    )
    assert "Meta AI ☐" not in unsure.full_text()
    assert not any("Meta AI" in o.label for o in unsure.reply.options)
    assert details in plain(unsure.full_text())


def test_the_old_meta_ai_wording_is_gone(content: Content) -> None:
    checklist = content.nodes["objection-checklist"]
    texts = [b.text["it"] for b in checklist.blocks]
    assert not any("le fonti non concordano sul fatto che l'opposizione copra" in t for t in texts)
    assert not any(
        "sources differ on whether the objection also covers" in b.text["en"]
        for b in checklist.blocks
    )


# -- Switzerland, in every language --------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_switzerland_says_first_that_it_is_unclear_whether_meta_includes_it(
    engine: Engine, content: Content, lang: str
) -> None:
    # it: checklist / sì / no / mai / no / vivo in svizzera, a lugano
    journey = walk_to_checklist(
        engine, content, lang, Answers(True, False, None, "none", "no", "ch")
    )
    first = journey.first_screen()
    swiss = checklist_block(content, lang, "country == ch and")
    assert first.index(swiss) < first.index("Facebook ☐")
    assert FB_FORM in journey.reply.text
    # The same as the page on countries outside the EU: it is not clear from the sources.
    assert "2026" in swiss
    # Without an account: no GDPR articles, the Swiss authority.
    none = walk_to_checklist(engine, content, lang, Answers(False, False, None, None, "no", "ch"))
    text = none.full_text()
    assert swiss not in plain(text)
    assert "21, 17, 15" not in text and "77" not in text
    assert any(code in text for code in ("EDÖB", "FDPIC", "PFPDT", "IFPDT"))


# -- wording readers reported ------------------------------------------------------------------


def test_the_reported_italian_and_polish_wording(content: Content) -> None:
    nodes = content.nodes
    assert "conservo solo le tue scelte" in nodes["objection"].text["it"].casefold()
    assert "segni" not in nodes["objection"].text["it"]
    assert "segni" not in nodes["objection-reason"].text["it"]
    before = nodes["objection-before"].blocks[0].text["it"]
    assert before.startswith("Se sì, per quale account?")
    ticked = [b.text["it"] for b in nodes["objection-checklist"].blocks]
    assert any(
        "ho spuntato solo gli account per cui ti sei opposto/a" in t.casefold() for t in ticked
    )
    assert not any("è spuntato solo ciò" in t for t in ticked)
    assert "Czy rozmawiasz z Meta AI" in nodes["objection-whatsapp"].text["pl"]
    labels = [o.label["pl"] for o in nodes["objection-whatsapp"].options if o.label]
    assert "Rozmawiam z Meta AI" in labels and "Piszę z Meta AI" not in labels
    polish = [
        b.text["pl"] for n in nodes.values() if n.id.startswith("objection") for b in n.blocks
    ]
    polish += [n.text["pl"] for n in nodes.values() if n.id.startswith("objection")]
    assert not any("W turze z 2025" in t or "W formularzu z 2025" in t for t in polish)
    assert any("zrób zrzut ekranu po wysłaniu" in t for t in polish)
    assert not any("zachowaj" in t and "zrzut" in t for t in polish)
    # Meta's Polish interface says "SI" for the technology; "Meta AI" is the product's name.
    assert not any(re.search(r"(?<!Meta )\bAI\b", t.replace("@Meta AI", "")) for t in polish)


@pytest.mark.parametrize(("lang", "text"), [("de", "anderes land"), ("en", "eea")])
def test_words_of_both_elsewhere_buttons_store_neither(
    engine: Engine, content: Content, lang: str, text: str
) -> None:
    # "anderes land", "eea": the page for readers outside the EU shares them with the button
    # for other EU countries; storing "outside" would drop the forms from the list.
    journey = walk_to_checklist(
        engine, content, lang, Answers(True, False, None, "none", "no", "de"), "objection-country"
    )
    journey.reply = journey._send(Text(text=text))
    assert journey.state is not None
    assert dict(journey.state.variables).get("country") != "other"


@pytest.mark.parametrize(("lang", "text"), [("it", "no"), ("it", "sì"), ("en", "no")])
def test_yes_or_no_at_the_reason_builder_picks_no_reason(
    engine: Engine, content: Content, lang: str, text: str
) -> None:
    # "no" ticked "✔ I never agreed to this" (its label reads as a no), and "sì" was told to
    # type "Instagram" or "both": the reasons are choices, not a yes/no question.
    journey = Journey(engine, content, lang)
    journey.reply = journey._send(Text(text="/start objection-reason"))
    journey.reply = journey._send(Text(text=text))
    assert journey.reply.node == "objection-reason"
    assert "✔" not in "".join(o.label for o in journey.reply.options)
    assert journey.reply.text.startswith(content.string("guided_hint_choice", lang))
