"""``git run baseline RUN``: the run others on a branch are compared against by default (the marks
and how they are stored: ``gitrun.store.baselines``)."""

from __future__ import annotations

from gitrun.commands.context import open_context
from gitrun.commands.output import print_json
from gitrun.store.baselines import baseline_branch, baselines, set_baseline
from gitrun.store.index import COLUMNS


def baseline_command(reference: str | None = None, branch: str | None = None, clear: bool = False,
                     as_json: bool = False) -> int:
    ctx = open_context()
    runs = ctx.store.list_runs(COLUMNS)  # baseline marks are typed columns of the index
    if reference is None and not clear:
        marks = baselines(runs)
        if as_json:
            print_json([{"branch": mark.branch, "id": mark.run_id, "name": mark.name} for mark in marks])
            return 0
        if not marks:
            print("no baselines marked (mark one with `git run baseline RUN`)")
        for mark in marks:
            print(f"{mark.branch}: {mark.run_id[:10]} ({mark.name})")
        return 0
    named = ctx.store.resolve(reference) if reference else None
    target = None if clear else named
    change = set_baseline(ctx.repo, runs, baseline_branch(ctx.repo, branch, named), target)
    if target is not None:
        was = change.previous[0] if change.previous else None
        print(f"{target.id[:10]} ({target.name}) is now the baseline of {change.branch}"
              + (f" (was {was.run_id[:10]} ({was.name}))" if was else ""))
    else:
        print(f"{change.branch} has no baseline" + (" now" if change.previous else ""))
    return 0
