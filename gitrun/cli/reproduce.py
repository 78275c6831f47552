"""Subcommands that run recorded code again: rerun, reproduce."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitrun.cli.group import cli


@cli.command("rerun")
@click.argument("run")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter (repeatable): on the command line, in its parameter file, "
                   "or as the script's argparse/click default.")
@click.option("--name", default=None, help="A name for the new run.")
@click.option("--tag", "tags", multiple=True, help="Tag the new run (repeatable).")
@click.option("-m", "--message", default="", help="Why this run (default: what was overridden).")
@click.option("--into", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run in a worktree at DIR and keep it (default: a temporary one, removed after).")
@click.option("--allow-new", is_flag=True, help="Allow --set keys the run did not record as parameters.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing of gitrun's own.")
def rerun_cmd(run: str, sets: tuple[str, ...], name: str | None, tags: tuple[str, ...], message: str,
              into: Path | None, allow_new: bool, quiet: bool) -> None:
    """Run RUN's code again with parameters overridden, e.g. --set lr=0.001 --set model.depth=12.

    The new run is linked to RUN (parent). Your working tree, index and HEAD are not touched.
    """
    from gitrun.commands.rerun import rerun_command

    sys.exit(rerun_command(run, sets, name=name, tags=tags, message=message, into=into, allow_new=allow_new,
                           quiet=quiet))
