"""Load only the click module that registers the subcommand being run.

Importing every subcommand module (``gitrun.cli.app``) costs tens of milliseconds of start-up that
``git run show RUN`` or ``git run list`` would pay on every call; the reading commands' targets
(docs/benchmarks.md, "Reading runs") leave no room for it. ``git run SUBCOMMAND ...`` imports just
the module below; anything else (no subcommand, an option first, ``--help``, shell completion, a
name not listed here) assembles the whole application, so it behaves exactly as before.
``tests/test_cli_lazy.py`` checks every entry against the assembled application.
"""

from __future__ import annotations

import importlib
import os

from gitrun.cli.group import COMPLETE_VAR  # not the other way round: lazy loads the modules importing group

SUBCOMMAND_MODULES: dict[str, str] = {
    "diff": "compare", "report": "compare",
    "config": "conventions", "completion": "conventions",
    "data": "data",
    "import": "interop", "export": "interop",
    "metrics": "metrics", "checkout-output": "metrics",
    "tag": "organise", "untag": "organise", "note": "organise", "journal": "organise", "baseline": "organise",
    "rm": "organise", "gc": "organise", "doctor": "organise", "apply": "organise", "branch": "organise",
    "sweep": "queue", "queue": "queue", "worker": "queue", "job-exec": "queue",
    "rerun": "reproduce", "reproduce": "reproduce",
    "list": "runs", "show": "runs", "query": "runs",
    "push": "share", "pull": "share", "fetch": "share", "remote": "share", "check": "share", "hooks": "share",
    "hook": "share",
    "ui": "ui", "watch": "ui",
}

# Subcommands that read every other subcommand (the man page documents them all): never loaded alone.
WHOLE_APPLICATION = frozenset({"manpage"})


def load_subcommands(args: list[str]) -> None:
    """Register on ``gitrun.cli.group.cli`` what running ``args`` needs: one module, or all of them."""
    module = SUBCOMMAND_MODULES.get(args[0]) if args else None
    if module is None or COMPLETE_VAR in os.environ:
        importlib.import_module("gitrun.cli.app")
    else:
        importlib.import_module(f"gitrun.cli.{module}")
