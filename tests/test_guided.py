"""The guided objection checklist: conditions, check rules, and whole journeys.

Journeys run on the shipped content and assert hand-written phrases, checklist marks and
form ids, never texts the engine computed.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.tree import EXTRA, META, write_tree

from bot.content import Content, load_content
from bot.content.conditions import ConditionError, parse
from bot.content.loader import ContentError
from bot.engine import Engine
from bot.events import Choice, Reply, Text
from bot.runtime import Conversation, Runtime
from bot.state import SessionState
from bot.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
TTL = dt.timedelta(days=30)
FB_FORM = "https://www.facebook.com/help/contact/712876720715583"
IG_FORM = "https://help.instagram.com/contact/767264225370182"
THIRD_PARTY_FORM = "1266025207620918"


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content, session_ttl=TTL)


class Walk:
    """One user's conversation with the engine, one message or button at a time."""

    def __init__(self, engine: Engine, *, group: bool = False) -> None:
        self.engine = engine
        self.state: SessionState | None = None
        self.reply: Reply | None = None
        self.group = group

    def say(self, text: str) -> Reply:
        self.state, actions = self.engine.handle(self.state, Text(text=text, group=self.group), NOW)
        self.reply = [a for a in actions if isinstance(a, Reply)][-1]
        return self.reply

    def tap(self, label: str) -> Reply:
        """Press the button labelled ``label`` on the last reply."""
        assert self.reply is not None
        ids = [o.id for o in self.reply.options if o.label == label]
        assert ids, f"no button {label!r} in {[o.label for o in self.reply.options]}"
        self.state, actions = self.engine.handle(self.state, Choice(option=ids[0]), NOW)
        self.reply = [a for a in actions if isinstance(a, Reply)][-1]
        return self.reply

    def labels(self) -> list[str]:
        assert self.reply is not None
        return [o.label for o in self.reply.options]


# -- conditions --------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    cond = parse("a or b and c")
    assert cond.holds({"a": "true"})
    assert not cond.holds({"b": "true"})
    assert cond.holds({"b": "true", "c": "true"})


def test_not_parentheses_and_comparisons() -> None:
    cond = parse("not (a and b) and country == at")
    assert cond.holds({"a": "true", "country": "at"})
    assert not cond.holds({"a": "true", "b": "true", "country": "at"})
    assert not cond.holds({"country": "de"})
    assert parse("country != at").holds({})
    assert not parse("a").holds({"a": "false"})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a and", "ends too early"),
        ("(a or b", r"'\)' is missing"),
        ("a b", "unexpected 'b'"),
        ("country ==", "value is missing"),
        ("__import__('os')", "cannot read"),
    ],
)
def test_bad_conditions_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ConditionError, match=says):
        parse(text)


# -- check -------------------------------------------------------------------------------

VARIABLES = """\
variables:
  uses_instagram:
    type: flag
    description: {de: "ob du Instagram nutzt", en: "whether you use Instagram"}
  country:
    type: choice
    values: [de, at]
    description: {de: "dein Land", en: "your country"}
"""


def guided_tree(tmp_path: Path, extra: str) -> Path:
    return write_tree(tmp_path, {"bot.yaml": META + VARIABLES, "nodes/50-extra.yaml": extra})


def problems(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(guided_tree(tmp_path, extra))
    return [str(p) for p in caught.value.problems]


EXTRA_WITH = EXTRA.replace(
    "  checked: 2025-05-01\n",
    "  checked: 2025-05-01\n  options:\n    - to: extra\n      {option}\n",
)


def test_check_accepts_a_tree_with_variables(tmp_path: Path) -> None:
    extra = EXTRA_WITH.replace("{option}", "if: uses_instagram and country == at") + (
        "    - to: start\n"
    )
    assert load_content(guided_tree(tmp_path, extra)).meta.variables["country"].values == (
        "de",
        "at",
    )


def test_check_names_an_unknown_variable_and_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, EXTRA_WITH.replace("{option}", "if: uses_instagramm"))
    assert any(
        p.startswith(str(tmp_path / "nodes/50-extra.yaml") + ":9:")
        and "unknown variable 'uses_instagramm'" in p
        and "did you mean 'uses_instagram'" in p
        for p in found
    ), found


def test_check_names_a_value_the_variable_cannot_hold(tmp_path: Path) -> None:
    found = problems(tmp_path, EXTRA_WITH.replace("{option}", "if: country == ch"))
    assert any("compares 'country' with 'ch'" in p and "use one of: de, at" in p for p in found)
    found = problems(tmp_path, EXTRA_WITH.replace("{option}", "set: {country: ch}"))
    assert any("sets 'country' to 'ch'" in p for p in found), found
    found = problems(tmp_path, EXTRA_WITH.replace("{option}", "set: {uses_instagram: maybe}"))
    assert any("sets flag 'uses_instagram' to 'maybe'" in p for p in found), found


def test_check_reports_a_condition_that_is_never_true(tmp_path: Path) -> None:
    found = problems(
        tmp_path, EXTRA_WITH.replace("{option}", "if: country == at and country == de")
    )
    assert any("can never be true" in p for p in found), found


def test_check_reports_a_condition_that_does_not_parse(tmp_path: Path) -> None:
    found = problems(tmp_path, EXTRA_WITH.replace("{option}", "if: (uses_instagram"))
    assert any("50-extra.yaml:9:" in p and "')' is missing" in p for p in found), found


def test_check_reports_a_checklist_state_with_no_way_forward(tmp_path: Path) -> None:
    # Shown only to Instagram users: someone who said "no Instagram" would be stuck.
    found = problems(tmp_path, EXTRA_WITH.replace("{option}", "if: uses_instagram"))
    assert any(
        "checklist node 'extra' shows none of its options when nothing set" in p for p in found
    ), found


def test_check_reports_a_dead_end_only_a_button_before_leads_into(tmp_path: Path) -> None:
    # "extra" works for a fresh session; only after "gate" set the flag (two steps before)
    # is nothing shown.
    extra = EXTRA_WITH.replace("{option}", "if: not uses_instagram") + (
        "- id: gate\n"
        "  title: {de: Tor, en: Gate}\n"
        '  text: {de: "TOR-DE", en: "GATE-EN"}\n'
        "  options:\n"
        "    - {to: hall, set: {uses_instagram: true}, label: {de: Ja, en: 'Yes'}}\n"
        "    - {to: hall, set: {country: at}, label: {de: AT, en: AT}}\n"
        "- id: hall\n"
        "  title: {de: Flur, en: Hall}\n"
        '  text: {de: "FLUR-DE", en: "HALL-EN"}\n'
        "  options:\n"
        "    - to: extra\n"
    )
    found = problems(tmp_path, extra)
    assert any(
        "checklist node 'extra' shows none of its options when uses_instagram=true" in p
        for p in found
    ), found


def test_a_dead_end_found_again_names_the_line_it_is_on_now(tmp_path: Path) -> None:
    # The search is skipped when the buttons did not change: its report must still point
    # at where the node is now.
    extra = EXTRA_WITH.replace("{option}", "if: uses_instagram")
    first = problems(tmp_path / "a", extra)
    moved = problems(tmp_path / "b", "# a comment\n# and another\n" + extra)
    said = "checklist node 'extra' shows none of its options when nothing set"
    assert any(
        p.startswith(str(tmp_path / "a" / "nodes/50-extra.yaml") + ":1:") and said in p
        for p in first
    ), first
    assert any(
        p.startswith(str(tmp_path / "b" / "nodes/50-extra.yaml") + ":3:") and said in p
        for p in moved
    ), moved


def test_shipped_content_declares_what_the_checklist_uses(content: Content) -> None:
    assert {"uses_facebook", "uses_instagram", "meta_ai", "objected", "country"} <= set(
        content.meta.variables
    )


# -- journeys on the engine --------------------------------------------------------------


def test_instagram_only_user_in_austria_de(engine: Engine) -> None:
    walk = Walk(engine)
    first = walk.say("/start objection")
    assert "Frage 1:" in first.text
    walk.tap("Kein Facebook-Konto")
    walk.tap("Ja, Instagram-Konto")
    walk.tap("Nie widersprochen")
    walk.tap("Kein Meta AI")
    checklist = walk.tap("Österreich")
    assert "Instagram ☐" in checklist.text
    assert IG_FORM in checklist.text
    assert FB_FORM not in checklist.text
    assert "Facebook" not in walk.labels()[0]
    done = walk.tap("Instagram erledigt")
    assert "Instagram ✔" in done.text
    assert "Instagram erledigt" not in walk.labels()
    after = walk.tap("Wie geht es weiter?")
    assert "dsb.gv.at" in after.text
    assert "Bestätigungsmail" in after.text
    assert "Spam" in after.text
    assert "27. Mai 2025" in after.text
    assert "für die Zukunft" in after.text
    assert "Hamburg" not in after.text


def test_linked_facebook_and_instagram_in_germany_objected_2024_en(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/lang en")
    walk.say("/start objection")
    walk.tap("Yes, a Facebook account")
    walk.tap("Yes, an Instagram account")
    walk.tap("Linked")
    walk.tap("Yes, for both")
    walk.tap("No Meta AI")
    checklist = walk.tap("Germany")
    assert "Facebook ✔" in checklist.text
    assert "Instagram ✔" in checklist.text
    assert "still counts" in checklist.text
    assert "Facebook done" not in walk.labels()
    after = walk.tap("What comes next?")
    assert "Hamburg" in after.text
    assert "federal state" in after.text


def test_linked_accounts_tick_only_the_objected_one_en(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/lang en")
    walk.say("walk me through it")
    walk.tap("Yes, a Facebook account")
    walk.tap("Yes, an Instagram account")
    walk.tap("Linked")
    walk.tap("Never objected")
    walk.tap("No Meta AI")
    checklist = walk.tap("Another EU/EEA country")
    assert "Facebook ☐" in checklist.text
    assert "Instagram ☐" in checklist.text
    done = walk.tap("Facebook done")
    assert "Facebook ✔" in done.text
    # Never ticked for the reader: probably covered, and objecting there too costs nothing.
    assert "Instagram ✔" not in done.text
    assert "Instagram ☐ – probably covered" in done.text
    assert "it costs nothing" in done.text and IG_FORM in done.text
    assert "Instagram done" in walk.labels()
    assert walk.tap("What comes next?").text.count("where you live, work") == 1


def test_whatsapp_only_user_who_chats_with_meta_ai_en(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/lang en")
    walk.say("/start objection")
    walk.tap("No Facebook account")
    walk.tap("No Instagram account")
    walk.tap("I chat with Meta AI")
    checklist = walk.tap("Germany")
    assert "Meta AI ☐" in checklist.text
    assert "as of December 2026 no form is confirmed" in checklist.text
    assert "deleting a chat takes nothing back" in checklist.text
    assert FB_FORM not in checklist.text and IG_FORM not in checklist.text
    assert "Write a reason" not in walk.labels()
    assert "Meta AI ✔" in walk.tap("Meta AI done").text


def test_non_user_whose_photos_others_post_de(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("hilf mir beim Widerspruch")
    assert walk.reply is not None and walk.reply.node == "objection"
    walk.tap("Kein Facebook-Konto")
    walk.tap("Kein Instagram-Konto")
    walk.tap("Kein Meta AI")
    checklist = walk.tap("Deutschland")
    assert "nichts zu widersprechen" not in checklist.text
    assert "kein Formular für dich" in checklist.text
    assert "Art. 77 DSGVO" in checklist.text
    assert "☐" not in checklist.text.split("_Quellen:")[0].replace("(☐ offen", "")
    others = walk.tap("Fotos, die andere von mir posten")
    assert THIRD_PARTY_FORM in others.text
    assert "Screenshot" in others.text
    assert "nur für dein eigenes Konto" in others.text


def test_outside_the_eu_says_there_is_no_comparable_form_en(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/lang en")
    walk.say("/start objection")
    walk.tap("Yes, a Facebook account")
    walk.tap("No Instagram account")
    walk.tap("Never objected")
    walk.tap("No Meta AI")
    checklist = walk.tap("Outside the EU/EEA")
    assert "only the UK and perhaps a few other regions have an objection form" in checklist.text
    assert FB_FORM not in checklist.text


def test_reason_text_is_built_from_the_choices_and_only_marks_are_kept(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/lang en")
    walk.say("/start objection")
    walk.tap("Yes, a Facebook account")
    walk.tap("No Instagram account")
    walk.tap("Never objected")
    walk.tap("No Meta AI")
    walk.tap("Germany")
    walk.tap("Write a reason")
    walk.tap("My photos show my children")
    walk.tap("I am a photographer and hold the rights")
    chosen = walk.tap("I never agreed to this")
    # Each reason keeps its place, marked when picked; tapping a marked one takes it back.
    assert walk.labels()[:3] == [
        "✔ My photos show my children",
        "✔ I am a photographer and hold the rights",
        "✔ I never agreed to this",
    ]
    assert chosen.node == "objection-reason"
    walk.tap("✔ I am a photographer and hold the rights")
    assert walk.labels()[:3] == [
        "✔ My photos show my children",
        "I am a photographer and hold the rights",
        "✔ I never agreed to this",
    ]
    text = walk.tap("Show the text").text
    assert "Under Art. 21 GDPR I object" in text
    assert "My photos show my children, who cannot consent themselves." in text
    assert "I never agreed to this use." in text
    assert "photographer" not in text
    assert walk.state is not None
    stored = repr(walk.state.to_dict())
    assert "consent" not in stored and "Art. 21" not in stored
    assert dict(walk.state.variables)["reason_children"] == "true"


def test_in_a_group_the_flow_is_offered_in_a_private_chat(engine: Engine) -> None:
    walk = Walk(engine, group=True)
    reply = walk.say("/start objection")
    assert reply.private_node == "objection"
    assert "Frage 1" not in reply.text
    assert "Ja, Facebook-Konto" not in walk.labels()


def test_main_menu_offers_the_guided_flow(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/start")
    assert "Meine Widerspruchs-Checkliste" in walk.labels()
    assert "Frage 1:" in walk.tap("Meine Widerspruchs-Checkliste").text


def test_a_forged_set_button_changes_nothing(engine: Engine) -> None:
    walk = Walk(engine)
    walk.say("/start objection")
    walk.tap("Kein Facebook-Konto")
    # Option 0 of the checklist ticks Facebook off, which is not offered without Facebook.
    state, actions = engine.handle(walk.state, Choice(option="@set:objection-checklist-0"), NOW)
    assert state is not None
    # The first question resets the ticks to "false"; a forged button must not make one "true".
    assert dict(state.variables).get("done_facebook") != "true"
    assert isinstance(actions[-1], Reply) and actions[-1].node == "start"
    after = engine.handle(state, Choice(option="@set:nowhere-99"), NOW)[0]
    assert after is not None and dict(after.variables).get("done_facebook") != "true"


def test_privacy_lists_the_kept_marks_per_language(engine: Engine) -> None:
    walk = Walk(engine)
    de = walk.say("/privacy").text
    assert "ob du ein Instagram-Konto hast" in de
    assert "ob du mit Meta AI chattest" in de
    walk.say("/lang en")
    en = walk.say("/privacy").text
    assert "whether you have an Instagram account" in en
    assert "your country" in en


# -- stop halfway, restart, forget -------------------------------------------------------


async def test_progress_survives_a_restart_and_forget_erases_it(
    content: Content, tmp_path: Path
) -> None:
    conv = Conversation("console", "chat-1", "user-1")
    db = tmp_path / "sessions.sqlite3"

    async def say(runtime: Runtime, text: str) -> Reply:
        return (await runtime.handle(conv, Text(text=text)))[-1]

    first = Runtime(content, SqliteStore(db, TTL), b"secret", clock=lambda: NOW)
    await say(first, "/start objection")
    await say(first, "Ich nutze Facebook")
    await say(first, "Kein Instagram")
    await first.store.close()

    again = Runtime(content, SqliteStore(db, TTL), b"secret", clock=lambda: NOW)
    await say(again, "Nie widersprochen")
    await say(again, "Kein Meta AI")
    checklist = await say(again, "Deutschland")
    assert "Facebook ☐" in checklist.text
    assert FB_FORM in checklist.text
    await say(again, "/forget")
    fresh = await say(again, "/start objection-checklist")
    assert "Facebook ☐" not in fresh.text
    assert "nichts zu widersprechen" not in fresh.text
    await again.store.close()


# -- the console -------------------------------------------------------------------------


def chat(stdin: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**env, "BOT_LOG_LEVEL": "WARNING"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_console_journey_by_typing_labels_de() -> None:
    out = chat(
        "hilf mir beim Widerspruch\nKein Facebook\nich nutze instagram\nNie widersprochen\n"
        "Kein Meta AI\nÖsterreich\nInstagram erledigt\n"
    )
    last = out.split("\n> ")[-1]
    assert "Instagram ✔" in last
    assert "Instagram ☐" in out


def test_console_journey_by_numbers_en() -> None:
    # objection: 1 = Yes, a Facebook account; instagram: 2 = No Instagram account; objected
    # before: 2 = Never objected; Meta AI: 2 = No Meta AI; country: 2 = Austria; checklist:
    # 1 = Facebook done.
    out = chat("/start objection\n1\n2\n2\n2\n2\n1\n", "--lang", "en")
    turns = out.split("\n> ")
    assert "Facebook ☐" in turns[-2]
    assert FB_FORM in turns[-2]
    assert "Facebook ✔" in turns[-1]
