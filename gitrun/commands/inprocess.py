"""A run recorded from inside the user's script (``gitrun.init()``), without ``git run``.

The same building blocks as ``git run -- CMD`` (snapshot, note, spool, the feature extensions,
finalise), with this process as the "child": the sampler watches this process, console output
written through ``sys.stdout``/``sys.stderr`` is copied to the run's log (and parsed for metrics),
the startup-hook modules are loaded in-process, and the run is finalised when the interpreter
exits: ``failed`` after an uncaught exception or ``sys.exit(n)`` with n != 0, ``interrupted`` after
Ctrl-C, else ``succeeded``.
If the process is killed, the next gitrun command finalises the run as ``crashed``.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from gitrun.commands.context import open_context
from gitrun.model import status as statuses
from gitrun.runner.ending import Ending
from gitrun.runner.notebook import spool_notebook
from gitrun.runner.options import FEATURE_DEFAULTS, RecordOptions
from gitrun.runner.process import OutputConsumer
from gitrun.runner.recorder import start_recording
from gitrun.runner.startup_hook import STARTUP_DIR
from gitrun.store.spool import Spool


class _Tee:
    """A text stream that also hands what is written to the run's output consumers."""

    def __init__(self, stream: Any, name: str, consumers: list[OutputConsumer]) -> None:
        self._gitrun_stream = stream
        self._gitrun_name = name
        self._gitrun_consumers = consumers

    def write(self, text: str) -> int:
        written: int = self._gitrun_stream.write(text)
        try:
            data = text.encode("utf-8", "replace")
            for consumer in self._gitrun_consumers:
                consumer(self._gitrun_name, data)
        except Exception:
            pass
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._gitrun_stream, attr)


def _load_hook_modules() -> None:
    for path in sorted(STARTUP_DIR.glob("_gitrun_*.py")):
        if path.stem in sys.modules:
            continue
        try:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        except Exception:
            sys.modules.pop(path.stem, None)


def _spool_notebook(spool: Spool, workdir: Path) -> bool:
    """The notebook this kernel runs (docs/integrations.md, "Notebooks"); a failure never stops the run."""
    try:
        return spool_notebook(spool, workdir)
    except Exception as err:
        print(f"gitrun: warning: could not record the notebook: {type(err).__name__}: {err}", file=sys.stderr)
        return False


def _exit_code(status: object) -> int:
    """The process exit status ``sys.exit(status)`` gives: None is 0, an int itself, anything else 1."""
    if status is None:
        return 0
    return status if isinstance(status, int) else 1


class LocalRun:
    def __init__(self, run_id: str, name: str, spool: Spool, workdir: Path) -> None:
        self.run_id = run_id
        self.name = name
        self.spool = spool
        self.workdir = workdir
        self.before_finish: list[Callable[[], None]] = []
        self.failure: BaseException | None = None
        self.exit_status: object = None  # what the script passed to sys.exit()
        self._finish: Callable[[Ending | None], None] | None = None
        self._done = False
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._done

    def finish(self, status: str | None = None, exit_code: int | None = None, error: str | None = None) -> None:
        """Finalise the run (once): ``status`` and ``exit_code`` say how it ended when the caller knows
        (``gitrun.run`` blocks, ``wandb.finish(exit_code=1)``), else they come from how the script ended."""
        with self._lock:
            if self._done or self._finish is None:
                return
            self._done = True
        for hook in self.before_finish:
            try:
                hook()
            except Exception:
                pass
        ending = _ending(self, status)
        if exit_code is not None:
            ending.exit_code = exit_code
            if status is None:
                ending.status = statuses.SUCCEEDED if exit_code == 0 else statuses.FAILED
            if exit_code != 0 and error is None and self.failure is None:
                ending.error = f"finished with exit code {exit_code}"
        if error is not None:
            ending.error = error
        self._finish(ending)


def start_local_run(name: str | None = None, message: str = "", tags: list[str] | None = None,
                    autolog: bool = True, capture_output: bool = True, launched_by: str = "gitrun.init") -> LocalRun:
    ctx = open_context()
    command = [sys.executable, *sys.argv]
    options = RecordOptions(command=command, message=message, name=name, tags=list(tags or []),
                            extra={**FEATURE_DEFAULTS, "no_autolog": not autolog})
    active = start_recording(ctx.store, ctx.settings, ctx.cwd, options, launched_by=launched_by)
    run_id = active.run.id
    for key, value in active.child_env.items():  # Python processes this script starts join the run too
        if os.environ.get(key) != value:
            os.environ[key] = value
    if autolog:
        _load_hook_modules()
    saved_streams = (sys.stdout, sys.stderr)
    if capture_output:
        sys.stdout = _Tee(sys.stdout, "stdout", active.consumers)  # type: ignore[assignment]
        sys.stderr = _Tee(sys.stderr, "stderr", active.consumers)  # type: ignore[assignment]
    active.started(os.getpid())
    local = LocalRun(run_id, active.run.name, active.spool, ctx.paths.workdir)
    if _spool_notebook(active.spool, ctx.paths.workdir):  # in a Jupyter kernel: again when the run ends

        def notebook_at_end() -> None:
            _spool_notebook(active.spool, ctx.paths.workdir)

        local.before_finish.append(notebook_at_end)
    stop_ticks = threading.Event()

    def tick() -> None:
        while not stop_ticks.wait(1.0):
            active.tick()

    threading.Thread(target=tick, name="gitrun-tick", daemon=True).start()
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, trace: Any) -> None:
        local.failure = value
        previous_hook(kind, value, trace)

    sys.excepthook = excepthook
    original_exit = sys.exit

    def exit_and_remember(status: str | int | None = None) -> NoReturn:
        # SystemExit never reaches sys.excepthook: without this, sys.exit(2) would count as a success.
        local.exit_status = status
        original_exit(status)

    sys.exit = exit_and_remember

    def finish(ending: Ending | None) -> None:
        stop_ticks.set()
        if sys.stdout is not saved_streams[0] and isinstance(sys.stdout, _Tee):
            sys.stdout = saved_streams[0]
        if sys.stderr is not saved_streams[1] and isinstance(sys.stderr, _Tee):
            sys.stderr = saved_streams[1]
        # A later run of this process installs its own hooks: put back what was there (if still ours).
        if sys.excepthook is excepthook:
            sys.excepthook = previous_hook
        if sys.exit is exit_and_remember:
            sys.exit = original_exit
        try:
            atexit.unregister(at_exit)
        except Exception:
            pass
        active.finish(ending or _ending(local, None))
        for key in ("GITRUN_SPOOL", "GITRUN_RUN_ID", "GITRUN_RUN_NAME"):
            os.environ.pop(key, None)

    local._finish = finish

    def at_exit() -> None:
        try:
            local.finish()
        except Exception as err:
            print(f"gitrun: warning: could not finalise run {run_id}: {err}", file=sys.stderr)

    atexit.register(at_exit)
    return local


def _ending(local: LocalRun, status: str | None) -> Ending:
    """How the script ended: an uncaught exception, Ctrl-C, ``sys.exit(n)``, or normally."""
    failure = local.failure
    exit_status = _exit_code(local.exit_status)
    if status is None:
        if isinstance(failure, KeyboardInterrupt):
            status = statuses.INTERRUPTED
        elif failure is not None or exit_status != 0:
            status = statuses.FAILED
        else:
            status = statuses.SUCCEEDED
    exit_code = 0 if status == statuses.SUCCEEDED else (130 if status == statuses.INTERRUPTED else 1)
    if failure is None and exit_status != 0:
        exit_code = exit_status
    error = f"{type(failure).__name__}: {failure}" if failure is not None else (
        f"sys.exit({local.exit_status!r})" if exit_status != 0 else None)
    return Ending(status=status, exit_code=exit_code, error=error)
