"""``git run ui --once`` and ``git run watch``: the runs table and the newest running run's last
metrics as plain text, for scripts, CI logs and terminals without a full screen (no textual here)."""

from __future__ import annotations

from datetime import UTC, datetime

from tabulate import tabulate

from gitrun.model.series import SYSTEM_PREFIX
from gitrun.model.terminal import printable
from gitrun.tui.columns import Column, cell, column, default_columns
from gitrun.tui.prefs import load_prefs
from gitrun.tui.source import RunSource
from gitrun.tui.values import compile_filter

DEFAULT_LIMIT = 50


def clean(text: str) -> str:
    """One terminal-safe line: every control character (escape sequences of a teammate's note) escaped."""
    return printable(text)


def render_once(source: RunSource, where: str | None = None, limit: int = DEFAULT_LIMIT,
                all_branches: bool | None = None, width: int = 0) -> str:
    prefs = load_prefs(source.state_dir)
    data = source.load()
    now = datetime.now(UTC)
    show_all = prefs.all_branches if all_branches is None else all_branches
    runs = data.runs if show_all else [run for run in data.runs if data.on_head(run)]
    matcher = compile_filter(where or "", now)
    if matcher is not None:
        runs = [run for run in runs if matcher(run)]
    columns: list[Column] = [col for col in default_columns() if col.key != "expect"]
    for key in prefs.extra_columns:
        try:
            columns.append(column(key))
        except Exception:
            continue
    rows = [[_fit(clean(cell(run, col, now)), col) for col in columns] for run in runs[:limit]]
    lines = [tabulate(rows, headers=[col.header for col in columns], tablefmt="simple", disable_numparse=True)
             if rows else "no runs" + (f" match {where}" if where else "")]
    hidden = len(data.runs) - len(runs)
    lines.append(f"\n{len(runs)} run{'s' if len(runs) != 1 else ''}"
                 + (f" (showing {limit})" if len(runs) > limit else "")
                 + (f", {hidden} not shown (other branches or filtered)" if hidden else ""))
    running = next((run for run in runs if run.status == "running"), None)
    if running is not None:
        lines.append(f"\nrunning: {clean(running.name)} {running.id[:10]}  {clean(' '.join(running.command))}")
        series = source.results.live_series(running) or {}
        metric_rows = [[clean(name), points[-1][0], f"{points[-1][2]:.6g}", len(points)]
                       for name, points in sorted(series.items()) if points and not name.startswith(SYSTEM_PREFIX)]
        if metric_rows:
            lines.append(tabulate(metric_rows, headers=["metric", "step", "last", "points"], tablefmt="simple",
                                  disable_numparse=True))
        else:
            lines.append("  no metrics logged yet")
    text = "\n".join(lines)
    if width > 0:
        text = "\n".join(line[:width] for line in text.split("\n"))
    return text


def _fit(text: str, col: Column) -> str:
    width = max(col.width or 20, 8)
    return text if len(text) <= width else text[: width - 1] + "…"
