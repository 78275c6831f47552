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
from gitrun.store.sharing.remote import local_runs, tracking_notes_ref
from gitrun.store.sharing.tombstones import flagged_runs


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


def _merge_metadata(repo: pygit2.Repository, workdir: Path, remote: str, summary: PullResult) -> None:
    theirs = read_ref(repo, tracking_notes_ref(remote))
    summary.merged_notes = merge_into_local(repo, theirs, f"gitrun: merge notes from {remote}")
    summary.journal_changed = merge_remote_journal(repo, workdir, remote)


def _newer(repo: pygit2.Repository, theirs: pygit2.Oid, ours: pygit2.Oid) -> bool:
    """Whether the remote's result commit is a later state of the run than ours.

    Every result commit of a run is written by the clone that recorded it (the empty one at the
    start, the full one when it ends), so the later commit is the later state; within one second,
    the one with files wins over the empty start. Used only for runs we have no tracking ref of.
    """
    their_commit, our_commit = repo.get(theirs), repo.get(ours)
    if not isinstance(their_commit, pygit2.Commit) or not isinstance(our_commit, pygit2.Commit):
        return False
    if their_commit.commit_time != our_commit.commit_time:
        return their_commit.commit_time > our_commit.commit_time
    return len(our_commit.tree) == 0 and len(their_commit.tree) > 0


def integrate(repo: pygit2.Repository, workdir: Path, remote: str, remote_runs: dict[str, pygit2.Oid],
              before: dict[str, pygit2.Oid]) -> PullResult:
    """Merge the fetched notes into ours and bring the remote's runs into ``refs/experiments``.

    ``remote_runs``: the remote's run refs (tracking refs, just fetched); ``before``: as we knew
    them before this fetch. A run we have not changed since is moved to the remote's new value; one
    we changed is kept; one we have no tracking ref of moves when the remote's is newer.
    """
    summary = PullResult(remote)
    _merge_metadata(repo, workdir, remote, summary)
    local_refs = local_runs(repo)
    flagged = flagged_runs(repo, notes_tree(repo), {**local_refs, **remote_runs})
    created: list[Move] = []
    updated: list[Move] = []
    removed: list[Move] = []
    for run_id, target in sorted(remote_runs.items()):
        ref = run_ref(run_id)
        local = local_refs.get(run_id)
        dead, name = flagged.get(run_id, (False, None))
        if dead:
            if local is not None:
                removed.append((ref, None, local))
            continue
        if local == target:
            continue
        if local is None:
            created.append((ref, target, None))
        elif local == before.get(run_id) or (run_id not in before and _newer(repo, target, local)):
            updated.append((ref, target, local))
        else:
            summary.kept_local.append(run_id)
            continue
        if name is not None:
            summary.id_like_names.append((run_id, name))
    # Runs deleted everywhere (``rm --remote`` elsewhere): their note became a tombstone.
    for run_id, local in local_refs.items():
        if run_id not in remote_runs and flagged.get(run_id, (False, None))[0]:
            removed.append((run_ref(run_id), None, local))
    _apply_all(repo, workdir, remote, summary, created, updated, removed)
    return summary


def integrate_fetched_runs(repo: pygit2.Repository, workdir: Path, remote: str) -> PullResult:
    """After ``remote.fetch_runs_directly`` into a repository that had no run: merge the notes, then
    remove the fetched runs whose note is a tombstone; the others are the new runs."""
    summary = PullResult(remote)
    _merge_metadata(repo, workdir, remote, summary)
    fetched = local_runs(repo)
    removed: list[Move] = []
    for run_id, (dead, name) in sorted(flagged_runs(repo, notes_tree(repo), fetched).items()):
        if dead:
            removed.append((run_ref(run_id), None, fetched.pop(run_id)))
        elif name is not None:
            summary.id_like_names.append((run_id, name))
    _apply_all(repo, workdir, remote, summary, [], [], removed)
    summary.new_runs = sorted(fetched)
    return summary


def _apply_all(repo: pygit2.Repository, workdir: Path, remote: str, summary: PullResult, created: list[Move],
               updated: list[Move], removed: list[Move]) -> None:
    prefix = len(EXPERIMENTS_PREFIX)
    summary.new_runs = sorted(r[prefix:] for r in apply_moves(repo, workdir, created, f"gitrun: pulled from {remote}"))
    summary.updated_runs = sorted(r[prefix:] for r in apply_moves(repo, workdir, updated,
                                                                  f"gitrun: updated from {remote}"))
    summary.removed_runs = sorted(r[prefix:] for r in apply_moves(repo, workdir, removed,
                                                                  f"gitrun: removed on {remote}"))
