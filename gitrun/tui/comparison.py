"""Two or more runs side by side (no textual): rows per section, built from ``gitrun.model.compare``,
the code ``git run diff`` uses, so a value that differs in the UI differs in ``git run diff`` too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitrun.model import compare
from gitrun.model.query import format_value
from gitrun.model.run import Run

SECTIONS = ("params", "metrics", "data", "environment", "hardware", "command")


@dataclass
class Row:
    section: str
    key: str
    values: list[str]  # one per run, "-" where the run lacks the key
    same: bool
    best: int | None = None  # index of the best run for a metric with a known direction
    direction: str | None = None


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value([v])}" for k, v in value.items())
    return format_value([value])


def _rows(section: str, runs: list[Run], pairwise: Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]],
          extract: Callable[[Run], dict[str, Any]]) -> list[Row]:
    """Entries of ``pairwise(first, other)`` for every other run, joined by key: same when same in all."""
    first = extract(runs[0])
    rows: dict[str, Row] = {}
    for index, run in enumerate(runs[1:], start=1):
        for entry in pairwise(first, extract(run)):
            row = rows.get(entry["key"])
            if row is None:
                row = rows[entry["key"]] = Row(section, entry["key"], ["-"] * len(runs), True)
                row.values[0] = _show(entry["a"])
            row.values[index] = _show(entry["b"])
            row.same = row.same and bool(entry["same"])
    for row in rows.values():
        row.same = row.same and len(set(row.values)) == 1
    return sorted(rows.values(), key=lambda row: row.key)


def compare_runs(runs: list[Run], direction: Callable[[str], str | None], show_all: bool = False) -> list[Row]:
    """Rows of every section; only those that differ unless ``show_all``."""
    rows: list[Row] = []
    rows += _rows("params", runs, compare.diff_flat, lambda run: _table(run.doc, "params"))
    metric_rows = _rows("metrics", runs, compare.diff_flat, lambda run: _table(run.doc, "metrics"))
    for row in metric_rows:
        row.direction = direction(row.key)
        row.best = best_index([_table(run.doc, "metrics").get(row.key) for run in runs], row.direction)
    rows += metric_rows
    rows += _rows("data", runs, compare.diff_data, lambda run: run.doc)
    rows += _rows("environment", runs, lambda a, b: compare.diff_environment(a, b)["general"], lambda run: run.doc)
    rows += [Row("environment", f"package {row.key}", row.values, row.same)
             for row in _rows("packages", runs, lambda a, b: compare.diff_environment(a, b)["packages"],
                              lambda run: run.doc)]
    rows += _rows("hardware", runs, compare.diff_flat, lambda run: compare.hardware_summary(run.doc))
    rows += _rows("command", runs, compare.diff_flat, lambda run: compare.command_summary(run.doc))
    return rows if show_all else [row for row in rows if not row.same]


def best_index(values: list[Any], direction: str | None) -> int | None:
    """Which run has the best value (None when unknown direction, a tie, or fewer than two numbers)."""
    if direction is None:
        return None
    numbers = [(float(value), index) for index, value in enumerate(values)
               if isinstance(value, int | float) and not isinstance(value, bool) and value == value]
    if len(numbers) < 2:
        return None
    best = min(numbers) if direction == "lower" else max(numbers)
    if sum(1 for value, _ in numbers if value == best[0]) > 1:
        return None
    return best[1]


def shared_metrics(runs: list[Run], system: bool = False) -> list[str]:
    """Metric names any run has (from the notes' summaries), for the overlaid charts."""
    names: set[str] = set()
    for run in runs:
        names.update(name for name in _table(run.doc, "summary") if name.startswith("system/") == system)
        if not system:
            names.update(_table(run.doc, "metrics"))
    return sorted(names)
