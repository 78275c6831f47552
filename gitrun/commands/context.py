"""What every command starts with: the repository, its run store and settings, orphans recovered."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitrun.store.config import Settings
from gitrun.store.git import RepoPaths, Repository
from gitrun.store.opening import open_store
from gitrun.store.refs import dangling_ref_hint
from gitrun.store.runs import RunStore
from gitrun.store.spool import live_root
from gitrun.store.tmpfiles import sweep_stale_temp_files

if TYPE_CHECKING:
    from gitrun.runner.ending import DocFinaliser, ResultContributor


def recording_features() -> tuple[tuple[ResultContributor, ...], tuple[DocFinaliser, ...]]:
    """Every recording feature's result contributor and doc finaliser, for finalising an orphaned run.

    Imported on demand: only a command that finds an orphan pays for importing every feature.
    """
    from gitrun.runner.features import CONTRIBUTORS, DOC_FINALISERS

    return CONTRIBUTORS, DOC_FINALISERS


@dataclass
class Context:
    repo: Repository
    paths: RepoPaths
    store: RunStore
    settings: Settings
    cwd: Path


def open_context(start: Path | None = None, recover: bool = True) -> Context:
    cwd = Path(start or os.getcwd()).resolve()
    opened = open_store(cwd, recover=_recover if recover else None)
    if recover:
        hint = dangling_ref_hint(opened.repo)
        if hint:
            print(f"gitrun: warning: {hint}", file=sys.stderr)
    return Context(opened.repo, opened.paths, opened.store, opened.settings, cwd)


def _recover(store: RunStore, settings: Settings) -> None:
    """What a gitrun killed earlier left behind: temporary files of a snapshot, and orphaned runs."""
    sweep_stale_temp_files(store.paths)
    if _any_spool(store.paths):  # finalising (and importing it) only when a run may be orphaned
        from gitrun.runner.finalise import recover_orphans

        recover_orphans(store, settings, recording_features)


def _any_spool(paths: RepoPaths) -> bool:
    try:
        with os.scandir(live_root(paths)) as entries:
            return any(entry.is_dir() for entry in entries)
    except OSError:  # no live folder: no run was ever spooled here
        return False
