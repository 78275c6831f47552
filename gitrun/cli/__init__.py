"""The command line's entry point: ``git-run``, ``gitrun`` and ``python -m gitrun``.

The common recording (``git run [-m MSG] [--name N] [--tag T]... [-q] -- COMMAND...``) is parsed
by ``gitrun.cli.fastpath`` without importing click, since a recording's start-up time is part of
what every run costs; everything else goes to the click application (``gitrun.cli.group``), with
only the invoked subcommand's module loaded (``gitrun.cli.lazy``).
Errors from any layer arrive here as GitrunError and leave as one line and an exit code.
"""

from __future__ import annotations

import errno
import gc
import os
import sys

from gitrun.errors import GitrunError


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``git-run``, ``gitrun`` and ``python -m gitrun``."""
    # Imports allocate many objects and leave no garbage cycles: collecting while they run is ~10 ms
    # of wasted CPU on every command. Collection is turned back on before any real work.
    gc.disable()
    args = sys.argv[1:] if argv is None else list(argv)
    recorded = False
    try:
        if args[:1] == ["pull"]:  # a first pull's fetch runs while the imports below do (store/prefetch.py)
            from gitrun.store.prefetch import start_first_pull

            start_first_pull(args[1:])
        listed = None
        if args == ["list"]:  # the warm listing without click or pygit2 (gitrun.cli.fastlist), else None
            from gitrun.cli.fastlist import fast_list

            listed = fast_list()
        if listed is not None:
            code = listed
        else:
            code, recorded = _run(args)
    except GitrunError as err:
        from gitrun.model.terminal import printable

        print(f"git-run: error: {printable(err.one_line(), keep_newlines=True)}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("git-run: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(141)
    except OSError as err:
        if err.errno not in _NO_ROOM:
            _internal_error(err)
        # a full disk or quota, a read-only .git: not a bug, one line (a running job is never stopped
        # for it: the recorder degrades; this is before a run starts or in a reading command)
        from gitrun.model.terminal import printable

        print(printable(f"git-run: error: {err.strerror}: {err.filename or ''} (free some space or make it "
                        "writable, then try again)"), file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # a bug: one line by default, the traceback on request
        _internal_error(err)
    if recorded:
        _exit_now(code)  # the run is stored: skip the interpreter's teardown
    sys.exit(code)


_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _run(args: list[str]) -> tuple[int, bool]:
    """A recording through the click-free parser, or the click application; and whether it recorded."""
    from gitrun.cli.fastpath import parse_record_args, run_recording

    options = parse_record_args(args)
    if options is not None:
        return run_recording(options), True
    from gitrun.cli.lazy import load_subcommands

    load_subcommands(args)  # the one subcommand's module, or the whole application
    from gitrun.cli.group import RECORDED, run_click

    code = run_click(args)
    return code, bool(RECORDED)


def _internal_error(err: Exception) -> None:
    if os.environ.get("GITRUN_DEBUG"):
        raise err
    from gitrun.model.terminal import printable

    print(printable(f"git-run: internal error: {type(err).__name__}: {err} (set GITRUN_DEBUG=1 for details)"),
          file=sys.stderr)
    sys.exit(70)


def _exit_now(code: int) -> None:
    """Leave after a recording without the interpreter's teardown.

    Freeing every module and libgit2's caches costs 60-80 ms of CPU after the run is already stored
    (docs/benchmarks.md). What a normal exit does that matters is done first: wait for non-daemon
    threads (and run threading's exit hooks, e.g. to stop idle executors), run ``atexit``
    callbacks, flush the standard streams.
    """
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can be said on it
            pass
    os._exit(code)
