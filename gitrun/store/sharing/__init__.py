"""The sharing engine: runs, their notes and the journal through a git remote.

Everything goes through the git CLI (``gitrun.store.git.run_git``), so the user's credentials, ssh
config, proxies and hooks apply. The protocol (docs/format.md, "Sharing and merging"):

* fetch (``remote.py``): ``+refs/notes/gitrun`` -> ``refs/gitrun/remotes/<R>/notes`` and
  ``+refs/experiments/*`` -> ``refs/gitrun/remotes/<R>/experiments/*`` (tracking refs: nothing
  local is overwritten).
* pull (``pull.py``): fetch, merge the remote notes into ``refs/notes/gitrun`` (TOML-aware
  three-way merge, ``gitrun.store.merge``), then create the local ``refs/experiments/<id>`` of runs
  new to us, move those we had not changed since the last fetch, and remove those the remote
  deleted (tombstones, ``tombstones.py``).
* the journal (``refs/gitrun/journal``) is fetched, merged and pushed along: ``gitrun.store.journal_share``.
* push (``push.py``): one ``git push --atomic`` of the run refs and a notes commit on top of the
  remote's, its notes ref leased at what we last saw (optimistic: no fetch first while the tracking
  refs are whole); on rejection fetch, merge and retry (bounded, jittered).

``Sharing`` is the door: commands, the terminal UI and workers call it and get plain data back
(``FetchResult``, ``PullResult``, ``PushResult``: run ids and counts, never a pygit2 object). It
prints nothing; what a user should read during a push goes to the ``notify`` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygit2

from gitrun.model.run import Run
from gitrun.store.git import RepoPaths, default_signature
from gitrun.store.prefetch import take_first_pull
from gitrun.store.refs import REMOTE_NOTES_PREFIX, compare_and_swap, read_ref, retry_on_conflict, run_ref
from gitrun.store.runs import RunStore
from gitrun.store.sharing import pull as _pull
from gitrun.store.sharing import push as _push
from gitrun.store.sharing import remote as _remote
from gitrun.store.sharing.pull import PullResult
from gitrun.store.sharing.push import PushResult
from gitrun.store.sharing.remote import NO_AUTO_MAINTENANCE
from gitrun.store.sharing.tombstones import has_tombstone_key, tombstone

__all__ = ["NO_AUTO_MAINTENANCE", "FetchResult", "PullResult", "PushResult", "Sharing", "has_tombstone_key"]


@dataclass(frozen=True)
class FetchResult:
    remote: str
    runs: int  # run refs the remote has
    tracking_prefix: str  # where they were fetched to


class Sharing:
    """Push, pull and fetch runs of one repository (not thread-safe: callers serialise, as ``Store``)."""

    def __init__(self, repo: pygit2.Repository, paths: RepoPaths, runs: RunStore | None = None) -> None:
        self.repo = repo
        self.paths = paths
        self.runs = runs or RunStore(repo, paths)
        self._remotes: list[str] | None = None

    def remotes(self) -> list[str]:
        """The repository's remotes (read once per engine)."""
        if self._remotes is None:
            self._remotes = _remote.remote_names(self.repo)
        return self._remotes

    def resolve_remote(self, remote: str | None) -> str:
        """REMOTE, else the current branch's upstream remote, else ``origin``; UsageError if unknown."""
        return _remote.resolve_remote(self.repo, remote, self.remotes())

    def fetch(self, remote: str) -> FetchResult:
        """Fetch the remote's runs, notes, journal and sweeps into tracking refs; merge nothing."""
        _remote.fetch(self.repo, self.paths.workdir, remote)
        return FetchResult(remote, len(_remote.tracked_runs(self.repo, remote)), f"{REMOTE_NOTES_PREFIX}{remote}/")

    def pull(self, remote: str, fetch: bool = True) -> PullResult:
        """Fetch (unless ``fetch`` is False: what the last fetch brought), merge notes, bring runs in."""
        workdir = self.paths.workdir
        early = take_first_pull(remote) if fetch else None  # started by gitrun.cli.main before the imports
        if early is not None:
            if _remote.first_pull_fetched(self.repo, remote, early):
                return _pull.integrate_fetched_runs(self.repo, workdir, remote)
        elif fetch and not _remote.local_runs(self.repo) and _remote.fetch_runs_directly(self.repo, workdir, remote):
            return _pull.integrate_fetched_runs(self.repo, workdir, remote)  # a first pull: each ref written once
        before = _remote.fetch(self.repo, workdir, remote) if fetch else _remote.tracked_runs(self.repo, remote)
        return _pull.integrate(self.repo, workdir, remote, _remote.tracked_runs(self.repo, remote), before)

    def push(self, remote: str, run_ids: list[str] | None = None, deletions: list[str] | None = None,
             no_verify: bool = False, notify: Callable[[str], None] | None = None) -> PushResult | None:
        """Push ``run_ids`` (None: every local run) and their notes; None when the remote had it all."""
        return _push.push(self.repo, self.paths.workdir, remote, run_ids, deletions,
                          no_verify, notify)

    def delete_everywhere(self, runs: list[Run], remote: str) -> list[str]:
        """Delete ``runs`` here and on ``remote``: their notes become tombstones so no merge revives them."""
        signature = default_signature(self.repo)
        by = f"{signature.name} <{signature.email}>"
        for run in runs:
            dead = tombstone(run, by)

            def bury(_doc: dict[str, Any], dead: dict[str, Any] = dead) -> dict[str, Any]:
                return dict(dead)

            self.runs.update_doc(run, bury, f"gitrun: delete {run.id} everywhere")
            ref = run_ref(run.id)

            def delete(ref: str = ref) -> None:
                compare_and_swap(self.repo, ref, None, read_ref(self.repo, ref), signature, "gitrun: deleted")

            retry_on_conflict(delete, ref)
        self.push(remote, [], deletions=[run.id for run in runs])
        return [run.id for run in runs]

    def setup_remote(self, remote: str, undo: bool = False) -> int:
        """Make a plain ``git fetch REMOTE`` bring runs (or stop it, ``undo``); refspecs added."""
        return _remote.setup_remote(self.paths.workdir, remote, undo)
