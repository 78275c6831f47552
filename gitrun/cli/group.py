"""The root ``git run`` group: the record options (built from their one declaration) and recording.

Subcommand modules register on ``cli`` from here; ``gitrun.cli.app`` imports them all and runs the
group. Nothing here imports a subcommand module, so there is no import cycle.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

import click

from gitrun import __version__
from gitrun.cli.fastpath import run_recording
from gitrun.cli.output_options import root_options
from gitrun.runner.options import RECORD_OPTIONS, OptionSpec, RecordOptions
from gitrun.store.loading import preload_git_library

COMMAND_KEY = "gitrun_command"
COMPLETE_VAR = "_GIT_RUN_COMPLETE"  # click's shell completion (cli/conventions.py, cli/lazy.py)
RECORDED: list[int] = []  # exit codes of recordings made through click: main() may skip the teardown


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


def click_option(spec: OptionSpec) -> Callable[[Any], Any]:
    """The click option for one declared record option."""
    kwargs: dict[str, Any] = {"help": spec.help, "default": spec.default, "metavar": spec.metavar}
    if spec.kind == "flag":
        kwargs["is_flag"] = True
    elif spec.kind == "multiple":
        kwargs["multiple"] = True
    if spec.min_number is not None:
        kwargs["type"] = click.FloatRange(min=spec.min_number)
    return click.option(*spec.flags, spec.dest, **kwargs)


def with_record_options(function: Any) -> Any:
    for spec in reversed(RECORD_OPTIONS):  # click lists options in decoration order, bottom-up
        function = click_option(spec)(function)
    return function


@click.group(cls=RunGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@with_record_options
@root_options
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
    preload_git_library()
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


def run_click(argv: list[str] | None) -> int:
    """Run the click application; click's own errors are shown and mapped to their exit codes."""
    from gitrun.commands.output import install_printable_streams

    install_printable_streams()  # a pulled run's text never reaches the terminal raw
    try:
        code = cli.main(args=argv, prog_name="git run", complete_var=COMPLETE_VAR, standalone_mode=False)
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code or 0)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        print("git-run: aborted", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0
