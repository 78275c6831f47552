"""Ref names and compare-and-swap ref updates.

Every ref gitrun moves is updated by compare-and-swap: lock the ref (git's own ``.lock`` file,
so git CLI writers are excluded too), check that it still points where the caller last saw it,
then move it. A caller that loses the race re-reads and retries; nothing is overwritten blindly.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pygit2

from gitrun.errors import ConcurrentUpdate, StorageError
from gitrun.store.git import default_signature
from gitrun.store.refnames import (  # noqa: F401  (re-exported)
    EXPERIMENTS_PREFIX,
    JOURNAL_REF,
    NOTES_REF,
    REMOTE_NOTES_PREFIX,
)

T = TypeVar("T")


class RefMoved(Exception):
    """The ref did not point where the caller expected (internal: callers retry)."""


ObjectId = str | pygit2.Oid  # what store functions accept; they return hex strings to the commands


def to_oid(value: ObjectId) -> pygit2.Oid:
    """``value`` as a pygit2 id (a hex string from a command, or an id already)."""
    return value if isinstance(value, pygit2.Oid) else pygit2.Oid(hex=str(value))


def ref_targets(repo: pygit2.Repository, prefix: str) -> dict[str, str]:
    """Every direct ref whose name starts with ``prefix``: full name -> target commit (hex)."""
    found: dict[str, str] = {}
    for name in repo.references:
        if name.startswith(prefix):
            target = read_ref(repo, name)
            if target is not None:
                found[name] = str(target)
    return found


def run_ref(run_id: str) -> str:
    return EXPERIMENTS_PREFIX + run_id


def read_ref(repo: pygit2.Repository, name: str) -> pygit2.Oid | None:
    ref = repo.references.get(name)
    if ref is None:
        return None
    target = ref.target
    return target if isinstance(target, pygit2.Oid) else None


def ref_names_with_prefix(repo: pygit2.Repository, commondir: Path, prefix: str) -> list[str]:
    """The rest of every ref name starting with ``prefix`` (e.g. ``refs/experiments/01k7``), from the
    names alone: the loose refs' file names and the lines of ``packed-refs``, no ref file read.

    Each candidate is then checked with libgit2 (a packed ref deleted loose stays in neither). A
    reftable repository has neither file: every ref is listed then.
    """
    folder, _, start = prefix.rpartition("/")
    if (commondir / "reftable").exists():
        names = [ref.name for ref in repo.references.iterator() if ref.name.startswith(prefix)]
        return [name[len(folder) + 1:] for name in names]
    candidates: set[str] = set()
    try:
        candidates.update(name for name in os.listdir(commondir / folder) if name.startswith(start)
                          and not name.endswith(".lock"))
    except (FileNotFoundError, NotADirectoryError):
        pass
    needle = (" " + prefix).encode()
    try:
        with open(commondir / "packed-refs", "rb") as packed:
            for line in packed:
                if needle in line and not line.startswith((b"#", b"^")):
                    name = line.rstrip(b"\n").split(b" ", 1)[1].decode("utf-8", "replace")
                    if name.startswith(prefix) and "/" not in name[len(folder) + 1:]:
                        candidates.add(name[len(folder) + 1:])
    except FileNotFoundError:
        pass
    return [name for name in candidates if read_ref(repo, f"{folder}/{name}") is not None]


def usable_commit(repo: pygit2.Repository, oid: pygit2.Oid) -> bool:
    """Is ``oid`` a commit whose tree is there? (``git gc --prune=now`` racing a writer can remove them.)"""
    try:
        commit = repo.get(oid)
        return isinstance(commit, pygit2.Commit) and repo.get(commit.tree_id) is not None
    except (pygit2.GitError, ValueError):
        return False


def dangling_ref_hint(repo: pygit2.Repository) -> str | None:
    """One line when the notes ref points at a missing commit (one object lookup: every command asks)."""
    target = read_ref(repo, NOTES_REF)
    if target is None or usable_commit(repo, target):
        return None
    return (f"{NOTES_REF} points at a missing commit {str(target)[:10]} (git gc while a run was recording?); "
            "run `git run doctor` to repair it")


def last_usable_from_reflog(repo: pygit2.Repository, name: str) -> pygit2.Oid | None:
    """The newest commit ``name`` pointed at, according to its reflog, that is still whole."""
    ref = repo.references.get(name)
    if ref is None:
        return None
    try:
        entries = list(ref.log())
    except (pygit2.GitError, KeyError):
        return None
    for entry in entries:  # newest first
        for oid in (entry.oid_new, entry.oid_old):
            if oid is not None and oid.raw != bytes(20) and usable_commit(repo, oid):
                return oid
    return None


def compare_and_swap(
    repo: pygit2.Repository,
    name: str,
    new: pygit2.Oid | None,
    expected: pygit2.Oid | None,
    signature: pygit2.Signature,
    message: str,
) -> None:
    """Point ``name`` at ``new`` (delete it when ``new`` is None) if it still points at ``expected``.

    ``expected`` None means "the ref must not exist yet". Raises RefMoved when another writer got
    there first or holds the lock.
    """
    try:
        with repo.transaction() as txn:
            txn.lock_ref(name)
            if read_ref(repo, name) != expected:
                raise RefMoved(name)
            if new is None:
                txn.remove(name)
            else:
                txn.set_target(name, new, message=message)  # pygit2 1.21 mishandles an explicit signature
    except pygit2.GitError as err:
        if "lock" in str(err):  # another process holds the .lock file: the same as losing the race
            raise RefMoved(f"{name}: {err}")
        raise StorageError(f"could not update {name}: {err}")  # e.g. a full disk: retrying cannot help


def ref_exists(repo: pygit2.Repository, name: str) -> bool:
    return repo.references.get(name) is not None


def create_ref(repo: pygit2.Repository, name: str, target: ObjectId, message: str) -> None:
    """Create ``name`` at ``target`` by the user's identity; RefMoved when it exists already."""
    compare_and_swap(repo, name, to_oid(target), None, default_signature(repo), message)


def retry_on_conflict(attempt: Callable[[], T], what: str, attempts: int = 50) -> T:
    """Run ``attempt`` until it does not raise RefMoved, with jittered backoff."""
    delay = 0.002
    for _ in range(attempts):
        try:
            return attempt()
        except RefMoved:
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.2)
    raise ConcurrentUpdate(f"could not update {what}: other writers kept moving it", hint="try again")
