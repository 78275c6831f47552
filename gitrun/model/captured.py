"""What a capture function returns: the fields it got, and why it could not get the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def failure_reason(exc: BaseException) -> str:
    """One short line saying why a capture failed: the exception's type and first line."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:200] if first else type(exc).__name__


def deep_update(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Merge ``source`` into ``target``, table by table (a metadata section is never replaced whole)."""
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_update(target[key], value)
        else:
            target[key] = value


@dataclass
class Captured:
    """Fields captured for one section of a run's metadata.

    ``missing`` maps a dotted field name (relative to the section) to the reason it is absent,
    so that a reader can tell "not captured" from "empty".
    """

    data: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def run_steps(self, steps: Sequence[tuple[str, Callable[[], None]]]) -> Captured:
        """Run each (field, step); a failing step is recorded under ``missing``, never raised."""
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # one field's failure must never abort a run
                self.missing[name] = failure_reason(exc)
        return self

    def merge_into(self, document: dict[str, Any], section: str) -> None:
        """Store ``data`` under ``document[section]`` and the reasons under ``document['missing']``."""
        document.setdefault(section, {}).update(self.data)
        if self.missing:
            reasons = document.setdefault("missing", {})
            for key, reason in self.missing.items():
                reasons[f"{section}.{key}" if key else section] = reason  # "" = the whole section
