"""Load the multi-turn set (``tests/qa/conversations/*.yaml``) and run it through the engine.

Shared by ``test_conversations.py`` and ``bench/qa_conversations.py`` so both count alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content import Content
from bot.engine import Engine
from bot.events import Reply, Start, Text

CONVERSATION_DIR = Path(__file__).parent / "conversations"
KINDS = ("first", "follow", "guided", "change", "off")
NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Turn:
    """One message and what the reply should show."""

    text: str
    expected: str  # a node id, "-" (the fallback) or "=node" (that question again, a hint)
    kind: str


@dataclass(frozen=True)
class Conversation:
    """Two or three turns in one language, from a fresh session."""

    lang: str
    turns: tuple[Turn, ...]
    file: str
    number: int


@dataclass(frozen=True)
class TurnOutcome:
    """What the engine replied to one turn."""

    conversation: Conversation
    turn: Turn
    node: str | None
    matched: bool | None
    clarify: tuple[str, ...]

    @property
    def right(self) -> bool:
        """The expected node, the fallback, or the question asked again."""
        want = self.turn.expected
        if want == "-":
            return self.matched is False and self.node is None and not self.clarify
        if want.startswith("="):
            return self.node == want[1:] and self.matched is False
        return self.node == want and self.matched is not False

    @property
    def wrong_confident(self) -> bool:
        """Another node shown as the answer (not a fallback, hint or clarifying question)."""
        return not self.right and self.node is not None and self.matched is not False


def load_conversations(directory: Path = CONVERSATION_DIR) -> list[Conversation]:
    """Every conversation of every YAML file in ``directory``."""
    found = []
    for path in sorted(directory.glob("*.yaml")):
        for number, item in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")), 1):
            turns = tuple(Turn(str(t), str(e), str(k)) for t, e, k in item["turns"])
            if not 2 <= len(turns) <= 3 or any(t.kind not in KINDS for t in turns):
                raise ValueError(f"{path.name} conversation {number}: 2-3 turns of {KINDS}")
            found.append(Conversation(item["lang"], turns, path.name, number))
    return found


def run_conversations(engine: Engine, conversations: Sequence[Conversation]) -> list[TurnOutcome]:
    """Every turn of every conversation through ``engine``, each from a fresh session in the
    conversation's language."""
    outcomes = []
    for conversation in conversations:
        state, _ = engine.handle(None, Start(language=conversation.lang), NOW)
        for turn in conversation.turns:
            state, actions = engine.handle(state, Text(text=turn.text), NOW)
            reply = next(a for a in actions if isinstance(a, Reply))
            outcomes.append(
                TurnOutcome(conversation, turn, reply.node, reply.matched, reply.clarify)
            )
    return outcomes


def summary(outcomes: Sequence[TurnOutcome]) -> dict[str, float]:
    """Shares of right answers per kind, wrong-confident answers, fallbacks off topic and
    clarifying questions among in-scope turns."""

    def share(group: list[TurnOutcome], test: str) -> float:
        return sum(getattr(o, test) for o in group) / len(group) if group else 1.0

    by_kind = {k: [o for o in outcomes if o.turn.kind == k] for k in KINDS}
    in_scope = [o for o in outcomes if o.turn.expected != "-"]
    return {
        "turns": float(len(outcomes)),
        "right": share(in_scope, "right"),
        "wrong_confident": share(list(outcomes), "wrong_confident"),
        "off_topic_fallback": share(by_kind["off"], "right"),
        "clarified": sum(bool(o.clarify) for o in in_scope) / max(len(in_scope), 1),
        **{f"right_{k}": share(group, "right") for k, group in by_kind.items()},
    }


def content_checked(content: Content, conversations: Sequence[Conversation]) -> list[str]:
    """Expected nodes the content does not have."""
    return sorted(
        {
            t.expected.lstrip("=")
            for c in conversations
            for t in c.turns
            if t.expected != "-" and t.expected.lstrip("=") not in content.nodes
        }
    )
