"""Subcommands that read runs: list, show."""

from __future__ import annotations

import sys

import click

from gitrun.cli import cli


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (a stable contract).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N runs.")
def list_cmd(as_json: bool, limit: int | None) -> None:
    """List runs, newest first."""
    from gitrun.commands.list_runs import list_command

    sys.exit(list_command(as_json=as_json, limit=limit))


@cli.command("show")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (a stable contract).")
@click.option("--log", is_flag=True, help="Print the run's whole console output.")
def show_cmd(run: str, as_json: bool, log: bool) -> None:
    """Show everything recorded about RUN (an id, a unique prefix, or a name)."""
    from gitrun.commands.show import show_command

    sys.exit(show_command(run, as_json=as_json, log=log))
