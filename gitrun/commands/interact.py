"""Talking to the user: their editor (as git would pick it) and yes/no confirmations."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from gitrun.errors import UsageError
from gitrun.store.git import run_git


def user_editor(workdir: Path) -> str:
    """The editor git would use: GIT_EDITOR, core.editor, VISUAL, EDITOR, then vi."""
    result = run_git(["var", "GIT_EDITOR"], workdir, check=False)
    editor = result.text.strip()
    return editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"


def can_start_editor() -> bool:
    """An editor needs a terminal (stdin and stdout); ``GIT_EDITOR`` set in the environment is a
    scripted editor (as in git's own test suites) and runs without one."""
    if os.environ.get("GIT_EDITOR"):
        return True
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def edit_text(initial: str, workdir: Path, suffix: str = ".md") -> str:
    """Open ``initial`` in the user's editor; return what they saved."""
    editor = user_editor(workdir)
    with tempfile.TemporaryDirectory(prefix="gitrun-edit-") as folder:
        path = Path(folder) / f"GITRUN_EDIT{suffix}"
        path.write_text(initial, encoding="utf-8")
        sys.stdout.flush()
        # Like git: the editor string is a shell command, the file is its last argument.
        code = subprocess.call(["/bin/sh", "-c", f'{editor} "$@"', editor, str(path)], cwd=str(workdir))
        if code != 0:
            raise UsageError(f"the editor ({editor}) exited with status {code}; nothing was changed")
        return path.read_text(encoding="utf-8")


def confirm(prompt: str, yes: bool) -> bool:
    """True when ``yes`` was given or the user answers y on a terminal; refuse without a terminal."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("refusing to delete without confirmation: stdin is not a terminal",
                         hint="add --yes to confirm, or --dry-run to see what would go")
    answer = input(f"{prompt} [y/N] ").strip().lower()
    return answer in ("y", "yes")
