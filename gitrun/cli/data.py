"""``git run data ls`` and ``git run data diff``: datasets across runs."""

from __future__ import annotations

import sys

import click

from gitrun.cli.completion_runs import complete_runs
from gitrun.cli.group import cli
from gitrun.cli.output_options import reading


@cli.group("data")
def data_group() -> None:
    """Datasets recorded by runs (--data, or read by a Python run)."""


@data_group.command("ls")
@reading()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (a stable contract).")
def data_ls(as_json: bool) -> None:
    """List every dataset seen across runs: versions, hashes, and the runs that used them."""
    from gitrun.commands.data import ls_command

    sys.exit(ls_command(as_json=as_json))


@data_group.command("diff")
@reading()
@click.argument("run_a", shell_complete=complete_runs)
@click.argument("run_b", shell_complete=complete_runs)
@click.option("--dataset", default=None, metavar="NAME|PATH", help="Compare only this dataset.")
@click.option("--all", "show_all", is_flag=True, help="List every changed file, not the first 100.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (a stable contract).")
def data_diff(run_a: str, run_b: str, dataset: str | None, show_all: bool, as_json: bool) -> None:
    """Say which files of each dataset changed between RUN_A and RUN_B."""
    from gitrun.commands.data import diff_command

    sys.exit(diff_command(run_a, run_b, dataset=dataset, as_json=as_json, show_all=show_all))
