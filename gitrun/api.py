"""The in-script API: ``import gitrun; gitrun.log(step=i, loss=0.3)``.

Inside ``git run`` the calls append to the run's live spool (``$GITRUN_SPOOL``), which the
recorder stores when the run ends. In a script started without ``git run``, ``gitrun.init()``
records the run in-process first (snapshot at init, finalised at exit, on exceptions too).
Without either, the calls do nothing but warn once.

Logging is buffered: ``log`` appends tuples to a list; the buffer is written (one ``write`` call,
no git write) when it holds 50,000 points, when a second has passed since the last write, every
second by a background thread, and at exit. A point is therefore in the spool (and visible to
``git run show``) within about a second. Nothing here ever raises into the user's script: a
failure warns once on stderr.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FLUSH_POINTS = 50_000
FLUSH_SECONDS = 1.0
DEFAULT_STORE_LIMIT = 1024 * 1024
_time = time.time

_warned: set[str] = set()


def _warn(key: str, text: str) -> None:
    if key in _warned:
        return
    _warned.add(key)
    try:
        print(f"gitrun: warning: {text}", file=sys.stderr, flush=True)
    except Exception:
        pass


class _Buffer:
    """Metric points waiting to be appended to ``metrics.jsonl``."""

    def __init__(self, spool: str) -> None:
        self.path = os.path.join(spool, "metrics.jsonl")
        self.points: list[tuple[str, int | None, float, float]] = []
        self.next_flush = time.time() + FLUSH_SECONDS
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self.points = []  # the parent writes what it had buffered
        self._lock = threading.Lock()
        self._thread = None

    def log(self, values: Mapping[str, Any], step: int | None) -> None:
        now = time.time()
        points = self.points
        for name, value in values.items():
            try:
                points.append((name, step, now, float(value)))
            except (TypeError, ValueError):
                _warn(f"value:{name}", f"gitrun.log: {name}={value!r} is not a number; not logged")
        if now >= self.next_flush or len(points) >= FLUSH_POINTS:
            self.flush()
        elif self._thread is None:
            self._start_thread()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._background, name="gitrun-flush", daemon=True)
        self._thread.start()

    def _background(self) -> None:
        while not self._stopped:
            time.sleep(FLUSH_SECONDS)
            if self.points:
                self.flush()

    def _prefix(self, name: str) -> str:
        prefix = self._names.get(name)
        if prefix is None:
            prefix = self._names[name] = '{"name":' + json.dumps(str(name), ensure_ascii=False) + ',"step":'
        return prefix

    def _encode(self, chunk: list[tuple[str, int | None, float, float]]) -> str:
        """JSON lines of the points: the hot loop, one f-string per point."""
        prefixes = self._names
        lines: list[str] = []
        append = lines.append
        for name, step, when, value in chunk:
            prefix = prefixes.get(name) or self._prefix(name)
            append(f'{prefix}{"null" if step is None else step},"time":{when:.3f},"value":{value!r}}}\n')
        text = "".join(lines)
        if "nan" in text or "inf" in text:  # repr(nan) is not JSON: redo the slow, careful way
            lines = []
            for name, step, when, value in chunk:
                number = repr(value) if math.isfinite(value) else (
                    "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity"))
                lines.append(f'{self._prefix(name)}{"null" if step is None else step},"time":{when:.3f},'
                             f'"value":{number}}}\n')
            text = "".join(lines)
        return text

    def flush(self) -> None:
        with self._lock:
            count = len(self.points)
            if not count:
                self.next_flush = time.time() + FLUSH_SECONDS
                return
            chunk = self.points[:count]
            del self.points[:count]  # appends made meanwhile stay, after position count
            self.next_flush = time.time() + FLUSH_SECONDS
            text = self._encode(chunk)
            try:
                _append(self.path, text)
            except OSError as err:
                _warn("flush", f"gitrun.log: cannot write to the run's spool: {err}")

    def close(self) -> None:
        self._stopped = True
        try:
            self.flush()
        except Exception:
            pass


def _append(path: str, text: str) -> None:
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _plain(value: Any) -> Any:
    """A value TOML can store: numbers, text, booleans, and lists/tables of them (anything else as text)."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    try:
        number = float(value)  # numpy scalars, 0-d tensors
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)


class Run:
    """The run this process logs to (``gitrun.init()`` returns it)."""

    def __init__(self, run_id: str, spool: str, repo: str | None, name: str = "") -> None:
        self.id = run_id
        self.name = name
        self.spool = spool
        self.repo = repo
        self.buffer = _Buffer(spool)
        self._reported_lock = threading.Lock()
        self._local: Any = None  # the in-process recording, when gitrun.init() made this run

    def log(self, metrics: Mapping[str, Any] | None = None, /, *, step: int | None = None, **values: Any) -> None:
        if metrics:
            values = {**metrics, **values}
        if step is not None:
            try:
                step = int(step)
            except (TypeError, ValueError):
                _warn("step", f"gitrun.log: step={step!r} is not an integer; logged without a step")
                step = None
        self.buffer.log(values, step)

    def log_params(self, params: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        from gitrun.capture.params import flatten

        values = flatten({**(params or {}), **more})
        if values:
            _append(os.path.join(self.spool, "params.jsonl"),
                    json.dumps({"source": "api", "params": values}, ensure_ascii=False, default=str) + "\n")

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        from gitrun.capture.hashing import hash_bytes, hash_file
        from gitrun.model.timefmt import to_iso

        source = Path(path).resolve()
        info = source.stat()
        record: dict[str, Any] = {"path": name or self._output_path(source), "size": info.st_size}
        from datetime import UTC, datetime

        record["mtime"] = to_iso(datetime.fromtimestamp(info.st_mtime, UTC))
        limit = int(os.environ.get("GITRUN_OUTPUT_STORE_LIMIT", DEFAULT_STORE_LIMIT))
        if info.st_size <= limit:
            data = source.read_bytes()
            folder = Path(self.spool) / "artifacts"
            folder.mkdir(exist_ok=True)
            copy = folder / f"{time.time_ns()}-{source.name}"
            copy.write_bytes(data)
            record.update(size=len(data), hash=hash_bytes(data), copy=f"artifacts/{copy.name}")
        else:
            record["hash"] = hash_file(source)
        _append(os.path.join(self.spool, "artifacts.jsonl"), json.dumps(record, ensure_ascii=False) + "\n")

    def _output_path(self, source: Path) -> str:
        if self.repo:
            try:
                return source.relative_to(Path(self.repo).resolve()).as_posix()
            except ValueError:
                pass
        return str(source)

    def tag(self, *tags: str) -> None:
        from gitrun.commands.context import open_context

        wanted = [str(tag) for tag in tags if str(tag).strip() and not any(c.isspace() for c in str(tag))]
        if not wanted:
            return
        ctx = open_context(Path(self.repo) if self.repo else None, recover=False)
        run = ctx.store.get(self.id)

        def add(doc: dict[str, Any]) -> dict[str, Any]:
            doc["tags"] = sorted(set(doc.get("tags", [])) | set(wanted))
            return doc

        ctx.store.update_doc(run, add, f"gitrun: tag {self.id}")

    def report(self, final: Mapping[str, Any] | None = None, labels: Mapping[str, Any] | None = None) -> None:
        """Record the run's final values (``[final]``; numbers also in ``[metrics]``: W&B's summary) and
        key-value labels (``[labels]``: MLflow's tags, W&B's project), written to the spool at once."""
        from gitrun.runner.reported import REPORTED_FILE

        with self._reported_lock:
            path = Path(self.spool) / REPORTED_FILE
            try:
                current = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                current = {}
            if not isinstance(current, dict):
                current = {}
            for section, values in (("final", final), ("labels", labels)):
                if values:
                    current.setdefault(section, {}).update({str(key): _plain(value) for key, value in values.items()})
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(current, ensure_ascii=False, default=str), encoding="utf-8")
            os.replace(tmp, path)

    def flush(self) -> None:
        self.buffer.flush()

    @property
    def finished(self) -> bool:
        """True once a run made in this process (``gitrun.init()``) has been finalised."""
        return self._local is not None and self._local.done

    def finish(self, status: str | None = None, exit_code: int | None = None, error: str | None = None) -> None:
        """End a run made by ``gitrun.init()`` now (otherwise it ends when the script exits); the next
        ``gitrun.init()`` then starts a new run. ``status`` (succeeded, failed, interrupted, killed) and
        ``exit_code`` default to what the script did so far."""
        global _current
        self.buffer.flush()
        if self._local is not None:
            try:
                self._local.finish(status, exit_code=exit_code, error=error)
            finally:
                with _current_lock:
                    if _current is self:
                        _current = None


_current: Run | None = None
_current_lock = threading.Lock()


def _from_environment() -> Run | None:
    spool = os.environ.get("GITRUN_SPOOL")
    run_id = os.environ.get("GITRUN_RUN_ID")
    if not spool or not run_id or not os.path.isdir(spool):
        return None
    return Run(run_id, spool, os.environ.get("GITRUN_REPO"), os.environ.get("GITRUN_RUN_NAME", ""))


def current_run() -> Run | None:
    """The run this process logs to: ``git run``'s, or the one ``gitrun.init()`` made; else None."""
    global _current
    if _current is None or _current.spool != os.environ.get("GITRUN_SPOOL", _current.spool):
        with _current_lock:
            if _current is None or _current.spool != os.environ.get("GITRUN_SPOOL", _current.spool):
                _current = _from_environment()
    return _current


def _run_or_warn(what: str) -> Run | None:
    run = current_run()
    if run is None:
        _warn("norun", f"gitrun.{what}: not recording (start the script with `git run -- ...` "
                       "or call gitrun.init() first)")
    return run


def _guard(what: str, call: Any) -> None:
    try:
        call()
    except Exception as err:
        _warn(f"fail:{what}", f"gitrun.{what} failed: {type(err).__name__}: {err}")


def log(metrics: Mapping[str, Any] | None = None, /, *, step: int | None = None, **values: Any) -> None:
    """Log metric values: ``gitrun.log(step=i, loss=0.3, acc=0.9)`` or ``gitrun.log({"loss": 0.3})``."""
    # The hot path: a few attribute reads and one list append per value (see bench/bench_logging.py).
    run = _current or current_run()
    if run is None:
        _run_or_warn("log")
        return
    if metrics:
        values = {**metrics, **values}
    if step is not None and step.__class__ is not int:
        try:
            step = int(step)
        except (TypeError, ValueError):
            _warn("step", f"gitrun.log: step={step!r} is not an integer; logged without a step")
            step = None
    buffer = run.buffer
    now = _time()
    append = buffer.points.append
    try:
        for name, value in values.items():
            append((name, step, now, value if value.__class__ is float else float(value)))
    except Exception:
        _log_slow(buffer, values, step, now)
    if now >= buffer.next_flush or len(buffer.points) >= FLUSH_POINTS:
        _guard("log", buffer.flush)
    elif buffer._thread is None:
        _guard("log", buffer._start_thread)


def _log_slow(buffer: _Buffer, values: Mapping[str, Any], step: int | None, now: float) -> None:
    """Values that are not all numbers: drop the point appended last if it came from ``values``,
    then append value by value, warning about the ones that are not numbers."""
    points = buffer.points
    while points and points[-1][2] == now and points[-1][1] == step and points[-1][0] in values:
        points.pop()
    for name, value in values.items():
        try:
            points.append((str(name), step, now, float(value)))
        except (TypeError, ValueError):
            _warn(f"value:{name}", f"gitrun.log: {name}={value!r} is not a number; not logged")


def log_params(params: Mapping[str, Any] | None = None, /, **more: Any) -> None:
    """Record parameters (nested mappings become dotted keys): ``gitrun.log_params({"lr": 0.01})``."""
    run = _run_or_warn("log_params")
    if run is not None:
        _guard("log_params", lambda: run.log_params(params, **more))


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> None:
    """Record a file as an output of the run (stored in git when under the store limit)."""
    run = _run_or_warn("log_artifact")
    if run is not None:
        _guard("log_artifact", lambda: run.log_artifact(path, name))


def tag(*tags: str) -> None:
    """Add tags to the run (written to its metadata at once)."""
    run = _run_or_warn("tag")
    if run is not None:
        _guard("tag", lambda: run.tag(*tags))


def flush() -> None:
    """Write buffered metric points to the spool now."""
    run = current_run()
    if run is not None:
        _guard("flush", run.flush)


def init(name: str | None = None, message: str = "", tags: list[str] | tuple[str, ...] = (),
         params: Mapping[str, Any] | None = None, autolog: bool = True,
         capture_output: bool = True, launched_by: str = "gitrun.init") -> Run | None:
    """Record this script as a run, like ``git run -- python script.py`` would.

    Inside ``git run`` it returns the run already being recorded. Otherwise it snapshots the code
    now, records the environment, parameters, console output, system samples and outputs, and
    finalises the run when the script exits (``failed`` after an uncaught exception,
    ``interrupted`` after Ctrl-C). On any failure it warns and returns None; the script goes on.
    """
    global _current
    run = current_run()
    if run is not None:
        if tags:
            tag(*tags)
        if params:
            log_params(params)
        return run
    try:
        from gitrun.commands.inprocess import start_local_run

        local = start_local_run(name=name, message=message, tags=list(tags), autolog=autolog,
                                capture_output=capture_output, launched_by=launched_by)
    except Exception as err:
        text = err.one_line() if hasattr(err, "one_line") else f"{type(err).__name__}: {err}"
        _warn("init", f"gitrun.init: not recording: {text}")
        return None
    run = Run(local.run_id, str(local.spool.path), str(local.workdir), local.name)
    run._local = local
    local.before_finish.append(run.buffer.flush)
    _current = run
    if params:
        log_params(params)
    return run


@contextmanager
def run(name: str | None = None, message: str = "", tags: list[str] | tuple[str, ...] = (),
        params: Mapping[str, Any] | None = None, capture_output: bool = True) -> Iterator[Run | None]:
    """One run for the block: ``with gitrun.run(params={"lr": lr}): train(lr)``, e.g. once per
    iteration of a loop in a notebook cell.

    Started like ``gitrun.init()`` and finished when the block ends: ``succeeded``, ``failed`` when an
    exception leaves it (the exception goes on), ``interrupted`` on Ctrl-C. A run that an earlier
    ``gitrun.init()`` of this process started is finished first. Inside ``git run`` the block logs to
    the run ``git run`` records, which goes on after the block.
    """
    active = _current
    if active is not None and active._local is not None and not active.finished:
        active.finish()
    started = init(name=name, message=message, tags=tags, params=params, capture_output=capture_output,
                   launched_by="gitrun.run")
    own = started is not None and started._local is not None
    try:
        yield started
    except BaseException as err:
        if own and started is not None and isinstance(err, SystemExit) and err.code in (None, 0):
            started.finish("succeeded", exit_code=0)
        elif own and started is not None:
            interrupted = isinstance(err, KeyboardInterrupt)
            started.finish("interrupted" if interrupted else "failed", exit_code=130 if interrupted else 1,
                           error=f"{type(err).__name__}: {err}")
        raise
    if own and started is not None:
        started.finish("succeeded", exit_code=0)
