"""The common MLflow tracking calls, recording gitrun runs: ``import gitrun.mlflow as mlflow``
(docs/integrations.md).

Covered: ``start_run`` (also as a context manager; ``run_name``, ``tags``, ``description``),
``log_param(s)``, ``log_metric(s)`` with ``step``, ``set_tag(s)`` (stored as the note's
``[labels]``), ``log_artifact(s)``, ``log_dict``, ``log_text``, ``end_run(status=)``,
``active_run``, ``last_active_run``, ``set_experiment`` (a label and an ``experiment:NAME`` tag).
Documented no-ops: ``set_tracking_uri``, ``set_registry_uri`` (the repository is the store).
Not supported, each raising ``gitrun.errors.Unsupported`` with one line: ``autolog`` (use the
framework callbacks of docs/integrations.md), nested runs, resuming a run by id, the model
registry and ``log_model`` flavours (save the model to a file and ``log_artifact`` it),
``log_figure``/``log_image``/``log_table``, ``log_input``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrun import api
from gitrun.errors import Unsupported
from gitrun.integrations.common import as_number, files_under, gitrun_name, gitrun_tag, log_file, start

_STATUS = {"FINISHED": "succeeded", "FAILED": "failed", "KILLED": "killed"}
_EXIT_CODE = {"FINISHED": 0, "FAILED": 1, "KILLED": 137}


@dataclass
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    status: str = "RUNNING"
    start_time: int = field(default_factory=lambda: int(time.time() * 1000))
    end_time: int | None = None
    artifact_uri: str = ""
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass
class RunData:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class ActiveRun:
    """What ``start_run`` returns: ``.info.run_id``, ``.data``; ``with`` ends it (FAILED on an exception)."""

    def __init__(self, gitrun_run: api.Run, experiment: str) -> None:
        self._gitrun = gitrun_run
        self.info = RunInfo(gitrun_run.id, gitrun_run.name, experiment)
        self.data = RunData()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: Any) -> None:
        end_run("FINISHED" if kind is None else ("KILLED" if kind is KeyboardInterrupt else "FAILED"))


_active: ActiveRun | None = None
_last: ActiveRun | None = None
_experiment = "Default"


def start_run(run_id: str | None = None, experiment_id: str | None = None, run_name: str | None = None,
              nested: bool = False, parent_run_id: str | None = None, tags: Mapping[str, Any] | None = None,
              description: str | None = None, log_system_metrics: bool | None = None) -> ActiveRun:
    """Start a gitrun run in this process (inside ``git run``: the run it records)."""
    global _active
    if run_id is not None:
        raise Unsupported("gitrun.mlflow: start_run(run_id=...) (resuming a run) is not supported; "
                          "each start_run records a new run")
    if nested or parent_run_id:
        raise Unsupported("gitrun.mlflow: nested runs are not supported; end the parent run first "
                          "(or give each trial its own run with start_run/end_run)")
    if _active is not None:
        raise Unsupported(f"gitrun.mlflow: run {_active.info.run_id} is already active; call mlflow.end_run() first")
    experiment = experiment_id or _experiment
    labels = {str(key): str(value) for key, value in (tags or {}).items()}
    name = run_name or labels.pop("mlflow.runName", None)
    message = description or labels.pop("mlflow.note.content", "")
    experiment_tag = gitrun_tag(f"experiment:{experiment}") if experiment != "Default" else None
    gitrun_run = start(gitrun_name(name), message, [experiment_tag] if experiment_tag else [], "gitrun.mlflow")
    if gitrun_run is None:
        raise Unsupported("gitrun.mlflow: could not start a run")
    _active = ActiveRun(gitrun_run, experiment)
    labels_to_store = {**labels, "experiment": experiment} if experiment != "Default" else labels
    if labels_to_store:
        gitrun_run.report(labels=labels_to_store)
        _active.data.tags.update(labels_to_store)
    return _active


def active_run() -> ActiveRun | None:
    return _active


def last_active_run() -> ActiveRun | None:
    return _active or _last


def _run() -> ActiveRun:
    """The active run; like MLflow, a logging call without one starts one."""
    return _active if _active is not None else start_run()


def end_run(status: str = "FINISHED") -> None:
    """End the active run: FINISHED is ``succeeded``, FAILED ``failed``, KILLED ``killed``."""
    global _active, _last
    active = _active
    if active is None:
        return
    _active, _last = None, active
    active.info.status = status
    active.info.end_time = int(time.time() * 1000)
    gitrun_run = active._gitrun
    if gitrun_run._local is None:
        gitrun_run.flush()  # inside `git run`: the command's run goes on
        return
    gitrun_run.finish(_STATUS.get(status, "succeeded"), exit_code=_EXIT_CODE.get(status, 0),
                      error=None if status == "FINISHED" else f"mlflow.end_run(status={status!r})")


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    log_params({key: value})
    return value


def log_params(params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    active = _run()
    active._gitrun.log_params(dict(params))
    active.data.params.update({str(key): str(value) for key, value in params.items()})


def log_metric(key: str, value: Any, step: int | None = None, timestamp: int | None = None,
               synchronous: bool | None = None, run_id: str | None = None, **ignored: Any) -> None:
    log_metrics({key: value}, step=step)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None, timestamp: int | None = None,
                synchronous: bool | None = None, run_id: str | None = None, **ignored: Any) -> None:
    """Each value at ``step`` (MLflow's default step 0 when none is given)."""
    active = _run()
    numbers: dict[str, float] = {}
    for key, value in metrics.items():
        number = as_number(value)
        if number is None:
            raise Unsupported(f"gitrun.mlflow: metric {key}={value!r} is not a number")
        numbers[str(key)] = number
    active._gitrun.log(numbers, step=0 if step is None else int(step))
    active.data.metrics.update(numbers)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    """Key-value tags, stored as the note's ``[labels]`` (``mlflow.runName`` renames nothing:
    gitrun names are set at start)."""
    active = _run()
    labels = {str(key): str(value) for key, value in tags.items()}
    active._gitrun.report(labels=labels)
    active.data.tags.update(labels)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None,
                 run_id: str | None = None) -> None:
    """A file as an output: at ``artifact_path/<file name>`` when given, else at its path in the
    repository (its file name when outside it)."""
    active = _run()
    path = Path(local_path)
    if not path.is_file():
        raise FileNotFoundError(f"mlflow.log_artifact: no such file: {path}")
    log_file(active._gitrun, path, _artifact_name(active._gitrun, path, artifact_path))


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None,
                  run_id: str | None = None) -> None:
    """Every file below ``local_dir``, at ``artifact_path/<path below local_dir>`` (MLflow's layout)."""
    active = _run()
    folder = Path(local_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"mlflow.log_artifacts: no such folder: {folder}")
    for path in files_under(folder):
        relative = path.relative_to(folder).as_posix()
        log_file(active._gitrun, path, f"{artifact_path.strip('/')}/{relative}" if artifact_path else relative)


def _artifact_name(run: api.Run, path: Path, artifact_path: str | None) -> str:
    if artifact_path:
        return f"{artifact_path.strip('/')}/{path.name}"
    if run.repo:
        try:
            return path.resolve().relative_to(Path(run.repo).resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _log_content(text.encode("utf-8"), artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_dump(dict(dictionary), sort_keys=False).encode("utf-8")
    else:
        data = (json.dumps(dictionary, indent=2, default=str) + "\n").encode("utf-8")
    _log_content(data, artifact_file)


def _log_content(data: bytes, artifact_file: str) -> None:
    active = _run()
    with tempfile.TemporaryDirectory(prefix="gitrun-mlflow-") as folder:
        path = Path(folder) / Path(artifact_file).name
        path.write_bytes(data)
        log_file(active._gitrun, path, artifact_file.strip("/"))


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Any:
    """The experiment of the runs started next: a label ``experiment`` and a tag ``experiment:NAME``."""
    global _experiment
    _experiment = str(experiment_name or experiment_id or "Default")
    return type("Experiment", (), {"name": _experiment, "experiment_id": _experiment})()


def set_tracking_uri(uri: Any) -> None:
    """A no-op: runs are stored in the git repository (share them with `git run push`)."""
    return None


def get_tracking_uri() -> str:
    return "gitrun"


def set_registry_uri(uri: Any) -> None:
    return None


def autolog(*args: Any, **kwargs: Any) -> None:
    raise Unsupported("gitrun.mlflow: autolog is not supported; use gitrun's Lightning, Transformers or Keras "
                      "callback (docs/integrations.md), or log with mlflow.log_metric")


def _unsupported(name: str, instead: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise Unsupported(f"gitrun.mlflow: {name} is not supported; {instead}")

    call.__name__ = name
    return call


log_figure = _unsupported("log_figure", "save the figure to a file and mlflow.log_artifact it")
log_image = _unsupported("log_image", "save the image to a file and mlflow.log_artifact it")
log_table = _unsupported("log_table", "save the table to a file and mlflow.log_artifact it")
log_input = _unsupported("log_input", "record datasets with `git run --data PATH`")
register_model = _unsupported("register_model", "there is no model registry; log the model file as an artifact")
search_runs = _unsupported("search_runs", "use `git run list --where ...` or `git run query`")
get_run = _unsupported("get_run", "use `git run show RUN --json`")
delete_run = _unsupported("delete_run", "use `git run rm RUN`")


class _Flavour:
    """``mlflow.pytorch``, ``mlflow.sklearn``...: model flavours need MLflow's model format."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr == "autolog":
            return autolog
        return _unsupported(f"mlflow.{self._name}.{attr}",
                            "save the model to a file (torch.save, joblib.dump...) and mlflow.log_artifact it")


pytorch = _Flavour("pytorch")
sklearn = _Flavour("sklearn")
keras = _Flavour("keras")
tensorflow = _Flavour("tensorflow")
transformers = _Flavour("transformers")
lightgbm = _Flavour("lightgbm")
xgboost = _Flavour("xgboost")
pyfunc = _Flavour("pyfunc")
