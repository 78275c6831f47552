"""Choosing runs: moved to ``gitrun.store.selection`` (the store as a library); re-exported for commands."""

from gitrun.store.selection import (
    Selection,
    baseline_of_branch,
    current_branch,
    fields_needed,
    reachable_bases,
    reachable_rows,
    run_label,
    scope_line,
    select_rows,
    select_runs,
)

__all__ = ["Selection", "baseline_of_branch", "current_branch", "fields_needed", "reachable_bases",
           "reachable_rows", "run_label", "scope_line", "select_rows", "select_runs"]
