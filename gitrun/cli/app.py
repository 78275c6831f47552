"""The click application: the root group (``gitrun.cli.group``) with every subcommand registered.

``git run [OPTIONS] -- COMMAND...`` records a run; ``git run SUBCOMMAND`` does everything else.
Subcommands live in the modules of this package, one per area; each registers on the group of
``gitrun.cli.group`` (never on this module: importing them here is what assembles the application).
"""

from __future__ import annotations

import sys

import click

from gitrun.cli import (  # noqa: F401 - importing registers their subcommands
    compare,
    conventions,
    data,
    interop,
    manpage,
    metrics,
    organise,
    queue,
    reproduce,
    runs,
    share,
    ui,
)
from gitrun.cli.group import COMMAND_KEY, RECORDED, cli

__all__ = ["COMMAND_KEY", "RECORDED", "cli", "run_click"]


def run_click(argv: list[str] | None) -> int:
    """Run the click application; click's own errors are shown and mapped to their exit codes."""
    from gitrun.commands.output import install_printable_streams

    install_printable_streams()  # a pulled run's text never reaches the terminal raw
    try:
        code = cli.main(args=argv, prog_name="git run", complete_var="_GIT_RUN_COMPLETE", standalone_mode=False)
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code or 0)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        print("git-run: aborted", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0
