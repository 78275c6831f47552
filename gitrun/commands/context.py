"""What every command starts with: the repository, its run store and settings, orphans recovered."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitrun.runner.ending import DocFinaliser, ResultContributor
from gitrun.runner.finalise import recover_orphans
from gitrun.store.config import Settings, load_settings
from gitrun.store.git import RepoPaths, open_repository
from gitrun.store.repair import dangling_ref_hint
from gitrun.store.runs import RunStore
from gitrun.store.tmpfiles import sweep_stale_temp_files


def recording_features() -> tuple[tuple[ResultContributor, ...], tuple[DocFinaliser, ...]]:
    """Every recording feature's result contributor and doc finaliser, for finalising an orphaned run.

    Imported on demand: only a command that finds an orphan pays for importing every feature.
    """
    from gitrun.runner.features import CONTRIBUTORS, DOC_FINALISERS

    return CONTRIBUTORS, DOC_FINALISERS


@dataclass
class Context:
    repo: pygit2.Repository
    paths: RepoPaths
    store: RunStore
    settings: Settings
    cwd: Path


def open_context(start: Path | None = None, recover: bool = True) -> Context:
    cwd = Path(start or os.getcwd()).resolve()
    repo, paths = open_repository(cwd)
    settings = load_settings(paths.workdir, repo.config)
    store = RunStore(repo, paths)
    if recover:
        sweep_stale_temp_files(paths)  # what a gitrun killed during a snapshot left behind
        recover_orphans(store, settings, recording_features)
        hint = dangling_ref_hint(repo)
        if hint:
            print(f"gitrun: warning: {hint}", file=sys.stderr)
    return Context(repo, paths, store, settings, cwd)
