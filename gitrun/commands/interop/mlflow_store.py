"""MLflow: read its runs (file store, SQLite, a tracking server) and write gitrun runs into one.

Everything goes through the ``mlflow`` client (the ``gitrun[mlflow]`` extra), imported only here.
MLflow 3 refuses its file store unless ``MLFLOW_ALLOW_FILE_STORE`` is set: an ``mlruns`` folder is
what most users have, so reading one sets it for this process.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitrun.capture.hashing import hash_bytes
from gitrun.commands.interop.extras import require
from gitrun.commands.interop.imported import OUTPUT_STORE_LIMIT, ForeignFile, ForeignRun, number_or_text
from gitrun.errors import UsageError
from gitrun.model import status as statuses
from gitrun.model.run import Run
from gitrun.model.series import SeriesPoint
from gitrun.store.safe_write import SafeRoot

SQLITE_MAGIC = b"SQLite format 3\x00"
URI_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^databricks")
FROM_MLFLOW_STATUS = {"FINISHED": statuses.SUCCEEDED, "FAILED": statuses.FAILED, "KILLED": statuses.KILLED}
TO_MLFLOW_STATUS = {statuses.SUCCEEDED: "FINISHED", statuses.FAILED: "FAILED", statuses.KILLED: "KILLED",
                    statuses.INTERRUPTED: "KILLED", statuses.CRASHED: "FAILED"}
RUN_ID_TAG = "gitrun.run_id"  # marks a run exported by gitrun: exporting again skips it
MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter value
_KEY_JUNK = re.compile(r"[^\w\-. /]")


def _client(uri: str) -> Any:
    mlflow_tracking = require("mlflow.tracking", "mlflow")
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bar per downloaded artifact
    return mlflow_tracking.MlflowClient(tracking_uri=uri)


def is_file_store(folder: Path) -> bool:
    """An MLflow file store holds one folder per experiment, each with a ``meta.yaml``."""
    return any(child.is_dir() and (child / "meta.yaml").is_file() for child in folder.iterdir())


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def source_uri(text: str) -> str:
    """The tracking URI of PATH_OR_URI, refusing a path that is not an MLflow store (nothing is created)."""
    if URI_SCHEME.match(text) and not text.startswith("file:"):
        return text
    path = Path(text.removeprefix("file://").removeprefix("file:")).expanduser().resolve()
    if not path.exists():
        raise UsageError(f"no such file or folder: {text}",
                         hint="give an mlruns folder, an MLflow SQLite file or a tracking URI")
    if path.is_file():
        if is_sqlite(path):
            return f"sqlite:///{path}"
        raise UsageError(f"{text} is not an MLflow store (not a SQLite database)",
                         hint="give an mlruns folder, an MLflow SQLite file or a tracking URI")
    for candidate in (path, path / "mlruns"):
        if candidate.is_dir() and is_file_store(candidate):
            return candidate.as_uri()
    if (path / "mlflow.db").is_file():
        return f"sqlite:///{path / 'mlflow.db'}"
    raise UsageError(f"{text} is not an MLflow store (no experiment folder with a meta.yaml in it)",
                     hint="give the mlruns folder, an MLflow SQLite file or a tracking URI")


# --- import -----------------------------------------------------------------------------------------


def read_runs(text: str, experiments: Sequence[str] = (),
              known: Callable[[str], bool] = lambda run_id: False) -> tuple[list[ForeignRun], list[str]]:
    """(runs that ended, notes about runs left out) of the store at PATH_OR_URI.

    Runs ``known`` says were imported before come without their series: reading every metric's
    history is most of an import's time, and they will be skipped anyway.
    """
    uri = source_uri(text)
    client = _client(uri)
    entities = require("mlflow.entities", "mlflow")
    try:
        found = client.search_experiments(view_type=entities.ViewType.ACTIVE_ONLY)
    except Exception as err:  # a server that is down, a database of something else
        raise UsageError(f"cannot read MLflow runs from {text}: {_first_line(err)}") from None
    chosen = [exp for exp in found if not experiments or exp.name in experiments or exp.experiment_id in experiments]
    if experiments and not chosen:
        names = ", ".join(sorted(exp.name for exp in found)) or "none"
        raise UsageError(f"no experiment {', '.join(experiments)} in {text}", hint=f"experiments: {names}")
    runs: list[ForeignRun] = []
    notes: list[str] = []
    for experiment in chosen:
        for run in _search(client, entities, experiment.experiment_id):
            status = FROM_MLFLOW_STATUS.get(run.info.status)
            if status is None:
                notes.append(f"mlflow run {run.info.run_id} is {run.info.status.lower()}: left out; "
                             "import again when it has ended")
                continue
            runs.append(_foreign(client, uri, experiment, run, status, with_series=not known(run.info.run_id)))
    return runs, notes


def _search(client: Any, entities: Any, experiment_id: str) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs([experiment_id], run_view_type=entities.ViewType.ACTIVE_ONLY,
                                  max_results=1000, page_token=token, order_by=["attributes.start_time ASC"])
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _foreign(client: Any, uri: str, experiment: Any, run: Any, status: str, with_series: bool = True) -> ForeignRun:
    info, data = run.info, run.data
    tags: dict[str, str] = dict(data.tags)
    series: dict[str, list[SeriesPoint]] = {}
    for key in sorted(data.metrics) if with_series else []:
        history = sorted(client.get_metric_history(info.run_id, key), key=lambda m: m.timestamp)
        series[key] = [(int(m.step), m.timestamp / 1000, float(m.value)) for m in history]
    details: dict[str, Any] = {"experiment": experiment.name, "experiment_id": experiment.experiment_id}
    for tag, key in (("mlflow.source.name", "source_name"), ("mlflow.source.type", "source_type"),
                     ("mlflow.parentRunId", "parent_run_id")):
        if tags.get(tag):
            details[key] = tags[tag]
    if info.artifact_uri:
        details["artifact_uri"] = info.artifact_uri
    files = _artifacts(client, info.run_id, details) if with_series else []
    return ForeignRun(
        tool="mlflow", foreign_id=info.run_id, source=uri, name=info.run_name or tags.get("mlflow.runName", ""),
        status=status, started=_time(info.start_time), ended=_time(info.end_time),
        message=tags.get("mlflow.note.content", ""),
        params={key: number_or_text(value) for key, value in data.params.items()},
        series=series, labels={key: value for key, value in tags.items() if not key.startswith("mlflow.")},
        user=tags.get("mlflow.user") or getattr(info, "user_id", None) or None,
        commit=tags.get("mlflow.source.git.commit"), branch=tags.get("mlflow.source.git.branch"),
        remote_url=tags.get("mlflow.source.git.repoURL"), details=details, files=files,
    )


MAX_ARTIFACTS = 10_000


def _artifacts(client: Any, run_id: str, details: dict[str, Any]) -> list[ForeignFile]:
    """The run's artifacts as outputs: those up to the store limit downloaded and stored, larger ones
    listed by size (they stay in MLflow's artifact store). An unreachable store loses no run."""
    found: list[ForeignFile] = []
    pending: list[str | None] = [None]
    try:
        with tempfile.TemporaryDirectory(prefix="gitrun-mlflow-") as scratch:
            while pending and len(found) < MAX_ARTIFACTS:
                for item in client.list_artifacts(run_id, pending.pop()):
                    if item.is_dir:
                        pending.append(item.path)
                    elif (item.file_size or 0) <= OUTPUT_STORE_LIMIT:
                        data = Path(client.download_artifacts(run_id, item.path, scratch)).read_bytes()
                        found.append(ForeignFile(item.path, len(data), hash_bytes(data), data))
                    else:
                        found.append(ForeignFile(item.path, int(item.file_size), "", None,
                                                 location=str(details.get("artifact_uri") or "MLflow")))
    except Exception as err:  # a remote artifact store that is down, credentials missing
        details["artifacts_error"] = _first_line(err)
    return found


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


# --- export -----------------------------------------------------------------------------------------


def target_uri(text: str) -> str:
    """Where to write: a tracking URI as given, a ``.db``/``.sqlite`` file, or a folder (file store)."""
    if URI_SCHEME.match(text) and not text.startswith("file:"):
        return text
    path = Path(text.removeprefix("file://").removeprefix("file:")).expanduser().resolve()
    if path.suffix in (".db", ".sqlite", ".sqlite3"):
        if path.exists() and not is_sqlite(path):
            raise UsageError(f"{text} exists and is not a SQLite database", hint="choose another --to")
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not is_file_store(path))):
        raise UsageError(f"{text} exists and is not an MLflow store",
                         hint="give a new folder, an MLflow store, or a .db file")
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def export_runs(text: str, experiment_name: str, runs: Sequence[tuple[Run, dict[str, list[SeriesPoint]]]],
                outputs: Mapping[str, Mapping[str, bytes]] | None = None) -> list[tuple[Run, str, bool]]:
    """Write each run (with its series) as an MLflow run; (run, MLflow run id, written now) each.

    A run exported before to this experiment (its ``gitrun.run_id`` tag) is not written again.
    """
    entities = require("mlflow.entities", "mlflow")  # before anything is created at the target
    client = _client(target_uri(text))
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    done: list[tuple[Run, str, bool]] = []
    for run, series in runs:
        before = client.search_runs([experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{run.id}'",
                                    run_view_type=entities.ViewType.ALL, max_results=1)
        if before:
            done.append((run, before[0].info.run_id, False))
            continue
        run_id = _export_one(client, entities, experiment_id, run, series)
        _log_outputs(client, run_id, (outputs or {}).get(run.id, {}))
        done.append((run, run_id, True))
    return done


def _export_one(client: Any, entities: Any, experiment_id: str, run: Run,
                series: dict[str, list[SeriesPoint]]) -> str:
    doc = run.doc
    started = run.started
    tags = {RUN_ID_TAG: run.id, "gitrun.snapshot_commit": run.snapshot_commit,
            "mlflow.source.git.commit": run.snapshot_commit, "mlflow.runName": run.name}
    git: dict[str, Any] = doc["git"] if isinstance(doc.get("git"), dict) else {}
    if git.get("branch"):
        tags["mlflow.source.git.branch"] = str(git["branch"])
    if git.get("remote_url"):
        tags["mlflow.source.git.repoURL"] = str(git["remote_url"])
    if run.message:
        tags["mlflow.note.content"] = run.message
    if doc.get("user"):
        tags["mlflow.user"] = str(doc["user"])
    if run.command:
        tags["gitrun.command"] = " ".join(run.command)[:MAX_PARAM_CHARS]
    tags.update({f"gitrun.tag.{tag}": "" for tag in run.tags})
    created = client.create_run(experiment_id, start_time=_ms(started.timestamp()) if started else None,
                                tags=tags, run_name=run.name or None)
    run_id = created.info.run_id
    params = [entities.Param(_key(key), _param_text(value))
              for key, value in (doc.get("params") or {}).items()]
    for start in range(0, len(params), 100):
        client.log_batch(run_id, params=params[start:start + 100])
    metrics = [entities.Metric(_key(name), value, _ms(when), step)
               for name, points in sorted(series.items()) for step, when, value in points]
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start:start + 1000])
    status = TO_MLFLOW_STATUS.get(run.status)
    if status is not None:
        ended = run.ended
        client.set_terminated(run_id, status=status, end_time=_ms(ended.timestamp()) if ended else None)
    return str(run_id)


def _log_outputs(client: Any, run_id: str, files: Mapping[str, bytes]) -> None:
    """The run's stored outputs as the MLflow run's artifacts, written below a scratch folder through
    ``SafeRoot`` (a pulled run's paths are untrusted)."""
    if not files:
        return
    with tempfile.TemporaryDirectory(prefix="gitrun-export-") as scratch:
        root = SafeRoot(Path(scratch))
        for path, data in files.items():
            root.write_file(path, data)
        client.log_artifacts(run_id, scratch)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _key(name: str) -> str:
    return _KEY_JUNK.sub("_", name)[:250] or "_"


def _param_text(value: Any) -> str:
    return str(value)[:MAX_PARAM_CHARS]
