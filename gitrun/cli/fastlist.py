"""``git run list`` (no options) without click or pygit2, when the read index is warm.

A plain listing's start-up (Python, click, pygit2 and the modules they pull in: ~85 ms) was most of
what it cost (docs/benchmarks.md, "git run list vs dvc exp show"). When a normal ``git run list``
printed the table, it left a stamp in the read index (``commands/list_memo.py``): the key of
everything the table depends on besides the index's rows and the clock, and the run bases reachable
from HEAD. Here the key is read again from files alone (``store/listing_stamp.py``); when it equals
the stamp, the table is printed from the index's rows by the same code as the normal path
(``commands/list_table.py``). Anything else returns None and the normal path runs: stdout a terminal
(pager, colour, width), a GIT_*/GITRUN_* variable that matters, a run's spool (running or orphaned:
the normal path finalises orphans), an unusual repository, a changed ref, HEAD, config or project
file, a missing or corrupt index. ``tests/test_cli_fastlist.py`` compares both paths byte for byte.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gitrun.commands.list_table import DEFAULT_HEADERS, NO_RUNS, default_cells
from gitrun.commands.output import install_printable_streams, output_width, table
from gitrun.model.scope import scope_text
from gitrun.store.listing_stamp import (
    NO_FAST_LIST,
    any_spool,
    environment_is_plain,
    listing_key,
    locate,
    rows_on_history,
    stamped_rows,
)


def fast_list() -> int | None:
    """Print the default table and return 0, or None (nothing printed) when the normal path must run."""
    try:
        if sys.stdout.isatty():
            return None
        cwd = Path(os.getcwd()).resolve()
    except (OSError, ValueError, AttributeError):
        return None
    if os.environ.get(NO_FAST_LIST) or not environment_is_plain(os.environ):
        return None
    located = locate(cwd)
    if located is None or any_spool(located.commondir):
        return None
    key = listing_key(located, os.environ)
    if key is None:
        return None
    found = stamped_rows(key)
    if found is None:
        return None
    rows, reachable = found
    install_printable_streams()  # as run_click: a pulled run's text never reaches the output raw
    if not rows:
        print(NO_RUNS)
        return 0
    kept = rows_on_history(rows, reachable)
    scope = scope_text(False, len(rows) - len(kept))
    if not kept:
        print(f"no runs match ({scope})")
        return 0
    cells = default_cells(kept, [row[0] for row in rows], key.branch)
    print(table(cells, DEFAULT_HEADERS, output_width()))
    print(f"\n{scope}")
    return 0
