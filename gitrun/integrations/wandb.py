"""The common W&B calls, recording gitrun runs: ``import gitrun.wandb as wandb`` (docs/integrations.md).

Covered: ``init`` (project, config, name, tags, notes, group, job_type, mode="disabled"), ``config``
(attribute and item access, ``update``, ``setdefaults``), ``log`` (``step=``, ``commit=``, nested
dicts), ``summary`` (dict-like; stored as the note's ``[final]``, numbers also in ``[metrics]``),
``finish(exit_code=)``, ``Artifact`` (``add_file``, ``add_dir``, ``new_file``) with
``log_artifact``, ``save``, ``define_metric`` (``step_metric``), ``run.id``/``run.name``, and
``with wandb.init() as run``. Documented no-ops: ``login``, ``watch`` (warns once: no gradients are
recorded), ``alert`` (printed). Everything else that would store data (media such as
``wandb.Image``, tables, ``use_artifact``, resuming) raises ``gitrun.errors.Unsupported`` with one
line saying what to do instead: never a silent loss.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gitrun import api
from gitrun.errors import Unsupported
from gitrun.integrations.common import (
    as_number,
    files_under,
    flatten,
    gitrun_name,
    gitrun_tag,
    log_file,
    start,
    warn_once,
)

ARTIFACT_MANIFEST = "wandb-artifact.json"


class Config(MutableMapping[str, Any]):
    """``wandb.config``: hyperparameters; each value set is recorded as a gitrun parameter at once."""

    def __init__(self, run: Run | None = None) -> None:
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_run", run)

    def _record(self, values: Mapping[str, Any]) -> None:
        self._values.update(values)
        run = self._run
        if run is not None and run._gitrun is not None and values:
            run._gitrun.log_params(dict(values))
        elif run is None and values:
            warn_once("config-norun", "wandb.config: no run (call wandb.init() first); the values are not stored")

    def update(self, values: Any = None, /, allow_val_change: bool | None = None, **more: Any) -> None:  # type: ignore[override]
        """``config.update(dict)``, an ``argparse.Namespace`` or keyword arguments."""
        if values is not None and not isinstance(values, Mapping):
            values = vars(values)  # argparse.Namespace, absl flags
        self._record({**(values or {}), **more})

    def setdefaults(self, values: Mapping[str, Any]) -> None:
        self._record({key: value for key, value in values.items() if key not in self._values})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._record({key: value})

    def __delitem__(self, key: str) -> None:
        raise Unsupported("gitrun.wandb: config keys cannot be deleted (recorded parameters stay)")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"wandb.config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self._record({key: value})

    def __repr__(self) -> str:
        return repr(self._values)


class Summary(MutableMapping[str, Any]):
    """``run.summary``: the last value logged for each key, and the values set here, which are
    stored as the run's final values (``[final]``; numbers also in ``[metrics]``)."""

    def __init__(self, run: Run | None = None) -> None:
        self._run = run
        self._logged: dict[str, Any] = {}
        self._set: dict[str, Any] = {}

    def _store(self, values: Mapping[str, Any]) -> None:
        flat = dict(flatten(values))
        self._set.update(flat)
        run = self._run
        if run is not None and run._gitrun is not None:
            run._gitrun.report(final=flat)
        elif run is None:
            warn_once("summary-norun", "wandb.summary: no run (call wandb.init() first); the values are not stored")

    def update(self, values: Any = None, /, **more: Any) -> None:  # type: ignore[override]
        self._store({**dict(values or {}), **more})

    def __getitem__(self, key: str) -> Any:
        return self._set[key] if key in self._set else self._logged[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._store({key: value})

    def __delitem__(self, key: str) -> None:
        raise Unsupported("gitrun.wandb: summary keys cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter({**self._logged, **self._set})

    def __len__(self) -> int:
        return len({**self._logged, **self._set})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"wandb.summary has no key {key!r}") from None

    def __repr__(self) -> str:
        return repr({**self._logged, **self._set})


class Artifact:
    """``wandb.Artifact(name, type)``: files and folders recorded as outputs under ``<name>/``."""

    def __init__(self, name: str, type: str = "artifact", description: str | None = None,
                 metadata: Mapping[str, Any] | None = None, **ignored: Any) -> None:
        self.name = str(name)
        self.type = str(type)
        self.description = description
        self.metadata = dict(metadata or {})
        self._entries: dict[str, Path] = {}  # name inside the artifact -> file
        self._tmp: str | None = None

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None, **ignored: Any) -> None:
        path = Path(local_path)
        if not path.is_file():
            raise FileNotFoundError(f"wandb.Artifact.add_file: no such file: {path}")
        self._entries[name or path.name] = path

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None, **ignored: Any) -> None:
        folder = Path(local_path)
        if not folder.is_dir():
            raise FileNotFoundError(f"wandb.Artifact.add_dir: no such folder: {folder}")
        for path in files_under(folder):
            relative = path.relative_to(folder).as_posix()
            self._entries[f"{name}/{relative}" if name else relative] = path

    @contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[IO[Any]]:
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="gitrun-artifact-")
        path = Path(self._tmp) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, mode, encoding=encoding) as handle:
            yield handle
        self._entries[name] = path

    def add_reference(self, uri: str, name: str | None = None, **ignored: Any) -> None:
        raise Unsupported(f"gitrun.wandb: Artifact.add_reference({uri!r}) is not supported; "
                          "record the data with `git run --data PATH` or add the files with add_file/add_dir")

    def add(self, obj: Any, name: str) -> None:
        raise Unsupported("gitrun.wandb: Artifact.add(media object) is not supported; save it to a file, add_file it")

    def manifest(self, aliases: list[str]) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "description": self.description or "",
                "metadata": self.metadata, "aliases": aliases, "files": sorted(self._entries)}

    def wait(self) -> Artifact:
        return self

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


class _Metric:
    def __init__(self, name: str, step_metric: str | None) -> None:
        self.name = name
        self.step_metric = step_metric


class Run:
    """What ``wandb.init()`` returns; ``wandb.run`` while it is active."""

    def __init__(self, gitrun_run: api.Run | None, project: str | None, name: str | None,
                 notes: str, tags: list[str], group: str | None, job_type: str | None) -> None:
        self._gitrun = gitrun_run
        self.project = project or ""
        self.entity = ""
        self.notes = notes
        self.tags = tuple(tags)
        self.group = group or ""
        self.job_type = job_type or ""
        self.id = gitrun_run.id if gitrun_run is not None else "disabled"
        self.name = gitrun_run.name if gitrun_run is not None else (name or "disabled")
        self.config = Config(self)
        self.summary = Summary(self)
        self.url: str | None = None
        self.disabled = gitrun_run is None
        self._step = 0
        self._step_metrics: dict[str, str] = {}  # metric name or glob -> the metric that is its x-axis
        self._finished = False

    @property
    def step(self) -> int:
        return self._step

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None,
            sync: bool | None = None) -> None:
        """Like W&B: each call without ``step`` is the next step (``commit=False`` stays on this one);
        ``step=N`` logs at N. Values that are not numbers warn once per key and are not logged."""
        if self._finished:
            warn_once("log-finished", f"wandb.log: run {self.name} has finished; start another with wandb.init()")
            return
        if step is not None:
            self._step = int(step)
        at = self._step
        values = {name: value for name, value in flatten(data) if not name.startswith("_")}
        self._log_values(values, at)
        if (step is None and commit is not False) or (step is not None and commit is True):
            self._step += 1

    def _log_values(self, values: dict[str, Any], at: int) -> None:
        numbers: dict[str, float] = {}
        for name, value in values.items():
            number = as_number(value)
            if number is None:
                warn_once(f"wandb-value:{name}", f"wandb.log: {name}={type(value).__name__} is not a number; "
                                                 "not logged (save it to a file and use wandb.log_artifact)")
                continue
            numbers[name] = number
            self.summary._logged[name] = value
        if self._gitrun is None or not numbers:
            return
        by_step: dict[int, dict[str, float]] = {}
        for name, number in numbers.items():
            axis = self._axis(name)
            x = numbers.get(axis) if axis else None
            by_step.setdefault(int(x) if x is not None else at, {})[name] = number
        for x, chunk in by_step.items():
            self._gitrun.log(chunk, step=x)

    def _axis(self, name: str) -> str | None:
        for pattern, axis in self._step_metrics.items():
            if axis != name and (pattern == name or fnmatch.fnmatchcase(name, pattern)):
                return axis
        return None

    def define_metric(self, name: str, step_metric: str | None = None, **ignored: Any) -> _Metric:
        """``step_metric`` makes the metric's steps the values of that metric logged with it
        (``define_metric("val/*", step_metric="epoch")``); summary, goal and hidden are not used."""
        if step_metric:
            self._step_metrics[str(name)] = str(step_metric)
        return _Metric(str(name), step_metric)

    def log_artifact(self, artifact_or_path: Artifact | str | os.PathLike[str], name: str | None = None,
                     type: str | None = None, aliases: list[str] | None = None, **ignored: Any) -> Artifact:
        """Each file of the artifact becomes an output ``<artifact name>/<name in the artifact>``, with
        ``<artifact name>/wandb-artifact.json`` holding its type, description, metadata and aliases."""
        if isinstance(artifact_or_path, Artifact):
            artifact = artifact_or_path
        else:
            path = Path(artifact_or_path)
            artifact = Artifact(name or path.name, type or "file")
            if path.is_dir():
                artifact.add_dir(path)
            else:
                artifact.add_file(path)
        if self._gitrun is not None:
            for entry, path in artifact._entries.items():
                log_file(self._gitrun, path, f"{artifact.name}/{entry}")
            with tempfile.TemporaryDirectory(prefix="gitrun-artifact-") as folder:
                manifest = Path(folder) / ARTIFACT_MANIFEST
                manifest.write_text(json.dumps(artifact.manifest(list(aliases or [])), indent=2, default=str) + "\n")
                log_file(self._gitrun, manifest, f"{artifact.name}/{ARTIFACT_MANIFEST}")
        artifact._cleanup()
        return artifact

    def save(self, glob_str: str | os.PathLike[str], base_path: str | None = None, policy: str = "live") -> list[str]:
        """The files matching ``glob_str`` become outputs (under their path in the repository)."""
        import glob

        saved = []
        for match in sorted(glob.glob(os.fspath(glob_str), recursive=True)):
            path = Path(match)
            if path.is_file() and self._gitrun is not None:
                self._gitrun.log_artifact(path)
                saved.append(match)
        return saved

    def use_artifact(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("gitrun.wandb: use_artifact is not supported (no artifact server); read the file "
                          "directly, or restore an earlier run's output with `git run checkout-output`")

    def watch(self, *args: Any, **kwargs: Any) -> None:
        warn_once("watch", "wandb.watch: gradients and parameters are not recorded by gitrun (a no-op)")

    def unwatch(self, *args: Any, **kwargs: Any) -> None:
        return None

    def alert(self, title: str = "", text: str = "", **ignored: Any) -> None:
        print(f"wandb alert: {title}: {text}", flush=True)

    def mark_preempting(self) -> None:
        return None

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: ``succeeded`` (``exit_code`` 0 or None) or ``failed`` with that exit code."""
        global run, config, summary
        if self._finished:
            return
        self._finished = True
        if self._gitrun is not None and self._gitrun._local is not None:
            self._gitrun.finish(exit_code=exit_code)
        elif self._gitrun is not None:
            self._gitrun.flush()  # inside `git run`: the run goes on until the command ends
        if run is self:
            run, config, summary = None, Config(), Summary()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: Any) -> None:
        self.finish(exit_code=None if kind is None else (130 if kind is KeyboardInterrupt else 1))


# The module's state, like W&B's: the active run, and its config and summary.
run: Run | None = None
config: Config = Config()
summary: Summary = Summary()


def init(project: str | None = None, entity: str | None = None, config: Any = None, name: str | None = None,
         notes: str | None = None, tags: list[str] | tuple[str, ...] | None = None, group: str | None = None,
         job_type: str | None = None, mode: str | None = None, id: str | None = None, resume: Any = None,
         reinit: Any = None, dir: Any = None, save_code: Any = None, settings: Any = None,
         config_exclude_keys: list[str] | None = None, config_include_keys: list[str] | None = None,
         anonymous: Any = None, allow_val_change: Any = None, magic: Any = None, sync_tensorboard: Any = None,
         monitor_gym: Any = None, fork_from: Any = None, resume_from: Any = None) -> Run:
    """Start a gitrun run (finishing the run an earlier ``init`` of this process started).

    ``notes`` is the run's message, ``tags`` its tags, ``project``, ``group`` and ``job_type`` are
    stored as ``[labels]`` (and ``project:NAME`` ... tags); ``config`` becomes its parameters.
    ``mode="disabled"`` records nothing (W&B's meaning). ``resume``, ``id``, ``fork_from`` and
    ``resume_from`` raise ``Unsupported``: a gitrun run is never appended to after it ended.
    """
    global run
    if resume not in (None, False, "never") or fork_from or resume_from:
        raise Unsupported("gitrun.wandb: resuming or forking a run is not supported; each init() records a new run")
    if id is not None:
        raise Unsupported("gitrun.wandb: init(id=...) is not supported (gitrun makes the run id); use name=")
    if run is not None and not run._finished:
        run.finish()
    disabled = mode == "disabled" or os.environ.get("WANDB_MODE") == "disabled"
    project = project or os.environ.get("WANDB_PROJECT")
    labels = {key: str(value) for key, value in
              (("project", project), ("entity", entity), ("group", group), ("job_type", job_type)) if value}
    all_tags = [tag for tag in (gitrun_tag(t) for t in [*(tags or ()), *(f"{k}:{v}" for k, v in labels.items())])
                if tag]
    gitrun_run = None if disabled else start(gitrun_name(name), notes or "", all_tags, "gitrun.wandb")
    new = Run(gitrun_run, project, name, notes or "", list(tags or ()), group, job_type)
    if gitrun_run is not None and labels:
        gitrun_run.report(labels=labels)
    if config is not None:
        values = config if isinstance(config, Mapping) else vars(config)
        if config_include_keys:
            values = {key: value for key, value in values.items() if key in config_include_keys}
        if config_exclude_keys:
            values = {key: value for key, value in values.items() if key not in config_exclude_keys}
        new.config.update(values)
    _activate(new)
    return new


def _activate(new: Run) -> None:
    global run, config, summary
    run, config, summary = new, new.config, new.summary


def _active(what: str) -> Run:
    if run is None:
        raise Unsupported(f"gitrun.wandb: wandb.{what}() before wandb.init(); call wandb.init() first")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None, sync: bool | None = None) -> None:
    _active("log").log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    if run is not None:
        run.finish(exit_code=exit_code)


def log_artifact(artifact_or_path: Artifact | str | os.PathLike[str], name: str | None = None,
                 type: str | None = None, aliases: list[str] | None = None, **ignored: Any) -> Artifact:
    return _active("log_artifact").log_artifact(artifact_or_path, name=name, type=type, aliases=aliases)


def save(glob_str: str | os.PathLike[str], base_path: str | None = None, policy: str = "live") -> list[str]:
    return _active("save").save(glob_str, base_path, policy)


def define_metric(name: str, step_metric: str | None = None, **ignored: Any) -> _Metric:
    return _active("define_metric").define_metric(name, step_metric=step_metric)


def use_artifact(*args: Any, **kwargs: Any) -> Any:
    return _active("use_artifact").use_artifact(*args, **kwargs)


def watch(*args: Any, **kwargs: Any) -> None:
    warn_once("watch", "wandb.watch: gradients and parameters are not recorded by gitrun (a no-op)")


def unwatch(*args: Any, **kwargs: Any) -> None:
    return None


def alert(title: str = "", text: str = "", **ignored: Any) -> None:
    if run is not None:
        run.alert(title, text)


def login(*args: Any, **kwargs: Any) -> bool:
    """A no-op: gitrun has no server to log in to (runs are stored in the repository)."""
    return True


def setup(*args: Any, **kwargs: Any) -> None:
    return None


class Settings:
    """Accepted and ignored (``wandb.init(settings=wandb.Settings(...))``)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def _unsupported_media(kind: str) -> type:
    class Media:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise Unsupported(f"gitrun.wandb: wandb.{kind} is not supported; save it to a file and record it "
                              "with wandb.log_artifact (or gitrun.log_artifact)")

    Media.__name__ = Media.__qualname__ = kind
    return Media


Image = _unsupported_media("Image")
Table = _unsupported_media("Table")
Histogram = _unsupported_media("Histogram")
Audio = _unsupported_media("Audio")
Video = _unsupported_media("Video")
Html = _unsupported_media("Html")
Object3D = _unsupported_media("Object3D")
Molecule = _unsupported_media("Molecule")


class _Plot:
    """``wandb.plot.*`` builds charts on W&B's server: every call raises ``Unsupported``."""

    def __getattr__(self, name: str) -> Any:
        raise Unsupported(f"gitrun.wandb: wandb.plot.{name} is not supported; log the numbers with wandb.log "
                          "and chart them with `git run metrics` or `git run ui`")


plot = _Plot()
