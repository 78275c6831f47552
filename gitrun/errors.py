"""The one exception hierarchy of gitrun, and the exit code each maps to.

Every layer raises these; only ``gitrun.cli`` turns them into a one-line message and an exit code.
"""

from __future__ import annotations


class GitrunError(Exception):
    """A failure the user can act on. ``str(err)`` is the one line shown to them."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def one_line(self) -> str:
        text = str(self)
        return f"{text} ({self.hint})" if self.hint else text


class UsageError(GitrunError):
    """Bad command-line input."""

    exit_code = 2


class NotARepository(GitrunError):
    """Not inside a git working tree (or inside a bare repository)."""

    exit_code = 128


class RunNotFound(GitrunError):
    """A run reference matched no run."""

    exit_code = 1


class AmbiguousRun(GitrunError):
    """A run reference matched several runs."""

    exit_code = 1


class GitCommandError(GitrunError):
    """A git subprocess failed."""

    exit_code = 1


class ConcurrentUpdate(GitrunError):
    """A compare-and-swap on a ref lost to another writer too many times."""

    exit_code = 1


class StorageError(GitrunError):
    """The stored data of a run is missing or malformed."""

    exit_code = 1


class CheckFailed(GitrunError):
    """A reproducibility check refused a run (pre-push hook, ``git run check``)."""

    exit_code = 1


class Unsupported(UsageError):
    """A call of a drop-in API (``gitrun.wandb``, ``gitrun.mlflow``) that gitrun does not support."""
