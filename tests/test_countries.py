"""The country table: one row per country becomes one answer, checked like any node."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.content import load_content, read_content
from bot.engine import Engine
from bot.events import Reply, Start, Text

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "content"
NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)

AUTHORITY = {
    "de": "HmbBfDI",
    "at": "Datenschutzbehörde",
    "ch": "EDÖB",
    "fr": "CNIL",
    "be": "APD/GBA",
    "lu": "CNPD",
    "es": "AEPD",
    "it": "Garante",
    "nl": "Autoriteit Persoonsgegevens",
    "pl": "UODO",
    "ie": "Data Protection Commission",
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_content(SHIPPED), session_ttl=dt.timedelta(days=30))


def test_every_country_is_a_node_naming_its_authority() -> None:
    content = load_content(SHIPPED)
    menu = {o.to for o in content.nodes["countries"].options}
    for code, authority in AUTHORITY.items():
        node = content.nodes[f"country-{code}"]
        assert f"country-{code}" in menu, "every row is listed under the country menu"
        assert authority in node.text_for("de", NOW.date()), code
        assert node.sources, f"{code} has its sources"
        assert node.checked is not None


@pytest.mark.parametrize(
    ("question", "lang", "code"),
    [
        ("Gilt das auch in Frankreich?", "de", "fr"),
        ("does this apply in Poland?", "en", "pl"),
        ("I live in France, does any of this apply to me?", "en", "fr"),
        ("ich wohne in italien", "de", "it"),
        ("Where do I complain in the Netherlands?", "en", "nl"),
        ("Welche Datenschutzbehörde ist in Spanien zuständig?", "de", "es"),
    ],
)
def test_a_question_about_a_country_gets_its_answer(
    engine: Engine, question: str, lang: str, code: str
) -> None:
    state = engine.new_state(Start(language=lang), NOW)
    _, actions = engine.handle(state, Text(text=question), NOW)
    reply = actions[0]
    assert isinstance(reply, Reply)
    assert reply.node == f"country-{code}"
    assert AUTHORITY[code] in reply.text


def _tree(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("translations"))
    return target


def test_an_unknown_placeholder_names_file_and_line(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    table = tree / "countries.yaml"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("bei {authority}.", "bei {behoerde}.", 1), encoding="utf-8")
    content, problems, _ = read_content(tree)
    assert content is None
    found = [p for p in problems if "placeholder" in p.message]
    assert found, problems
    assert found[0].file.endswith("countries.yaml") and found[0].line > 1
    assert "{authority}" in found[0].message


def test_a_row_missing_a_language_is_reported_at_its_row(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    table = tree / "countries.yaml"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    # Drop the English name of the first row (France or Germany: whichever comes first).
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("name: {de:"))
    lines[at] = lines[at].split(", en:")[0] + "}\n"
    table.write_text("".join(lines), encoding="utf-8")
    content, problems, _ = read_content(tree)
    assert content is None
    errors = [p for p in problems if p.level == "error"]
    assert any(p.file.endswith("countries.yaml") and "en" in p.message for p in errors), errors


def test_the_country_menu_must_exist(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    table = tree / "countries.yaml"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("parent: countries", "parent: laender"), encoding="utf-8")
    _, problems, _ = read_content(tree)
    assert any("country menu 'laender'" in p.message for p in problems), problems


def test_the_cross_border_page_must_exist(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    table = tree / "countries.yaml"
    text = table.read_text(encoding="utf-8")
    assert "cross_border: complaint-abroad" in text
    table.write_text(
        text.replace("cross_border: complaint-abroad", "cross_border: abroad"), encoding="utf-8"
    )
    content, problems, _ = read_content(tree)
    assert content is None
    [problem] = [p for p in problems if "cross-border page 'abroad'" in p.message]
    assert problem.file.endswith("countries.yaml")
    assert text.splitlines()[problem.line - 1].startswith("cross_border:")
    assert load_content(SHIPPED).cross_border == "complaint-abroad"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  country: ie\n", "  country: xx\n", "the seat's country 'xx' is no row"),
        ("  page: which-authority\n", "  page: authority\n", "the seat's page 'authority' is not a node"),
    ],
)  # fmt: skip
def test_the_seat_must_name_a_row_and_a_page(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    tree = _tree(tmp_path)
    table = tree / "countries.yaml"
    text = table.read_text(encoding="utf-8")
    assert text.count(old) == 1
    table.write_text(text.replace(old, new), encoding="utf-8")
    content, problems, _ = read_content(tree)
    assert content is None
    [problem] = [p for p in problems if message in p.message]
    assert problem.file.endswith("countries.yaml")
    assert text.splitlines()[problem.line - 1].startswith("seat:")
    assert load_content(SHIPPED).seat == ("country-ie", "which-authority")


def test_a_shown_first_country_must_be_a_row(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    table = tree / "countries.yaml"
    text = table.read_text(encoding="utf-8")
    assert text.count("  pl: [pl]\n") == 1
    table.write_text(text.replace("  pl: [pl]\n", "  pl: [pl, pt]\n"), encoding="utf-8")
    content, problems, _ = read_content(tree)
    assert content is None
    [problem] = [p for p in problems if "'shown_first' names a country" in p.message]
    assert "pt" in problem.message and problem.file.endswith("countries.yaml")
    assert text.splitlines()[problem.line - 1].startswith("shown_first:")


@pytest.mark.parametrize(
    ("lang", "first"),
    [("pl", ["pl"]), ("nl", ["nl", "be"]), ("fr", ["fr", "be", "lu"]), ("de", ["de", "at", "ch"])],
)
def test_a_readers_own_countries_are_listed_first(lang: str, first: list[str]) -> None:
    # Poland was the tenth of fifteen buttons at "where do you live?" and on the second screen
    # of the complaint routes, behind "More topics".
    content = load_content(SHIPPED)
    engine = Engine(content, session_ttl=dt.timedelta(hours=1))
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    state, _ = engine.handle(None, Start(language=lang, node="complaint-abroad"), now)
    assert state is not None
    shown = [o for o in state.offered if o.startswith("country-")][: len(first)]
    assert shown == [f"country-{code}" for code in first]
    # The rest keep the table's order.
    rest = [c for c in content.rows if c not in first]
    state, _ = engine.handle(None, Start(language=lang, node="objection-country"), now)
    assert state is not None
    labels = [content.rows[c]["name"][lang] for c in [*first, *rest]]
    node = content.nodes["objection-country"]
    by_id = {
        f"@set:objection-country-{i}": o.label[lang] for i, o in enumerate(node.options) if o.label
    }
    offered = [by_id[o] for o in state.offered if o in by_id]
    assert offered[: len(labels)] == labels


@pytest.mark.parametrize(("lang", "label"), [("de", "Weitere Länder"), ("fr", "Autres pays")])
def test_a_list_of_countries_goes_on_with_more_countries(lang: str, label: str) -> None:
    # Its second screen was behind "Weitere Themen" / "Autres sujets".
    engine = Engine(load_content(SHIPPED), session_ttl=dt.timedelta(hours=1))
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    _, actions = engine.handle(None, Start(language=lang, node="complaint-abroad"), now)
    [reply] = [a for a in actions if isinstance(a, Reply)]
    assert label in [o.label for o in reply.options]
    _, actions = engine.handle(None, Start(language=lang), now)
    [menu] = [a for a in actions if isinstance(a, Reply)]
    assert label not in [o.label for o in menu.options]


@pytest.mark.parametrize(
    ("text", "lang", "page"),
    [("im in dublin", "en", "country-ie"), ("bin aus Wien", "de", "country-at"),
     ("je suis à Liège", "fr", "country-be"),
     # Ireland's words are also those of Meta's lead authority: asked about, not lived in.
     ("c'est qui la dpc irlandaise", "fr", "irish-dpc")],
)  # fmt: skip
def test_a_first_message_that_only_names_where_the_reader_is_gets_that_place(
    engine: Engine, text: str, lang: str, page: str
) -> None:
    # "im in dublin" was not understood.
    assert engine.matcher.match(text, lang).node == page
