"""``git run tag RUN TAG...`` and ``git run untag RUN TAG...``: tags live in the note's ``tags`` array."""

from __future__ import annotations

from typing import Any

from gitrun.commands.context import open_context
from gitrun.errors import UsageError
from gitrun.model.organise import check_tag, retagged


def tag_command(reference: str, tags: list[str], remove: bool = False) -> int:
    if not tags:
        raise UsageError("no tags given", hint="usage: git run tag RUN TAG...")
    for tag in tags:
        check_tag(tag)
    ctx = open_context()
    run = ctx.store.resolve(reference)
    absent: list[str] = []

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        current = [str(tag) for tag in doc.get("tags", [])]
        absent.clear()
        if remove:
            absent.extend(tag for tag in tags if tag not in current)
        new = retagged(doc, tags, remove)
        if new is None:
            return None
        doc["tags"] = new
        return doc

    verb = "untag" if remove else "tag"
    ctx.store.update_doc(run, change, f"gitrun: {verb} {run.id} {' '.join(tags)}")
    for tag in absent:
        print(f"{run.name}: had no tag '{tag}'")
    print(f"{run.id[:10]} ({run.name}) tags: {', '.join(run.tags) or '(none)'}")
    return 0
