"""``git run [OPTIONS] -- CMD ...``: snapshot the code, record the run, run the command."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from gitrun.capture.code import git_context, snapshot_code
from gitrun.capture.environment import capture_environment
from gitrun.capture.hardware import capture_hardware
from gitrun.commands.context import Context, open_context
from gitrun.commands.record_options import FEATURE_DEFAULTS, RecordOptions  # noqa: F401 - re-exported
from gitrun.errors import UsageError
from gitrun.model import status as statuses
from gitrun.model.captured import Captured
from gitrun.model.ids import is_valid_name, new_run_id, new_run_name
from gitrun.model.run import SCHEMA_VERSION, Run
from gitrun.model.timefmt import human_duration, to_iso, utc_now
from gitrun.runner import features  # noqa: F401 - registers every feature's extensions
from gitrun.runner.extensions import EXTENSIONS, RecordExtension, Recording
from gitrun.runner.finalise import Ending, finalise
from gitrun.runner.logs import LogWriter
from gitrun.runner.process import ChildOutcome, OutputConsumer, run_child
from gitrun.store.snapshot import SnapshotResult
from gitrun.store.spool import OUTPUT_LOG, Spool, create_spool, process_start_time


def say(options: RecordOptions, text: str) -> None:
    if not options.quiet:
        print(f"gitrun: {text}", file=sys.stderr, flush=True)


def _check_options(ctx: Context, options: RecordOptions) -> None:
    if not options.command:
        raise UsageError("no command to run", hint="usage: git run [OPTIONS] -- COMMAND [ARGS...]")
    if options.name is not None:
        if not is_valid_name(options.name):
            raise UsageError(f"invalid run name '{options.name}'",
                             hint="use letters, digits, '.', '_' and '-', at most 64 characters")
        if ctx.store.name_taken(options.name):
            raise UsageError(f"a run named '{options.name}' already exists", hint="choose another --name")
    expectation = options.extra.get("expect")
    if expectation:
        from gitrun.model import query  # only runs with --expect pay for the parser

        query.parse(str(expectation), "--expect expression")  # refuse a typo before a long job starts
    for tag in options.tags:
        if not tag.strip() or any(c.isspace() for c in tag):
            raise UsageError(f"invalid tag '{tag}'", hint="tags are single words, e.g. baseline or imagenet:v3")


class _Background:
    """Environment and hardware capture, run beside the snapshot to keep start-up short."""

    def __init__(self, ctx: Context, command: list[str], child_env: dict[str, str], cwd: Path) -> None:
        self.env = Captured()
        self.hardware = Captured()
        cache_dir = ctx.paths.gitrun_dir / "cache"

        def work() -> None:
            self.env = _guarded(lambda: capture_environment(command, child_env, cwd, cache_dir))
            self.hardware = _guarded(lambda: capture_hardware(cache_dir))

        self._thread = threading.Thread(target=work, name="gitrun-capture", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()


def _guarded(capture: Any) -> Captured:
    try:
        result = capture()
        return result if isinstance(result, Captured) else Captured()
    except Exception as err:  # a capture failure is recorded, never fatal
        return Captured(missing={"": f"capture failed: {type(err).__name__}: {err}"})


def _relative_cwd(ctx: Context) -> str:
    try:
        relative = ctx.cwd.relative_to(ctx.paths.workdir)
    except ValueError:
        return "."
    return relative.as_posix() or "."


def build_document(ctx: Context, options: RecordOptions, run_id: str, name: str, snapshot: SnapshotResult,
                   background: _Background) -> dict[str, Any]:
    started = utc_now()
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "id": run_id,
        "name": name,
        "message": options.message,
        "tags": sorted(set(options.tags)),
        "status": statuses.RUNNING,
        "command": list(options.command),
        "cwd": _relative_cwd(ctx),
        "started": to_iso(started),
        "user": _user(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_create_time": process_start_time(os.getpid()),
    }
    git_context(ctx.repo, snapshot).merge_into(doc, "git")
    doc["snapshot"] = {
        "excluded": [
            {k: v for k, v in vars(item).items() if v is not None} for item in snapshot.excluded
        ],
        "warnings": snapshot.warnings,
        "max_untracked_bytes": ctx.settings.max_untracked_bytes,
    }
    background.join()
    background.env.merge_into(doc, "env")
    background.hardware.merge_into(doc, "hardware")
    return doc


def _user() -> str:
    for key in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(key):
            return os.environ[key]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, ImportError):
        return str(os.getuid())


def _report_exclusions(options: RecordOptions, snapshot: SnapshotResult) -> None:
    for item in snapshot.excluded:
        size = f", {item.size} bytes" if item.size is not None else ""
        say(options, f"warning: left out of the snapshot: {item.path} ({item.reason}{size})")
    for warning in snapshot.warnings:
        say(options, f"warning: {warning}")


def child_environment(ctx: Context, run: Run, spool: Spool) -> dict[str, str]:
    env = dict(os.environ)
    env["GITRUN_RUN_ID"] = run.id
    env["GITRUN_RUN_NAME"] = run.name
    env["GITRUN_SPOOL"] = str(spool.path)
    env["GITRUN_REPO"] = str(ctx.paths.workdir)
    return env


def ending_for(outcome: ChildOutcome) -> Ending:
    from gitrun.model.status import signal_name, status_for_exit

    if outcome.error is not None:
        return Ending(status=statuses.FAILED, exit_code=outcome.exit_code, error=outcome.error,
                      ended=outcome.ended)
    status = status_for_exit(outcome.returncode, outcome.signal, outcome.interrupted)
    return Ending(
        status=status,
        exit_code=outcome.exit_code,
        signal=signal_name(outcome.signal) if outcome.signal else None,
        ended=outcome.ended,
    )


def _call_all(extensions: list[RecordExtension], hook: str, *args: Any) -> list[Any]:
    """Call one hook on every extension; a failing extension is reported, never fatal."""
    results = []
    for extension in extensions:
        try:
            results.append(getattr(extension, hook)(*args))
        except Exception as err:
            print(f"gitrun: warning: {type(extension).__name__}.{hook} failed: {err}", file=sys.stderr)
    return results


def record(options: RecordOptions, start: Path | None = None) -> int:
    ctx = open_context(start)
    _check_options(ctx, options)
    child_env = dict(os.environ)
    background = _Background(ctx, options.command, child_env, ctx.cwd)
    snapshot = snapshot_code(ctx.paths, ctx.settings)
    _report_exclusions(options, snapshot)
    run_id = new_run_id()
    name = options.name or new_run_name()
    doc = build_document(ctx, options, run_id, name, snapshot, background)
    spool = create_spool(ctx.paths, run_id)
    # The spool's owner is written before the run exists, so a crash at any later point is recovered
    # (or, before the run is created, the spool is cleaned up).
    spool.write_live({"run_id": run_id, "pid": doc["pid"], "pid_create_time": doc["pid_create_time"],
                      "host": doc["host"], "started": doc["started"]})
    rec = Recording(run_id, list(options.command), ctx.cwd, ctx.paths, ctx.settings, spool, doc,
                    dict(options.extra))
    try:
        extensions = [cls(rec) for cls in EXTENSIONS]  # they check their options (e.g. --data paths)
    except BaseException:
        spool.remove()  # refused before anything was recorded: leave nothing behind
        raise
    _call_all(extensions, "prepare")
    message = options.message or "gitrun: " + " ".join(options.command)
    run = ctx.store.create(run_id, snapshot.tree, snapshot.base_commit, message, doc)
    say(options, f"run {run_id} ({name}) started; snapshot {run.snapshot_commit[:10]}")
    env = child_environment(ctx, run, spool)
    _call_all(extensions, "child_env", env)
    log = LogWriter(spool.file(OUTPUT_LOG))
    consumers: list[OutputConsumer] = [log]
    for more in _call_all(extensions, "consumers"):
        consumers.extend(more or [])
    try:
        outcome = run_child(options.command, ctx.cwd, env, consumers,
                            on_started=lambda pid: _call_all(extensions, "on_started", pid),
                            on_tick=lambda: _call_all(extensions, "on_tick"))
    finally:
        log.close()
        _call_all(extensions, "stop")
    ending = ending_for(outcome)
    finalise(ctx.store, run, spool, ending, ctx.settings)
    duration = run.doc.get("duration_s")
    say(options, f"run {run_id} ({name}) {ending.status} in {human_duration(duration)}"
        f" (exit {outcome.exit_code})")
    return outcome.exit_code
