"""The UI's one door to the repository (no textual here): runs, live changes, result reads, actions.

Every method returns plain data (``Run`` dataclasses, lists, strings) and may be called from a
worker thread; calls are serialised by one lock because a pygit2 repository is not meant to be
shared between threads mid-call. Reads and writes go through ``gitrun.store``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitrun.commands.output import short_ids
from gitrun.errors import UsageError
from gitrun.model import status as statuses
from gitrun.model.compare import metric_direction
from gitrun.model.run import Run
from gitrun.model.series import last_values
from gitrun.model.sweep import Metric, SweepSpec
from gitrun.store.config import Settings
from gitrun.store.git import open_repository
from gitrun.store.index import LITE
from gitrun.store.jsonl import METRICS_FILE
from gitrun.store.library import Store
from gitrun.store.live_tail import SpoolTails, live_series_of
from gitrun.store.refs import NOTES_REF, read_ref
from gitrun.store.runs import RunStore
from gitrun.store.spool import OUTPUT_LOG, all_spools, find_spool
from gitrun.store.sweeps import read_sweep, sweep_ids


@dataclass
class RunList:
    """One load of the run list: every run (newest first) and what the all-branches toggle needs."""

    runs: list[Run]
    reachable: set[str] = field(default_factory=set)  # base commits reachable from HEAD
    branch: str = ""  # the current branch
    token: tuple[Any, ...] = ()
    short: dict[str, str] = field(default_factory=dict)  # the shortest unique prefix of each id (8+)
    level: str = LITE  # how much of each note the runs carry (gitrun.store.index)
    # each sweep's metric, to mark its best run; None: not read (only grouping by sweep needs them, and
    # reading them walks every ref: a tenth of a second at 10,000 runs)
    sweeps: dict[str, Metric | None] | None = None
    _on_head: list[Run] | None = field(default=None, init=False, repr=False)

    def head_runs(self) -> list[Run]:
        """The runs whose base commit is reachable from HEAD (computed once per load)."""
        if self._on_head is None:
            self._on_head = [run for run in self.runs if self.on_head(run)]
        return self._on_head

    def on_head(self, run: Run) -> bool:
        base = str(run.git.get("base_commit") or "")
        return not base or base in self.reachable


class RunSource:
    """One repository, as the UI sees it."""

    def __init__(self, start: Path | str | None = None) -> None:
        # The store as a library (gitrun.store.library.Store) does listing, tags, notes, baselines,
        # delete and reachability; a refresh and the push still use a RunStore under the same lock.
        self.library = Store(start)
        self.paths = self.library.paths
        self.repo, _ = open_repository(self.paths.workdir)
        self.store = RunStore(self.repo, self.paths)
        self.results = self.library.results
        self.settings: Settings = self.library.settings
        self.lock = self.library.lock
        self.clock: Callable[[], datetime] | None = None
        self.tails = SpoolTails()  # the running runs' spooled points read so far

    @property
    def root(self) -> Path:
        return self.paths.workdir

    @property
    def state_dir(self) -> Path:
        return self.paths.gitrun_dir

    # --- listing and watching ---------------------------------------------------------------------

    def load(self, level: str = LITE, sweeps: bool = False) -> RunList:
        """Every run from the read index: ``LITE`` notes (no env, hardware, snapshot) unless a filter
        or a column needs the whole note (``FULL``); the sweeps' metrics when ``sweeps``."""
        with self.lock:
            token = self.change_token()
            runs = self.library.runs(level)
            bases = {str(run.git.get("base_commit")) for run in runs if run.git.get("base_commit")}
            reachable = self.library.reachable_bases(bases)
            branch = self.library.current_branch()
            metrics = self.sweep_metrics() if sweeps else None
        for run in runs:
            if run.status == statuses.RUNNING:
                self.apply_live(run)
        return RunList(runs, reachable, branch, token, short_ids(runs), level, metrics)

    def sweep_metrics(self) -> dict[str, Metric | None]:
        """Each sweep's metric and goal (a sweep pulled from a teammate that cannot be read is left out:
        its runs are still grouped, without a best one)."""
        found: dict[str, Metric | None] = {}
        for sweep_id in sweep_ids(self.repo):
            try:
                found[sweep_id] = SweepSpec.from_dict(read_sweep(self.repo, sweep_id).get("spec", {})).metric
            except Exception:  # untrusted data: one bad sweep never breaks the list
                continue
        return found

    def change_token(self) -> tuple[Any, ...]:
        """Cheap to compute; changes whenever a run starts, ends, is edited, deleted or fetched.

        Every such event writes the notes ref (start note, final note, tag, delete, pull merge);
        a run's ref moving alone (its result commit) is always followed by a note write.
        """
        with self.lock:
            notes = read_ref(self.repo, NOTES_REF)
        return (str(notes) if notes else "",)

    def live_token(self) -> tuple[tuple[str, int, int], ...]:
        """Sizes of the running runs' spooled points and logs: changes when they print or log."""
        out = []
        spools = all_spools(self.paths)
        self.tails.forget({spool.file(METRICS_FILE) for spool in spools})
        for spool in spools:
            sizes = []
            for name in (METRICS_FILE, OUTPUT_LOG):
                try:
                    sizes.append(os.stat(spool.file(name)).st_size)
                except OSError:
                    sizes.append(-1)
            out.append((spool.run_id, sizes[0], sizes[1]))
        return tuple(out)

    def apply_live(self, run: Run) -> bool:
        """Merge a running run's spooled last metric values into ``run.doc`` (memory only); the spool
        is tailed: each call parses only the points logged since the last one."""
        if run.status != statuses.RUNNING:
            return False
        spool = find_spool(self.paths, run.id)
        if spool is None:
            return False
        metrics = last_values(live_series_of(self.tails.records(spool.file(METRICS_FILE))))
        if metrics:
            run.doc["metrics"] = {**run.section("metrics"), **metrics}
        return True

    def refresh(self, run: Run) -> Run:
        with self.lock:
            fresh = self.store.get(run.id)
        if fresh.status == statuses.RUNNING:
            self.apply_live(fresh)
        return fresh

    def direction(self, metric: str) -> str | None:
        overrides = self.settings.section("metrics").get("direction")
        return metric_direction(metric, overrides if isinstance(overrides, dict) else None)

    # --- actions (each one atomic read-modify-write of the note) ---------------------------------

    def tag(self, run: Run, tags: list[str], remove: bool = False) -> list[str]:
        with self.lock:
            return self.library.tag(self.library.get(run.id), tags, remove)  # from the whole note

    def set_note(self, run: Run, text: str) -> str:
        with self.lock:
            return self.library.set_note(self.library.get(run.id), text)

    def mark_baseline(self, run: Run, runs: list[Run], branch: str | None = None) -> str:
        """Make ``run`` the baseline of ``branch`` (default: the current branch, else the run's)."""
        return self.library.mark_baseline(run, branch, runs).branch

    def delete(self, runs: list[Run]) -> None:
        running = [run for run in runs if run.status == statuses.RUNNING]
        if running:
            raise UsageError(f"{running[0].name} is still running", hint="stop it first")
        self.library.delete(runs)

    def push(self, run_ids: list[str], remote: str) -> str:
        """Push these runs with the sharing engine of ``git run push`` (fetch, merge notes, retry)."""
        from gitrun.store.sharing import Sharing

        with self.lock:
            engine = Sharing(self.repo, self.paths, self.store)
            remote = engine.resolve_remote(remote)
            pushed = engine.push(remote, run_ids)
        if pushed is None:
            return f"nothing to push: {remote} has these runs already"
        return f"pushed {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} to {remote}"

    def journal(self) -> str:
        return self.library.journal()

    def add_journal_entry(self, text: str) -> None:
        self.library.add_journal_entry(text)

    def now(self) -> datetime:
        """The clock ages and running durations are shown against (tests fix it)."""
        return self.clock() if self.clock is not None else datetime.now(UTC)


def open_source(start: Path | str | None = None) -> RunSource:
    return RunSource(start)

