"""Choosing runs: reachability from HEAD, ``--where``, ``--sort``, ``--limit``, baselines.

Shared by list, report, gc, push --where and the terminal UI, so the same flags mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import pygit2

from gitrun.model.run import Run
from gitrun.model.scope import scope_text
from gitrun.store.listing_stamp import LISTING_BASE, rows_on_history

if TYPE_CHECKING:
    from gitrun.model.query import Query

# gitrun.model.query and gitrun.model.fields are imported by the functions that filter or sort: the
# default ``git run list`` needs neither, and start-up is most of what it costs.


@dataclass
class Selection:
    runs: list[Run]
    hidden: int = 0  # runs left out because their base commit is not reachable from HEAD
    all_branches: bool = False
    matched: int = 0  # runs that passed the filters, before --limit
    notes: list[str] = field(default_factory=list)


def current_branch(repo: pygit2.Repository) -> str:
    try:
        if repo.head_is_detached:
            return ""
        return repo.references["HEAD"].target.removeprefix("refs/heads/")  # type: ignore[union-attr]
    except (KeyError, pygit2.GitError, AttributeError):
        return ""


def reachable_bases(repo: pygit2.Repository, bases: set[str]) -> set[str]:
    """Which of ``bases`` (commit hex) are HEAD or one of its ancestors; stops once all are found."""
    if not bases:
        return set()
    try:
        if repo.head_is_unborn:
            return set()
        head = repo.head.target
    except pygit2.GitError:
        return set()
    found: set[str] = set()
    wanted = set(bases)
    if len(wanted) <= 32:
        # A merge-base query per base stops at the fork point: cheaper than walking a long history.
        for base in wanted:
            try:
                oid = pygit2.Oid(hex=base)
                if oid == head or repo.descendant_of(head, oid):
                    found.add(base)
            except (ValueError, KeyError, pygit2.GitError):
                continue  # a base commit this clone lacks (shallow, or not fetched): not reachable
        return found
    walker = repo.walk(head, pygit2.enums.SortMode.NONE)
    for commit in walker:
        hexid = str(commit.id)
        if hexid in wanted:
            found.add(hexid)
            if len(found) == len(wanted):
                break
    return found


Row = tuple[Any, ...]


def reachable_rows(repo: pygit2.Repository, rows: list[Row], all_branches: bool) -> tuple[list[Row], int]:
    """The listing rows of runs on HEAD's history (all with ``all_branches``), and how many were left out."""
    if all_branches:
        return rows, 0
    kept = rows_on_history(rows, reachable_bases(repo, {row[LISTING_BASE] for row in rows if row[LISTING_BASE]}))
    return kept, len(rows) - len(kept)


class ListingSource(Protocol):
    """Where ``select_rows`` reads: ``RunIndex.listing_rows`` (or ``index.listing_rows`` over a connection)."""

    def listing_rows(self, extra: Sequence[str] = (), parameters: Sequence[Any] = ()) -> list[Row]: ...


@dataclass
class RowSelection:
    """``select_rows``' answer: the chosen listing rows (after --limit) and what the footer says."""

    rows: list[Row]
    all_ids: list[str]  # every run's id (short ids are unique among all runs)
    hidden: int
    matched: int
    notes: list[str]


def select_rows(index: ListingSource, repo: pygit2.Repository, *, where: str | None = None, sort: str | None = None,
                limit: int | None = None, all_branches: bool = False,
                now: datetime | None = None) -> RowSelection | None:
    """``select_runs`` over the index's listing rows, without building a ``Run`` per run.

    The same answers as ``select_runs`` (property-tested): the fields come from the rows
    (``store.row_fields``) and the expression is compiled once (``model.query_compiled``). None when a
    field is not in the rows (``data.*``, ``env.*``, ...): the caller selects ``Run`` objects then.
    """
    from gitrun.model.query import parse, parse_sort
    from gitrun.store.row_fields import RowFields

    now = now or datetime.now(UTC)
    query = parse(where, "--where expression") if where else None
    sorting = parse_sort(sort) if sort else None
    paths = fields_of_selection(query, sorting)
    if not RowFields.supports(paths):
        return None
    source = RowFields(paths, now)
    rows = index.listing_rows(source.expressions, source.parameters)
    kept, hidden = reachable_rows(repo, rows, all_branches)
    notes: list[str] = []
    if query is not None:
        from gitrun.model.query_compiled import compile_query

        notes = _absent(query, [source.values(path) for path in _section_fields(query)], kept)
        matches = compile_query(query.root, source, now)
        kept = [row for row in kept if matches(row)]
    if sorting is not None:
        kept = _sorted(kept, source.values(sorting[0]), sorting[1])
    matched = len(kept)
    if limit is not None:
        kept = kept[:limit]
    return RowSelection(kept, [row[0] for row in rows], hidden, matched, notes)


def fields_of_selection(query: Query | None, sorting: tuple[tuple[str, ...], bool] | None) -> list[tuple[str, ...]]:
    from gitrun.model.query import fields_of

    return (fields_of(query.root) if query is not None else []) + ([sorting[0]] if sorting is not None else [])


def _section_fields(query: Query) -> list[tuple[str, ...]]:
    """The section fields (``metrics.loss``) of ``query``, once each, in order: those ``absent_fields`` checks."""
    from gitrun.model.query import fields_of

    return [path for path in dict.fromkeys(fields_of(query.root)) if len(path) >= 2]


def _absent(query: Query, getters: Sequence[Callable[[Any], list[Any]]], items: Sequence[Any]) -> list[str]:
    """``absent_fields`` over any items (runs, index rows), one getter per section field of ``query``."""
    if not items:
        return []
    return [f"no run has {'.'.join(path)}" for path, values in zip(_section_fields(query), getters, strict=True)
            if not any(values(item) for item in items)]


def _sorted(rows: list[Row], values: Callable[[Row], list[Any]], descending: bool) -> list[Row]:
    """``select_runs``' order: present values by ``sort_key`` (stable), then the runs without the field."""
    from gitrun.model.query import sort_key

    keyed = [(sort_key(values(row)), row) for row in rows]
    present = [item for item in keyed if item[0][0] < 2]
    present.sort(key=lambda item: item[0], reverse=descending)
    return [row for _, row in present] + [row for key, row in keyed if key[0] == 2]


def fields_needed(where: str | None, sort: str | None) -> list[tuple[str, ...]]:
    """The field paths ``--where`` and ``--sort`` read (to ask the store for just enough of each note)."""
    from gitrun.model.query import fields_of, parse, parse_sort

    paths: list[tuple[str, ...]] = []
    if where:
        paths += fields_of(parse(where, "--where expression").root)
    if sort:
        paths.append(parse_sort(sort)[0])
    return paths


def select_runs(runs: list[Run], repo: pygit2.Repository, *, where: str | None = None,
                sort: str | None = None, limit: int | None = None, all_branches: bool = False,
                now: datetime | None = None) -> Selection:
    from gitrun.model import fields
    from gitrun.model.query import parse, parse_sort, sort_key

    now = now or datetime.now(UTC)
    query = parse(where, "--where expression") if where else None
    sorting = parse_sort(sort) if sort else None
    hidden = 0
    if not all_branches:
        bases = {str(run.git.get("base_commit")) for run in runs if run.git.get("base_commit")}
        reachable = reachable_bases(repo, bases)
        kept = []
        for run in runs:
            base = str(run.git.get("base_commit") or "")
            if not base or base in reachable:
                kept.append(run)
            else:
                hidden += 1
        runs = kept
    notes: list[str] = []
    if query is not None:
        from gitrun.model.query_compiled import RunValues, compile_query

        notes = absent_fields(query, runs, now)
        matches = compile_query(query.root, RunValues(now), now)
        runs = [run for run in runs if matches(run)]
    if sorting is not None:
        path, descending = sorting
        keyed = [(sort_key(fields.resolve(run, path, now)), run) for run in runs]
        present = [item for item in keyed if item[0][0] < 2]
        present.sort(key=lambda item: item[0], reverse=descending)
        runs = [run for _, run in present] + [run for key, run in keyed if key[0] == 2]  # without the field: last
    matched = len(runs)
    if limit is not None:
        runs = runs[:limit]
    return Selection(runs, hidden, all_branches, matched, notes)


def absent_fields(query: Query, runs: list[Run], now: datetime) -> list[str]:
    """"no run has metrics.loss" for each section field of ``query`` that none of ``runs`` has:
    a typo or a metric never logged, which would otherwise quietly match nothing."""
    from gitrun.model.query_compiled import RunValues

    values = RunValues(now)
    return _absent(query, [values.values(path) for path in _section_fields(query)], runs)


def baseline_of_branch(runs: list[Run], branch: str) -> Run | None:
    """The run marked as ``branch``'s baseline (newest wins if a race left two)."""
    from gitrun.model import fields

    if not branch:
        return None
    for run in runs:  # newest first
        if branch in fields.baseline_branches(run.doc):
            return run
    return None


def scope_line(selection: Selection) -> str:
    return scope_text(selection.all_branches, selection.hidden)


def run_label(run: Run, ids: dict[str, Any] | None = None) -> str:
    short = ids[run.id] if ids and run.id in ids else run.id[:10]
    return f"{short} ({run.name})" if run.name else short
