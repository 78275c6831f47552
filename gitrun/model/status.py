"""The statuses a run moves through."""

from __future__ import annotations

import signal

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
KILLED = "killed"
INTERRUPTED = "interrupted"
CRASHED = "crashed"  # gitrun itself died before it could finalise the run
BROKEN = "broken"  # the run's note could not be read or trusted (gitrun.model.schema): shown, not stored

ALL = (RUNNING, SUCCEEDED, FAILED, KILLED, INTERRUPTED, CRASHED, BROKEN)
FINAL = (SUCCEEDED, FAILED, KILLED, INTERRUPTED, CRASHED)

# Signals a user sends to stop a run on purpose: the run is "interrupted", not "killed".
_INTERRUPT_SIGNALS = {signal.SIGINT}


def status_for_exit(exit_code: int | None, signal_number: int | None, interrupted: bool = False) -> str:
    """Map how the child ended to a status.

    ``interrupted`` is true when the user asked gitrun to stop (Ctrl-C forwarded to the child):
    then a child that exits with any code counts as interrupted, since it was told to stop.
    """
    if signal_number is not None:
        if signal_number in _INTERRUPT_SIGNALS or interrupted:
            return INTERRUPTED
        return KILLED
    if interrupted and exit_code != 0:
        return INTERRUPTED
    return SUCCEEDED if exit_code == 0 else FAILED


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"
