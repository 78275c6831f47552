"""Baselines: the run others on a branch are compared against by default.

Stored in the notes: ``baseline_of = ["main", ...]`` lists the branches a run is the baseline of.
Marking a new baseline removes the branch from the previous one's list in the same notes commit
(one atomic compare-and-swap), so a branch never has two baselines and the mark travels with the
notes on push/fetch like every other run field. ``git run baseline`` and the terminal UI both use
these functions (plain data in, plain data out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pygit2

from gitrun.errors import UsageError
from gitrun.model.fields import baseline_branches
from gitrun.model.organise import set_baseline_mark
from gitrun.model.run import Run
from gitrun.store import codec
from gitrun.store.notes import modify_notes
from gitrun.store.selection import current_branch


@dataclass(frozen=True)
class Baseline:
    """One branch's baseline run."""

    branch: str
    run_id: str
    name: str


@dataclass(frozen=True)
class BaselineChange:
    """What marking (or clearing) a branch's baseline did."""

    branch: str
    previous: list[Baseline] = field(default_factory=list)  # who held it before (the new baseline left out)


def baselines(runs: Iterable[Run]) -> list[Baseline]:
    """Every branch's baseline among ``runs`` (their notes' ``baseline_of``), sorted by branch."""
    marks = [Baseline(branch, run.id, run.name) for run in runs for branch in baseline_branches(run.doc)]
    return sorted(marks, key=lambda mark: mark.branch)


def baseline_branch(repo: pygit2.Repository, branch: str | None, target: Run | None) -> str:
    """The branch to mark: the one named, else the current branch, else the run's; UsageError if none."""
    chosen = branch or current_branch(repo) or (target.branch if target else "")
    if not chosen or chosen == "(detached)":
        raise UsageError("HEAD is detached and no branch was named", hint="say which branch with --branch")
    return chosen


def set_baseline(repo: pygit2.Repository, runs: Sequence[Run], branch: str, target: Run | None) -> BaselineChange:
    """Make ``target`` the baseline of ``branch`` (None: the branch has none), taking the mark off the
    runs of ``runs`` that held it, in one notes commit (compare-and-swap, retried)."""
    holders = [run for run in runs if branch in baseline_branches(run.doc)]
    by_key = {run.snapshot_commit: run for run in [*holders, *([target] if target else [])]}
    if not by_key:
        return BaselineChange(branch)

    def change(current: dict[str, bytes | None]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for key, text in current.items():
            if text is None:
                continue
            doc: dict[str, Any] = codec.decode(text, f"metadata of run {by_key[key].id}")
            marked = target is not None and key == target.snapshot_commit
            if set_baseline_mark(doc, branch, marked):
                out[key] = codec.encode(doc)
        return out

    what = f"baseline of {branch}: {target.id}" if target else f"clear baseline of {branch}"
    modify_notes(repo, sorted(by_key), change, f"gitrun: {what}")
    return BaselineChange(branch, [Baseline(branch, run.id, run.name) for run in holders
                                   if target is None or run.id != target.id])
