"""The runs table's columns, filtering, sorting and grouping (no textual: plain functions over runs).

A column is a field path of the query language (``status``, ``params.lr``, ``metrics."val/acc"``);
the built-in ones get friendlier cells (age, duration, tags, expectation met or missed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitrun.model import fields
from gitrun.model.query import QueryError, check_field, fields_of, format_value, parse, sort_key, split_field
from gitrun.model.run import Run
from gitrun.model.sweep import Metric, best_index, metric_value
from gitrun.model.timefmt import human_age, human_duration
from gitrun.store.index import COLUMNS, LITE, level_for
from gitrun.tui.values import ValueCache

BUILTIN = ("status", "name", "age", "duration", "branch", "message", "tags", "expect")
STATUS_MARK = {"running": "▶", "succeeded": "✓", "failed": "✗", "killed": "☠", "interrupted": "◼",
               "crashed": "!", "unknown": "?"}
GROUPINGS = ("none", "branch", "tag", "status", "sweep")


@dataclass(frozen=True)
class Column:
    key: str  # the field path as typed: "status", "params.lr"
    header: str
    path: tuple[str, ...]
    width: int | None = None


def column(key: str) -> Column:
    """A column for a field path; raises QueryError (pointing into ``key``) for an unknown field."""
    path = check_field(key, key, 1, "column") if key not in BUILTIN else (key,)
    header = {"name": "name / id", "expect": "expect"}.get(key, key.split(".", 1)[-1] if len(path) > 1 else key)
    widths = {"status": 11, "name": 25, "age": 4, "duration": 8, "branch": 10, "message": 32, "tags": 14,
              "expect": 6}
    return Column(key, header, path, widths.get(key, 12))


def default_columns() -> list[Column]:
    return [column(key) for key in BUILTIN]


def cell(run: Run, col: Column, now: datetime, short_id: str = "") -> str:
    root = col.path[0]
    if root == "status":
        return f"{STATUS_MARK.get(run.status, '?')} {run.status}"
    if root == "name":
        marks = fields.baseline_branches(run.doc)
        return f"{run.name} {short_id or run.id[:8]}" + (" ★" if marks else "")
    if root == "age":
        return human_age(run.started, now).removesuffix(" ago") if run.started else "-"
    if root == "duration":
        if run.duration_s is None and run.status == "running" and run.started:
            return human_duration((now - run.started).total_seconds())
        return human_duration(run.duration_s)
    if root == "branch":
        return run.branch or "-"
    if root == "message":
        return " ".join((run.message or " ".join(run.command)).split())
    if root == "tags":
        return " ".join(run.tags)
    if root == "expect" and len(col.path) == 1:
        expect = run.doc.get("expect")
        if isinstance(expect, dict) and "met" in expect:
            return "met" if expect["met"] else "missed"
        return "-" if not isinstance(expect, dict) else "…"
    return format_value(fields.resolve(run, col.path, now))


def sort_value(run: Run, col: Column, now: datetime) -> tuple[int, float, str]:
    root = col.path[0]
    if root == "age":
        return sort_key([-(run.started.timestamp()) if run.started else None])
    if root == "name":
        return sort_key([run.name])
    if root == "duration" and run.duration_s is None and run.status == "running" and run.started:
        return sort_key([(now - run.started).total_seconds()])
    return sort_key(fields.resolve(run, col.path, now))


def sort_runs(runs: list[Run], col: Column, descending: bool, now: datetime,
              values: ValueCache | None = None) -> list[Run]:
    """Sorted by the column; runs without a value always last. ``values`` keeps the keys for next time."""
    keys = (values or ValueCache()).sort_keys(runs, col.path, lambda run: sort_value(run, col, now))
    keyed = list(zip(keys, runs, strict=True))
    present = [item for item in keyed if item[0][0] < 2]
    absent = [run for key, run in keyed if key[0] == 2]
    present.sort(key=lambda item: item[0], reverse=descending)
    return [run for _, run in present] + absent


def pinned_first(runs: list[Run], pinned: Sequence[str]) -> list[Run]:
    """The pinned runs on top, each part in its order (the sort still applies inside both)."""
    if not pinned:
        return runs
    wanted = set(pinned)
    return [run for run in runs if run.id in wanted] + [run for run in runs if run.id not in wanted]


def detail_needed(text: str, columns: Iterable[Column], grouping: str = "none") -> str:
    """How much of each note (``gitrun.store.index`` level) the filter, columns and grouping read:
    the built-in columns need only the index's typed columns, a parameter column the light notes."""
    paths = [col.path for col in columns]
    if grouping.startswith("params."):
        paths.append(split_field(grouping))
    if grouping == "sweep":
        paths.append(("sweep",))  # the link and the metrics are in the light notes
    try:
        if text.strip():
            paths += fields_of(parse(text, "filter").root)
    except QueryError:
        pass
    return level_for(paths)


def covers(have: str, need: str) -> bool:
    """Does a list read at level ``have`` answer what level ``need`` asks (``columns:params`` ...)?"""
    def rank(level: str) -> int:
        return 0 if level.startswith(COLUMNS) else 1 if level == LITE else 2

    if rank(have) != rank(need):
        return rank(have) > rank(need)
    if rank(have) == 0:
        sections = have.partition(":")[2].split(",")
        return all(name in sections for name in need.partition(":")[2].split(",") if name)
    return True


def filter_error(text: str) -> str | None:
    """The one-line error (with its column) for an invalid expression, None when valid."""
    try:
        parse(text, "filter") if text.strip() else None
    except QueryError as err:
        return f"column {err.column}: {err.message}"
    return None


def group_key(run: Run, grouping: str) -> list[str]:
    """The group(s) a run falls in; a run with several tags is shown under each."""
    if grouping == "branch":
        return [run.branch or "(no branch)"]
    if grouping == "tag":
        return run.tags or ["(untagged)"]
    if grouping == "status":
        return [run.status]
    if grouping == "sweep":
        return [str(run.doc.get("sweep") or "(no sweep)")]
    if grouping.startswith("params."):
        return [format_value(fields.resolve(run, split_field(grouping), None))]
    return [""]


def grouped(runs: Iterable[Run], grouping: str) -> list[tuple[str, list[Run]]]:
    """Groups in order of their newest run (runs keep their order inside a group)."""
    order: dict[str, list[Run]] = {}
    for run in runs:
        for key in group_key(run, grouping):
            order.setdefault(key, []).append(run)
    return list(order.items())


def best_of_sweep(members: Sequence[Run], metric: Metric | None) -> tuple[Run, float] | None:
    """The best run of one sweep's group by the sweep's metric and goal, with its value."""
    if metric is None:
        return None
    values = [metric_value(run.doc, metric.name) for run in members]
    best = best_index(values, metric)
    if best is None:
        return None
    value = values[best]
    return (members[best], value) if value is not None else None


def field_choices(runs: Sequence[Run], limit: int = 2000) -> list[str]:
    """Parameter and metric columns the runs offer (for the column picker), from the newest ``limit``."""
    params: set[str] = set()
    metrics: set[str] = set()
    for run in runs[:limit]:
        params.update(run.section("params"))
        metrics.update(run.section("metrics"))
    return [f"params.{_quoted(key)}" for key in sorted(params)] + [f"metrics.{_quoted(key)}" for key in sorted(metrics)]


def _quoted(key: str) -> str:
    return key if all(char.isalnum() or char in "._-" for char in key) else f'"{key}"'


def counts(runs: Iterable[Run]) -> dict[str, int]:
    out: dict[str, int] = {}
    for run in runs:
        out[run.status] = out.get(run.status, 0) + 1
    return out


def value_of(run: Run, path: tuple[str, ...], now: datetime) -> Any:
    values = fields.resolve(run, path, now)
    return values[0] if values else None
