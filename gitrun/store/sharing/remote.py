"""Remotes: which remote, the refspecs gitrun fetches, and the tracking refs that remember a remote.

A fetch inside gitrun never starts ``git maintenance run --auto`` / ``gc --auto`` (a first pull into
an unpacked repository waited 99 s for one); the user's own fetches keep doing it.
"""

from __future__ import annotations

from pathlib import Path

import pygit2

from gitrun.errors import UsageError
from gitrun.store.git import run_git
from gitrun.store.journal_share import journal_fetch_refspec
from gitrun.store.refs import EXPERIMENTS_PREFIX, NOTES_REF, REMOTE_NOTES_PREFIX
from gitrun.store.sweeps import SWEEPS_PREFIX, tracking_sweeps_prefix

NO_AUTO_MAINTENANCE: tuple[str, ...] = ("-c", "gc.auto=0", "-c", "maintenance.auto=false")


def tracking_notes_ref(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/notes"


def tracking_runs_prefix(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/experiments/"


def fetch_refspecs(remote: str) -> list[str]:
    """What ``git run fetch`` (and a plain ``git fetch`` after ``git run remote setup``) brings."""
    # The notes source is a glob so that a remote without runs yet is not an error.
    return [f"+{NOTES_REF}*:{tracking_notes_ref(remote)}*",
            f"+{EXPERIMENTS_PREFIX}*:{tracking_runs_prefix(remote)}*", journal_fetch_refspec(remote),
            f"+{SWEEPS_PREFIX}*:{tracking_sweeps_prefix(remote)}*"]  # `list --sweep` of a teammate's sweep


def remote_names(workdir: Path) -> list[str]:
    return run_git(["remote"], workdir).text.split()


def resolve_remote(repo: pygit2.Repository, workdir: Path, remote: str | None,
                   remotes: list[str] | None = None) -> str:
    """REMOTE, else the current branch's upstream remote, else ``origin``; it must exist."""
    remotes = remote_names(workdir) if remotes is None else remotes
    if remote is None:
        branch = ""
        try:
            if not repo.head_is_detached and not repo.head_is_unborn:
                branch = repo.head.shorthand
        except pygit2.GitError:
            branch = ""
        configured = run_git(["config", "--get", f"branch.{branch}.remote"], workdir, check=False)
        candidate = configured.text.strip() if branch and configured.returncode == 0 else ""
        remote = candidate if candidate in remotes else "origin"
    if remote not in remotes:
        known = ", ".join(remotes) or "none"
        raise UsageError(f"no remote named '{remote}' (remotes: {known})",
                         hint="add one with `git remote add NAME URL`, or name it: git run push REMOTE")
    return remote


def tracked_runs(repo: pygit2.Repository, remote: str) -> dict[str, pygit2.Oid]:
    """The remote's run refs as the last fetch left them in the tracking refs: id -> result commit."""
    return _runs_under(repo, tracking_runs_prefix(remote))


def fetch(repo: pygit2.Repository, workdir: Path, remote: str) -> dict[str, pygit2.Oid]:
    """Update the tracking refs of ``remote``; return the tracked run refs as they were before."""
    before = tracked_runs(repo, remote)
    run_git([*NO_AUTO_MAINTENANCE, "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", remote,
             *fetch_refspecs(remote)], workdir)
    return before


def local_runs(repo: pygit2.Repository) -> dict[str, pygit2.Oid]:
    """The local run refs, id -> result commit, in one pass over the references."""
    return _runs_under(repo, EXPERIMENTS_PREFIX)


def _runs_under(repo: pygit2.Repository, prefix: str) -> dict[str, pygit2.Oid]:
    """Run id -> target of every direct ref under ``prefix`` (symbolic refs are not runs)."""
    found: dict[str, pygit2.Oid] = {}
    for ref in repo.references.iterator():
        name = ref.name
        if name.startswith(prefix):
            target = ref.target
            if isinstance(target, pygit2.Oid):
                found[name[len(prefix):]] = target
    return found


def fetch_runs_directly(workdir: Path, remote: str) -> bool:
    """A first pull (no local run): fetch the runs straight into ``refs/experiments``; False if git refused.

    Each run ref is written once, by the fetch, as a plain ``git fetch`` of them would (the general
    path writes a tracking ref per run, then the local ref: twice). The refspec is not forced, so a
    run ref that appeared locally meanwhile is never overwritten (git refuses it unless the remote's
    value is a descendant of ours, which loses nothing; the caller then takes the general path); and
    there is no ``--prune``, which would delete local runs the remote lacks.
    """
    result = run_git([*NO_AUTO_MAINTENANCE, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote,
                      f"+{NOTES_REF}*:{tracking_notes_ref(remote)}*", journal_fetch_refspec(remote),
                      f"+{SWEEPS_PREFIX}*:{tracking_sweeps_prefix(remote)}*",
                      f"{EXPERIMENTS_PREFIX}*:{EXPERIMENTS_PREFIX}*"], workdir, check=False)
    return result.returncode == 0


def setup_remote(workdir: Path, remote: str, undo: bool = False) -> int:
    """Add (or with ``undo`` remove) gitrun's refspecs to ``remote.<R>.fetch``; how many were added."""
    key = f"remote.{remote}.fetch"
    if undo:
        run_git(["config", "--unset-all", key, UNDO_PATTERN], workdir, check=False)
        return 0
    existing = run_git(["config", "--get-all", key], workdir, check=False).text.split()
    added = 0
    for spec in fetch_refspecs(remote):
        if spec not in existing:
            run_git(["config", "--add", key, spec], workdir)
            added += 1
    return added


UNDO_PATTERN = r"^\+refs/(notes/gitrun|experiments/|gitrun/journal)"
