"""``git run export mlflow|tensorboard RUN...``: runs written for another tool to open."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from gitrun.commands.context import Context, open_context
from gitrun.commands.output import short_ids
from gitrun.commands.selection import select_runs
from gitrun.commands.tracking_view import stored_series
from gitrun.errors import UsageError
from gitrun.model.run import Run
from gitrun.model.series import SeriesPoint
from gitrun.model.terminal import printable
from gitrun.store.commits import read_folder

TOOLS = ("mlflow", "tensorboard")


def chosen_runs(ctx: Context, references: Sequence[str], where: str | None) -> list[Run]:
    if references and where:
        raise UsageError("give runs or --where, not both")
    if references:
        runs = [ctx.store.resolve(reference) for reference in references]
    elif where:
        runs = select_runs(ctx.store.list_runs(), ctx.repo, where=where, all_branches=True).runs
    else:
        raise UsageError("no runs to export", hint="name runs, or choose them with --where EXPR")
    unique = {run.id: run for run in runs}
    return [ctx.store.get(run_id) for run_id in unique]  # whole notes: params, tags, git


def stored_outputs(ctx: Context, run: Run) -> dict[str, bytes]:
    """The run's stored output files (``outputs/`` of its result tree), by their path."""
    return {path: data for path, data in read_folder(ctx.repo, run.result_commit, "outputs").items()
            if data is not None}


def export_command(tool: str, references: Sequence[str], target: str, where: str | None = None,
                   experiment: str = "gitrun", quiet: bool = False) -> int:
    ctx = open_context()
    runs = chosen_runs(ctx, references, where)
    with_series: list[tuple[Run, dict[str, list[SeriesPoint]]]] = [(run, stored_series(ctx, run)) for run in runs]
    outputs = {run.id: stored_outputs(ctx, run) for run in runs} if tool == "mlflow" else {}
    ids = short_ids(runs)
    if tool == "mlflow":
        from gitrun.commands.interop import mlflow_store

        done = mlflow_store.export_runs(target, experiment, with_series, outputs)
        for run, mlflow_id, written in done:
            if not quiet:
                verb = "exported" if written else "already in the store"
                print(f"{verb}: {ids[run.id]} ({printable(run.name)}) as mlflow run {mlflow_id}")
        count = sum(1 for _, _, written in done if written)
        print(f"gitrun: exported {count} run(s) to {printable(target)} (experiment {printable(experiment)})",
              file=sys.stderr)
    elif tool == "tensorboard":
        from gitrun.commands.interop import tensorboard_events

        for run, series in with_series:
            folder, scalars = tensorboard_events.export_run(Path(target), run, series)
            if not quiet:
                where_to = printable(str(folder))
                print(f"exported {ids[run.id]} ({printable(run.name)}): {scalars} scalar(s) in {where_to}")
        print(f"gitrun: exported {len(with_series)} run(s) to {printable(target)} "
              f"(tensorboard --logdir {printable(target)})", file=sys.stderr)
    else:
        raise UsageError(f"cannot export to '{tool}'", hint=f"one of: {', '.join(TOOLS)}")
    return 0
