"""``git run import`` and ``git run export``: runs from and to other trackers."""

from __future__ import annotations

import sys

import click

from gitrun.cli.group import cli


@cli.group("import")
def import_group() -> None:
    """Bring runs of another tracker into gitrun (importing again adds only new runs)."""


@import_group.command("mlflow")
@click.argument("source", metavar="PATH_OR_URI")
@click.option("--experiment", "experiments", multiple=True, metavar="NAME",
              help="Only this experiment (name or id; repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def import_mlflow(source: str, experiments: tuple[str, ...], quiet: bool) -> None:
    """Import the ended runs of an MLflow store (an mlruns folder, a SQLite file, a tracking URI)."""
    from gitrun.commands.import_runs import import_command

    sys.exit(import_command("mlflow", source, experiments, quiet=quiet))


@import_group.command("dvc")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def import_dvc(quiet: bool) -> None:
    """Import this repository's DVC experiments (refs/exps: params, metrics, DVCLive series, commit)."""
    from gitrun.commands.import_runs import import_command

    sys.exit(import_command("dvc", None, quiet=quiet))


@import_group.command("wandb")
@click.argument("folder", required=False, metavar="[DIR]")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def import_wandb(folder: str | None, quiet: bool) -> None:
    """Import W&B offline runs: DIR is a run folder or a folder of them (default: ./wandb)."""
    from gitrun.commands.import_runs import import_command

    sys.exit(import_command("wandb", folder, quiet=quiet))


@cli.group("export")
def export_group() -> None:
    """Write runs for another tool to open (MLflow, TensorBoard)."""


@export_group.command("mlflow")
@click.argument("runs", nargs=-1)
@click.option("--to", "target", required=True, metavar="PATH_OR_URI",
              help="A folder (file store), a .db file (SQLite) or a tracking URI.")
@click.option("--experiment", default="gitrun", show_default=True, help="The MLflow experiment to write to.")
@click.option("--where", default=None, metavar="EXPR", help="Export the runs matching EXPR instead of RUNS.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def export_mlflow(runs: tuple[str, ...], target: str, experiment: str, where: str | None, quiet: bool) -> None:
    """Write RUNS (params, every metric point, tags, times) into an MLflow store that `mlflow ui` opens."""
    from gitrun.commands.export_runs import export_command

    sys.exit(export_command("mlflow", runs, target, where=where, experiment=experiment, quiet=quiet))


@export_group.command("tensorboard")
@click.argument("runs", nargs=-1)
@click.argument("folder", metavar="DIR")
@click.option("--where", default=None, metavar="EXPR", help="Export the runs matching EXPR instead of RUNS.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def export_tensorboard(runs: tuple[str, ...], folder: str, where: str | None, quiet: bool) -> None:
    """Write RUNS' metric series as TensorBoard event files under DIR (one folder per run)."""
    from gitrun.commands.export_runs import export_command

    sys.exit(export_command("tensorboard", runs, folder, where=where, quiet=quiet))
