"""git commands that talk to the user's terminal directly (their pager, colours and config).

``run_git`` captures output; ``git run diff --code`` instead lets ``git diff`` own the terminal, so
the user's ``core.pager``, ``color.diff`` and diff drivers apply exactly as for ``git diff``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gitrun.errors import GitCommandError


def run_git_on_terminal(args: Sequence[str], cwd: Path | str) -> int:
    """Run ``git ARGS`` with the caller's stdin/stdout/stderr; return its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return subprocess.call(["git", *args], cwd=str(cwd))
    except FileNotFoundError:
        raise GitCommandError("git is not installed or not on PATH", hint="install git 2.30 or newer")
