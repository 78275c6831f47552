"""Files of a stored commit (a run's snapshot or result, a job's spec), read by hex id as plain data.

The commands name commits by the hex ids a ``Run`` carries and get bytes, paths and strings back,
never a pygit2 object (docs/architecture.md, "Commands and pygit2"). A missing or foreign object is
"nothing there" (None, empty), as a pulled run may lack what its note names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from gitrun.store.git import default_signature
from gitrun.store.refs import ObjectId, to_oid
from gitrun.store.trees import read_blob_at, read_tree_files, walk_tree

_LINK = int(pygit2.enums.FileMode.LINK)
_EXECUTABLE = int(pygit2.enums.FileMode.BLOB_EXECUTABLE)
_GITLINK = int(pygit2.enums.FileMode.COMMIT)


@dataclass(frozen=True)
class TreeFile:
    """One entry of a commit's tree that is not a folder: its blob (or submodule commit) id and mode."""

    id: str
    mode: int

    @property
    def is_link(self) -> bool:
        return self.mode == _LINK

    @property
    def is_executable(self) -> bool:
        return self.mode == _EXECUTABLE

    @property
    def is_submodule(self) -> bool:
        return self.mode == _GITLINK


@dataclass(frozen=True)
class CommitInfo:
    """A commit as plain data."""

    id: str
    tree: str
    parents: tuple[str, ...]
    time: int  # committer time, seconds since the epoch
    author_name: str


def commit_info(repo: pygit2.Repository, revision: str | None) -> CommitInfo | None:
    """The commit a hex id or unique hex prefix (7 to 64 digits) names; None when it is not a commit here."""
    if not revision or not re.fullmatch(r"[0-9a-fA-F]{7,64}", revision):
        return None
    try:
        found = repo.revparse_single(revision)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    if not isinstance(found, pygit2.Commit | pygit2.Tag):
        return None
    try:
        commit = found.peel(pygit2.Commit)
    except (ValueError, pygit2.GitError):
        return None
    return _info(commit)


def head_info(repo: pygit2.Repository) -> CommitInfo | None:
    """HEAD's commit, None on an unborn branch (or a HEAD that names no commit)."""
    try:
        return _info(repo.head.peel(pygit2.Commit))
    except (pygit2.GitError, KeyError, ValueError):
        return None


def _info(commit: pygit2.Commit) -> CommitInfo:
    return CommitInfo(str(commit.id), str(commit.tree_id), tuple(str(parent) for parent in commit.parent_ids),
                      int(commit.commit_time), str(commit.author.name))


def empty_tree(repo: pygit2.Repository) -> str:
    """The empty tree, written (hex)."""
    return str(repo.TreeBuilder().write())


def commit_of(repo: pygit2.Repository, commit_hex: str | None) -> pygit2.Commit | None:
    """The commit ``commit_hex`` names (a tag is peeled), or None (missing, malformed, not a commit)."""
    if not commit_hex:
        return None
    try:
        found = repo.get(commit_hex)
    except (ValueError, pygit2.GitError):
        return None
    if isinstance(found, pygit2.Tag):
        try:
            return found.peel(pygit2.Commit)
        except (ValueError, pygit2.GitError):
            return None
    return found if isinstance(found, pygit2.Commit) else None


def is_commit(repo: pygit2.Repository, commit_hex: str | None) -> bool:
    return commit_of(repo, commit_hex) is not None


def read_file(repo: pygit2.Repository, commit_hex: str | None, path: str) -> bytes | None:
    """The content of ``path`` in the commit's tree, or None when the commit or the file is not there."""
    commit = commit_of(repo, commit_hex)
    return None if commit is None else read_blob_at(repo, commit.tree, path)


def read_folder(repo: pygit2.Repository, commit_hex: str | None, folder: str) -> dict[str, bytes | None]:
    """Every file below ``folder/`` of the commit's tree, by its path inside ``folder``.

    A file whose blob is missing (or is a submodule commit) maps to None.
    """
    commit = commit_of(repo, commit_hex)
    if commit is None or folder not in commit.tree:
        return {}
    sub = repo.get(commit.tree[folder].id)
    if not isinstance(sub, pygit2.Tree):
        return {}
    found: dict[str, bytes | None] = {}
    for path, blob_id in read_tree_files(repo, sub).items():
        blob = repo.get(blob_id)
        found[path] = blob.data if isinstance(blob, pygit2.Blob) else None
    return found


def tree_files(repo: pygit2.Repository, commit_hex: str | None) -> dict[str, TreeFile]:
    """Every file (blob, link, submodule) of the commit's tree by path; {} when there is no such commit."""
    commit = commit_of(repo, commit_hex)
    if commit is None:
        return {}
    return {path: TreeFile(str(entry.id), int(entry.filemode)) for path, entry in walk_tree(repo, commit.tree)}


def blob_data(repo: pygit2.Repository, blob_hex: str) -> bytes | None:
    """A blob's content, or None when it is missing, not a blob, or the id is empty or malformed."""
    if not blob_hex:
        return None
    try:
        blob = repo.get(blob_hex)
    except (ValueError, pygit2.GitError):
        return None
    return blob.data if isinstance(blob, pygit2.Blob) else None


def changed_paths(repo: pygit2.Repository, old_hex: str | None, new_hex: str | None) -> list[str]:
    """Paths whose content differs between two commits' trees (none when either is missing)."""
    old, new = commit_of(repo, old_hex), commit_of(repo, new_hex)
    if old is None or new is None or old.tree_id == new.tree_id:
        return []
    changed: list[str] = []
    for delta in old.tree.diff_to_tree(new.tree).deltas:
        path = delta.new_file.path or delta.old_file.path
        if path not in changed:
            changed.append(path)
    return changed


def write_commit(repo: pygit2.Repository, tree: ObjectId, parents: Sequence[ObjectId], message: str) -> str:
    """A commit of ``tree`` (on no ref: the caller's ref or a later commit's parent keeps it), by the
    user's identity; its hex id."""
    signature = default_signature(repo)
    return str(repo.create_commit(None, signature, signature, message, to_oid(tree),
                                  [to_oid(parent) for parent in parents]))


def has_object(repo: pygit2.Repository, object_hex: str) -> bool:
    """Whether the object database holds ``object_hex``."""
    try:
        return repo.get(object_hex) is not None
    except (ValueError, pygit2.GitError):
        return False


def first_parent(repo: pygit2.Repository, commit_hex: str | None) -> str | None:
    commit = commit_of(repo, commit_hex)
    return str(commit.parent_ids[0]) if commit is not None and commit.parent_ids else None
