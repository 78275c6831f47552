"""``git run apply RUN``: put the run's code (its snapshot tree) into the working tree.

The one gitrun command whose purpose is to change the working tree. It leaves HEAD, the branch and
the index alone: afterwards ``git status``/``git diff`` show the run's code as unstaged changes
against HEAD, ``git add -A && git commit`` keeps them, and ``git restore .`` (plus removing new
files) undoes them. Files the run had are written; files HEAD tracks that the run did not have are
deleted; untracked files the run did not have are left alone.

It refuses, naming the files, when a file with uncommitted changes (or an untracked file) would be
overwritten or deleted with different content, unless ``--force``.

The snapshot tree may come from a teammate's pushed run: every entry is checked with git's own
checkout rules before anything is written (``gitrun.model.paths``), and every write and deletion
goes through ``gitrun.store.safe_write.SafeRoot``, which never follows a link out of the working tree.
"""

from __future__ import annotations

from gitrun.commands.context import open_context
from gitrun.errors import GitrunError, StorageError
from gitrun.model.paths import check_entries
from gitrun.store.commits import TreeFile, head_info, is_commit
from gitrun.store.safe_write import SafeRoot
from gitrun.store.workdir import checkout_files, file_on_disk, uncommitted_paths, write_stored_file


class WouldOverwrite(GitrunError):
    exit_code = 1


def _same(one: TreeFile | None, two: TreeFile | None) -> bool:
    if one is None or two is None:
        return one is two
    return one.id == two.id and one.mode == two.mode


def apply_command(reference: str, force: bool = False, dry_run: bool = False) -> int:
    ctx = open_context()
    repo = ctx.repo
    run = ctx.store.resolve(reference)
    if not is_commit(repo, run.snapshot_commit):  # nothing to apply: never "the run had no files"
        raise StorageError(f"run {run.id[:10]}'s snapshot commit {run.snapshot_commit[:10]} is missing",
                           hint="fetch it again (git run pull), or run `git run doctor`")
    target = checkout_files(repo, run.snapshot_commit)
    check_entries((path, entry.is_link) for path, entry in target.items())
    head_commit = head_info(repo)  # None on an unborn branch: no files at HEAD
    head = checkout_files(repo, head_commit.id if head_commit else None)
    dirty = uncommitted_paths(repo)
    workdir = ctx.paths.workdir
    writes: list[str] = []
    deletes: list[str] = []
    conflicts: list[str] = []
    for path in sorted(set(target) | set(head)):
        want = target.get(path)
        absolute = workdir / path
        if path not in dirty and path in head:
            if _same(want, head[path]):
                continue  # on disk as in HEAD, and the run had the same
            (writes if want is not None else deletes).append(path)
            continue
        on_disk = file_on_disk(absolute)
        if _same(on_disk, want):
            continue
        if want is None and on_disk is None:
            continue
        if on_disk is not None and not force:
            conflicts.append(path)
            continue
        (writes if want is not None else deletes).append(path)
    if conflicts:
        listing = ", ".join(conflicts[:8]) + (f" and {len(conflicts) - 8} more" if len(conflicts) > 8 else "")
        raise WouldOverwrite(f"applying run {run.id[:10]} would overwrite uncommitted changes in: {listing}",
                             hint="commit or stash them first, or add --force to overwrite")
    root = SafeRoot(workdir)
    root.preflight([(path, target[path].is_link) for path in writes] + [(path, False) for path in deletes])
    if dry_run:
        for path in writes:
            print(f"would write   {path}")
        for path in deletes:
            print(f"would delete  {path}")
        print(f"{len(writes)} to write, {len(deletes)} to delete (dry run: nothing changed)")
        return 0
    # Deletions first: a file the run lacks may stand where the run has a folder, or the reverse.
    for path in deletes:
        root.delete(path)
    for path in writes:
        try:
            write_stored_file(repo, root, path, target[path])
        except OSError as err:
            raise GitrunError(f"could not write {path}: {err.strerror or err}",
                              hint="a folder or file with untracked content is in the way; move it and retry")
    if not writes and not deletes:
        print(f"the working tree already has the code of run {run.id[:10]} ({run.name})")
        return 0
    print(f"applied the code of run {run.id[:10]} ({run.name}): {len(writes)} file"
          f"{'s' if len(writes) != 1 else ''} written, {len(deletes)} deleted")
    print("HEAD, your branch and the index are unchanged: review with `git status` and `git diff`")
    return 0

