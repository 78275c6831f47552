"""``git run metrics RUN [NAME...] [--csv|--json]``: a run's metric series.

NAMEs are exact names or glob patterns (``system/*``); without any, every series except the
``system/`` ones (``--all`` includes them). ``--json``: a list of ``{name, step, time, value}``
(time in Unix seconds); ``--csv``: the same columns with a header row.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gitrun.commands.context import open_context
from gitrun.commands.output import table
from gitrun.commands.tracking_view import stored_series
from gitrun.errors import UsageError
from gitrun.model.series import SYSTEM_PREFIX, SeriesPoint, format_number

FORMATS = ("table", "json", "csv")


def select(series: dict[str, list[SeriesPoint]], names: Sequence[str], include_system: bool) -> list[str]:
    if not names:
        return sorted(name for name in series if include_system or not name.startswith(SYSTEM_PREFIX))
    chosen: list[str] = []
    for pattern in names:
        if any(char in pattern for char in "*?["):
            matched = sorted(name for name in series if fnmatch.fnmatchcase(name, pattern))
        else:
            matched = [pattern] if pattern in series else []
        if not matched:
            available = ", ".join(sorted(series)[:20]) or "none"
            raise UsageError(f"no metric '{pattern}' in this run", hint=f"recorded: {available}")
        chosen.extend(name for name in matched if name not in chosen)
    return chosen


def _json_value(value: float) -> float | None:
    return value if math.isfinite(value) else None


def metrics_command(reference: str, names: Sequence[str] = (), fmt: str = "table",
                    include_system: bool = False) -> int:
    ctx = open_context()
    run = ctx.store.resolve(reference)
    series = stored_series(ctx, run)
    chosen = select(series, names, include_system)
    rows: list[dict[str, Any]] = [
        {"name": name, "step": step, "time": when, "value": value}
        for name in chosen for step, when, value in series[name]
    ]
    if fmt == "json":
        out = [{**row, "value": _json_value(row["value"])} for row in rows]
        sys.stdout.write(json.dumps(out, indent=1) + "\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["name", "step", "time", "value"])
        for row in rows:
            writer.writerow([row["name"], row["step"], f"{row['time']:.3f}", format_number(row["value"])])
    else:
        if not rows:
            print(f"run {run.id} ({run.name}) has no metrics" + ("" if include_system else
                  " (system series: --all)"))
            return 0
        print(table([[row["name"], row["step"], _clock(row["time"]), format_number(row["value"])] for row in rows],
                    headers=["name", "step", "time (UTC)", "value"]))
    return 0


def _clock(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S")
