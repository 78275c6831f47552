"""``git run [OPTIONS] -- CMD ...``: snapshot the code, record the run, run the command.

The start and finish sequences are the recorder's (``gitrun.runner.recorder``); this command only
runs the child process between them.
"""

from __future__ import annotations

from pathlib import Path

from gitrun.commands.context import open_context
from gitrun.model import status as statuses
from gitrun.runner.finalise import Ending
from gitrun.runner.options import FEATURE_DEFAULTS, RecordOptions
from gitrun.runner.process import ChildOutcome, run_child
from gitrun.runner.recorder import start_recording

__all__ = ["FEATURE_DEFAULTS", "RecordOptions", "ending_for", "record"]


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


def record(options: RecordOptions, start: Path | None = None) -> int:
    ctx = open_context(start)
    active = start_recording(ctx.store, ctx.settings, ctx.cwd, options)
    try:
        outcome = run_child(options.command, ctx.cwd, active.child_env, active.consumers,
                            on_started=active.started, on_tick=active.tick)
    finally:
        active.stop()  # even when gitrun itself is interrupted: what was spooled is recovered later
    active.finish(ending_for(outcome))
    return outcome.exit_code
