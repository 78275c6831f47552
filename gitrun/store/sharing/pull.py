"""Pull: merge a remote's fetched notes into ours and bring its runs into ``refs/experiments``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitrun.store.git import default_signature, run_git
from gitrun.store.journal_share import merge_remote_journal
from gitrun.store.merge import merge_into_local
from gitrun.store.notes import notes_tree
from gitrun.store.refs import EXPERIMENTS_PREFIX, RefMoved, compare_and_swap, read_ref, run_ref
from gitrun.store.sharing.remote import tracked_runs, tracking_notes_ref
from gitrun.store.sharing.tombstones import id_like_name, is_tombstone_note, is_tombstoned, note_data, snapshot_of


@dataclass
class PullResult:
    """What a pull changed, by run id."""

    remote: str
    merged_notes: int = 0
    new_runs: list[str] = field(default_factory=list)
    updated_runs: list[str] = field(default_factory=list)
    removed_runs: list[str] = field(default_factory=list)
    kept_local: list[str] = field(default_factory=list)  # ours differs from the remote's: kept
    id_like_names: list[tuple[str, str]] = field(default_factory=list)  # pulled runs named like an id prefix
    journal_changed: bool = False


Move = tuple[str, pygit2.Oid | None, pygit2.Oid | None]  # ref, new value (None: delete), expected value


def _move_ref(repo: pygit2.Repository, name: str, new: pygit2.Oid | None, expected: pygit2.Oid | None,
              message: str) -> bool:
    try:
        compare_and_swap(repo, name, new, expected, default_signature(repo), message)
        return True
    except RefMoved:
        return False


def apply_moves(repo: pygit2.Repository, workdir: Path, moves: list[Move], message: str) -> set[str]:
    """Compare-and-swap many refs at once; return the refs that moved.

    One ``git update-ref --stdin`` transaction (each line verifies the expected old value under git's
    own ref locks, so it is a compare-and-swap of every ref); if any ref moved meanwhile, the whole
    transaction fails and the refs are retried one by one, each by itself a compare-and-swap.
    """
    if not moves:
        return set()
    lines = []
    for name, new, old in moves:
        if new is None:
            lines.append(f"delete {name} {old}")
        elif old is None:
            lines.append(f"create {name} {new}")
        else:
            lines.append(f"update {name} {new} {old}")
    result = run_git(["update-ref", "-m", message, "--stdin"], workdir,
                     input_bytes=("\n".join(lines) + "\n").encode(), check=False)
    if result.returncode == 0:
        return {name for name, _, _ in moves}
    return {name for name, new, old in moves if _move_ref(repo, name, new, old, message)}


def integrate(repo: pygit2.Repository, workdir: Path, local_run_ids: list[str], remote: str,
              before: dict[str, pygit2.Oid]) -> PullResult:
    """Merge the fetched notes into ours and bring the remote's runs into ``refs/experiments``.

    ``before``: the remote's run refs as we knew them before this fetch (a run we have not changed
    since is moved to the remote's new value; one we changed is kept).
    """
    summary = PullResult(remote)
    theirs = read_ref(repo, tracking_notes_ref(remote))
    summary.merged_notes = merge_into_local(repo, theirs, f"gitrun: merge notes from {remote}")
    summary.journal_changed = merge_remote_journal(repo, workdir, remote)
    tree = notes_tree(repo)
    remote_runs = tracked_runs(repo, remote)
    created: list[Move] = []
    updated: list[Move] = []
    removed: list[Move] = []
    for run_id, target in sorted(remote_runs.items()):
        ref = run_ref(run_id)
        local = read_ref(repo, ref)
        data = note_data(repo, tree, snapshot_of(repo, target))  # each note read once, parsed only if a tombstone
        if local == target and local is not None:
            if is_tombstone_note(data):
                removed.append((ref, None, local))
            continue
        if is_tombstone_note(data):
            if local is not None:
                removed.append((ref, None, local))
            continue
        if local is None:
            created.append((ref, target, None))
        elif local == before.get(run_id):
            updated.append((ref, target, local))
        else:
            summary.kept_local.append(run_id)
            continue
        name = id_like_name(data)
        if name is not None:
            summary.id_like_names.append((run_id, name))
    # Runs deleted everywhere (``rm --remote`` elsewhere): their note became a tombstone.
    for run_id in local_run_ids:
        if run_id in remote_runs:
            continue
        ref = run_ref(run_id)
        local = read_ref(repo, ref)
        if local is not None and is_tombstoned(repo, tree, snapshot_of(repo, local)):
            removed.append((ref, None, local))
    prefix = len(EXPERIMENTS_PREFIX)
    summary.new_runs = sorted(r[prefix:] for r in apply_moves(repo, workdir, created, f"gitrun: pulled from {remote}"))
    summary.updated_runs = sorted(r[prefix:] for r in apply_moves(repo, workdir, updated,
                                                                  f"gitrun: updated from {remote}"))
    summary.removed_runs = sorted(r[prefix:] for r in apply_moves(repo, workdir, removed,
                                                                  f"gitrun: removed on {remote}"))
    return summary
