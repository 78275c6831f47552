"""Subcommands that read runs: list, show, query."""

from __future__ import annotations

import sys

import click

from gitrun.cli.completion_runs import complete_runs
from gitrun.cli.group import cli
from gitrun.cli.output_options import reading


@cli.command("list")
@reading()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (a stable contract).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the chosen columns as CSV.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the runs' full ids, one a line.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N runs.")
@click.option("--columns", default=None, metavar="COLS",
              help="Comma-separated columns, e.g. id,name,params.lr,metrics.acc (see docs/query.md).")
@click.option("--where", default=None, metavar="EXPR",
              help='Only runs matching EXPR, e.g. "metrics.acc > 0.9 and since 3d" (see docs/query.md).')
@click.option("--sort", default=None, metavar="FIELD",
              help="Sort by FIELD (ascending); -FIELD or FIELD:desc for descending. Default: newest first.")
@click.option("--all-branches", is_flag=True,
              help="Include runs whose base commit is not reachable from HEAD.")
@click.option("--sweep", default=None, metavar="SWEEP", help="The runs of a sweep, its best run marked.")
def list_cmd(as_json: bool, as_csv: bool, limit: int | None, columns: str | None, where: str | None,
             sort: str | None, all_branches: bool, quiet: bool, sweep: str | None) -> None:
    """List runs, newest first (those on commits reachable from HEAD unless --all-branches)."""
    if sweep is not None:
        from gitrun.commands.sweep import list_sweep_runs

        if columns or where or sort or as_csv or limit or quiet:
            raise click.UsageError("--sweep shows the sweep's own table: it takes --json only")

        sys.exit(list_sweep_runs(sweep, as_json))
    from gitrun.commands.list_runs import list_command

    sys.exit(list_command(as_json=as_json, limit=limit, columns=columns, where=where, sort=sort,
                          all_branches=all_branches, as_csv=as_csv, quiet=quiet))


@cli.command("show")
@reading()
@click.argument("run", shell_complete=complete_runs, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (a stable contract).")
@click.option("--log", is_flag=True, help="Print the run's whole console output.")
def show_cmd(run: str | None, as_json: bool, log: bool) -> None:
    """Show everything recorded about RUN (an id, a unique prefix, or a name); without RUN, the newest run."""
    from gitrun.commands.show import show_command

    sys.exit(show_command(run, as_json=as_json, log=log))


@cli.command("query")
@reading()
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
def query_cmd(sql: str, as_json: bool, as_csv: bool) -> None:
    """Read-only SQL over the runs, e.g. "SELECT name, params_lr, metrics_acc FROM runs WHERE status = 'succeeded'".

    Tables: runs (one column per parameter and metric: params_NAME, metrics_NAME), tags, params,
    metrics, summaries, datasets; docs/format.md ("Query tables") describes them.
    """
    from gitrun.commands.query_sql import query_command

    sys.exit(query_command(sql, as_json=as_json, as_csv=as_csv))
