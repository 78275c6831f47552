"""The click application: the ``git run`` group, its record options and every subcommand.

``git run [OPTIONS] -- COMMAND...`` records a run; ``git run SUBCOMMAND`` does everything else.
Subcommands live in the modules of this package, one per area, registered at the bottom.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import click

from gitrun import __version__
from gitrun.cli.fastpath import import_pygit2, run_recording
from gitrun.commands.record_options import RecordOptions

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
    import_pygit2()
    if ctx.invoked_subcommand is not None:
        gc.enable()
        return
    command = ctx.meta.get(COMMAND_KEY)
    if command is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    options = RecordOptions(command=list(command), message=message, name=name, tags=list(tags), quiet=quiet,
                            extra=feature_options)
    code = run_recording(options)
    RECORDED.append(code)  # the run is stored: main() may skip the interpreter's teardown
    ctx.exit(code)


RECORDED: list[int] = []


def run_click(argv: list[str] | None) -> int:
    """Run the click application; click's own errors are shown and mapped to their exit codes."""
    try:
        code = cli.main(args=argv, prog_name="git run", standalone_mode=False)
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code or 0)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        print("git-run: aborted", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0


# Subcommands, one module per area; importing registers them on ``cli``.
from gitrun.cli import (  # noqa: E402
    compare,  # noqa: F401
    data,  # noqa: F401
    metrics,  # noqa: F401
    organise,  # noqa: F401
    runs,  # noqa: F401
    share,  # noqa: F401
)
