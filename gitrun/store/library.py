"""The store as a library: one repository's runs as plain data, for the terminal UI, scripts and workers.

``Store`` is the door the UI (and later reproduce/queue workers) use instead of git. What it returns:

* runs as ``gitrun.model.run.Run`` dataclasses: ``id``, ``ref``, ``snapshot_commit``, ``result_commit``
  (hex strings) and ``doc``, the note as a plain ``dict`` (at the detail asked for: see ``runs``);
* selections as ``gitrun.store.selection.Selection`` (the runs plus how many were hidden or matched);
* result-tree reads through ``gitrun.store.results.ResultReader`` (logs as ``LogText``, downsampled
  ``Series``, outputs as dicts, code diffs as ``CodeDiff``);
* query results as (column names, rows of Python scalars).

Never a pygit2 object. Every method may be called from a worker thread: calls are serialised by one
re-entrant lock (``Store.lock``), since a pygit2 repository and a SQLite connection must not be
used by two threads at once. Errors are ``gitrun.errors.GitrunError`` subclasses with one-line
messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitrun.model import status as statuses
from gitrun.model.organise import check_tag, retagged
from gitrun.model.run import Run
from gitrun.model.series import last_values
from gitrun.store.baselines import Baseline, BaselineChange, baseline_branch, baselines, set_baseline
from gitrun.store.config import Settings
from gitrun.store.index import COLUMNS, FULL, LITE, level_for
from gitrun.store.journal import append_entry, read_journal
from gitrun.store.opening import open_store
from gitrun.store.query_views import run_query
from gitrun.store.refs import NOTES_REF, read_ref
from gitrun.store.results import ResultReader
from gitrun.store.selection import Selection, current_branch, fields_needed, reachable_bases, select_runs

__all__ = ["COLUMNS", "FULL", "LITE", "Store"]


class Store:
    """One repository's runs, as plain data (see the module docstring)."""

    def __init__(self, start: Path | str | None = None) -> None:
        opened = open_store(start)
        self._repo, self.paths, self._runs = opened.repo, opened.paths, opened.store
        self.results = ResultReader(self._repo, self.paths)
        self.lock = self.results.lock  # one lock for the repository, the index and the result reads
        self.settings: Settings = opened.settings

    @property
    def root(self) -> Path:
        return self.paths.workdir

    # --- listing and selecting -------------------------------------------------------------------

    def runs(self, detail: str = LITE) -> list[Run]:
        """Every run, newest first, from the read index.

        ``detail``: ``COLUMNS`` (id, name, status, times, branch, base commit, message, tags, expect met,
        baseline marks, user, host, cwd: instant at 10,000 runs), ``"columns:params,metrics"`` (plus
        those note tables; also ``summary``, ``data``, ``command``), ``LITE`` (the note without
        ``env``, ``hardware``, ``snapshot`` and git's file lists) or ``FULL`` (the whole note).
        """
        with self.lock:
            return self._runs.list_runs(detail)

    def select(self, where: str | None = None, sort: str | None = None, limit: int | None = None,
               all_branches: bool = False, now: datetime | None = None) -> Selection:
        """What ``git run list --where --sort --limit [--all-branches]`` shows, with the least detail
        that answers the expression (a bad expression raises UsageError with a caret line)."""
        with self.lock:
            runs = self._runs.list_runs(level_for(fields_needed(where, sort)))
            return select_runs(runs, self._repo, where=where, sort=sort, limit=limit, all_branches=all_branches,
                               now=now or datetime.now(UTC))

    def change_token(self) -> str:
        """Changes whenever a run starts, ends, is tagged, noted, deleted or pulled (each writes the notes)."""
        with self.lock:
            notes = read_ref(self._repo, NOTES_REF)
        return str(notes or "")

    def current_branch(self) -> str:
        with self.lock:
            return current_branch(self._repo)

    def reachable_bases(self, bases: set[str]) -> set[str]:
        """Which of these commits (hex) are HEAD or its ancestors: the runs ``list`` shows without
        ``--all-branches`` are those whose base commit is."""
        with self.lock:
            return reachable_bases(self._repo, bases)

    # --- one run ---------------------------------------------------------------------------------

    def resolve(self, reference: str) -> Run:
        """A run by id, id prefix (ids win), name, or snapshot/result commit prefix; its whole note."""
        with self.lock:
            return self._runs.resolve(reference)

    def get(self, run_id: str) -> Run:
        with self.lock:
            return self._runs.get(run_id)

    def with_live_metrics(self, run: Run) -> Run:
        """``run`` with the last values a still-running run has logged so far merged into its metrics."""
        if run.status != statuses.RUNNING:
            return run
        with self.lock:
            series = self.results.live_series(run)
        if series:
            run.doc["metrics"] = {**run.section("metrics"), **last_values(series)}
        return run

    # --- editing (each an atomic read-modify-write of the note) ----------------------------------

    def tag(self, run: Run, tags: Sequence[str], remove: bool = False) -> list[str]:
        """Add (or remove) tags; returns the run's tags afterwards."""
        for tag in tags:
            check_tag(tag)

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            new = retagged(doc, tags, remove)
            if new is None:
                return None
            doc["tags"] = new
            return doc

        with self.lock:
            full = run if run.note_bytes is not None else self._runs.get(run.id)
            verb = "untag" if remove else "tag"
            return self._runs.update_doc(full, change, f"gitrun: {verb} {run.id} {' '.join(tags)}").tags

    def set_note(self, run: Run, text: str) -> str:
        """Replace the run's markdown note ("" removes it); returns the note as stored."""
        text = text.strip("\n")

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            if text == str(doc.get("note", "")).strip("\n"):
                return None
            if text:
                doc["note"] = text + "\n"
            else:
                doc.pop("note", None)
            return doc

        with self.lock:
            full = run if run.note_bytes is not None else self._runs.get(run.id)
            return str(self._runs.update_doc(full, change, f"gitrun: note {run.id}").doc.get("note", ""))

    def delete(self, runs: Sequence[Run]) -> None:
        """Delete runs here (their refs and notes; a remote keeps its copies: ``git run rm``)."""
        with self.lock:
            for run in runs:
                self._runs.delete(run)

    # --- baselines -----------------------------------------------------------------------------------

    def baselines(self) -> list[Baseline]:
        """Every branch's baseline run, sorted by branch."""
        return baselines(self.runs(COLUMNS))

    def mark_baseline(self, run: Run | None, branch: str | None = None,
                      runs: Sequence[Run] | None = None) -> BaselineChange:
        """Make ``run`` the baseline of ``branch`` (default: the current branch, else the run's; ``run``
        None: clear it), in one notes commit; ``runs``: the runs as already listed (else listed here)."""
        with self.lock:
            chosen = baseline_branch(self._repo, branch, run)
            listed = self.runs(COLUMNS) if runs is None else runs
            return set_baseline(self._repo, listed, chosen, run)

    # --- the journal ---------------------------------------------------------------------------------

    def journal(self) -> str:
        """The experiment journal's markdown ("" when there is none yet)."""
        with self.lock:
            return read_journal(self._repo)[0]

    def add_journal_entry(self, text: str, kind: str | None = None) -> None:
        """Append a dated entry (``kind``: planned, in-progress, done, decided-against); never loses a
        concurrent writer's entry (compare-and-swap, retried)."""
        with self.lock:
            append_entry(self._repo, text, kind)

    # --- scripts -----------------------------------------------------------------------------------

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """``git run query``: one read-only SELECT over the documented tables (docs/format.md)."""
        with self.lock:
            return run_query(self._runs.index, sql)
