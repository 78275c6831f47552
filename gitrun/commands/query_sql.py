"""``git run query "SELECT ..."``: read-only SQL over the read index (tables in docs/format.md)."""

from __future__ import annotations

import csv
import sys

from gitrun.commands.context import open_context
from gitrun.commands.output import print_json, table
from gitrun.store.query_views import run_query


def query_command(sql: str, as_json: bool = False, as_csv: bool = False) -> int:
    ctx = open_context()
    headers, rows = run_query(ctx.store.index, sql)
    if as_json:
        print_json([dict(zip(headers, row, strict=True)) for row in rows])
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
    elif rows:
        print(table([["" if cell is None else str(cell) for cell in row] for row in rows], headers))
    else:
        print("(no rows)")
    return 0
