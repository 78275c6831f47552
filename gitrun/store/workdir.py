"""The user's working tree as git sees it, for ``git run apply``: HEAD's files, what is uncommitted,
a file's id on disk, and writing a stored file (through ``SafeRoot``, which follows no link out).

Plain data in and out (paths, hex ids, ``TreeFile``); only apply-like commands write here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pygit2

from gitrun.errors import StorageError
from gitrun.store.commits import TreeFile, blob_data, tree_files
from gitrun.store.safe_write import SafeRoot

_LINK = int(pygit2.enums.FileMode.LINK)
_EXECUTABLE = int(pygit2.enums.FileMode.BLOB_EXECUTABLE)
_BLOB = int(pygit2.enums.FileMode.BLOB)


def checkout_files(repo: pygit2.Repository, commit_hex: str | None) -> dict[str, TreeFile]:
    """The files a checkout of the commit writes (submodules are their own repositories: left out)."""
    return {path: found for path, found in tree_files(repo, commit_hex).items() if not found.is_submodule}


def uncommitted_paths(repo: pygit2.Repository) -> set[str]:
    """Every path whose working-tree or index state differs from HEAD, untracked files included."""
    return set(repo.status(untracked_files="all", ignored=False))


def file_on_disk(path: Path) -> TreeFile | None:
    """The file at ``path`` as git would store it (blob id and mode), None when it is not a file or link."""
    if os.path.islink(path):
        return TreeFile(str(pygit2.hash(os.readlink(path).encode("utf-8", "surrogateescape"))), _LINK)
    if not path.is_file():
        return None
    mode = _EXECUTABLE if os.access(path, os.X_OK) else _BLOB
    return TreeFile(str(pygit2.hashfile(str(path))), mode)


def write_stored_file(repo: pygit2.Repository, root: SafeRoot, path: str, stored: TreeFile) -> None:
    """Write the stored blob (a file or a link) at ``path`` below ``root``."""
    data = blob_data(repo, stored.id)
    if data is None:
        raise StorageError(f"the stored file {path} (object {stored.id[:10]}) is missing",
                           hint="fetch the run again (git run pull), or run `git run doctor`")
    if stored.is_link:
        root.write_link(path, data.decode("utf-8", "surrogateescape"))
    else:
        root.write_file(path, data, executable=stored.is_executable)
