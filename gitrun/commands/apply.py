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

import os
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitrun.commands.context import open_context
from gitrun.errors import GitrunError
from gitrun.model.paths import check_entries
from gitrun.store.safe_write import SafeRoot
from gitrun.store.trees import walk_tree

_LINK = pygit2.enums.FileMode.LINK
_EXEC = pygit2.enums.FileMode.BLOB_EXECUTABLE
_COMMIT = pygit2.enums.FileMode.COMMIT


class WouldOverwrite(GitrunError):
    exit_code = 1


@dataclass(frozen=True)
class Entry:
    oid: str
    mode: int


def tree_entries(repo: pygit2.Repository, tree: pygit2.Tree | None) -> dict[str, Entry]:
    if tree is None:
        return {}
    # Submodules (commit entries) are their own repositories: not restored here.
    return {path: Entry(str(item.id), int(item.filemode)) for path, item in walk_tree(repo, tree)
            if item.filemode != _COMMIT}


def disk_entry(path: Path) -> Entry | None:
    if os.path.islink(path):
        return Entry(str(pygit2.hash(os.readlink(path).encode("utf-8", "surrogateescape"))), int(_LINK))
    if not path.is_file():
        return None
    mode = _EXEC if os.access(path, os.X_OK) else pygit2.enums.FileMode.BLOB
    return Entry(str(pygit2.hashfile(str(path))), int(mode))


def _same(one: Entry | None, two: Entry | None) -> bool:
    if one is None or two is None:
        return one is two
    return one.oid == two.oid and one.mode == two.mode


def apply_command(reference: str, force: bool = False, dry_run: bool = False) -> int:
    ctx = open_context()
    repo = ctx.repo
    run = ctx.store.resolve(reference)
    snapshot = repo.get(run.snapshot_commit)
    assert isinstance(snapshot, pygit2.Commit)
    target = tree_entries(repo, snapshot.tree)
    check_entries((path, entry.mode == _LINK) for path, entry in target.items())
    head_tree = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit).tree
    head = tree_entries(repo, head_tree)
    dirty = set(repo.status(untracked_files="all", ignored=False))
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
        on_disk = disk_entry(absolute)
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
    root.preflight([(path, target[path].mode == _LINK) for path in writes] + [(path, False) for path in deletes])
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
            _write(repo, root, path, target[path])
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


def _write(repo: pygit2.Repository, root: SafeRoot, path: str, entry: Entry) -> None:
    blob = repo.get(entry.oid)
    assert isinstance(blob, pygit2.Blob)
    if entry.mode == _LINK:
        root.write_link(path, blob.data.decode("utf-8", "surrogateescape"))
    else:
        root.write_file(path, blob.data, executable=entry.mode == _EXEC)
