"""Tombstones (a run deleted everywhere) and the cheap tests run on every pulled or pushed note.

A tombstone is a note whose top-level ``deleted`` is ``true``; it replaces the run's whole note, so
no merge revives the run. Every real note has ``deleted = [...]`` in its ``[git]`` table, so the
word alone proves nothing: notes are searched for the key with the value ``true`` and parsed only
then.
"""

from __future__ import annotations

import re
from typing import Any

import pygit2

from gitrun.model.ids import looks_like_id_prefix
from gitrun.model.run import Run
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store import codec
from gitrun.store.merge import is_tombstone
from gitrun.store.notes import iter_note_entries, read_note

# ``deleted = true`` at the start of a line (tested at each ``deleted`` found by ``bytes.find``: a
# multi-line regex search of a 7 KB note costs 0.4 ms, 1,000 of them more than the pull's ref writes).
_TOMBSTONE_LINE = re.compile(rb'[ \t]*"?deleted"?[ \t]*=[ \t]*true\b')
_NAME_LINE = re.compile(rb'name = "([0-9A-Za-z]{4,26})"$', re.MULTILINE)  # only names that could look like an id


def has_tombstone_key(data: bytes) -> bool:
    """Whether a line of the note sets ``deleted = true`` (the word alone is in every real note)."""
    found = data.find(b"deleted")
    while found >= 0:
        line_start = data.rfind(b"\n", 0, found) + 1
        if _TOMBSTONE_LINE.match(data, line_start):
            return True
        found = data.find(b"deleted", found + 7)
    return False


def tombstone(run: Run, by: str) -> dict[str, Any]:
    """The note that replaces ``run``'s when ``by`` deletes it everywhere."""
    return {"schema": run.doc.get("schema", 1), "id": run.id, "name": run.name, "deleted": True,
            "deleted_by": by, "deleted_at": to_iso(utc_now()), "snapshot_commit": run.snapshot_commit}


def snapshot_of(repo: pygit2.Repository, result: pygit2.Oid) -> str | None:
    """The snapshot commit (the note's key) of a run's result commit."""
    commit = repo.get(result)
    if isinstance(commit, pygit2.Commit) and commit.parent_ids:
        return str(commit.parent_ids[0])
    return None


def note_data(repo: pygit2.Repository, tree: pygit2.Tree | None, snapshot: str | None) -> bytes | None:
    """The note of ``snapshot`` in this notes tree; None without a tree (read_note would read the local
    notes instead) or without a snapshot."""
    return read_note(repo, snapshot, tree) if tree is not None and snapshot is not None else None


def is_tombstone_note(data: bytes | None) -> bool:
    if data is None or not has_tombstone_key(data):
        return False  # the cheap test first: only a note with the tombstone key itself is parsed
    try:
        return is_tombstone(codec.decode(data))
    except Exception:
        return False


def is_tombstoned(repo: pygit2.Repository, tree: pygit2.Tree | None, snapshot: str | None) -> bool:
    return is_tombstone_note(note_data(repo, tree, snapshot))


def id_like_name(data: bytes | None) -> str | None:
    """The run's name when it could be taken for a run id prefix (ids win when resolving)."""
    if data is None:
        return None
    start = 0 if data.startswith(b"name = ") else data.find(b"\nname = ") + 1
    match = _NAME_LINE.match(data, start) if start or data.startswith(b"name = ") else None
    name = match.group(1).decode("ascii", "replace") if match else ""
    return name if looks_like_id_prefix(name) else None


Flags = tuple[bool, str | None]  # (the note is a tombstone, the run's name when it looks like an id prefix)


def flagged_runs(repo: pygit2.Repository, tree: pygit2.Tree | None, runs: dict[str, pygit2.Oid]) -> dict[str, Flags]:
    """The runs of ``runs`` (id -> result commit) whose note in ``tree`` is a tombstone or names the run
    like an id prefix.

    Every note of the tree is read once, straight from the object database (a pull's notes are
    mostly new); only when one is flagged are the runs' commits read to find whose note it is (the
    note's key is the run's snapshot commit, the result commit's parent): a pull without tombstones
    reads no commit.
    """
    by_snapshot: dict[str, Flags] = {}
    read = repo.odb.read
    for snapshot, blob in iter_note_entries(repo, tree):
        try:
            data = read(blob)[1]
        except (KeyError, ValueError, pygit2.GitError):
            continue
        dead, name = is_tombstone_note(data), id_like_name(data)
        if dead or name is not None:
            by_snapshot[snapshot] = (dead, name)
    if not by_snapshot:
        return {}
    flagged: dict[str, Flags] = {}
    for run_id, result in runs.items():
        flags = by_snapshot.get(snapshot_of(repo, result) or "")
        if flags is not None:
            flagged[run_id] = flags
    return flagged
