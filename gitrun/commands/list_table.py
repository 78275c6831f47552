"""The default ``git run list`` table from the index's listing rows: shared by the command and the
warm fast path (``gitrun.cli.fastlist``), so neither imports click nor pygit2 to build it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from gitrun.commands.output import name_with_baseline, short_ids_of
from gitrun.model.timefmt import human_age_seconds, human_duration

NO_RUNS = "no runs yet: record one with `git run -- COMMAND`"
DEFAULT_HEADERS = ["id", "name", "status", "age", "duration", "branch", "message"]  # parse_columns(DEFAULT_COLUMNS)


def default_cells(rows: Sequence[tuple[Any, ...]], all_ids: Sequence[str], branch: str) -> list[list[str]]:
    """The default columns of ``rows`` (index listing rows, in order); short ids unique among ``all_ids``."""
    ids = short_ids_of(all_ids)
    now = time.time()
    cells = []
    for row in rows:
        run_id, name, status, started_s, duration_s, run_branch, detached, message, _base, baseline_of = row[:10]
        if baseline_of != "[]":
            name = name_with_baseline(name, json.loads(baseline_of), branch)
        cells.append([
            ids[run_id], name, status, "-" if started_s is None else human_age_seconds(now - started_s),
            "-" if duration_s is None else human_duration(duration_s),
            run_branch or ("(detached)" if detached else "-"),
            message if len(message) <= 60 else message[:59] + "…",
        ])
    return cells

