"""``git run list``: the main table of runs (columns, filters, sorting, JSON and CSV for scripts)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.commands.list_memo import listing_key_now, remember_listing
from gitrun.commands.list_table import DEFAULT_HEADERS, NO_RUNS, default_cells
from gitrun.commands.output import output_width, short_ids, table, write_json_array
from gitrun.commands.paging import colour_status_column
from gitrun.commands.selection import (
    Selection,
    current_branch,
    fields_needed,
    reachable_rows,
    scope_line,
    select_rows,
    select_runs,
)
from gitrun.model.run import run_summary_json
from gitrun.store.index import COLUMNS, level_for
from gitrun.store.listing_stamp import LISTING_COLUMNS

# The default table is built from the index's typed columns without the query language
# (gitrun.model.query, gitrun.model.fields: imported by the paths that need them; start-up is most
# of what the default ``git run list`` costs at 10,000 runs).
DEFAULT_COLUMNS = "id,name,status,age,duration,branch,message"


def list_command(as_json: bool = False, limit: int | None = None, columns: str | None = None,
                 where: str | None = None, sort: str | None = None, all_branches: bool = False,
                 as_csv: bool = False, quiet: bool = False) -> int:
    default_table = columns is None and not as_json and not as_csv and not quiet
    opened: Context | None = None
    if default_table:
        ctx = opened = open_context()
        if where is None and sort is None:
            plain = not all_branches and limit is None
            before = listing_key_now(ctx) if plain else None  # what the warm fast path will check
            listed = _unfiltered(ctx, all_branches, limit)
            code = _default_table(ctx, listed, where)
            if before is not None:
                remember_listing(ctx, before, listed.rows or {})
            return code
        picked = select_rows(ctx.store.index, ctx.repo, where=where, sort=sort, limit=limit,
                             all_branches=all_branches)
        if picked is not None:  # every field is in the index's rows: no Run built
            selection = Selection([], picked.hidden, all_branches, picked.matched, picked.notes)
            return _default_table(ctx, Listed(selection, picked.all_ids, [row[0] for row in picked.rows],
                                              {row[0]: row[:len(LISTING_COLUMNS)] for row in picked.rows}), where)
    from gitrun.commands.list_cells import cell, raw_cell
    from gitrun.model.query import parse_columns

    chosen = parse_columns(columns or DEFAULT_COLUMNS)
    ctx = opened or open_context()
    needed = fields_needed(where, sort)
    if not as_json and not default_table:
        needed += [path for _, path in chosen]
    level = level_for(needed)
    listing: dict[str, tuple[Any, ...]] | None = {} if default_table and level.startswith(COLUMNS) else None
    runs = ctx.store.index.runs(level, listing) if listing is not None else ctx.store.list_runs(level)
    now = datetime.now(UTC)
    selection = select_runs(runs, ctx.repo, where=where, sort=sort, limit=limit, all_branches=all_branches,
                            now=now)
    if as_json:
        write_json_array(run_summary_json(run) for run in ctx.store.index.iter_full([r.id for r in selection.runs]))
        return 0
    if quiet:  # full ids, one a line, for scripts: git run list -q --where ... | xargs -n1 git run show
        sys.stdout.write("".join(run.id + "\n" for run in selection.runs))
        return 0
    if as_csv:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([header for header, _ in chosen])
        for run in selection.runs:
            writer.writerow([raw_cell(run, path, now) for _, path in chosen])
        sys.stdout.write(buffer.getvalue())
        return 0
    if default_table:
        return _default_table(ctx, Listed(selection, [run.id for run in runs], rows=listing), where)
    if not runs:
        print(NO_RUNS)
        return 0
    if not selection.runs:
        why = f": {'; '.join(selection.notes)}" if selection.notes else ""
        print("no runs match" + (f" --where {where}" if where else "") + f" ({scope_line(selection)}){why}")
        return 0
    ids = short_ids(runs)
    branch = current_branch(ctx.repo)
    rows = [[cell(run, path, now, ids, branch) for _, path in chosen] for run in selection.runs]
    headers = [header for header, _ in chosen]
    print(colour_status_column(table(rows, headers, output_width()), headers))
    _footer(selection)
    return 0


@dataclass
class Listed:
    """What a table shows: the selection, and every run id (short ids are unique among all runs)."""

    selection: Selection
    all_ids: list[str]
    shown: list[str] = field(default_factory=list)
    rows: dict[str, tuple[Any, ...]] | None = None  # the index's listing rows of ``shown``, when read

    def __post_init__(self) -> None:
        self.shown = self.shown or [run.id for run in self.selection.runs]


def _unfiltered(ctx: Context, all_branches: bool, limit: int | None) -> Listed:
    """Every run of HEAD's history (or all), newest first, from the index's typed columns alone."""
    rows = ctx.store.index.listing_rows()
    kept, hidden = reachable_rows(ctx.repo, rows, all_branches)
    shown = kept[:limit] if limit is not None else kept
    return Listed(Selection([], hidden, all_branches, len(kept)), [row[0] for row in rows],
                  [row[0] for row in shown], {row[0]: row for row in shown})


def _default_table(ctx: Context, listed: Listed, where: str | None) -> int:
    """The default columns straight from the index's typed columns (no documents built: ~5 us a run)."""
    selection = listed.selection
    if not listed.all_ids:
        print(NO_RUNS)
        return 0
    if not listed.shown:
        why = f": {'; '.join(selection.notes)}" if selection.notes else ""
        print("no runs match" + (f" --where {where}" if where else "") + f" ({scope_line(selection)}){why}")
        return 0
    rows = listed.rows
    if rows is None:
        wanted = set(listed.shown)
        rows = {row[0]: row for row in ctx.store.index.listing_rows() if row[0] in wanted}
    cells = default_cells([rows[run_id] for run_id in listed.shown], listed.all_ids, current_branch(ctx.repo))
    headers = DEFAULT_HEADERS
    print(colour_status_column(table(cells, headers, output_width()), headers))
    selection.matched = max(selection.matched, len(listed.shown))
    _footer(selection, len(listed.shown))
    return 0


def _footer(selection: Selection, shown: int | None = None) -> None:
    footer = scope_line(selection)
    count = len(selection.runs) if shown is None else shown
    if selection.matched > count:
        footer += f"; showing {count} of {selection.matched}"
    print(f"\n{footer}")
    for note in selection.notes:
        print(f"note: {note}", file=sys.stderr)
