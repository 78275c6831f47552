"""Remotes: which remote, the refspecs gitrun fetches, and the tracking refs that remember a remote.

A fetch inside gitrun never starts ``git maintenance run --auto`` / ``gc --auto`` (a first pull into
an unpacked repository waited 99 s for one); the user's own fetches keep doing it.
"""

from __future__ import annotations

from pathlib import Path

import pygit2

from gitrun.errors import UsageError
from gitrun.store.git import GitResult, default_signature, run_git
from gitrun.store.gitcli import NO_AUTO_MAINTENANCE
from gitrun.store.prefetch import first_pull_fetch_args
from gitrun.store.refnames import (
    EXPERIMENTS_PREFIX,
    NOTES_REF,
    REMOTE_NOTES_PREFIX,
    SWEEPS_PREFIX,
    journal_fetch_refspec,
    tracking_notes_ref,
    tracking_runs_prefix,
    tracking_sweeps_prefix,
)
from gitrun.store.refs import RefMoved, compare_and_swap, read_ref


def incomplete_marker_ref(remote: str) -> str:
    """Set while the tracking run refs lack runs the remote has (a push of many runs writes none, nor
    does a first pull); the next fetch clears it. Not under any fetch refspec's destination."""
    return f"{REMOTE_NOTES_PREFIX}{remote}/untracked-runs"


def tracking_is_complete(repo: pygit2.Repository, remote: str) -> bool:
    """Whether the tracking refs describe ``remote`` as the last fetch or push left it (a push may then
    go without fetching first: its leases catch any change made since)."""
    return read_ref(repo, incomplete_marker_ref(remote)) is None


def mark_tracking_incomplete(repo: pygit2.Repository, remote: str, notes_commit: pygit2.Oid | None) -> None:
    """Note that the tracking run refs lack runs the remote has (the ref points at the notes commit seen;
    a remote without notes has no gitrun runs to lack)."""
    if notes_commit is not None:
        _set_marker(repo, remote, notes_commit, "gitrun: tracking refs incomplete until the next fetch")


def _set_marker(repo: pygit2.Repository, remote: str, value: pygit2.Oid | None, message: str) -> None:
    name = incomplete_marker_ref(remote)
    current = read_ref(repo, name)
    if current == value:
        return
    try:  # a hint, not data: a concurrent fetch or push setting it otherwise is just as right
        compare_and_swap(repo, name, value, current, default_signature(repo), message)
    except RefMoved:
        pass


def fetch_refspecs(remote: str) -> list[str]:
    """What ``git run fetch`` (and a plain ``git fetch`` after ``git run remote setup``) brings."""
    # The notes source is a glob so that a remote without runs yet is not an error.
    return [f"+{NOTES_REF}*:{tracking_notes_ref(remote)}*",
            f"+{EXPERIMENTS_PREFIX}*:{tracking_runs_prefix(remote)}*", journal_fetch_refspec(remote),
            f"+{SWEEPS_PREFIX}*:{tracking_sweeps_prefix(remote)}*"]  # `list --sweep` of a teammate's sweep


def remote_names(repo: pygit2.Repository) -> list[str]:
    """The repository's remotes, read in-process from its git config (no ``git remote`` process)."""
    return sorted(name for name in repo.remotes.names() if name)


def _config_value(repo: pygit2.Repository, key: str) -> str:
    try:
        value = repo.config[key]
    except (KeyError, pygit2.GitError):
        return ""
    return value if isinstance(value, str) else ""


def resolve_remote(repo: pygit2.Repository, remote: str | None, remotes: list[str] | None = None) -> str:
    """REMOTE, else the current branch's upstream remote, else ``origin``; it must exist."""
    remotes = remote_names(repo) if remotes is None else remotes
    if remote is None:
        branch = ""
        try:
            if not repo.head_is_detached and not repo.head_is_unborn:
                branch = repo.head.shorthand
        except pygit2.GitError:
            branch = ""
        candidate = _config_value(repo, f"branch.{branch}.remote") if branch else ""
        remote = candidate if candidate in remotes else "origin"
    if remote not in remotes:
        known = ", ".join(remotes) or "none"
        raise UsageError(f"no remote named '{remote}' (remotes: {known})",
                         hint="add one with `git remote add NAME URL`, or name it: git run push REMOTE")
    return remote


def tracked_runs(repo: pygit2.Repository, remote: str) -> dict[str, pygit2.Oid]:
    """The remote's run refs as the last fetch left them in the tracking refs: id -> result commit."""
    return runs_under(repo, tracking_runs_prefix(remote))[0]


def fetch(repo: pygit2.Repository, workdir: Path, remote: str) -> dict[str, pygit2.Oid]:
    """Update the tracking refs of ``remote``; return the tracked run refs as they were before."""
    before = tracked_runs(repo, remote)
    run_git([*NO_AUTO_MAINTENANCE, "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", remote,
             *fetch_refspecs(remote)], workdir)
    _set_marker(repo, remote, None, "gitrun: tracking refs fetched")
    return before


def local_runs(repo: pygit2.Repository) -> dict[str, pygit2.Oid]:
    """The local run refs, id -> result commit, in one pass over the references."""
    return runs_under(repo, EXPERIMENTS_PREFIX)[0]


def runs_under(repo: pygit2.Repository, *prefixes: str) -> list[dict[str, pygit2.Oid]]:
    """For each prefix: run id -> target of every direct ref under it (symbolic refs are not runs),
    all in one pass over the references."""
    found: list[dict[str, pygit2.Oid]] = [{} for _ in prefixes]
    for ref in repo.references.iterator():
        name = ref.name
        for prefix, runs in zip(prefixes, found, strict=True):
            if name.startswith(prefix):
                target = ref.target
                if isinstance(target, pygit2.Oid):
                    runs[name[len(prefix):]] = target
                break
    return found


def fetch_runs_directly(repo: pygit2.Repository, workdir: Path, remote: str) -> bool:
    """A first pull (no local run): fetch the runs straight into ``refs/experiments``; False if git refused.

    Each run ref is written once, by the fetch, as a plain ``git fetch`` of them would (the general
    path writes a tracking ref per run, then the local ref: twice). The refspec is not forced, so a
    run ref that appeared locally meanwhile is never overwritten (git refuses it unless the remote's
    value is a descendant of ours, which loses nothing; the caller then takes the general path); and
    there is no ``--prune``, which would delete local runs the remote lacks.
    """
    return first_pull_fetched(repo, remote, run_git(first_pull_fetch_args(remote), workdir, check=False))


def first_pull_fetched(repo: pygit2.Repository, remote: str, result: GitResult) -> bool:
    """After a first pull's fetch (``fetch_runs_directly``, or the one ``store/prefetch.py`` started):
    whether git took every run; the tracking run refs are then marked incomplete (it wrote none)."""
    if result.returncode != 0:
        return False
    mark_tracking_incomplete(repo, remote, read_ref(repo, tracking_notes_ref(remote)))
    return True


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
