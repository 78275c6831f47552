"""``git run list``: the main table of runs (columns, filters, sorting, JSON and CSV for scripts)."""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime
from typing import Any

from gitrun.commands.context import open_context
from gitrun.commands.output import short_ids, table, truncate, write_json_array
from gitrun.commands.selection import current_branch, fields_needed, scope_line, select_runs
from gitrun.model import fields
from gitrun.model.query import format_value, parse_columns
from gitrun.model.run import Run, run_summary_json
from gitrun.model.timefmt import human_age, human_duration
from gitrun.store.index import level_for

DEFAULT_COLUMNS = "id,name,status,age,duration,branch,message"


def list_command(as_json: bool = False, limit: int | None = None, columns: str | None = None,
                 where: str | None = None, sort: str | None = None, all_branches: bool = False,
                 as_csv: bool = False) -> int:
    chosen = parse_columns(columns or DEFAULT_COLUMNS)
    ctx = open_context()
    needed = fields_needed(where, sort)
    if not as_json:
        needed += [path for _, path in chosen]
    runs = ctx.store.list_runs(level_for(needed))
    now = datetime.now(UTC)
    selection = select_runs(runs, ctx.repo, where=where, sort=sort, limit=limit, all_branches=all_branches,
                            now=now)
    if as_json:
        write_json_array(run_summary_json(run) for run in ctx.store.index.iter_full([r.id for r in selection.runs]))
        return 0
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([header for header, _ in chosen])
        for run in selection.runs:
            writer.writerow([_raw_cell(run, path, now) for _, path in chosen])
        sys.stdout.write(buffer.getvalue())
        return 0
    if not runs:
        print("no runs yet: record one with `git run -- COMMAND`")
        return 0
    if not selection.runs:
        print("no runs match" + (f" --where {where}" if where else "") + f" ({scope_line(selection)})")
        return 0
    ids = short_ids(runs)
    branch = current_branch(ctx.repo)
    rows = [[_cell(run, path, now, ids, branch) for _, path in chosen] for run in selection.runs]
    print(table(rows, [header for header, _ in chosen]))
    footer = scope_line(selection)
    if selection.matched > len(selection.runs):
        footer += f"; showing {len(selection.runs)} of {selection.matched}"
    print(f"\n{footer}")
    return 0


def _cell(run: Run, path: tuple[str, ...], now: datetime, ids: dict[str, str], branch: str) -> str:
    root = path[0]
    if root == "id":
        return ids.get(run.id, run.id[:10])
    if root == "name":
        marks = fields.baseline_branches(run.doc)
        if marks:
            return f"{run.name} (baseline{'' if marks == [branch] else ' of ' + ','.join(marks)})"
        return run.name
    if root == "age":
        return human_age(run.started, now) if run.started else "-"
    if root == "duration":
        return human_duration(run.duration_s) if run.duration_s is not None else "-"
    if root == "branch":
        return run.branch or "-"
    if root == "message":
        text = run.message or " ".join(run.command)
        tags = "".join(f"[{tag}] " for tag in run.tags)
        expect = run.doc.get("expect")
        if isinstance(expect, dict) and "met" in expect:
            tags += "(expect met) " if expect["met"] else "(expect missed) "
        return truncate(tags + text, 60)
    if root == "expect":
        expect = run.doc.get("expect")
        if isinstance(expect, dict) and "met" in expect and len(path) == 1:
            return "met" if expect["met"] else "missed"
    return truncate(format_value(fields.resolve(run, path, now)), 40)


def _raw_cell(run: Run, path: tuple[str, ...], now: datetime) -> Any:
    if path[0] == "message":
        return run.message
    if path[0] == "age":
        values = fields.resolve(run, ("started",), now)
        return values[0] if values else ""
    values = fields.resolve(run, path, now)
    if not values:
        return ""
    if len(values) == 1 and isinstance(values[0], int | float) and not isinstance(values[0], bool):
        return values[0]
    return format_value(values) if len(values) > 1 or not isinstance(values[0], str) else values[0]
