"""``git run note RUN``: a markdown note on a run (the note's ``note`` string), edited in $EDITOR or -m."""

from __future__ import annotations

from typing import Any

from gitrun.commands.context import open_context
from gitrun.commands.interact import can_start_editor, edit_text
from gitrun.errors import UsageError


def note_command(reference: str, message: str | None = None, show: bool = False, append: bool = False) -> int:
    ctx = open_context()
    run = ctx.store.resolve(reference)
    current = str(run.doc.get("note", ""))
    if show:
        empty = f"{run.name} has no note (add one with `git run note {run.id[:10]}`)"
        print(current.rstrip("\n") if current else empty)
        return 0
    if message is not None:
        text = (current.rstrip("\n") + "\n\n" + message if append and current else message)
    elif not can_start_editor():
        raise UsageError("no terminal to open an editor in",
                         hint=f'set the note with: git run note {run.id[:10]} -m "TEXT" (or --show to print it)')
    else:
        text = edit_text(current, ctx.paths.workdir)
    text = text.strip("\n")
    if text == current.strip("\n"):
        print(f"{run.id[:10]} ({run.name}): note unchanged")
        return 0

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        if text:
            doc["note"] = text + "\n"
        else:
            doc.pop("note", None)
        return doc

    ctx.store.update_doc(run, change, f"gitrun: note {run.id}")
    print(f"{run.id[:10]} ({run.name}): note {'saved' if text else 'removed'}")
    return 0
