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


@cli.command("reproduce")
@click.argument("run")
@click.option("--into", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run in a worktree at DIR and keep it (default: a temporary one, removed after).")
@click.option("--env", "env_mode", type=click.Choice(["current", "venv"]), default="current", show_default=True,
              help="current: this environment; venv: a fresh virtual environment rebuilt from the recorded "
                   "packages (uv, else pip; cached).")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC=TOL",
              help="Allowed difference (repeatable): acc=0.01 (absolute), loss=1% (relative), '*=1e-6' (all).")
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run N times and report the run-to-run spread.")
@click.option("--find-links", "find_links", multiple=True, metavar="DIR|URL",
              help="--env venv: also look for packages there (repeatable).")
@click.option("--no-index", is_flag=True, help="--env venv: do not use a package index (only --find-links).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as a JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict.")
def reproduce_cmd(run: str, into: Path | None, env_mode: str, tolerances: tuple[str, ...], repeat: int,
                  find_links: tuple[str, ...], no_index: bool, as_json: bool, quiet: bool) -> None:
    """Run RUN again from what was recorded and say whether the numbers came back.

    Checks Python, packages, data, environment variables and hardware first; the verdict is exact,
    within tolerance, diverged (with the differences and their likely causes) or not rebuildable,
    and is stored with RUN (reproduced_by). Exit 0 only for exact or within tolerance.
    """
    from gitrun.commands.reproduce import reproduce_command

    sys.exit(reproduce_command(run, into=into, env_mode=env_mode, tolerances=tolerances, repeat=repeat,
                               find_links=find_links, no_index=no_index, quiet=quiet, as_json=as_json))
