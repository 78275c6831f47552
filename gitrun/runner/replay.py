"""Run a job (``gitrun.model.job.JobSpec``) at its snapshot, recorded as a normal run.

``run_job`` is the one way gitrun runs recorded code again: ``git run rerun``, ``git run
reproduce``, sweeps and queue workers all call it. It

1. checks out the snapshot commit in a *linked worktree* of the same repository
   (``git worktree add --detach``, with hooks off), in a temporary folder or a given one; the
   user's working tree, index, HEAD and branches are never touched;
2. links the data inputs the run read from the user's working tree into it (``link_inputs``:
   ignored files are not in the snapshot, so they come from where they lie);
3. applies the overrides: on the command line, else in a parameter file, else as parser defaults
   through the startup hook (``$GITRUN_SET``);
4. runs the command there with the one recorder (``gitrun.runner.recorder``), so the new run is an
   ordinary run of the same repository (its spool and refs are the common git dir's), whose note
   carries the job's links (``parent``, ``reproduces``, ``sweep``, ``job``);
5. removes the temporary worktree, whatever happened (an exception, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from gitrun.capture.overrides import OverridePlan, plan_overrides
from gitrun.capture.params import PARAM_FILE_SUFFIXES, param_files_in_argv
from gitrun.errors import GitrunError, UsageError
from gitrun.model.job import JobSpec, Value, value_text
from gitrun.runner import features
from gitrun.runner.finalise import recover_orphans
from gitrun.runner.options import FEATURE_DEFAULTS, RecordOptions
from gitrun.runner.process import run_child
from gitrun.runner.recorder import ending_for, say, start_recording
from gitrun.store.git import open_repository, run_git
from gitrun.store.opening import open_store

SET_VARIABLE = "GITRUN_SET"  # read by the startup hook (capture/startup/_gitrun_params.py)
WORKTREE_PREFIX = "gitrun-job-"


@dataclass
class JobResult:
    """What running a job gave."""

    run_id: str
    exit_code: int
    status: str
    applied: dict[str, str] = field(default_factory=dict)  # override key -> argv | file:<path> | parser default
    unapplied: list[str] = field(default_factory=list)  # overrides the run's recorded params do not show
    worktree: Path | None = None  # where it ran (kept only with ``into``)


class JobInterrupted(GitrunError):
    """SIGTERM arrived while a job was being prepared or stored."""

    exit_code = 143


def run_job(spec: JobSpec, repo_dir: Path | str, *, into: Path | None = None,
            env: Mapping[str, str] | None = None, link_inputs: Sequence[str] = (),
            quiet: bool = False, launched_by: str = "gitrun.replay",
            extra_doc: Mapping[str, Any] | None = None) -> JobResult:
    """Run ``spec`` at its snapshot in the repository holding ``repo_dir``; record it as a new run.

    ``into``: the folder for the worktree (must not exist, or be empty); it is kept afterwards
    (``git worktree remove DIR`` removes it). Without it, a temporary folder is used and removed.
    ``env``: the environment of the command (default: this process's; a rebuilt venv's ``PATH``).
    ``link_inputs``: repository-relative paths (data the run read, absent from the snapshot) to
    link from the user's working tree into the worktree. ``extra_doc``: more top-level note fields.
    Returns the new run's id and exit code; a job whose command fails is a failed run, not an error.
    """
    if spec.env == "venv" and env is None:  # the caller builds it (``runner/venv.py``) and passes its env
        raise UsageError("env 'venv' needs the environment built first",
                         hint="`git run reproduce RUN --env venv` builds it; or run the job with env current")
    _repo, user_paths = open_repository(Path(repo_dir))
    with _sigterm_raises(), _worktree(user_paths.workdir, spec.snapshot, into) as root:
        _link_inputs(user_paths.workdir, root, link_inputs)
        cwd = (root / spec.cwd).resolve()
        if not cwd.is_dir() or not cwd.is_relative_to(root.resolve()):
            raise UsageError(f"the job's folder '{spec.cwd}' is not in snapshot {spec.snapshot[:10]}")
        plan = plan_overrides(spec.command, spec.overrides, _param_files(spec, root.resolve(), cwd), root.resolve())
        job_env = dict(os.environ if env is None else env)
        job_env.pop(SET_VARIABLE, None)
        if plan.left:
            job_env[SET_VARIABLE] = json.dumps(plan.left)
        result = _record(spec, root, cwd, plan, job_env, quiet, launched_by, extra_doc)
        result.worktree = root if into is not None else None
        return result


def _param_files(spec: JobSpec, root: Path, cwd: Path) -> list[Path]:
    """Parameter files an override may rewrite: ``--params`` files, then those named on the command line."""
    files = [root / path for path in spec.params_files if path.lower().endswith(PARAM_FILE_SUFFIXES)]
    for path in param_files_in_argv(spec.command, cwd):
        if path not in files:
            files.append(path)
    return [path for path in files if path.is_file() and not path.is_symlink()]


def _record(spec: JobSpec, root: Path, cwd: Path, plan: OverridePlan, job_env: dict[str, str], quiet: bool,
            launched_by: str, extra_doc: Mapping[str, Any] | None) -> JobResult:
    opened = open_store(root, recover=lambda store, settings: recover_orphans(
        store, settings, lambda: (features.CONTRIBUTORS, features.DOC_FINALISERS)))
    store, settings = opened.store, opened.settings  # git config too, as every command reads it
    extra = dict(FEATURE_DEFAULTS)
    extra["params_files"] = tuple(str(root / path) for path in spec.params_files)
    options = RecordOptions(command=plan.argv, message=spec.message, name=spec.name, tags=list(spec.tags),
                            quiet=quiet, extra=extra)
    doc_fields: dict[str, Any] = dict(spec.links)
    doc_fields.update(extra_doc or {})
    if spec.overrides:
        doc_fields["overrides"] = {key: value for key, value in spec.overrides}
    active = start_recording(store, settings, cwd, options, launched_by=launched_by, extra_doc=doc_fields,
                             base_env=job_env)
    try:
        outcome = run_child(plan.argv, cwd, active.child_env, active.consumers,
                            on_started=active.started, on_tick=active.tick)
    finally:
        active.stop()  # even when interrupted: what was spooled is recovered later
    run = active.finish(ending_for(outcome))
    applied = dict(plan.applied)
    found = run.doc.get("params")
    params: dict[str, Any] = found if isinstance(found, dict) else {}
    unapplied = []
    recorded = {_normalised(name): found for name, found in params.items()}
    for key, value in plan.left.items():
        if _normalised(key) in recorded and _same_value(recorded[_normalised(key)], value):
            applied[key] = "parser default"
        else:
            unapplied.append(key)
    if unapplied:
        say(options, f"warning: not applied (no such parameter on the command line, in a parameter file or "
                     f"in the script's argparse/click parser): {', '.join(unapplied)}")
    return JobResult(run.id, outcome.exit_code, run.status, applied, unapplied)


def _normalised(key: str) -> str:
    """``model-name``, ``model_name`` and ``model.name`` are one parameter to a parser (as in the hook)."""
    return key.replace("-", "_").replace(".", "_").lower()


def _same_value(recorded: Any, wanted: Value) -> bool:
    if recorded == wanted:
        return True
    return value_text(recorded) == value_text(wanted) if isinstance(recorded, str | int | float | list) else False


@contextlib.contextmanager
def _worktree(workdir: Path, snapshot: str, into: Path | None) -> Iterator[Path]:
    """A linked worktree at ``snapshot``, detached, removed afterwards unless it is ``into``."""
    if into is None:
        parent = Path(tempfile.mkdtemp(prefix=WORKTREE_PREFIX))
        root = parent / "worktree"
    else:
        root = Path(into).absolute()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"--into {into}: the folder exists and is not empty", hint="give a new or empty folder")
        parent = None
    added = False
    try:
        base = _base_of(workdir, snapshot)
        # HEAD at the run's own base commit, the files and index at the snapshot: the new run's code
        # is the old run's uncommitted state on the same base (same tree, same list of changed files),
        # and it lists where the original lists. Hooks off: none runs for code a teammate recorded.
        run_git(["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--no-checkout", "--quiet",
                 str(root), base], cwd=workdir)
        added = True
        run_git(["read-tree", "--reset", "-u", snapshot], cwd=root)
        if base != snapshot:
            run_git(["read-tree", base], cwd=root)  # the changes unstaged: new files untracked, as usual
        yield root
    finally:
        if added and into is None:
            _remove_worktree(workdir, root)
        if parent is not None:
            shutil.rmtree(parent, ignore_errors=True)


def _base_of(workdir: Path, snapshot: str) -> str:
    """The snapshot's first parent (HEAD when the run started), or the snapshot itself on an unborn branch."""
    found = run_git(["rev-list", "--max-count=1", "--parents", snapshot, "--"], cwd=workdir, check=False)
    ids = found.text.split()
    if found.returncode != 0 or not ids:
        raise UsageError(f"snapshot {snapshot[:10]} is not in this repository",
                         hint="`git run pull` brings a teammate's runs and their code")
    return ids[1] if len(ids) > 1 else ids[0]


def _remove_worktree(workdir: Path, root: Path) -> None:
    with _signals_held():  # a second Ctrl-C must not leave a half-removed worktree registered
        result = run_git(["worktree", "remove", "--force", "--force", str(root)], cwd=workdir, check=False)
        if result.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            run_git(["worktree", "prune"], cwd=workdir, check=False)


def _link_inputs(workdir: Path, root: Path, paths: Sequence[str]) -> None:
    """Link each input the snapshot lacks from the user's working tree (folders as real folders of
    links, so that ``.gitignore`` rules written for a folder still match)."""
    for text in paths:
        if os.path.isabs(text) or ".." in Path(text).parts:
            continue  # outside the repository: the command reads it where it is
        source = workdir / text
        target = root / text
        if not source.exists() or target.exists() or target.is_symlink():
            continue
        if source.is_dir() and not source.is_symlink():
            for folder, _dirs, files in os.walk(source):
                relative = Path(folder).relative_to(source)
                (target / relative).mkdir(parents=True, exist_ok=True)
                for name in files:
                    link = target / relative / name
                    if not link.exists():
                        link.symlink_to(Path(folder) / name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM outside the child's lifetime raises (so the worktree is removed), in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise JobInterrupted("terminated (SIGTERM) while running a job")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


__all__ = ["JobInterrupted", "JobResult", "run_job"]
