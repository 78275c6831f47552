"""Subcommands for a run's tracked data: metrics, checkout-output."""

from __future__ import annotations

import sys

import click

from gitrun.cli.completion_runs import complete_runs
from gitrun.cli.group import cli
from gitrun.cli.output_options import reading


@cli.command("metrics")
@reading()
@click.argument("run", shell_complete=complete_runs)
@click.argument("names", nargs=-1)
@click.option("--json", "fmt", flag_value="json", help="Print a JSON list of {name, step, time, value}.")
@click.option("--csv", "fmt", flag_value="csv", help="Print CSV with the columns name, step, time, value.")
@click.option("--all", "include_system", is_flag=True, help="Include the system/ series.")
def metrics_cmd(run: str, names: tuple[str, ...], fmt: str | None, include_system: bool) -> None:
    """Print RUN's metric series (NAMEs may be globs, e.g. 'system/*')."""
    from gitrun.commands.metrics import metrics_command

    sys.exit(metrics_command(run, names, fmt or "table", include_system))


@cli.command("checkout-output")
@click.argument("run", shell_complete=complete_runs)
@click.argument("paths", nargs=-1)
@click.option("--to", "to", default=None, metavar="DIR", help="Write below DIR instead of the repository root.")
@click.option("--force", is_flag=True, help="Overwrite files that exist with other content.")
def checkout_output_cmd(run: str, paths: tuple[str, ...], to: str | None, force: bool) -> None:
    """Restore RUN's stored output files (all, or those under PATHs)."""
    from gitrun.commands.checkout_output import checkout_output_command

    sys.exit(checkout_output_command(run, paths, to, force))
