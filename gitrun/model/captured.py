"""What a capture function returns: the fields it got, and why it could not get the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Captured:
    """Fields captured for one section of a run's metadata.

    ``missing`` maps a dotted field name (relative to the section) to the reason it is absent,
    so that a reader can tell "not captured" from "empty".
    """

    data: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def merge_into(self, document: dict[str, Any], section: str) -> None:
        """Store ``data`` under ``document[section]`` and the reasons under ``document['missing']``."""
        document.setdefault(section, {}).update(self.data)
        if self.missing:
            reasons = document.setdefault("missing", {})
            for key, reason in self.missing.items():
                reasons[f"{section}.{key}"] = reason
