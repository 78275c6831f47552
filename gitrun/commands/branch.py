"""``git run branch RUN NAME``: a new branch at the run's snapshot commit (the code as it ran)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitrun.commands.context import open_context
from gitrun.errors import UsageError
from gitrun.model.paths import check_entries
from gitrun.store.git import default_signature, run_git
from gitrun.store.refs import RefMoved, compare_and_swap

if TYPE_CHECKING:
    import pygit2


def branch_command(reference: str, name: str) -> int:
    ctx = open_context()
    run = ctx.store.resolve(reference)
    _check_snapshot_tree(ctx.repo, run.snapshot_commit)
    checked = run_git(["check-ref-format", "--branch", name], ctx.paths.workdir, check=False)
    if checked.returncode != 0 or name.startswith("-"):
        raise UsageError(f"'{name}' is not a valid branch name")
    ref = f"refs/heads/{name}"
    if ctx.repo.references.get(ref) is not None:
        raise UsageError(f"a branch named '{name}' already exists", hint="choose another name")
    import pygit2

    try:
        compare_and_swap(ctx.repo, ref, pygit2.Oid(hex=run.snapshot_commit), None, default_signature(ctx.repo),
                         f"branch: created from run {run.id}")
    except RefMoved:
        raise UsageError(f"a branch named '{name}' was just created by someone else", hint="choose another name")
    print(f"branch {name} created at {run.snapshot_commit[:10]}, the code of run {run.id[:10]} ({run.name})")
    print(f"  git switch {name}")
    return 0


def _check_snapshot_tree(repo: pygit2.Repository, commit_id: str) -> None:
    """Refuse a branch whose checkout would write outside the working tree or into .git.

    git refuses such entries itself on checkout, but only after the branch exists; a pulled run
    is refused here with the entry named, as ``apply`` does.
    """
    import pygit2

    from gitrun.store.trees import walk_tree

    commit = repo.get(commit_id)
    if isinstance(commit, pygit2.Commit):
        check_entries((path, entry.filemode == pygit2.enums.FileMode.LINK)
                      for path, entry in walk_tree(repo, commit.tree))
