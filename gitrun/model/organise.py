"""How tags and baseline marks change (pure; ``git run tag``/``baseline`` and the terminal UI use it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitrun.errors import UsageError
from gitrun.model.fields import baseline_branches


def check_tag(tag: str) -> None:
    if not tag.strip() or any(char.isspace() for char in tag) or tag.startswith("-"):
        raise UsageError(f"invalid tag '{tag}'",
                         hint="tags are single words, e.g. baseline or imagenet:v3 (dataset:version)")


def retagged(doc: dict[str, Any], tags: Iterable[str], remove: bool = False) -> list[str] | None:
    """The run's new ``tags`` list (sorted, unique), or None when nothing changes."""
    current = [str(tag) for tag in doc.get("tags", [])]
    wanted = list(tags)
    new = [tag for tag in current if tag not in wanted] if remove else sorted(set(current) | set(wanted))
    return None if new == current else new


def set_baseline_mark(doc: dict[str, Any], branch: str, marked: bool) -> bool:
    """Add (``marked``) or remove ``branch`` in the run's ``baseline_of``; whether the doc changed."""
    marks = baseline_branches(doc)
    new = [b for b in marks if b != branch] + ([branch] if marked else [])
    if sorted(new) == sorted(marks):
        return False
    if new:
        doc["baseline_of"] = sorted(new)
    else:
        doc.pop("baseline_of", None)
    return True
