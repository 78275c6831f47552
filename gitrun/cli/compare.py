"""Subcommands that compare and summarise runs: diff, report."""

from __future__ import annotations

import sys

import click

from gitrun.cli.completion_runs import complete_runs
from gitrun.cli.group import cli
from gitrun.cli.output_options import reading


@cli.command("diff")
@reading()
@click.argument("first", shell_complete=complete_runs, metavar="[A]", required=False)
@click.argument("second", shell_complete=complete_runs, metavar="[B]", required=False)
@click.option("--all", "show_all", is_flag=True, help="Show every value, not only what differs.")
@click.option("--code", is_flag=True, help="Also show the code patch (through your pager, like git diff).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (see docs/format.md).")
def diff_cmd(first: str | None, second: str | None, show_all: bool, code: bool, as_json: bool) -> None:
    """Compare runs A and B: code, parameters, metrics, data, environment, hardware, command.

    \b
    A or B may be a run, a branch, a commit, or . (the working tree). With only A,
    A is compared with its branch's baseline run, else with its base commit.
    Without A and B, the two newest runs are compared.
    """
    from gitrun.commands.diff import diff_command

    sys.exit(diff_command(first, second, show_all=show_all, code=code, as_json=as_json))


@cli.command("report")
@click.argument("runs", shell_complete=complete_runs, nargs=-1)
@click.option("-o", "--output", default="report.html", show_default=True, metavar="FILE",
              help="Where to write: .html (self-contained, charts as inline SVG) or .md.")
@click.option("--where", default=None, metavar="EXPR", help="Report on the runs matching EXPR (docs/query.md).")
@click.option("--all-branches", is_flag=True, help="Include runs whose base commit is not reachable from HEAD.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N runs (default 10).")
@click.option("--metrics", default=None, metavar="NAMES", help="Comma-separated metrics to chart (default: all).")
def report_cmd(runs: tuple[str, ...], output: str, where: str | None, all_branches: bool, limit: int | None,
               metrics: str | None) -> None:
    """Write a report of RUNs (or of the runs --where selects): tables, charts, notes, journal."""
    from gitrun.commands.report import report_command

    sys.exit(report_command(list(runs), output, where=where, all_branches=all_branches, limit=limit,
                            metrics=metrics))
