"""The command line: a thin click layer over ``gitrun.commands``.

``git run [OPTIONS] -- COMMAND...`` records a run; ``git run SUBCOMMAND`` does everything else.
Subcommands live in the modules of this package, one per area, registered at the bottom.
Errors from any layer arrive here as GitrunError and leave as one line and an exit code.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

import click

from gitrun import __version__
from gitrun.errors import GitrunError

COMMAND_KEY = "gitrun_command"


class RunGroup(click.Group):
    """A group whose arguments after ``--`` are the command to record."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            ctx.meta[COMMAND_KEY] = args[split + 1:]
            args = args[:split]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and self.get_command(ctx, name) is None and not name.startswith("-"):
            raise click.UsageError(
                f"unknown command '{name}'. To record a run, put the command after '--': "
                f"git run -- {' '.join(args)}")
        return super().resolve_command(ctx, args)


@click.group(cls=RunGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-m", "--message", default="", help="Why this run: the question it answers.")
@click.option("--name", default=None, help="A unique human name for the run (default: generated).")
@click.option("--tag", "tags", multiple=True, help="Tag the run (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing of gitrun's own while recording.")
@click.option("--params", "params_files", multiple=True, metavar="FILE",
              help="Record FILE's content (YAML, JSON, TOML) as parameters (repeatable).")
@click.option("--metrics", "metrics_files", multiple=True, metavar="FILE",
              help="Read metrics from FILE (JSON, YAML, CSV with a step column) when the run ends (repeatable).")
@click.option("--outputs", "outputs_paths", multiple=True, metavar="PATH",
              help="Watch PATH for outputs instead of the whole working tree (repeatable).")
@click.option("--no-autolog", is_flag=True, help="Do not inject the Python startup hook into the command.")
@click.option("--no-console-metrics", is_flag=True, help="Do not read metrics from console output.")
@click.option("--sample-interval", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="System monitoring interval (default 5 s).")
@click.option("--data", "data_specs", multiple=True, metavar="[NAME[:VERSION]=]PATH",
              help="Record a dataset's content hash (repeatable).")
@click.option("--expect", "expect", default=None, metavar="EXPR",
              help='A condition checked when the run ends, e.g. "metrics.acc > 0.9".')
@click.version_option(__version__, "--version", prog_name="git-run")
@click.pass_context
def cli(ctx: click.Context, message: str, name: str | None, tags: tuple[str, ...], quiet: bool,
        **feature_options: Any) -> None:
    """Record and explore experiment runs, stored in git.

    \b
    git run -m "smaller lr" -- python train.py --lr 0.01
    git run list
    git run show RUN
    """
    _import_pygit2()
    if ctx.invoked_subcommand is not None:
        gc.enable()
        return
    command = ctx.meta.get(COMMAND_KEY)
    if command is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    from gitrun.commands.record import RecordOptions, record

    gc.freeze()  # what the imports made lives as long as the process: keep it out of later collections
    gc.enable()  # main() turned it off for the imports
    options = RecordOptions(command=list(command), message=message, name=name, tags=list(tags), quiet=quiet,
                            extra=feature_options)
    code = record(options)
    _RECORDED.append(code)  # the run is stored: main() may skip the interpreter's teardown
    ctx.exit(code)


_RECORDED: list[int] = []


def _import_pygit2() -> None:
    """Import pygit2 without loading the system's CA bundle, which it does at import (10-15 ms).

    gitrun never uses pygit2's TLS (the git CLI does every network operation), so the bundle file
    is hidden while pygit2 starts, when a CA directory is there to take its place (pygit2 fails
    to import when it has neither); certificates would still verify through that directory.
    """
    if "pygit2" in sys.modules:
        return
    saved = os.environ.get("SSL_CERT_FILE")
    try:
        import ssl

        os.environ["SSL_CERT_FILE"] = ""
        if ssl.get_default_verify_paths().capath is not None:
            import pygit2  # noqa: F401
    except Exception:
        pass  # the plain import below says what is wrong
    finally:
        if saved is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = saved


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


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``git-run``, ``gitrun`` and ``python -m gitrun``."""
    # Imports allocate many objects and leave no garbage cycles: collecting while they run is ~10 ms
    # of wasted CPU on every command. ``cli`` turns collection back on before any real work.
    gc.disable()
    try:
        code = cli.main(args=argv, prog_name="git run", standalone_mode=False)
    except GitrunError as err:
        click.echo(f"git-run: error: {err.one_line()}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("git-run: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("git-run: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(141)
    except Exception as err:  # a bug: one line by default, the traceback on request
        if os.environ.get("GITRUN_DEBUG"):
            raise
        click.echo(f"git-run: internal error: {type(err).__name__}: {err} (set GITRUN_DEBUG=1 for details)",
                   err=True)
        sys.exit(70)
    code = code if isinstance(code, int) else 0
    if _RECORDED:
        _exit_now(code)
    sys.exit(code)


# Subcommands, one module per area; importing registers them on ``cli``.
from gitrun.cli import (  # noqa: E402
    compare,  # noqa: F401
    data,  # noqa: F401
    metrics,  # noqa: F401
    organise,  # noqa: F401
    runs,  # noqa: F401
    share,  # noqa: F401
)
