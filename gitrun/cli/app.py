"""The click application: the root group (``gitrun.cli.group``) with every subcommand registered.

``git run [OPTIONS] -- COMMAND...`` records a run; ``git run SUBCOMMAND`` does everything else.
Subcommands live in the modules of this package, one per area; each registers on the group of
``gitrun.cli.group`` (never on this module: importing them here is what assembles the application).
"""

from __future__ import annotations

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
from gitrun.cli.group import COMMAND_KEY, RECORDED, cli, run_click

__all__ = ["COMMAND_KEY", "RECORDED", "cli", "run_click"]
