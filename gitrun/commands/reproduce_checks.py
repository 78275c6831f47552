"""The pre-checks of ``git run reproduce``: what this machine has now against what the run had.

Gathered with the same capture functions a recording uses (so the two sides compare like with
like), then compared by ``gitrun.model.reproduce``: Python version, the packages the run imported,
its data inputs re-hashed at their recorded paths, the environment variables it read, the hardware,
and files its snapshot left out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitrun.capture.datasets import StatCache, hash_file_group, hash_path
from gitrun.capture.environment import capture_environment
from gitrun.capture.hardware import capture_hardware
from gitrun.commands.context import Context
from gitrun.commands.data import file_list
from gitrun.model import reproduce as model
from gitrun.model.run import Run


def gather_findings(ctx: Context, run: Run, env: Mapping[str, str]) -> list[model.Finding]:
    """Every pre-check's findings, in the order they are reported."""
    doc = run.doc
    recorded_env = _table(doc, "env")
    cache_dir = ctx.paths.gitrun_dir / "cache"
    cwd = (ctx.paths.workdir / str(doc.get("cwd") or ".")).resolve()
    if not cwd.is_dir():
        cwd = ctx.paths.workdir
    current_env = capture_environment(run.command, env, cwd, cache_dir).data
    findings = [*model.check_python(recorded_env, current_env), *model.check_packages(recorded_env, current_env)]
    findings += model.check_data(_data_entries(doc), rehash_data(ctx, run))
    findings += model.check_env_vars(doc, env.keys())
    findings += model.check_hardware(_table(doc, "hardware"), capture_hardware(cache_dir).data)
    findings += model.check_code(doc)
    return findings


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _data_entries(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in doc.get("data") or () if isinstance(entry, dict) and isinstance(entry.get("path"), str)]


def rehash_data(ctx: Context, run: Run) -> dict[str, str | None]:
    """Path -> the hash of each recorded data input as it is now (None: missing).

    Inputs stored in the snapshot are not re-hashed: the worktree has them exactly. A group of
    detected files is re-hashed file by file from its recorded list, so that other files that
    appeared in the same folder do not count as a change.
    """
    cache = StatCache.for_dir(ctx.paths.gitrun_dir / "cache")
    found: dict[str, str | None] = {}
    for entry in _data_entries(run.doc):
        if entry.get("location") == "snapshot":
            continue
        path = str(entry["path"])
        where = Path(path) if os.path.isabs(path) else ctx.paths.workdir / path
        try:
            if entry.get("declared") is False and entry.get("files", 1) != 1 and not where.is_file():
                listed = file_list(ctx, run, entry)
                if listed is not None:
                    files = [str(where / item.relpath) for item in listed]
                    present = [name for name in files if os.path.isfile(name)]
                    found[path] = hash_file_group(str(where), present, cache).hash if present else None
                    continue
            found[path] = hash_path(where, cache).hash if where.exists() else None
        except OSError:
            found[path] = None
    cache.save()
    return found
