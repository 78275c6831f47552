"""Scan what a run publishes for secrets, straight from the object store, streamed.

``git run check`` and the pre-push hook use it on every run a push would publish: the run's note,
every file of its result tree (logs, outputs, series), and every file its snapshot adds or changes
against its base commit. Blobs are read whole through libgit2 up to ``STREAM_ABOVE`` bytes, and above
that streamed through ``git cat-file`` in chunks, so there is no size cut-off and no memory spike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pygit2

from gitrun.model.secrets import StreamScanner
from gitrun.store.git import stream_git

STREAM_ABOVE = 32 * 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Leak:
    """A secret found in a stored file: where (path, line) and what kind; never the secret itself."""

    path: str
    line: int
    kind: str


def _scan_blob(repo: pygit2.Repository, oid: pygit2.Oid) -> StreamScanner:
    scanner = StreamScanner()
    try:
        _, size = repo.odb.read_header(oid)
    except (KeyError, ValueError, pygit2.GitError):
        return scanner
    if size <= STREAM_ABOVE:
        blob = repo.get(oid)
        if isinstance(blob, pygit2.Blob):
            data = blob.data
            for start in range(0, len(data), CHUNK):
                scanner.feed(data[start:start + CHUNK])
    else:
        for chunk in stream_git(["cat-file", "blob", str(oid)], repo.path, CHUNK):
            scanner.feed(chunk)
    scanner.close()
    return scanner


def scan_blob(repo: pygit2.Repository, oid: pygit2.Oid, path: str) -> list[Leak]:
    """Every secret in one blob, with its line."""
    return [Leak(path, line, kind) for line, kind in _scan_blob(repo, oid).found]


def _files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> Iterator[tuple[str, pygit2.Oid]]:
    for entry in tree:
        path = prefix + (entry.name or "")
        if entry.type_str == "tree":
            subtree = repo.get(entry.id)
            if isinstance(subtree, pygit2.Tree):
                yield from _files(repo, subtree, path + "/")
        elif entry.type_str == "blob":
            yield path, entry.id


def scan_tree(repo: pygit2.Repository, commit_hex: str) -> list[Leak]:
    """Every secret in every file of a commit's tree (a run's result tree: logs, outputs, series)."""
    commit = repo.get(commit_hex)
    if not isinstance(commit, pygit2.Commit):
        return []
    leaks: list[Leak] = []
    for path, oid in _files(repo, commit.tree):
        leaks.extend(scan_blob(repo, oid, path))
    return leaks


def scan_changes(repo: pygit2.Repository, snapshot_hex: str) -> list[Leak]:
    """Secrets in the files a snapshot adds or changes against its base commit, except those the
    base version of the same file already held (the run does not publish them: the base does)."""
    snapshot = repo.get(snapshot_hex)
    if not isinstance(snapshot, pygit2.Commit):
        return []
    if snapshot.parents:
        diff = repo.diff(snapshot.parents[0].tree, snapshot.tree)
    else:
        diff = snapshot.tree.diff_to_tree(swap=True)
    leaks: list[Leak] = []
    for delta in diff.deltas:
        new = delta.new_file
        if delta.status_char() == "D" or new.id == pygit2.Oid(hex="0" * 40):
            continue
        found = _scan_blob(repo, new.id)
        if not found.found:
            continue
        old_digests: set[str] = set()
        if delta.status_char() != "A" and delta.old_file.id != pygit2.Oid(hex="0" * 40):
            old_digests = set(_scan_blob(repo, delta.old_file.id).digests)
        for (line, kind), digest in zip(found.found, found.digests, strict=True):
            if digest not in old_digests:
                leaks.append(Leak(new.path, line, kind))
    return leaks


def scan_note(note: bytes) -> list[Leak]:
    """Secrets in a run's metadata note as it is stored (and pushed under refs/notes/gitrun)."""
    scanner = StreamScanner()
    scanner.feed(note)
    return [Leak("note", line, kind) for line, kind in scanner.close()]
