"""``git run import mlflow|dvc|wandb``: another tracker's runs become gitrun runs (once each).

The readers live in ``gitrun.commands.interop``; this module picks one, stores what it found and
says what happened, one line per run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from gitrun.commands.context import open_context
from gitrun.commands.interop.imported import ForeignRun, ImportResult, imported_runs, store_foreign_runs
from gitrun.commands.output import short_ids
from gitrun.errors import UsageError
from gitrun.model.terminal import printable

TOOLS = ("mlflow", "dvc", "wandb")


def import_command(tool: str, source: str | None, experiments: Sequence[str] = (), quiet: bool = False) -> int:
    ctx = open_context()
    if tool == "mlflow":
        from gitrun.commands.interop import mlflow_store

        if not source:
            raise UsageError("give the MLflow store to import", hint="git run import mlflow ./mlruns")
        known = imported_runs(ctx.store)
        runs, notes = mlflow_store.read_runs(source, experiments, known=lambda run_id: f"mlflow:{run_id}" in known)
    elif tool == "dvc":
        from gitrun.commands.interop import dvc_experiments

        runs, notes = dvc_experiments.read_experiments(ctx.paths.workdir, ctx.repo)
    elif tool == "wandb":
        from gitrun.commands.interop import wandb_offline

        runs, notes = wandb_offline.read_runs(Path(source or "wandb"))
    else:
        raise UsageError(f"cannot import from '{tool}'", hint=f"one of: {', '.join(TOOLS)}")
    for note in notes:
        print(f"gitrun: {printable(note)}", file=sys.stderr)
    result = store_foreign_runs(ctx, runs)
    if not quiet:
        _report(tool, result)
    return 0


def _report(tool: str, result: ImportResult) -> None:
    ids = short_ids([run for _, run in result.imported + result.skipped])
    for foreign, run in result.imported:
        print(f"imported {tool} run {printable(_label(foreign))} as {ids[run.id]} ({printable(run.name)})")
    summary = f"gitrun: imported {len(result.imported)} run(s) from {tool}"
    if result.skipped:
        summary += f"; {len(result.skipped)} imported before, left as they are"
    print(summary, file=sys.stderr)


def _label(foreign: ForeignRun) -> str:
    return foreign.foreign_id if not foreign.name or foreign.name == foreign.foreign_id \
        else f"{foreign.foreign_id} ({foreign.name})"
