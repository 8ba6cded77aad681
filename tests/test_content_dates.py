"""Date variants of the shipped content: each text states as past only what had happened.

A node's ``variants`` are tried in order and the first that applies on the day wins, so a
variant for a wide range (``before: 2025-05-27``) placed before a narrower one
(``before: 2025-05-23``) silently hides it. These tests load the real content and check:

- the nodes whose texts depend on the events of April to August 2025 do not mention an event
  on any day before it happened (dates from facts.md §4, §5.3, §5.4 and §9), neither on the
  first screen nor behind "More" (a variant without its own ``more`` shows the node's);
- every node's variants are ordered so that each of them, and the main text, is chosen on
  at least one day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from bot.content import load_content
from bot.content.models import Content, Node, Variant
from bot.content.validate import chosen_variants

ANNOUNCED = dt.date(2025, 4, 14)
"""Meta announced the 2025 training on this day; the content describes nothing earlier."""

COLOGNE_DECISION = dt.date(2025, 5, 23)
TRAINING_START = dt.date(2025, 5, 27)


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


def _shown(node: Node, lang: str, day: dt.date) -> str:
    """Everything a reader can see of ``node`` on ``day``: the first screen and its "More"."""
    return f"{node.text_for(lang, day)}\n\n{node.more_for(lang, day)}"


def _days(first: dt.date, before: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((before - first).days)]


# (node, day of the event, words that would describe it per language). Before that day the
# node's text must contain none of them.
EVENTS: list[tuple[str, dt.date, dict[str, tuple[str, ...]]]] = [
    # OLG Köln: VZ NRW's cease-and-desist letter, its application (reported 19 May), the decision.
    ("olg-koeln", dt.date(2025, 4, 30), {"de": ("30. April",), "en": ("30 April",)}),
    ("olg-koeln", dt.date(2025, 5, 19), {"de": ("Mitte Mai", "beantragte"), "en": ("mid-May",)}),
    (
        "olg-koeln",
        COLOGNE_DECISION,
        {"de": ("23. Mai", "abgelehnt", "Urteil"), "en": ("23 May", "rejected", "ruling")},
    ),
    # Hamburg: urgency procedure disclosed at the hearing on 22 May, dropped on 27 May,
    # Computer Weekly interview on 16 July, record complaints reported on 8 January 2026.
    (
        "hamburg-dpa",
        dt.date(2025, 5, 22),
        {"de": ("22. Mai", "Dringlichkeitsverfahren"), "en": ("22 May", "urgency procedure")},
    ),
    ("hamburg-dpa", TRAINING_START, {"de": ("verzichtet",), "en": ("drops it",)}),
    (
        "hamburg-dpa",
        dt.date(2025, 7, 16),
        {"de": ("Juli 2025", "EuGH"), "en": ("July 2025", "CJEU")},
    ),
    (
        "hamburg-dpa",
        dt.date(2026, 1, 8),
        {"de": ("Beschwerden wie nie",), "en": ("complaints than ever",)},
    ),
    # Timeline: one line per event.
    ("timeline", dt.date(2025, 4, 30), {"de": ("30. April",), "en": ("30 April",)}),
    ("timeline", dt.date(2025, 5, 14), {"de": ("14. Mai",), "en": ("14 May",)}),
    ("timeline", dt.date(2025, 5, 21), {"de": ("21. Mai",), "en": ("21 May",)}),
    ("timeline", COLOGNE_DECISION, {"de": ("23. Mai",), "en": ("23 May",)}),
    ("timeline", TRAINING_START, {"de": ("Meta beginnt",), "en": ("Meta starts",)}),
    ("timeline", dt.date(2025, 8, 12), {"de": ("12. August",), "en": ("12 August",)}),
    # Who named switching to non-public as a way: the Irish DPC (21 May), the court (23 May).
    (
        "make-private",
        dt.date(2025, 5, 21),
        {"de": ("irische Datenschutzbehörde",), "en": ("Irish data protection",)},
    ),
    ("make-private", COLOGNE_DECISION, {"de": ("Oberlandesgericht",), "en": ("Court of Cologne",)}),
    # The NRW authority's warning (20 May), quoted on old posts.
    ("old-posts", dt.date(2025, 5, 20), {"de": ("NRW",), "en": ("North Rhine-Westphalia",)}),
    # The noyb/Gallup survey on who noticed Meta's notices (7 August).
    ("start-date", dt.date(2025, 8, 7), {"de": ("Umfrage",), "en": ("survey",)}),
    # Authorities on deleting: Mecklenburg-Vorpommern (16 April), Lower Saxony (about 19 April).
    (
        "delete-posts",
        dt.date(2025, 4, 19),
        {"de": ("Mecklenburg", "Datenschutzbehörden"), "en": ("Mecklenburg", "authorities")},
    ),
]


@pytest.mark.parametrize(
    ("node_id", "happened", "words"),
    EVENTS,
    ids=[f"{node}-{day.isoformat()}" for node, day, _ in EVENTS],
)
def test_no_event_is_told_before_it_happened(
    content: Content, node_id: str, happened: dt.date, words: dict[str, tuple[str, ...]]
) -> None:
    node = content.nodes[node_id]
    for lang, phrases in words.items():
        for day in _days(ANNOUNCED, happened):
            text = _shown(node, lang, day)
            told = [p for p in phrases if p in text]
            assert not told, f"{node_id} ({lang}) on {day} mentions {told}, before {happened}"


# The nodes the 23-26 May texts of which once applied to every earlier day, with the last day
# before the first event they tell of (Hamburg's urgency procedure was disclosed on 22 May).
EARLIER_TEXT_UNTIL = {
    "olg-koeln": dt.date(2025, 5, 22),
    "timeline": dt.date(2025, 5, 22),
    "make-private": dt.date(2025, 5, 22),
    "hamburg-dpa": dt.date(2025, 5, 21),
}


@pytest.mark.parametrize(("node_id", "last_day"), EARLIER_TEXT_UNTIL.items())
def test_text_before_the_cologne_decision_differs_from_the_one_after_it(
    content: Content, node_id: str, last_day: dt.date
) -> None:
    node = content.nodes[node_id]
    for lang in content.meta.languages:
        after = _shown(node, lang, dt.date(2025, 5, 24))
        # The 23-26 May text is still what those days get ...
        assert _shown(node, lang, dt.date(2025, 5, 26)) == after
        # ... but no earlier day does.
        for day in (ANNOUNCED, dt.date(2025, 4, 20), dt.date(2025, 5, 15), last_day):
            assert _shown(node, lang, day) != after, f"{node_id} ({lang}) on {day}"


def _variant(before: str | None = None, start: str | None = None) -> Variant:
    dates = {"before": before, "from": start}
    return Variant.model_validate(
        {k: dt.date.fromisoformat(v) for k, v in dates.items() if v} | {"text": {"de": "x"}}
    )


def _chosen_on_some_day(variants: list[Variant] | tuple[Variant, ...]) -> set[int | None]:
    """Which variant (``None``: the main text) wins on at least one day, found by trying
    every day around the variants' bounds: the first variant whose range holds the day wins.
    Written here from the rule in docs/content-format.md, not taken from the validator."""
    bounds = sorted({d for v in variants for d in (v.valid_from, v.before) if d is not None})
    if not bounds:
        return {0} if variants else {None}
    chosen: set[int | None] = set()
    for day in _days(bounds[0] - dt.timedelta(days=2), bounds[-1] + dt.timedelta(days=2)):
        winner: int | None = None
        for i, v in enumerate(variants):
            if (v.valid_from is None or day >= v.valid_from) and (
                v.before is None or day < v.before
            ):
                winner = i
                break
        chosen.add(winner)
    return chosen


@pytest.mark.parametrize("find", [chosen_variants, _chosen_on_some_day], ids=["check", "days"])
def test_unreachable_variant_is_detected(
    find: Callable[[list[Variant]], set[int | None]],
) -> None:
    earlier_first = [_variant(before="2025-05-23"), _variant(before="2025-05-27")]
    assert find(earlier_first) == {0, 1, None}
    wide_first = [_variant(before="2025-05-27"), _variant(before="2025-05-23")]
    assert find(wide_first) == {0, None}
    covered = [_variant(before="2025-06-01"), _variant(start="2025-05-01", before="2025-05-10")]
    assert find(covered) == {0, None}
    everything = [_variant(before="2025-05-27"), _variant(start="2025-05-27")]
    assert find(everything) == {0, 1}


def test_every_variant_and_main_text_is_reachable(content: Content) -> None:
    problems = []
    for node in content.nodes.values():
        chosen = _chosen_on_some_day(node.variants)
        for i, variant in enumerate(node.variants):
            if i not in chosen:
                problems.append(f"{node.id}: variant {i + 1} ({_range(variant)}) is never chosen")
        if node.variants and None not in chosen:
            problems.append(f"{node.id}: the variants cover every day, the main text is never used")
    assert not problems, "earlier variants hide later ones; order them by date:\n" + "\n".join(
        problems
    )


def _range(variant: Variant) -> str:
    return f"from {variant.valid_from or '-'} before {variant.before or '-'}"
