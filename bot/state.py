"""Per-conversation session state: the minimum the bot keeps about a user.

Only where the user is in the tree, how they got there, their language and when they
were last seen. Never message text, never a platform user id (the store key is a keyed
hash made by the runtime).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

STATE_VERSION = 1


@dataclass(frozen=True)
class SessionState:
    """Where one user is in one chat's conversation."""

    node: str
    language: str
    last_seen: dt.datetime
    language_chosen: bool = False
    back: tuple[str, ...] = ()
    offered: tuple[str, ...] = ()
    # Per-session variables for guided flows (e.g. an objection checklist); values are short
    # tokens set by content, never user text.
    variables: tuple[tuple[str, str], ...] = field(default=())

    def with_(self, **changes: Any) -> SessionState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict for stores."""
        return {
            "v": STATE_VERSION,
            "node": self.node,
            "language": self.language,
            "language_chosen": self.language_chosen,
            "back": list(self.back),
            "offered": list(self.offered),
            "variables": dict(self.variables),
            "last_seen": self.last_seen.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        """Rebuild a state written by :meth:`to_dict`."""
        return cls(
            node=str(data["node"]),
            language=str(data["language"]),
            language_chosen=bool(data.get("language_chosen", False)),
            back=tuple(str(x) for x in data.get("back", ())),
            offered=tuple(str(x) for x in data.get("offered", ())),
            variables=tuple(sorted((str(k), str(v)) for k, v in data.get("variables", {}).items())),
            last_seen=dt.datetime.fromisoformat(str(data["last_seen"])),
        )
