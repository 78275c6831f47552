"""``git run rerun RUN --set KEY=VALUE ...``: the same code again, with parameters overridden.

The job (``gitrun.model.job.spec_from_run``) runs at RUN's snapshot through ``run_job``; the new
run's note says ``parent = <RUN's id>`` and holds the ``[overrides]``.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitrun.commands.context import open_context
from gitrun.errors import UsageError
from gitrun.model.job import as_overrides, inputs_to_link, parse_assignment, spec_from_run, value_text
from gitrun.model.run import Run
from gitrun.runner.replay import run_job


def rerun_command(reference: str, sets: Sequence[str] = (), *, name: str | None = None,
                  tags: Sequence[str] = (), message: str = "", into: Path | None = None,
                  allow_new: bool = False, quiet: bool = False) -> int:
    overrides = as_overrides([parse_assignment(text) for text in sets])  # refused before anything runs
    ctx = open_context()
    run = ctx.store.get(ctx.store.resolve(reference).id)  # the whole note
    if not allow_new:
        check_known(run, [key for key, _ in overrides])
    said = ", ".join(f"{key}={value_text(value)}" for key, value in overrides)
    spec = spec_from_run(run, overrides=overrides, links={"parent": run.id}, name=name, tags=tags,
                         message=message or f"rerun of {run.name}" + (f" with {said}" if said else ""))
    result = run_job(spec, ctx.paths.workdir, into=into, link_inputs=inputs_to_link(run.doc), quiet=quiet,
                     launched_by="git run rerun")
    if into is not None and not quiet:
        print(f"gitrun: the worktree stays at {into} (`git worktree remove {into}` removes it)", file=sys.stderr)
    return result.exit_code


def check_known(run: Run, keys: Sequence[str]) -> None:
    """Refuse a key RUN never had as a parameter (a typo would silently change nothing)."""
    found = run.doc.get("params")
    params: dict[str, Any] = found if isinstance(found, dict) else {}
    if not params:
        return  # nothing recorded to check against (--no-autolog, a script without a parser)
    known = {_normalised(key): key for key in params}
    for key in keys:
        if _normalised(key) in known:
            continue
        close = difflib.get_close_matches(key, list(params), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UsageError(f"--set {key}: run {run.name or run.id[:10]} has no parameter '{key}'",
                         hint=f"{hint}--allow-new passes it anyway")


def _normalised(key: str) -> str:
    return key.replace("-", "_").lower()
