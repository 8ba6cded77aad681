"""Per-conversation session state: the minimum the bot keeps about a user.

Only where the user is in the tree, how they got there, their language and when they
were last seen. Never message text, never a platform user id (the store key is a keyed
hash made by the runtime).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
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
        """A copy with ``changes`` applied (unknown field names raise ``TypeError``)."""
        # The engine copies the state several times per event; dataclasses.replace() re-runs
        # __init__ and costs a quarter of a button press. A plain dict copy gives the same
        # object as long as the class has no __post_init__ (keep it that way, or use replace).
        unknown = changes.keys() - _FIELDS
        if unknown:
            raise TypeError(f"SessionState has no field(s) {', '.join(sorted(unknown))}")
        new = object.__new__(type(self))
        attrs = new.__dict__
        attrs.update(self.__dict__)
        attrs.update(changes)
        return new

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


_FIELDS = frozenset(f.name for f in fields(SessionState))
