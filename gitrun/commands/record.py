"""``git run [OPTIONS] -- CMD ...``: snapshot the code, record the run, run the command.

The start and finish sequences are the recorder's (``gitrun.runner.recorder``); this command only
runs the child process between them.
"""

from __future__ import annotations

from pathlib import Path

from gitrun.commands.context import open_context
from gitrun.runner.options import FEATURE_DEFAULTS, RecordOptions
from gitrun.runner.process import run_child
from gitrun.runner.recorder import ending_for, start_recording

__all__ = ["FEATURE_DEFAULTS", "RecordOptions", "ending_for", "record"]


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
