"""What the drop-ins and callbacks share: starting a run in-process, flattening values, naming outputs."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gitrun import api
from gitrun.errors import UsageError
from gitrun.model.ids import is_valid_name, looks_like_id_prefix

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def warn_once(key: str, text: str) -> None:
    api._warn(key, text)


def gitrun_name(name: object) -> str | None:
    """A W&B/MLflow run name as a gitrun name: free text becomes ``letters-digits-._``, at most 64
    characters; None when nothing is left (gitrun then generates one)."""
    if name is None:
        return None
    text = _NAME_CHARS.sub("-", str(name)).strip("-.")[:64].strip("-.")
    if not text:
        return None
    if looks_like_id_prefix(text):
        text = f"run-{text}"[:64]
    return text if is_valid_name(text) else None


def gitrun_tag(tag: object) -> str | None:
    """A tag as gitrun keeps them: one word (whitespace becomes ``-``)."""
    text = "-".join(str(tag).split())
    return text or None


def start(name: str | None, message: str, tags: list[str], launched_by: str) -> api.Run | None:
    """Start a run in this process (or join the one ``git run`` records). A name already used by
    another run gets ``-2``, ``-3``... rather than refusing to record."""
    candidates = [name] if name is None else [name, *(f"{name[:60]}-{n}" for n in range(2, 10)), None]
    for candidate in candidates:
        try:
            return _start(candidate, message, tags, launched_by)
        except UsageError as err:
            if "already exists" not in str(err) or candidate is None:
                raise
    return None


def _start(name: str | None, message: str, tags: list[str], launched_by: str) -> api.Run | None:
    run = api.current_run()
    if run is not None:  # inside `git run`, or a run this process started and has not finished
        if tags:
            run.tag(*tags)
        return run
    from gitrun.commands.inprocess import start_local_run

    autolog = not os.environ.get("GITRUN_NO_AUTOLOG")  # what `git run --no-autolog` sets
    local = start_local_run(name=name, message=message, tags=tags, launched_by=launched_by, autolog=autolog)
    run = api.Run(local.run_id, str(local.spool.path), str(local.workdir), local.name)
    run._local = local
    local.before_finish.append(run.buffer.flush)
    api._current = run
    return run


def flatten(values: Mapping[str, Any], prefix: str = "", sep: str = ".") -> Iterator[tuple[str, Any]]:
    """Nested mappings as dotted keys: ``{"train": {"loss": 1}}`` -> ``("train.loss", 1)``."""
    for key, value in values.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from flatten(value, name, sep)
        else:
            yield name, value


def as_number(value: Any) -> float | None:
    """A loggable number (bools, numpy scalars and 0-d tensors included), or None."""
    if isinstance(value, str | bytes) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (links not followed), sorted."""
    return sorted(path for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def log_file(run: api.Run, path: Path, name: str | None = None) -> None:
    """Record one file as an output of ``run`` under ``name`` (default: its path in the repository);
    a failure warns, never raises."""
    try:
        run.log_artifact(path, name=name)
    except Exception as err:
        warn_once(f"artifact:{name}", f"could not record {path} as an output: {type(err).__name__}: {err}")


def stderr(text: str) -> None:
    print(f"gitrun: {text}", file=sys.stderr, flush=True)


class CallbackRun:
    """The run a framework callback records: started at its first use (in-process, or the run of
    ``git run``), ended at ``finish()`` or when the script exits."""

    def __init__(self, name: str | None, message: str, tags: list[str] | tuple[str, ...], launched_by: str) -> None:
        self.name = name
        self.message = message
        self.tags = list(tags)
        self.launched_by = launched_by
        self.run: api.Run | None = None

    def start(self) -> api.Run | None:
        if self.run is None:
            self.run = start(self.name, self.message, self.tags, self.launched_by)
        return self.run

    def finish(self, status: str | None = None) -> None:
        """End the run now; the next use starts a new one (inside ``git run`` its run goes on)."""
        run, self.run = self.run, None
        if run is not None and run._local is not None:
            run.finish(status)
