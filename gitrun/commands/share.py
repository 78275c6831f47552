"""Sharing runs through a git remote: ``git run push``, ``pull``, ``fetch``, ``remote setup``, ``rm --remote``.

Everything goes through the git CLI (``gitrun.store.git.run_git``), so the user's credentials,
ssh config, proxies and hooks apply. The protocol (docs/format.md, "Sharing and merging"):

* fetch: ``+refs/notes/gitrun`` -> ``refs/gitrun/remotes/<R>/notes`` and ``+refs/experiments/*``
  -> ``refs/gitrun/remotes/<R>/experiments/*`` (tracking refs: nothing local is overwritten).
* pull: fetch, merge the remote notes into ``refs/notes/gitrun`` (TOML-aware three-way merge,
  ``gitrun.store.merge``), then create the local ``refs/experiments/<id>`` of runs new to us, move
  those we had not changed since the last fetch, and remove those the remote deleted (tombstones).
* the journal (``refs/gitrun/journal``) is fetched, merged and pushed along: ``gitrun.store.journal_share``.
* push: fetch and merge first; then build the notes commit to publish: the remote's notes plus our
  notes of the runs that are (or are being put) on the remote (so metadata of runs we keep local
  never leaves the machine), as a child of the remote's notes commit (a fast-forward); push it and
  the run refs in one ``git push --atomic`` (never forced: a run ref that we changed since we last
  saw it is pushed with ``--force-with-lease`` against that value). Rejected because someone else
  pushed first: fetch, merge, retry, at most ``PUSH_ATTEMPTS`` times with jittered backoff.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pygit2

from gitrun.commands.context import Context, open_context
from gitrun.errors import ConcurrentUpdate, GitCommandError, UsageError
from gitrun.model.ids import looks_like_id_prefix
from gitrun.model.run import Run
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store import codec
from gitrun.store.git import GitResult, default_signature, run_git
from gitrun.store.journal_share import (
    journal_fetch_refspec,
    journal_push_refspecs,
    merge_remote_journal,
    tracking_journal_ref,
)
from gitrun.store.merge import apply_note_blobs, is_tombstone, merge_into_local
from gitrun.store.notes import _lookup_entry, notes_tree
from gitrun.store.refs import (
    EXPERIMENTS_PREFIX,
    JOURNAL_REF,
    NOTES_REF,
    REMOTE_NOTES_PREFIX,
    RefMoved,
    compare_and_swap,
    read_ref,
    retry_on_conflict,
    run_ref,
)
from gitrun.store.sweeps import SWEEPS_PREFIX, tracking_sweeps_prefix

PUSH_ATTEMPTS = 10
_RETRYABLE = ("fetch first", "non-fast-forward", "stale info", "cannot lock ref", "atomic push failed",
              "failed to update ref", "incorrect old value", "reference already exists", "already exists")


def tracking_notes_ref(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/notes"


def tracking_runs_prefix(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/experiments/"


def fetch_refspecs(remote: str) -> list[str]:
    # The notes source is a glob so that a remote without runs yet is not an error.
    return [f"+{NOTES_REF}*:{tracking_notes_ref(remote)}*",
            f"+{EXPERIMENTS_PREFIX}*:{tracking_runs_prefix(remote)}*", journal_fetch_refspec(remote),
            f"+{SWEEPS_PREFIX}*:{tracking_sweeps_prefix(remote)}*"]  # `list --sweep` of a teammate's sweep


def resolve_remote(ctx: Context, remote: str | None) -> str:
    """REMOTE, else the current branch's upstream remote, else ``origin``; it must exist."""
    remotes = run_git(["remote"], ctx.paths.workdir).text.split()
    if remote is None:
        branch = ""
        try:
            if not ctx.repo.head_is_detached and not ctx.repo.head_is_unborn:
                branch = ctx.repo.head.shorthand
        except pygit2.GitError:
            branch = ""
        configured = run_git(["config", "--get", f"branch.{branch}.remote"], ctx.paths.workdir, check=False)
        candidate = configured.text.strip() if branch and configured.returncode == 0 else ""
        remote = candidate if candidate in remotes else "origin"
    if remote not in remotes:
        known = ", ".join(remotes) or "none"
        raise UsageError(f"no remote named '{remote}' (remotes: {known})",
                         hint="add one with `git remote add NAME URL`, or name it: git run push REMOTE")
    return remote


# --- fetch -----------------------------------------------------------------------------------------

def tracked_runs(repo: pygit2.Repository, remote: str) -> dict[str, pygit2.Oid]:
    prefix = tracking_runs_prefix(remote)
    found: dict[str, pygit2.Oid] = {}
    for name in repo.listall_references():
        if name.startswith(prefix):
            target = read_ref(repo, name)
            if target is not None:
                found[name[len(prefix):]] = target
    return found


def fetch(ctx: Context, remote: str) -> dict[str, pygit2.Oid]:
    """Update the tracking refs of ``remote``; return the tracked run refs as they were before."""
    before = tracked_runs(ctx.repo, remote)
    run_git([*NO_AUTO_MAINTENANCE, "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", remote,
             *fetch_refspecs(remote)], ctx.paths.workdir)
    return before


# --- pull ------------------------------------------------------------------------------------------

@dataclass
class PullSummary:
    merged_notes: int = 0
    new_runs: list[str] = field(default_factory=list)
    updated_runs: list[str] = field(default_factory=list)
    removed_runs: list[str] = field(default_factory=list)
    kept_local: list[str] = field(default_factory=list)
    id_like_names: list[tuple[str, str]] = field(default_factory=list)  # pulled runs named like an id prefix
    journal_changed: bool = False


def _note_doc(repo: pygit2.Repository, tree: pygit2.Tree | None, snapshot: str) -> dict[str, Any] | None:
    blob_id = _lookup_entry(repo, tree, snapshot)
    if blob_id is None:
        return None
    blob = repo.get(blob_id)
    if not isinstance(blob, pygit2.Blob):
        return None
    try:
        return codec.decode(blob.data)
    except Exception:
        return None


# ``deleted = true`` at the start of a line: a tombstone. Every real note has ``deleted = [...]`` in
# its ``[git]`` table, so matching the word alone would parse every note on every push and pull.
TOMBSTONE_KEY = re.compile(rb'(?m)^[ \t]*"?deleted"?[ \t]*=[ \t]*true\b')
# A fetch inside gitrun must not start ``git maintenance run --auto`` / ``gc --auto`` (a first pull
# into an unpacked repository waited 99 s for one): users' own fetches keep doing it.
NAME_LINE = re.compile(rb'(?m)^name = "([0-9A-Za-z]{4,26})"$')  # only names that could look like an id
NO_AUTO_MAINTENANCE: tuple[str, ...] = ("-c", "gc.auto=0", "-c", "maintenance.auto=false")


def _snapshot_of(repo: pygit2.Repository, result: pygit2.Oid) -> str | None:
    commit = repo.get(result)
    if isinstance(commit, pygit2.Commit) and commit.parent_ids:
        return str(commit.parent_ids[0])
    return None


def _move_ref(repo: pygit2.Repository, name: str, new: pygit2.Oid | None, expected: pygit2.Oid | None,
              message: str) -> bool:
    try:
        compare_and_swap(repo, name, new, expected, default_signature(repo), message)
        return True
    except RefMoved:
        return False


Move = tuple[str, pygit2.Oid | None, pygit2.Oid | None]  # ref, new value (None: delete), expected value


def _apply_moves(ctx: Context, moves: list[Move], message: str) -> set[str]:
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
    result = run_git(["update-ref", "-m", message, "--stdin"], ctx.paths.workdir,
                     input_bytes=("\n".join(lines) + "\n").encode(), check=False)
    if result.returncode == 0:
        return {name for name, _, _ in moves}
    return {name for name, new, old in moves if _move_ref(ctx.repo, name, new, old, message)}


def _note_data(repo: pygit2.Repository, tree: pygit2.Tree | None, snapshot: str | None) -> bytes | None:
    blob_id = _lookup_entry(repo, tree, snapshot) if snapshot is not None else None
    blob = repo.get(blob_id) if blob_id is not None else None
    return blob.data if isinstance(blob, pygit2.Blob) else None


def _is_tombstone_note(data: bytes | None) -> bool:
    if data is None or not TOMBSTONE_KEY.search(data):
        return False  # the cheap test first: only a note with the tombstone key itself is parsed
    try:
        return is_tombstone(codec.decode(data))
    except Exception:
        return False


def _is_tombstoned(repo: pygit2.Repository, tree: pygit2.Tree | None, snapshot: str | None) -> bool:
    return _is_tombstone_note(_note_data(repo, tree, snapshot))


def _id_like_name(data: bytes | None) -> str | None:
    match = NAME_LINE.search(data) if data is not None else None
    name = match.group(1).decode("ascii", "replace") if match else ""
    return name if looks_like_id_prefix(name) else None


def integrate(ctx: Context, remote: str, before: dict[str, pygit2.Oid]) -> PullSummary:
    """Merge the fetched notes into ours and bring the remote's runs into ``refs/experiments``."""
    repo = ctx.repo
    summary = PullSummary()
    theirs = read_ref(repo, tracking_notes_ref(remote))
    summary.merged_notes = merge_into_local(repo, theirs, f"gitrun: merge notes from {remote}")
    summary.journal_changed = merge_remote_journal(repo, ctx.paths.workdir, remote)
    tree = notes_tree(repo)
    remote_runs = tracked_runs(repo, remote)
    created: list[Move] = []
    updated: list[Move] = []
    removed: list[Move] = []
    for run_id, target in sorted(remote_runs.items()):
        ref = run_ref(run_id)
        local = read_ref(repo, ref)
        data = _note_data(repo, tree, _snapshot_of(repo, target))  # each note read once, parsed only if a tombstone
        if local == target and local is not None:
            if _is_tombstone_note(data):
                removed.append((ref, None, local))
            continue
        if _is_tombstone_note(data):
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
        name = _id_like_name(data)
        if name is not None:
            summary.id_like_names.append((run_id, name))
    # Runs deleted everywhere (``rm --remote`` elsewhere): their note became a tombstone.
    for run_id in ctx.store.run_ids():
        if run_id in remote_runs:
            continue
        ref = run_ref(run_id)
        local = read_ref(repo, ref)
        if local is not None and _is_tombstoned(repo, tree, _snapshot_of(repo, local)):
            removed.append((ref, None, local))
    prefix = len(EXPERIMENTS_PREFIX)
    summary.new_runs = sorted(r[prefix:] for r in _apply_moves(ctx, created, f"gitrun: pulled from {remote}"))
    summary.updated_runs = sorted(r[prefix:] for r in _apply_moves(ctx, updated, f"gitrun: updated from {remote}"))
    summary.removed_runs = sorted(r[prefix:] for r in _apply_moves(ctx, removed, f"gitrun: removed on {remote}"))
    return summary


def fetch_command(remote: str | None) -> int:
    ctx = open_context()
    name = resolve_remote(ctx, remote)
    fetch(ctx, name)
    count = len(tracked_runs(ctx.repo, name))
    print(f"gitrun: fetched {count} run(s) from {name} into {REMOTE_NOTES_PREFIX}{name}/ "
          f"(`git run pull {name}` merges them)")
    return 0


def pull_command(remote: str | None, no_fetch: bool = False) -> int:
    ctx = open_context()
    name = resolve_remote(ctx, remote)
    before = tracked_runs(ctx.repo, name) if no_fetch else fetch(ctx, name)
    summary = integrate(ctx, name, before)
    parts = [f"{len(summary.new_runs)} new run(s)"]
    if summary.updated_runs:
        parts.append(f"{len(summary.updated_runs)} updated")
    if summary.removed_runs:
        parts.append(f"{len(summary.removed_runs)} removed (deleted on {name})")
    parts.append(f"metadata of {summary.merged_notes} run(s) merged")
    if summary.journal_changed:
        parts.append("journal updated")
    print(f"gitrun: pulled from {name}: " + ", ".join(parts))
    for run_id in summary.kept_local:
        print(f"gitrun: run {run_id} differs from {name}'s copy; kept yours (`git run push` sends it)")
    for run_id, run_name in summary.id_like_names:
        print(f"gitrun: warning: pulled run {run_id} is named '{run_name}', which looks like a run id prefix; "
              "ids win, so refer to it by its id", file=sys.stderr)
    return 0


# --- push ------------------------------------------------------------------------------------------

@dataclass
class PushPlan:
    refspecs: list[str]
    new_runs: dict[str, pygit2.Oid]  # runs new to the remote (pushed through a staging namespace when many)
    leases: list[str]
    pushed_runs: list[str]
    deleted_runs: list[str]
    notes_commit: pygit2.Oid | None
    every_local_run: bool = False  # every local run belongs on the remote: one glob refspec can push them


def _published_notes(repo: pygit2.Repository, remote: str, shared_snapshots: Iterable[str]) -> pygit2.Oid | None:
    """A notes commit on top of the remote's: their notes plus ours for ``shared_snapshots``."""
    theirs = read_ref(repo, tracking_notes_ref(remote))
    theirs_tree = notes_tree(repo, tracking_notes_ref(remote)) if theirs is not None else None
    ours_tree = notes_tree(repo)
    changes: dict[str, pygit2.Oid] = {}
    for snapshot in shared_snapshots:
        ours_blob = _lookup_entry(repo, ours_tree, snapshot)
        if ours_blob is None:
            continue  # absence is never a deletion (deletions are tombstones)
        if ours_blob != _lookup_entry(repo, theirs_tree, snapshot):
            changes[snapshot] = ours_blob
    if not changes:
        return theirs
    tree = apply_note_blobs(repo, theirs_tree, changes)
    signature = default_signature(repo)
    parents = [theirs] if theirs is not None else []
    return repo.create_commit(None, signature, signature, f"gitrun: {len(changes)} note(s) from "
                              f"{signature.name}", tree, parents)


def plan_push(ctx: Context, remote: str, chosen: list[str] | None, deletions: list[str]) -> PushPlan:
    repo = ctx.repo
    remote_runs = tracked_runs(repo, remote)
    local_ids = ctx.store.run_ids()
    tree = notes_tree(repo)
    to_push: list[str] = []
    candidates = chosen if chosen is not None else local_ids
    every_local_run = chosen is None and not deletions
    for run_id in candidates:
        local = read_ref(repo, run_ref(run_id))
        if local is None or remote_runs.get(run_id) == local:
            continue
        if _is_tombstoned(repo, tree, _snapshot_of(repo, local)):
            every_local_run = False
            continue
        to_push.append(run_id)
    refspecs: list[str] = []
    leases: list[str] = []
    shared: set[str] = set()
    new_runs: dict[str, pygit2.Oid] = {}
    for run_id in to_push:
        ref = run_ref(run_id)
        local = read_ref(repo, ref)
        if local is None:
            continue
        old = remote_runs.get(run_id)
        if old is None:
            new_runs[run_id] = local
        else:  # we finalised a run after pushing it: replace exactly the value we last saw
            refspecs.append(f"{ref}:{ref}")
            leases.append(f"--force-with-lease={ref}:{old}")
        snapshot = _snapshot_of(repo, local)
        if snapshot:
            shared.add(snapshot)
    for target in remote_runs.values():
        snapshot = _snapshot_of(repo, target)
        if snapshot:
            shared.add(snapshot)
    deleted: list[str] = []
    for run_id in deletions:
        if run_id in remote_runs:
            ref = run_ref(run_id)
            refspecs.append(f":{ref}")
            leases.append(f"--force-with-lease={ref}:{remote_runs[run_id]}")
            deleted.append(run_id)
    notes_commit = _published_notes(repo, remote, shared)
    theirs = read_ref(repo, tracking_notes_ref(remote))
    if notes_commit is not None and notes_commit != theirs:
        refspecs.append(f"{notes_commit}:{NOTES_REF}")
    return PushPlan(refspecs, new_runs, leases, list(to_push), deleted, notes_commit, every_local_run)


STAGING_PREFIX = "refs/gitrun/push/"
STAGE_ABOVE = 50


@contextlib.contextmanager
def _staged(ctx: Context, new_runs: dict[str, pygit2.Oid], every_local_run: bool) -> Iterator[list[str]]:
    """Refspecs that push ``new_runs`` (created on the remote, never forced).

    git matches every explicit refspec against every local ref (1,000 runs: 3.4 s instead of 0.4 s
    for one glob). So when every local run is to be on the remote (the default push), one glob
    ``refs/experiments/*`` does it (runs already there are "up to date" and cost nothing); many
    chosen runs go through one glob from a private staging namespace,
    ``refs/gitrun/push/<pid>-<random>/<id>``, removed again afterwards (a leftover from a killed
    push only keeps objects alive; ``git update-ref -d`` removes it).
    """
    if not new_runs:
        yield []
        return
    if every_local_run and len(new_runs) > STAGE_ABOVE:
        yield [f"{EXPERIMENTS_PREFIX}*:{EXPERIMENTS_PREFIX}*"]
        return
    if len(new_runs) <= STAGE_ABOVE:
        yield [f"{run_ref(run_id)}:{run_ref(run_id)}" for run_id in sorted(new_runs)]
        return
    stage = f"{STAGING_PREFIX}{os.getpid()}-{random.randrange(1 << 30):x}/"
    lines = "".join(f"create {stage}{run_id} {target}\n" for run_id, target in sorted(new_runs.items()))
    run_git(["update-ref", "--stdin"], ctx.paths.workdir, input_bytes=lines.encode())
    try:
        yield [f"{stage}*:{EXPERIMENTS_PREFIX}*"]
    finally:
        lines = "".join(f"delete {stage}{run_id}\n" for run_id in sorted(new_runs))
        run_git(["update-ref", "--stdin"], ctx.paths.workdir, input_bytes=lines.encode(), check=False)


def _ref_status_text(result: GitResult) -> str:
    """What git and the server said about the refs: porcelain status lines, ``remote:`` lines and
    git's own ref errors; not the pre-push hook's output, which may say anything."""
    lines = [result.text]
    for line in result.stderr.decode("utf-8", "replace").splitlines():
        if line.startswith(("remote:", "error: atomic push failed", "! [", " ! [")):
            lines.append(line)
    return "\n".join(lines)


def _retryable(result_text: str) -> bool:
    lowered = result_text.lower()
    return any(marker in lowered for marker in _RETRYABLE)


def _record_pushed(ctx: Context, remote: str, plan: PushPlan) -> None:
    """After a successful push: the tracking notes ref = what the remote now holds, merged into ours."""
    repo = ctx.repo
    # The tracking refs of pushed runs are left to the next fetch (every push starts with one):
    # writing 1,000 refs costs as much as the push itself.
    lines: list[str] = []
    for run_id in plan.deleted_runs:
        lines.append(f"delete {tracking_runs_prefix(remote)}{run_id}")
    if plan.notes_commit is not None:
        lines.append(f"update {tracking_notes_ref(remote)} {plan.notes_commit}")
    journal = read_ref(repo, JOURNAL_REF)
    if journal is not None and f"{JOURNAL_REF}:{JOURNAL_REF}" in plan.refspecs:
        lines.append(f"update {tracking_journal_ref(remote)} {journal}")
    if lines:  # tracking refs mirror the remote, as `git fetch` would set them
        run_git(["update-ref", "-m", f"gitrun: pushed to {remote}", "--stdin"], ctx.paths.workdir,
                input_bytes=("\n".join(lines) + "\n").encode())
    if plan.notes_commit is not None:
        merge_into_local(repo, plan.notes_commit, f"gitrun: notes pushed to {remote}")


def push_runs(ctx: Context, remote: str, chosen: list[str] | None, deletions: list[str] | None = None,
              no_verify: bool = False, quiet: bool = False) -> PushPlan | None:
    """Push, retrying when another pusher got there first. None when there was nothing to push."""
    deletions = deletions or []
    atomic = True
    last_error = ""
    for attempt in range(PUSH_ATTEMPTS):
        # Always on fresh knowledge of the remote: what is there, what was deleted (tombstones).
        fetch(ctx, remote)
        merge_into_local(ctx.repo, read_ref(ctx.repo, tracking_notes_ref(remote)),
                         f"gitrun: merge notes from {remote}")
        merge_remote_journal(ctx.repo, ctx.paths.workdir, remote)
        plan = plan_push(ctx, remote, chosen, deletions)
        plan.refspecs += journal_push_refspecs(ctx.repo, remote)
        if not plan.refspecs and not plan.new_runs:
            return None
        flags = ["--porcelain"] + (["--atomic"] if atomic else []) + (["--no-verify"] if no_verify else [])
        with _staged(ctx, plan.new_runs, plan.every_local_run) as new_specs:
            result = run_git(["push", *flags, *plan.leases, remote, *new_specs, *plan.refspecs], ctx.paths.workdir,
                             check=False)
        output = result.text + result.stderr.decode("utf-8", "replace")
        if result.returncode == 0:
            hook_output = result.stderr.decode("utf-8", "replace").strip()
            if "gitrun" in hook_output and not quiet:
                print(hook_output, file=sys.stderr)  # the pre-push hook's warnings
            _record_pushed(ctx, remote, plan)
            return plan
        if atomic and "does not support --atomic" in output:
            atomic = False
            continue
        if not _retryable(_ref_status_text(result)):
            hook_output = result.stderr.decode("utf-8", "replace").strip()
            if hook_output:
                print(hook_output, file=sys.stderr)
            raise GitCommandError(f"git push to {remote} failed", hint=_push_hint(output))
        last_error = output.strip().splitlines()[-1] if output.strip() else ""
        if not quiet:
            print(f"gitrun: someone pushed to {remote} meanwhile; merging and retrying", file=sys.stderr)
        time.sleep((0.05 + random.random() * 0.25) * (attempt + 1))
    raise ConcurrentUpdate(f"could not push to {remote}: other pushers kept moving it ({last_error})",
                           hint="try again")


def _push_hint(output: str) -> str:
    if "pre-push hook" in output or "hook declined" in output:
        return "the pre-push hook refused: fix the problems listed, accept them, or push with --no-verify"
    return "see git's message above"


def select_for_push(ctx: Context, references: list[str], where: str | None) -> list[str] | None:
    if not references and not where:
        return None
    runs: list[Run] = [ctx.store.resolve(reference) for reference in references]
    if where:
        from gitrun.commands.selection import select_runs

        runs += select_runs(ctx.store.list_runs(), ctx.repo, where=where, all_branches=True).runs
    return sorted({run.id for run in runs})


def push_command(remote: str | None, references: list[str], where: str | None = None,
                 no_verify: bool = False) -> int:
    ctx = open_context()
    if remote is not None and remote not in run_git(["remote"], ctx.paths.workdir).text.split():
        references = [remote, *references]  # `git run push RUN` with the default remote
        remote = None
    name = resolve_remote(ctx, remote)
    chosen = select_for_push(ctx, references, where)
    if chosen is not None and not chosen:
        print("gitrun: no run matches; nothing pushed")
        return 0
    plan = push_runs(ctx, name, chosen, no_verify=no_verify)
    if plan is None:
        print(f"gitrun: {name} is up to date")
        return 0
    notes = "and their metadata" if plan.notes_commit is not None else ""
    print(f"gitrun: pushed {len(plan.pushed_runs)} run(s) {notes} to {name}".replace("  ", " "))
    return 0


# --- remote setup ----------------------------------------------------------------------------------

def remote_setup_command(remote: str | None, undo: bool = False) -> int:
    ctx = open_context(recover=False)
    name = resolve_remote(ctx, remote)
    key = f"remote.{name}.fetch"
    existing = run_git(["config", "--get-all", key], ctx.paths.workdir, check=False).text.split()
    wanted = fetch_refspecs(name)
    undo_command = f"git config --unset-all {key} '^\\+refs/(notes/gitrun|experiments/|gitrun/journal)'"
    if undo:
        run_git(["config", "--unset-all", key, r"^\+refs/(notes/gitrun|experiments/|gitrun/journal)"],
                ctx.paths.workdir, check=False)
        print(f"gitrun: `git fetch {name}` no longer brings runs")
        return 0
    added = 0
    for spec in wanted:
        if spec not in existing:
            run_git(["config", "--add", key, spec], ctx.paths.workdir)
            added += 1
    state = "now brings" if added else "already brought"
    print(f"gitrun: `git fetch {name}` {state} runs and their metadata into {REMOTE_NOTES_PREFIX}{name}/; "
          f"`git run pull {name} --no-fetch` merges them.\n"
          f"To undo: git run remote setup {name} --undo   (or: {undo_command})")
    return 0


# --- rm --remote -----------------------------------------------------------------------------------

def tombstone(run: Run, by: str) -> dict[str, Any]:
    return {"schema": run.doc.get("schema", 1), "id": run.id, "name": run.name, "deleted": True,
            "deleted_by": by, "deleted_at": to_iso(utc_now()), "snapshot_commit": run.snapshot_commit}


def remove_remote(ctx: Context, runs: list[Run], remote: str | None) -> int:
    """Delete ``runs`` here and on the remote; their notes become tombstones so no merge revives them."""
    name = resolve_remote(ctx, remote)
    signature = default_signature(ctx.repo)
    by = f"{signature.name} <{signature.email}>"
    for run in runs:
        dead = tombstone(run, by)

        def bury(_doc: dict[str, Any], dead: dict[str, Any] = dead) -> dict[str, Any]:
            return dict(dead)

        ctx.store.update_doc(run, bury, f"gitrun: delete {run.id} everywhere")
        ref = run_ref(run.id)

        def delete(ref: str = ref) -> None:
            compare_and_swap(ctx.repo, ref, None, read_ref(ctx.repo, ref), signature, "gitrun: deleted")

        retry_on_conflict(delete, ref)
    push_runs(ctx, name, [], deletions=[run.id for run in runs])
    return len(runs)


def remove_remote_command(ctx: Context, runs: list[Run], yes: bool, remote: str | None = None) -> int:
    """``git run rm --remote``: confirm, then delete here and on the remote."""
    from gitrun.commands.interact import confirm

    name = resolve_remote(ctx, remote)
    plural = "s" if len(runs) != 1 else ""
    if not yes:
        print(f"{len(runs)} run{plural} to delete here and on {name}, for everyone:")
        for run in runs:
            print(f"  {run.id[:10]}  {run.name}")
    if not confirm(f"Delete {len(runs)} run{plural} everywhere?", yes):
        print("nothing deleted")
        return 1
    remove_remote(ctx, runs, name)
    print(f"deleted {len(runs)} run{plural} here and on {name}")
    return 0
