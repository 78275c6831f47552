"""``git run baseline RUN``: the run others on a branch are compared against by default.

Stored in the notes: ``baseline_of = ["main", ...]`` lists the branches a run is the baseline of.
Marking a new baseline removes the branch from the previous one's list in the same notes commit
(one atomic compare-and-swap), so a branch never has two baselines and the mark travels with the
notes on push/fetch like every other run field.
"""

from __future__ import annotations

from typing import Any

from gitrun.commands.context import open_context
from gitrun.commands.output import print_json
from gitrun.commands.selection import current_branch
from gitrun.errors import UsageError
from gitrun.model import fields
from gitrun.model.organise import set_baseline_mark
from gitrun.store import codec
from gitrun.store.index import COLUMNS
from gitrun.store.notes import modify_notes


def baseline_command(reference: str | None = None, branch: str | None = None, clear: bool = False,
                     as_json: bool = False) -> int:
    ctx = open_context()
    runs = ctx.store.list_runs(COLUMNS)  # baseline marks are typed columns of the index
    if reference is None and not clear:
        marked = [(b, run) for run in runs for b in fields.baseline_branches(run.doc)]
        if as_json:
            print_json([{"branch": name, "id": run.id, "name": run.name}
                        for name, run in sorted(marked, key=lambda item: item[0])])
            return 0
        if not marked:
            print("no baselines marked (mark one with `git run baseline RUN`)")
        for name, run in sorted(marked, key=lambda item: item[0]):
            print(f"{name}: {run.id[:10]} ({run.name})")
        return 0
    target = ctx.store.resolve(reference) if reference else None
    branch = branch or current_branch(ctx.repo) or (target.branch if target else "")
    if not branch or branch == "(detached)":
        raise UsageError("HEAD is detached: say which branch with --branch")
    holders = [run for run in runs if branch in fields.baseline_branches(run.doc)]
    keys = sorted({run.snapshot_commit for run in holders} | ({target.snapshot_commit} if target else set()))
    if not keys:
        print(f"{branch} has no baseline")
        return 0
    by_key = {run.snapshot_commit: run for run in [*holders, *([target] if target else [])]}

    def change(current: dict[str, bytes | None]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for key, text in current.items():
            if text is None:
                continue
            doc: dict[str, Any] = codec.decode(text, f"metadata of run {by_key[key].id}")
            marked = target is not None and key == target.snapshot_commit and not clear
            if set_baseline_mark(doc, branch, marked):
                out[key] = codec.encode(doc)
        return out

    what = f"clear baseline of {branch}" if clear else f"baseline of {branch}: {target.id if target else ''}"
    modify_notes(ctx.repo, keys, change, f"gitrun: {what}")
    if clear:
        print(f"{branch} has no baseline now")
    elif target is not None:
        previous = [run for run in holders if run.id != target.id]
        print(f"{target.id[:10]} ({target.name}) is now the baseline of {branch}"
              + (f" (was {previous[0].id[:10]} ({previous[0].name}))" if previous else ""))
    return 0
