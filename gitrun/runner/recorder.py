"""The one recorder: how a run starts and how it finishes, whoever runs the command.

``git run -- CMD`` (``gitrun.commands.record``) runs a child process between the two;
``gitrun.init()`` (``gitrun.commands.inprocess``) is itself the "child". Both call
``start_recording`` (check the options, snapshot the code, build the note, create the spool and
the run, prepare every feature) and ``ActiveRecording.finish`` (stop the features, store the result,
print the last line), so a fix to either sequence reaches every way of recording.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrun.capture.code import git_context, snapshot_code
from gitrun.capture.environment import capture_environment
from gitrun.capture.hardware import capture_hardware
from gitrun.errors import UsageError
from gitrun.model import status as statuses
from gitrun.model.captured import Captured
from gitrun.model.checks import EARLIER_OUTPUT
from gitrun.model.ids import is_valid_name, looks_like_id_prefix, new_run_id, new_run_name
from gitrun.model.run import SCHEMA_VERSION, Run
from gitrun.model.timefmt import human_duration, to_iso, utc_now
from gitrun.runner import features
from gitrun.runner.ending import Ending
from gitrun.runner.extensions import RecordExtension, Recording
from gitrun.runner.finalise import finalise
from gitrun.runner.logs import LogWriter
from gitrun.runner.options import RecordOptions
from gitrun.runner.process import ChildOutcome, OutputConsumer
from gitrun.store.config import Settings
from gitrun.store.runs import RunStore
from gitrun.store.snapshot import SnapshotResult
from gitrun.store.spool import OUTPUT_LOG, Spool, create_spool, process_start_time


def say(options: RecordOptions, text: str) -> None:
    if not options.quiet:
        print(f"gitrun: {text}", file=sys.stderr, flush=True)


def check_options(store: RunStore, options: RecordOptions) -> None:
    """Refuse bad options before anything is recorded (and before a long job starts)."""
    if not options.command:
        raise UsageError("no command to run", hint="usage: git run [OPTIONS] -- COMMAND [ARGS...]")
    if options.name is not None:
        if looks_like_id_prefix(options.name):
            raise UsageError(f"invalid run name '{options.name}': it looks like a run id prefix, and ids win "
                             "over names", hint="choose a name that does not start with a digit 0-7")
        if not is_valid_name(options.name):
            raise UsageError(f"invalid run name '{options.name}'",
                             hint="use letters, digits, '.', '_' and '-', at most 64 characters")
        if store.name_taken(options.name):
            raise UsageError(f"a run named '{options.name}' already exists", hint="choose another --name")
    expectation = options.extra.get("expect")
    if expectation:
        from gitrun.model import query  # only runs with --expect pay for the parser

        query.parse(str(expectation), "--expect expression")  # refuse a typo before a long job starts
    for tag in options.tags:
        if not tag.strip() or any(c.isspace() for c in tag):
            raise UsageError(f"invalid tag '{tag}'", hint="tags are single words, e.g. baseline or imagenet:v3")


class Background:
    """Environment and hardware capture, run beside the snapshot to keep start-up short."""

    def __init__(self, store: RunStore, command: list[str], child_env: dict[str, str], cwd: Path) -> None:
        self.env = Captured()
        self.hardware = Captured()
        cache_dir = store.paths.gitrun_dir / "cache"

        def work() -> None:
            self.env = guarded(lambda: capture_environment(command, child_env, cwd, cache_dir))
            self.hardware = guarded(lambda: capture_hardware(cache_dir))

        self._thread = threading.Thread(target=work, name="gitrun-capture", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()


def guarded(capture: Callable[[], Any]) -> Captured:
    try:
        result = capture()
        return result if isinstance(result, Captured) else Captured()
    except Exception as err:  # a capture failure is recorded, never fatal
        return Captured(missing={"": f"capture failed: {type(err).__name__}: {err}"})


def relative_cwd(store: RunStore, cwd: Path) -> str:
    try:
        relative = cwd.relative_to(store.paths.workdir)
    except ValueError:
        return "."
    return relative.as_posix() or "."


def build_document(store: RunStore, settings: Settings, cwd: Path, options: RecordOptions, run_id: str,
                   name: str, snapshot: SnapshotResult, background: Background) -> dict[str, Any]:
    """The run's note as it is written at the start (status ``running``)."""
    started = utc_now()
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "id": run_id,
        "name": name,
        "message": options.message,
        "tags": sorted(set(options.tags)),
        "status": statuses.RUNNING,
        "command": list(options.command),
        "cwd": relative_cwd(store, cwd),
        "started": to_iso(started),
        "user": current_user(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_create_time": process_start_time(os.getpid()),
    }
    git_context(store.repo, snapshot).merge_into(doc, "git")
    doc["snapshot"] = {
        "excluded": [
            {k: v for k, v in vars(item).items() if v is not None} for item in snapshot.excluded
        ],
        "warnings": snapshot.warnings,
        "max_untracked_bytes": settings.max_untracked_bytes,
    }
    background.join()
    background.env.merge_into(doc, "env")
    background.hardware.merge_into(doc, "hardware")
    return doc


def current_user() -> str:
    for key in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(key):
            return os.environ[key]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, ImportError):
        return str(os.getuid())


def report_exclusions(options: RecordOptions, snapshot: SnapshotResult) -> None:
    outputs = [item for item in snapshot.excluded if item.reason.startswith(EARLIER_OUTPUT)]
    for item in snapshot.excluded:
        if item in outputs:
            continue  # one line for all of them below: they are expected, not a warning each
        size = f", {item.size} bytes" if item.size is not None else ""
        say(options, f"warning: left out of the snapshot: {item.path} ({item.reason}{size})")
    if outputs:
        say(options, f"left out of the snapshot: {len(outputs)} file(s) earlier runs wrote "
                     f"({outputs[0].path}{', ...' if len(outputs) > 1 else ''}; `git run show` lists them)")
    for warning in snapshot.warnings:
        say(options, f"warning: {warning}")


def child_environment(store: RunStore, run: Run, spool: Spool,
                      base_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the run's processes: the caller's (or ``base_env``), plus where to report to."""
    env = dict(os.environ if base_env is None else base_env)
    env["GITRUN_RUN_ID"] = run.id
    env["GITRUN_RUN_NAME"] = run.name
    env["GITRUN_SPOOL"] = str(spool.path)
    env["GITRUN_REPO"] = str(store.paths.workdir)
    return env


def call_all(extensions: list[RecordExtension], hook: str, *args: Any) -> list[Any]:
    """Call one hook on every extension; a failing extension is reported, never fatal."""
    results = []
    for extension in extensions:
        try:
            results.append(getattr(extension, hook)(*args))
        except Exception as err:
            print(f"gitrun: warning: {type(extension).__name__}.{hook} failed: {err}", file=sys.stderr)
    return results


@dataclass
class ActiveRecording:
    """A run that has started: what its processes need, and how it finishes."""

    options: RecordOptions
    store: RunStore
    settings: Settings
    run: Run
    spool: Spool
    extensions: list[RecordExtension]
    child_env: dict[str, str]  # the environment for the run's processes
    consumers: list[OutputConsumer]  # they see every byte the run prints (the log first)
    log: LogWriter
    _stopped: bool = field(default=False, repr=False)

    def started(self, pid: int) -> None:
        """The run's main process is ``pid``: the features start watching it."""
        call_all(self.extensions, "on_started", pid)

    def tick(self) -> None:
        """About once a second while the run goes on."""
        call_all(self.extensions, "on_tick")

    def stop(self) -> None:
        """The run's process has ended: close the log, let every feature flush into the spool (once)."""
        if self._stopped:
            return
        self._stopped = True
        self.log.close()
        call_all(self.extensions, "stop")

    def finish(self, ending: Ending) -> Run:
        """Store the result and the final note, remove the spool, and say how the run ended."""
        self.stop()
        run = finalise(self.store, self.run, self.spool, ending, self.settings, contributors=features.CONTRIBUTORS,
                       finalisers=features.DOC_FINALISERS)
        say(self.options, ending_line(run, ending))
        return run


def ending_line(run: Run, ending: Ending) -> str:
    """The last thing a recording says, e.g. ``run ID (NAME) succeeded in 12.2s (exit 0)``, and
    whether its ``--expect`` was missed: ``...; expectation missed: metrics.acc > 0.9 (got 0.84)``."""
    exit_code = "" if ending.exit_code is None else f" (exit {ending.exit_code})"
    line = f"run {run.id} ({run.name}) {ending.status} in {human_duration(run.doc.get('duration_s'))}{exit_code}"
    missed = expectation_missed(run.doc.get("expect"))
    return f"{line}; expectation missed: {missed}" if missed else line


def expectation_missed(expect: object) -> str | None:
    """``metrics.acc > 0.9 (got 0.84)`` for a missed ``--expect``; None when met or not asked."""
    if not isinstance(expect, dict) or expect.get("met") is not False:
        return None
    expression = str(expect.get("expression", "")).strip()
    seen = [part for part in str(expect.get("detail", "")).split("; ") if part]
    if len(seen) == 1 and " = " in seen[0]:
        return f"{expression} (got {seen[0].split(' = ', 1)[1]})"  # one field: its value says it all
    return f"{expression} ({'; '.join(seen)})" if seen else expression


def ending_for(outcome: ChildOutcome) -> Ending:
    """How a run ended, from how its child process ended."""
    if outcome.error is not None:
        return Ending(status=statuses.FAILED, exit_code=outcome.exit_code, error=outcome.error,
                      ended=outcome.ended)
    status = statuses.status_for_exit(outcome.returncode, outcome.signal, outcome.interrupted)
    return Ending(
        status=status,
        exit_code=outcome.exit_code,
        signal=statuses.signal_name(outcome.signal) if outcome.signal else None,
        ended=outcome.ended,
    )


def start_recording(store: RunStore, settings: Settings, cwd: Path, options: RecordOptions,
                    launched_by: str | None = None, extra_doc: Mapping[str, Any] | None = None,
                    base_env: Mapping[str, str] | None = None) -> ActiveRecording:
    """Snapshot the code, write the run's start note, create its spool and prepare every feature.

    ``extra_doc``: top-level fields added to the start note (a replayed job's links: ``parent``,
    ``reproduces``, ...). ``base_env``: the environment the command runs in, instead of this
    process's own (a rebuilt virtual environment's ``PATH``).

    From the moment the spool's owner is written, a crash at any later point is recovered by the
    next gitrun command (or, before the run is created, the spool is cleaned up).
    """
    check_options(store, options)
    environment = dict(os.environ if base_env is None else base_env)
    background = Background(store, options.command, environment, cwd)
    snapshot = snapshot_code(store.paths, settings)
    report_exclusions(options, snapshot)
    run_id = new_run_id()
    name = options.name or new_run_name()
    doc = build_document(store, settings, cwd, options, run_id, name, snapshot, background)
    if launched_by:
        doc["launched_by"] = launched_by
    doc.update(extra_doc or {})
    spool = create_spool(store.paths, run_id)
    spool.write_live({"run_id": run_id, "pid": doc["pid"], "pid_create_time": doc["pid_create_time"],
                      "host": doc["host"], "started": doc["started"]})
    rec = Recording(run_id, list(options.command), cwd, store.paths, settings, spool, doc, dict(options.extra))
    try:
        extensions = [cls(rec) for cls in features.EXTENSIONS]  # they check their options (e.g. --data paths)
    except BaseException:
        spool.remove()  # refused before anything was recorded: leave nothing behind
        raise
    call_all(extensions, "prepare")
    message = options.message or "gitrun: " + " ".join(options.command)
    run = store.create(run_id, snapshot.tree, snapshot.base_commit, message, doc)
    say(options, f"run {run_id} ({name}) started; snapshot {run.snapshot_commit[:10]}")
    env = child_environment(store, run, spool, environment)
    call_all(extensions, "child_env", env)
    log = LogWriter(spool.file(OUTPUT_LOG))
    consumers: list[OutputConsumer] = [log]
    for more in call_all(extensions, "consumers"):
        consumers.extend(more or [])
    return ActiveRecording(options, store, settings, run, spool, extensions, env, consumers, log)
