"""``git run branch RUN NAME``: a new branch at the run's snapshot commit (the code as it ran)."""

from __future__ import annotations

from gitrun.commands.context import open_context
from gitrun.errors import UsageError
from gitrun.model.paths import check_entries
from gitrun.store.commits import tree_files
from gitrun.store.git import run_git
from gitrun.store.refs import RefMoved, create_ref, ref_exists


def branch_command(reference: str, name: str) -> int:
    ctx = open_context()
    run = ctx.store.resolve(reference)
    # A checkout writing outside the working tree or into .git is refused here, naming the entry, as
    # ``apply`` does: git refuses such entries itself on checkout, but only after the branch exists.
    check_entries((path, entry.is_link) for path, entry in tree_files(ctx.repo, run.snapshot_commit).items())
    checked = run_git(["check-ref-format", "--branch", name], ctx.paths.workdir, check=False)
    if checked.returncode != 0 or name.startswith("-"):
        raise UsageError(f"'{name}' is not a valid branch name")
    ref = f"refs/heads/{name}"
    if ref_exists(ctx.repo, ref):
        raise UsageError(f"a branch named '{name}' already exists", hint="choose another name")
    try:
        create_ref(ctx.repo, ref, run.snapshot_commit, f"branch: created from run {run.id}")
    except RefMoved:
        raise UsageError(f"a branch named '{name}' was just created by someone else", hint="choose another name")
    print(f"branch {name} created at {run.snapshot_commit[:10]}, the code of run {run.id[:10]} ({run.name})")
    print(f"  git switch {name}")
    return 0

