"""The country table in the guided checklist: one button per country, blocks filled from the
chosen country's row, and the load-time errors for both (docs/content-format.md, "Countries").
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.content import Content, load_content, read_content
from bot.content.loader import Problem
from bot.engine import Engine
from bot.events import Choice, Reply, Text
from bot.state import SessionState

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "content"
NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(SHIPPED)


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content, session_ttl=dt.timedelta(days=30))


# -- one button per country ----------------------------------------------------------------


def test_the_country_question_has_a_button_per_row_then_eu_and_outside(content: Content) -> None:
    options = content.nodes["objection-country"].options
    codes = [o.assign["country"] for o in options]
    assert codes == [*content.rows, "eu", "other"]
    for option in options[: len(content.rows)]:
        row = content.rows[str(option.assign["country"])]
        assert option.label == row["name"], "labelled with the country's own name"
        assert option.to == "objection-checklist"


def test_a_button_per_row_may_be_shown_only_for_its_own_country(content: Content) -> None:
    own = [o for o in content.nodes["objection-next"].options if o.to.startswith("country-")]
    assert [o.to for o in own] == [f"country-{code}" for code in content.rows]
    shown = [o.to for o in own if o.shown({"country": "pl"})]
    assert shown == ["country-pl"]
    assert not any(o.shown({"country": "eu"}) for o in own)
    assert own[3].label is not None and own[3].label["de"] == "Frankreich: Behörde und Beschwerde"


# -- blocks filled from the chosen row -----------------------------------------------------


def _complaint_block(content: Content) -> tuple[int, Content]:
    node = content.nodes["objection-next"]
    index = next(i for i, b in enumerate(node.blocks) if "{country.authority}" in b.text["de"])
    return index, content


# The first complaint block is for a reader who objected (sent a form now, here).
OBJECTED = {"done_facebook": "true"}


def test_a_block_shows_the_authority_of_the_chosen_country(content: Content) -> None:
    index, _ = _complaint_block(content)
    block = content.nodes["objection-next"].blocks[index]
    text = content.block_text(block, "de", {"country": "fr", **OBJECTED})
    assert text is not None
    assert "der **CNIL** (Commission nationale" in text
    assert "{" not in text
    en = content.block_text(block, "en", {"country": "pl", **OBJECTED})
    assert en is not None and "the **UODO**" in en


def test_a_block_is_not_shown_without_a_country_of_the_table(content: Content) -> None:
    index, _ = _complaint_block(content)
    block = content.nodes["objection-next"].blocks[index]
    for values in ({}, {"country": "eu"}, {"country": "other"}):
        assert content.block_text(block, "de", {**values, **OBJECTED}) is None, values
    # Its own condition still counts: Switzerland has its own wording.
    assert content.block_text(block, "de", {"country": "ch", **OBJECTED}) is None


def test_an_empty_column_leaves_no_double_space(content: Content) -> None:
    from bot.content.models import TextBlock

    block = TextBlock.model_validate(
        {"if": "country == ch", "text": {"de": "A {country.complaint} B", "en": "x"}}
    )
    assert content.block_text(block, "de", {"country": "ch"}) == "A B"


def test_the_checklist_names_the_readers_country_in_the_engine(engine: Engine) -> None:
    state: SessionState | None = None
    replies: list[Reply] = []

    def send(event: Text | Choice) -> Reply:
        nonlocal state
        state, actions = engine.handle(state, event, NOW)
        replies.append([a for a in actions if isinstance(a, Reply)][-1])
        return replies[-1]

    send(Text(text="/lang en"))
    send(Text(text="/start objection"))
    for label in ("I use Facebook", "No Instagram", "Never objected", "No Meta AI", "Italy"):
        send(Text(text=label))
    assert replies[-1].node == "objection-checklist"
    after = send(Choice(option="objection-next"))
    assert "to the **Garante per la protezione dei dati personali**" in after.text
    assert "federal state" not in after.text and "CNIL" not in after.text
    more = next(o.id for o in after.options if o.id.startswith("@more:"))
    details = send(Choice(option=more))
    assert "protocollo@pec.gpdp.it" in details.text, "the complaint route behind More"
    labels = [o.label for o in details.options]
    assert "Italy: authority and complaints" in labels


# -- typed answers at the country question ------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "typed", "code"),
    [
        ("de", "Frankreich", "fr"),
        ("de", "France", "fr"),  # another language's name
        ("de", "polen", "pl"),  # lower case
        ("en", "Poland", "pl"),
        ("en", "Österreich", "at"),
        ("de", "Außerhalb von EU/EWR", "other"),
    ],
)
def test_a_typed_country_picks_its_button(engine: Engine, lang: str, typed: str, code: str) -> None:
    state: SessionState | None = None
    for text in (f"/lang {lang}", "/start objection-country", typed):
        state, actions = engine.handle(state, Text(text=text), NOW)
    reply = [a for a in actions if isinstance(a, Reply)][-1]
    assert state is not None
    assert reply.node == "objection-checklist"
    assert dict(state.variables)["country"] == code


# -- errors at load, with file, line and fix ----------------------------------------------


def _tree(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("translations"))
    return target


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` once; returns the line it starts on."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _errors(tree: Path) -> list[Problem]:
    content, problems, _ = read_content(tree, warnings=False)
    errors = [p for p in problems if p.level == "error"]
    assert content is None and errors
    return errors


GUIDED = "nodes/25-guided.yaml"
COMPLAINT_LINE = '"**Beschwerde** (Art. 77 DSGVO), falls Meta ablehnt oder nicht antwortet: bei {country.authority}."'


def test_an_unknown_column_names_file_line_and_the_right_one(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    line = _edit(tree / GUIDED, COMPLAINT_LINE, COMPLAINT_LINE.replace("authority", "authorty"))
    errors = _errors(tree)
    found = [p for p in errors if "authorty" in p.message]
    assert found, errors
    assert found[0].file.endswith("25-guided.yaml") and found[0].line == line
    assert "did you mean '{country.authority}'" in found[0].hint


def test_an_unknown_variable_is_reported(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    line = _edit(tree / GUIDED, COMPLAINT_LINE, COMPLAINT_LINE.replace("country.", "land."))
    found = [p for p in _errors(tree) if "{land.authority}" in p.message]
    assert found and found[0].line == line
    assert "{country.authority}" in found[0].hint


def test_a_variable_without_the_table_codes_is_reported(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    _edit(tree / GUIDED, COMPLAINT_LINE, COMPLAINT_LINE.replace("country.", "meta_ai."))
    found = [p for p in _errors(tree) if "{meta_ai.authority}" in p.message]
    assert found and "does not hold the table's codes" in found[0].message


def test_a_placeholder_outside_a_block_is_reported(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    line = _edit(
        tree / GUIDED,
        'de: "**Deine Checkliste** (☐ offen, ✔ erledigt):"',
        'de: "**Deine Checkliste** {country.name}:"',
    )
    found = [p for p in _errors(tree) if "outside a block" in p.message]
    assert found and found[0].line == line
    assert "blocks:" in found[0].hint


def test_a_bad_placeholder_in_a_button_per_country_is_reported_at_its_line(
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)
    old = '{for_each_country: true, to: objection-checklist, set: {country: "{code}"}}'
    line = _edit(tree / GUIDED, old, old.replace("{code}", "{cod}"))
    found = [p for p in _errors(tree) if "{cod}" in p.message]
    assert found and found[0].line == line
    assert "{code}" in found[0].message


def test_for_each_country_must_be_true(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    old = "{for_each_country: true, to: objection-checklist"
    _edit(tree / GUIDED, old, old.replace("true", "sometimes"))
    assert any("must be true" in p.message for p in _errors(tree))


def test_without_the_table_both_features_are_errors(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "countries.yaml").unlink()
    errors = _errors(tree)
    messages = [p.message for p in errors]
    assert any("for_each_country' needs the country table" in m for m in messages), messages
    missing = [p for p in errors if "takes its values from content/countries.yaml" in p.message]
    assert missing and missing[0].file.endswith("bot.yaml"), messages
    text = (tree / "bot.yaml").read_text(encoding="utf-8")
    assert missing[0].line == text[: text.index("\n    countries: true")].count("\n") + 2


def test_lines_of_later_options_stay_right_after_expansion(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    old = "set: {country: other}"
    line = _edit(tree / GUIDED, old, "set: {country: elsewhere}")
    found = [p for p in _errors(tree) if "elsewhere" in p.message]
    assert found and found[0].line == line, found


def test_only_a_choice_can_hold_countries(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    _edit(tree / "bot.yaml", "    type: choice\n    # `countries: true`", "    type: flag\n    #")
    found = [p for p in _errors(tree) if "cannot hold countries" in p.message]
    assert found and found[0].file.endswith("bot.yaml") and found[0].line > 1
    assert "type: choice" in found[0].hint


# -- the complaint answers ----------------------------------------------------------------


def _reply(
    engine: Engine, state: SessionState | None, event: Text | Choice
) -> tuple[SessionState, Reply]:
    new, actions = engine.handle(state, event, NOW)
    assert new is not None
    return new, [a for a in actions if isinstance(a, Reply)][-1]


def test_the_complaint_answers_lead_to_every_country(engine: Engine, content: Content) -> None:
    for lang in ("de", "en"):
        state, reply = _reply(engine, None, Text(text=f"/lang {lang}"))
        state, reply = _reply(engine, state, Text(text="/start complaint-abroad"))
        targets: set[str] = set()
        for _ in range(5):  # every page of its buttons
            targets |= {o.id for o in reply.options}
            pages = [o.id for o in reply.options if o.id.startswith("@page:") and o.id[-1] != "0"]
            if not pages or pages[-1] in targets - {o.id for o in reply.options}:
                break
            state, reply = _reply(engine, state, Choice(option=pages[-1]))
        assert {f"country-{code}" for code in content.rows} <= targets, targets


@pytest.mark.parametrize("node_id", ["complaint", "which-authority", "complaint-abroad"])
def test_the_complaint_answers_offer_the_readers_own_country(
    content: Content, engine: Engine, node_id: str
) -> None:
    for code in content.rows:
        state, _ = _reply(engine, None, Text(text="/lang de"))
        state = state.with_(variables=(("country", code),))
        state, reply = _reply(engine, state, Choice(option=node_id))
        ids = [o.id for o in reply.options]
        if node_id == "complaint-abroad":  # it lists every country, over two pages
            assert f"country-{code}" in ids or any(i.startswith("@page:") for i in ids)
            continue
        assert f"country-{code}" in ids, (node_id, code, ids)
        assert not {f"country-{c}" for c in content.rows if c != code} & set(ids), node_id
    text = content.first_screen(content.nodes["complaint-abroad"], "de", TODAY, {"country": "fr"})
    assert "**Frankreich** (aus deiner Checkliste): Beschwerde bei der **CNIL**" in text


def test_every_answer_to_the_country_question_is_on_one_screen(engine: Engine) -> None:
    # Someone in Poland must not have to guess that their country is on a second page: a
    # question whose buttons are all answers is not split like a menu of topics.
    state: SessionState | None = None
    for text in ("/lang de", "/start objection-country"):
        state, actions = engine.handle(state, Text(text=text), NOW)
    reply = [a for a in actions if isinstance(a, Reply)][-1]
    assert reply.node == "objection-country"
    answers = [o for o in reply.options if o.id.startswith("@set:")]
    assert len(answers) == 13
    assert not any(o.id.startswith("@page:") for o in reply.options)
    assert {"Polen", "Irland", "Anderes Land in EU/EWR", "Außerhalb von EU/EWR"} <= {
        o.label for o in answers
    }
